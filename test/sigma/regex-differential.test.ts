/**
 * The compiled rule-regex path (src/sigma/regex.ts: rewritten for V8's linear-time engine, `.*`
 * chains, and the engine's compiled and interpreted regex matchers) must answer exactly what a
 * plain JavaScript RegExp answers: on seeded random patterns covering every escape form, and on
 * every regex in the bundled SigmaHQ rules, against texts sampled from each pattern, mutated, and
 * every value of SigmaHQ's regression events.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { rng } from '../../src/core/rng.js';
import { fold } from '../../src/engine/values.js';
import { findRegressionCases } from '../../src/engine/regression.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { BUNDLED_SIGMA_ROOT, ruleDirs } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import type { SearchExpr, ValueMatcher } from '../../src/sigma/model.js';
import { compileRuleRegex, testRegex } from '../../src/sigma/regex.js';
import { detection, matches, rule } from '../helpers.js';
import { mutate, ODD_CHARS, randomPattern, randomText, sampleMatches } from './regex-gen.js';

/** A plain RegExp for a Sigma regex: a leading inline flag group `(?ims)` becomes flags. */
function reference(pattern: string, flags: string): RegExp {
  const inline = /^\(\?([ims]+)\)/.exec(pattern);
  let f = flags;
  for (const c of inline?.[1] ?? '') if (!f.includes(c)) f += c;
  return new RegExp(inline ? pattern.slice(inline[0].length) : pattern, f);
}

/** Outcome counts, so that a run in which nothing (or everything) matched fails. */
class Tally {
  yes = 0;
  no = 0;
  add(b: boolean) {
    if (b) this.yes++;
    else this.no++;
  }
}

function agree(pattern: string, flags: string, texts: readonly string[], tally: Tally) {
  const ref = reference(pattern, flags);
  const safe = compileRuleRegex(pattern, flags);
  for (const text of texts) {
    const want = ref.test(text);
    assert.equal(testRegex(safe, text, fold(text)), want, `/${pattern}/${flags} on ${JSON.stringify(text)}: plain RegExp says ${want}`);
    tally.add(want);
  }
}

/** A one-item rule `F|re[|i|m|s]: pattern`, evaluated compiled and interpreted (they must agree). */
function ruleFor(pattern: string, flags: string) {
  const mods = [...flags].map((f) => `|${f}`).join('');
  return rule(detection(`sel:\n  F|re${mods}: ${JSON.stringify(pattern)}\ncondition: sel`));
}

