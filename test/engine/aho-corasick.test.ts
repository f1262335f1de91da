/** The automaton against the obvious search (indexOf for every pattern) on seeded random text. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../src/core/rng.js';
import { AhoCorasick } from '../../src/engine/aho-corasick.js';

function occurrences(patterns: string[], text: string): number[] {
  const out: number[] = [];
  patterns.forEach((p, id) => {
    for (let i = text.indexOf(p); i >= 0; i = text.indexOf(p, i + 1)) out.push(id);
  });
  return out.sort((a, b) => a - b);
}

describe('Aho-Corasick', () => {
  it('finds every occurrence of every pattern, like indexOf, on random text', () => {
    const r = rng(7);
    // A small alphabet makes overlaps, shared prefixes and failure links common; the non-ASCII
    // letters take the slow root path and the binary search over wide nodes.
    const alphabet = ['a', 'b', 'c', 'ab', 'é', 'ü', '\u212A', 'İ', '\uD83D\uDE00', ':', '\\'];
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]!).join('');
    for (let round = 0; round < 300; round++) {
      // Every other round keeps repeated patterns: each copy is reported under its own id.
      const drawn = Array.from({ length: 1 + Math.floor(r() * 40) }, () => word(1 + Math.floor(r() * 5)));
      const patterns = round % 2 ? drawn : [...new Set(drawn)];
      const ac = new AhoCorasick(patterns);
      for (let t = 0; t < 5; t++) {
        const text = word(Math.floor(r() * 60));
        const found: number[] = [];
        ac.scan(text, (id) => found.push(id));
        const expected = occurrences(patterns, text);
        assert.deepEqual(
          found.sort((a, b) => a - b),
          expected,
          `patterns ${JSON.stringify(patterns)} text ${JSON.stringify(text)}`,
        );
        assert.equal(ac.test(text), expected.length > 0);
      }
    }
  });

  it('handles no patterns, an empty text and patterns that contain each other', () => {
    assert.equal(new AhoCorasick([]).test('anything'), false);
    const ac = new AhoCorasick(['he', 'she', 'his', 'hers']);
    const found: number[] = [];
    ac.scan('ushers', (id) => found.push(id));
    assert.deepEqual(found.sort(), [0, 1, 3]);
    assert.equal(ac.test(''), false);
  });
});
