/**
 * SigmaHQ's regression data (bundled in data/sigma): every test passes through the engine, and
 * the compiled matchers agree with the reference interpreter on every (rule, event) pair.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { compileRule, MatchContext } from '../../src/engine/compile.js';
import { Engine } from '../../src/engine/engine.js';
import { evalCondition, evalItem, evalSearch, interpretRule, type FieldMap } from '../../src/engine/interpret.js';
import { matchedFields } from '../../src/engine/explain.js';
import { toText } from '../../src/engine/values.js';
import type { ConditionNode, SearchExpr, SigmaRule } from '../../src/sigma/model.js';
import type { Scalar } from '../../src/events/event.js';
import { findRegressionCases, runRegression } from '../../src/engine/regression.js';
import type { Event } from '../../src/events/event.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { BUNDLED_SIGMA_ROOT, ruleDirs } from '../../src/sigma/bundled.js';
import { loadPlaceholders, loadRules, type RuleCollection } from '../../src/sigma/collection.js';
import { join } from 'node:path';
import { DATA_DIR } from '../../src/sigma/bundled.js';

/** The explanation as the reference interpreter gives it (what `matchedFields` must equal). */
function referenceExplain(rule: SigmaRule, ev: Event, fieldMap: FieldMap): Record<string, string> {
  const out: Record<string, string> = {};
  const collect = (e: SearchExpr) => {
    if (e.kind === 'item') {
      if (e.negate || !evalItem(e, ev, fieldMap)) return;
      if (e.field === null) return void (out['(keywords)'] ??= e.values.length ? 'matched' : '');
      const name = fieldMap[e.field] ?? e.field;
      const v = ev.get(name);
      if (v !== undefined) out[name] = Array.isArray(v) ? v.map((x: Scalar) => toText(x)).join(', ') : toText(v as Scalar);
      return;
    }
    if (e.kind === 'and' || evalSearch(e, ev, fieldMap)) e.items.forEach(collect);
  };
  const walk = (n: ConditionNode) => {
    if (n.kind === 'ref') {
      if (evalSearch(rule.searches[n.name]!, ev, fieldMap)) collect(rule.searches[n.name]!);
    } else if (n.kind === 'of') n.names.forEach((name) => walk({ kind: 'ref', name }));
    else if (n.kind !== 'not') n.items.forEach((i) => evalCondition(i, (name) => evalSearch(rule.searches[name]!, ev, fieldMap)) && walk(i));
  };
  walk(rule.condition);
  return out;
}

let col: RuleCollection;
const events: Event[] = [];

before(async () => {
  col = loadRules(ruleDirs(), { placeholders: loadPlaceholders(join(DATA_DIR, 'placeholders.example.yml')) });
  for (const c of findRegressionCases(BUNDLED_SIGMA_ROOT, 'json')) for await (const ev of readEventsFromFile(c.file)) events.push(ev);
});

describe('bundled SigmaHQ rule set', () => {
  it('loads all 3,780 rules with zero errors (with a placeholders file)', () => {
    assert.deepEqual(
      col.errors.map((e) => e.format()),
      [],
    );
    assert.equal(col.rules.length, 3780);
  });

  it('passes all 202 regression tests (JSON twins)', async () => {
    const cases = findRegressionCases(BUNDLED_SIGMA_ROOT, 'json');
    assert.equal(cases.length, 202);
    const results = await runRegression(cases, col.rules, (f) => readEventsFromFile(f));
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, []);
    assert.equal(events.length, 238);
  });

  it('compiled and interpreted agree on every rule × regression event, and routing loses nothing', () => {
    let positives = 0;
    let pairs = 0;
    const compiled = col.rules.map((r) => compileRule(r));
    for (const ev of events) {
      const ctx = new MatchContext(ev);
      col.rules.forEach((r, i) => {
        const a = compiled[i]!(ctx);
        const b = interpretRule(r, ev);
        pairs++;
        if (a !== b) assert.fail(`rule ${r.id} (${r.file}) on event ${ev.source.file}: compiled ${a}, interpreted ${b}`);
        if (a) positives++;
      });
    }
    assert.equal(pairs, 3780 * 238);
    // The fast path really ran and found things (not a vacuous agreement on `false`).
    assert.ok(positives > 238, `only ${positives} positives`);
    // Routed engine (compiled) and routed engine (interpreted) give identical detections.
    const fast = new Engine(col.rules);
    const slow = new Engine(col.rules, { mode: 'interpreted' });
    let routed = 0;
    for (const ev of events) {
      const a = fast
        .match(ev)
        .map((d) => d.rule.id)
        .sort();
      const b = slow
        .match(ev)
        .map((d) => d.rule.id)
        .sort();
      assert.deepEqual(a, b);
      routed += a.length;
    }
    assert.ok(routed >= 238);
  });

  it('explains every regression detection with the fields the reference interpreter names', () => {
    const engine = new Engine(col.rules);
    let explained = 0;
    for (const ev of events)
      for (const d of engine.match(ev)) {
        const got = matchedFields(d.rule, ev, d.fieldMap);
        assert.deepEqual(got, referenceExplain(d.rule, ev, d.fieldMap), `rule ${d.rule.id} on ${ev.source.file}`);
        if (Object.keys(got).length) explained++;
      }
    assert.ok(explained >= 238, `only ${explained} detections named fields`);
  });
});