describe('rule regexes agree with plain RegExp', () => {
  it('escapes that name a character match case-insensitively (\\x41, \\u0041, \\101, (?i))', () => {
    const cases: [string, string, string, boolean][] = [
      ['\\x41BC', 'i', 'ABC', true],
      ['\\x41BC', 'i', 'abc', true],
      ['\\x61bc', 'i', 'ABC', true],
      ['(?i)\\x41BC', '', 'abc', true],
      ['\\u0041BC', 'i', 'abc', true],
      ['\\u00c9t\\u00c9', 'i', 'été', true],
      ['\\101BC', 'i', 'abc', true],
      ['[\\x41-\\x43]+$', 'i', 'cab', true],
      ['^[A-z]$', 'i', '_', true],
      ['^[^a-z]$', 'i', 'Q', false],
      ['\\u212a', 'i', 'k', false],
      ['k', 'i', '\u212a', false],
      ['\u0130', 'i', 'i', false],
      ['(a)\\1', 'i', 'aA', true],
      // `.*` chains searched in the lower-cased value: characters that lower-case into ASCII.
      ['k.*x', 'i', '\u212a x', false],
      ['i.*x', 'i', '\u0130 x', false],
      ['k.*x', 'i', 'K x', true],
    ];
    for (const [pattern, flags, text, want] of cases) {
      assert.equal(reference(pattern, flags).test(text), want, `reference /${pattern}/${flags} on ${text}`);
      const safe = compileRuleRegex(pattern, flags);
      assert.equal(testRegex(safe, text, fold(text)), want, `/${pattern}/${flags} on ${JSON.stringify(text)}`);
      assert.equal(matches(ruleFor(pattern, flags), { F: text }), want, `rule F|re: /${pattern}/${flags} on ${JSON.stringify(text)}`);
    }
  });

  it('case closure: every character V8 matches case-insensitively, and no other (all code units)', () => {
    // The rewrite relies on these facts of non-unicode case folding; V8 is the judge.
    const units = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c));
    for (const probe of ['k', 'K', 's', 'S', '\u212a', '\u017f', 'i', 'I', '\u0130', '\u0131', 'σ', 'ς', 'Σ', 'µ', 'ß', 'ẞ', 'ǅ', 'Ω', '\u2126']) {
      const plain = new RegExp(`^${probe}$`, 'i');
      const safe = compileRuleRegex(`^${probe}$`, 'i');
      assert.equal(safe.re.flags.includes('i'), false);
      const want = units.filter((c) => plain.test(c));
      assert.deepEqual(
        units.filter((c) => safe.re.test(c)),
        want,
        `/^${probe}$/i`,
      );
    }
    // \d \w \s and their negations are closed already (the rewrite keeps them as written).
    for (const set of ['\\d', '\\w', '\\s', '\\D', '\\W', '\\S']) {
      const a = new RegExp(`^${set}$`, 'i');
      const b = new RegExp(`^${set}$`);
      assert.deepEqual(
        units.filter((c) => a.test(c)),
        units.filter((c) => b.test(c)),
        set,
      );
    }
    // The folded `.*` chain trusts lower-casing except for these two (checked over every code point).
    const odd: string[] = [];
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (/[\x00-\x7f]/.test(String.fromCodePoint(cp).toLowerCase())) odd.push(cp.toString(16));
    }
    assert.deepEqual(odd, ['130', '212a']);
  });

  it('refuses PCRE inline flags it cannot honour instead of ignoring them', () => {
    assert.throws(() => compileRuleRegex('(?x)a b', ''), /inline flag 'x'/);
    assert.throws(() => compileRuleRegex('(?iU)ab', ''), /inline flag 'U'/);
    assert.equal(testRegex(compileRuleRegex('(?is)a.b', ''), 'A\nB', 'a\nb'), true);
  });

  it('on seeded random patterns and texts (regex module and both engine paths)', () => {
    const r = rng(20260812);
    const tally = new Tally();
    let patterns = 0;
    let viaRules = 0;
    for (let round = 0; round < 2500; round++) {
      const pattern = randomPattern(r);
      const flags = ['', 'i', 'i', 'm', 's', 'im', 'is', 'ims'][Math.floor(r() * 8)]!;
      try {
        reference(pattern, flags);
      } catch {
        continue; // not a valid JavaScript regex (a quantified assertion, a bad range…)
      }
      patterns++;
      const sampled = sampleMatches(pattern.replace(/^\(\?i\)/, ''), flags.includes('i') || pattern.startsWith('(?i)'), r, 6);
      const texts = [...sampled, ...sampled.map((t) => mutate(t, r)), randomText(r, 12), randomText(r, 30), ...ODD_CHARS];
      agree(pattern, flags, texts, tally);
      if (round % 10 === 0) {
        const ru = ruleFor(pattern, flags);
        const ref = reference(pattern, flags);
        for (const text of texts.slice(0, 6)) assert.equal(matches(ru, { F: text }), ref.test(text), `rule F|re: /${pattern}/${flags} on ${JSON.stringify(text)}`);
        viaRules++;
      }
    }
    assert.ok(patterns > 1500, `${patterns} valid patterns`);
    assert.ok(viaRules > 150, `${viaRules} patterns through rules`);
    assert.ok(tally.yes > tally.no / 10 && tally.no > tally.yes / 10, `matches ${tally.yes}, non-matches ${tally.no}`);
  });

  describe('every regex in the bundled SigmaHQ rules', () => {
    const regexes: { pattern: string; flags: string; file: string }[] = [];
    const values = new Set<string>();
    before(async () => {
      const col = loadRules(ruleDirs());
      const walkValue = (m: ValueMatcher, file: string) => {
        if (m.kind === 'regex') regexes.push({ pattern: m.pattern, flags: m.flags, file });
        else if (m.kind === 'anyOf') m.values.forEach((v) => walkValue(v, file));
      };
      const walk = (e: SearchExpr, file: string) => {
        if (e.kind === 'item') e.values.forEach((v) => walkValue(v, file));
        else e.items.forEach((x) => walk(x, file));
      };
      for (const ru of col.rules) for (const s of Object.values(ru.searches)) walk(s, ru.file);
      for (const c of findRegressionCases(BUNDLED_SIGMA_ROOT, 'json')) for await (const ev of readEventsFromFile(c.file)) for (const v of ev.values()) if (typeof v === 'string') values.add(v);
    });

    it('against sampled, mutated and regression-event texts', () => {
      assert.ok(regexes.length >= 217, `${regexes.length} regexes`);
      assert.ok(values.size > 1000, `${values.size} regression values`);
      const r = rng(3780);
      const tally = new Tally();
      const regressionValues = [...values];
      for (const { pattern, flags, file } of regexes) {
        const sampled = sampleMatches(pattern.replace(/^\(\?i\)/, ''), flags.includes('i') || pattern.startsWith('(?i)'), r, 12);
        assert.ok(sampled.length > 0, `${file}: /${pattern}/ parses`);
        const texts = [...sampled, ...sampled.map((t) => mutate(t, r)), ...sampled.map((t) => `${randomText(r, 8)}${t}${randomText(r, 8)}`)];
        agree(pattern, flags, texts, tally);
        agree(pattern, flags, regressionValues, new Tally());
        const ru = ruleFor(pattern, flags);
        const ref = reference(pattern, flags);
        for (const text of texts) assert.equal(matches(ru, { F: text }), ref.test(text), `${file}: rule F|re: /${pattern}/${flags} on ${JSON.stringify(text)}`);
      }
      assert.ok(tally.yes > 1000 && tally.no > 1000, `matches ${tally.yes}, non-matches ${tally.no}`);
    });
  });
});
