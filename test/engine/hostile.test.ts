/** Hostile field values must not stall matching of the whole rule set. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRule, MatchContext } from '../../src/engine/compile.js';
import { Event, type Fields } from '../../src/events/event.js';
import { ruleDirs } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import { detection, rule } from '../helpers.js';

describe('regex time on hostile text is bounded', () => {
  it('a catastrophic-backtracking rule regex on a pathological value finishes fast', () => {
    const r = rule(detection(`sel:\n  F|re: '^(a+)+$'\ncondition: sel`));
    const pred = compileRule(r);
    const value = 'a'.repeat(50_000) + '!';
    const t = process.hrtime.bigint();
    assert.equal(pred(new MatchContext(new Event({ F: value }))), false);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    // Exponential backtracking would take longer than the age of the universe here.
    assert.ok(ms < 5_000, `took ${ms} ms`);
  });

  it('every rule regex in the bundled set, against pathological values in every field it reads', () => {
    const col = loadRules(ruleDirs());
    const regexRules = col.rules.filter((r) => JSON.stringify(r.searches).includes('"kind":"regex"'));
    assert.ok(regexRules.length > 100, `${regexRules.length} regex rules`);
    const nasty = [
      'a'.repeat(20_000),
      '\\'.repeat(20_000),
      ' '.repeat(20_000) + 'x',
      '&&set'.repeat(4_000),
      '{0}'.repeat(7_000),
      'A1'.repeat(10_000) + '\u0000',
      '-'.repeat(20_000),
      '.'.repeat(20_000),
    ];
    const t = process.hrtime.bigint();
    for (const r of regexRules) {
      const fields = new Set<string>();
      JSON.stringify(r.searches, (k, v) => (k === 'field' && typeof v === 'string' ? (fields.add(v), v) : v));
      const pred = compileRule(r);
      for (const value of nasty) {
        const f: Fields = {};
        for (const name of fields) f[name] = value;
        pred(new MatchContext(new Event(f)));
      }
    }
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assert.ok(ms < 60_000, `took ${ms} ms`);
  });
});
