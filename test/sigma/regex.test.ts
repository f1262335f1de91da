/**
 * Rule regexes: the `.*`-chain fast path must say exactly what the regex engine says, on seeded
 * random patterns and texts (line terminators included), and must not take anything else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../src/core/rng.js';
import { compileRuleRegex, dotStarChain, testRegex } from '../../src/sigma/regex.js';

describe('rule regex: literal pieces joined by .*', () => {
  it('recognises only literal text and .* / .*?', () => {
    assert.deepEqual(dotStarChain('\\+.*\\+.*\\+'), ['+', '+', '+']);
    assert.deepEqual(dotStarChain('.*iex.*?downloadstring\\(.*'), ['iex', 'downloadstring(']);
    assert.deepEqual(dotStarChain('a.*b'), ['a', 'b']);
    // Every escape that names one character is a literal character.
    assert.deepEqual(dotStarChain('a\\x41.*b'), ['aA', 'b']);
    assert.deepEqual(dotStarChain('a\\u0041.*\\0'), ['aA', '\0']);
    for (const src of ['abc', 'a.b', 'a.+b', '^a.*b', 'a.*b$', 'a.*b|c', 'a\\d.*b', 'a\\b.*c', '[ab].*c', 'a.*(b)', 'a.*b{2}', 'a.*b?', 'a\\n.*b', 'a\n.*b'])
      assert.equal(dotStarChain(src), undefined, src);
  });

  it('agrees with the regex engine on random patterns and texts', () => {
    const r = rng(11);
    const alphabet = ['a', 'b', '\\+', '.', '\\.', '-', 'é', 'İ', '\\(', ' '];
    const textAlphabet = ['a', 'b', '+', '.', '-', 'é', 'i̇', 'İ', '(', ' ', '\n', '\r', '\u2028', 'A', 'B'];
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
    let chained = 0;
    for (let round = 0; round < 400; round++) {
      const pieces = Array.from({ length: 1 + Math.floor(r() * 4) }, () => Array.from({ length: Math.floor(r() * 3) }, () => pick(alphabet)).join(''));
      const pattern = (r() < 0.3 ? '.*' : '') + pieces.join(r() < 0.2 ? '.*?' : '.*') + (r() < 0.3 ? '.*' : '');
      const flags = pick(['', 'i', 's', 'is']);
      const safe = compileRuleRegex(pattern, flags);
      if (safe.chain) chained++;
      // The same compiled regex without the fast path (case-insensitive patterns run on folded text either way).
      const reference = { ...safe, chain: undefined };
      for (let t = 0; t < 8; t++) {
        const text = Array.from({ length: Math.floor(r() * 24) }, () => pick(textAlphabet)).join('');
        const folded = text.toLowerCase();
        assert.equal(testRegex(safe, text, folded), testRegex(reference, text, folded), `/${pattern}/${flags} on ${JSON.stringify(text)}`);
      }
    }
    assert.ok(chained > 200, `the fast path was taken ${chained} times`);
  });

  it('answers a hostile value in linear time', () => {
    const safe = compileRuleRegex(Array(15).fill('\\+').join('.*'), 'i');
    assert.ok(safe.chain);
    const text = 'x+'.repeat(13) + 'y'.repeat(100_000);
    assert.equal(testRegex(safe, text, text.toLowerCase()), false);
    assert.equal(testRegex(safe, text + '+x+', text.toLowerCase() + '+x+'), true);
  });
});
