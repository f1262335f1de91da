/**
 * Recall and false positives against gitleaks' labelled examples (../shared, not ours): every
 * `expected: true` text must be reported by the rule with that id, no `expected: false` text by
 * that rule. Per-rule failures are listed; the totals are printed for the closing report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath, skipWithoutShared } from '../shared.js';
import { Detector } from '../../src/scan/engine/detect.js';
import { defaultGitleaksConfig } from '../../src/scan/rules/builtin.js';
import { pathAllowed } from '../../src/scan/rules/allowlist.js';

const EXAMPLES = sharedPath('dlp/gitleaks/gitleaks-rule-examples.jsonl');

interface Example {
  rule_id: string;
  text: string;
  path?: string;
  expected: boolean;
}

test('gitleaks rule examples: 100% recall, 0 false positives per rule', { skip: skipWithoutShared('dlp/gitleaks/gitleaks-rule-examples.jsonl') }, (t) => {
  const cfg = defaultGitleaksConfig();
  assert.deepEqual(cfg.errors, []);
  const examples = readFileSync(EXAMPLES, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Example);
  const byRule = new Map(cfg.ruleSet.rules.map((r) => [r.id, r]));
  const detectors = new Map<string, Detector>();
  const stats = new Map<string, { tp: number; pos: number; fp: number; neg: number }>();
  const failures: string[] = [];
  for (const ex of examples) {
    const rule = byRule.get(ex.rule_id);
    assert.ok(rule, `no rule with id ${ex.rule_id}`);
    let det = detectors.get(ex.rule_id);
    if (!det) {
      det = new Detector({ rules: [rule], allowlists: cfg.ruleSet.allowlists }, [], { maxDecodeDepth: 0 });
      detectors.set(ex.rule_id, det);
    }
    const path = ex.path ?? '';
    let found: boolean;
    if (path && pathAllowed(path, cfg.ruleSet.allowlists)) found = false;
    else if (!rule.regex) found = !!rule.path?.test(path);
    else found = det.detect(Buffer.from(ex.text, 'utf8'), path).some((f) => f.ruleId === ex.rule_id);
    const s = stats.get(ex.rule_id) ?? { tp: 0, pos: 0, fp: 0, neg: 0 };
    if (ex.expected) {
      s.pos++;
      if (found) s.tp++;
      else failures.push(`missed  ${ex.rule_id}: ${JSON.stringify(ex.text).slice(0, 160)}`);
    } else {
      s.neg++;
      if (found) {
        s.fp++;
        failures.push(`false+  ${ex.rule_id}: ${JSON.stringify(ex.text).slice(0, 160)}`);
      }
    }
    stats.set(ex.rule_id, s);
  }
  let tp = 0,
    pos = 0,
    fp = 0,
    neg = 0;
  for (const s of stats.values()) {
    tp += s.tp;
    pos += s.pos;
    fp += s.fp;
    neg += s.neg;
  }
  const imperfect = [...stats].filter(([, s]) => s.tp < s.pos || s.fp > 0);
  t.diagnostic(`rules ${stats.size}; recall ${tp}/${pos} (${((100 * tp) / pos).toFixed(2)}%); false positives ${fp}/${neg}`);
  for (const [id, s] of imperfect) t.diagnostic(`  ${id}: recall ${s.tp}/${s.pos}, fp ${s.fp}/${s.neg}`);
  for (const f of failures.slice(0, 40)) t.diagnostic(f);
  assert.equal(failures.length, 0, `${failures.length} example(s) wrong`);

  // The negatives are meant to exercise the filter stages: without entropy and allowlists many
  // of them must be reported, or the zero above would prove nothing.
  let unfiltered = 0;
  for (const ex of examples) {
    const rule = byRule.get(ex.rule_id)!;
    if (ex.expected || !rule.regex) continue;
    const bare = new Detector({ rules: [{ ...rule, entropy: 0, allowlists: [] }], allowlists: [] }, [], { maxDecodeDepth: 0 });
    if (bare.detect(Buffer.from(ex.text, 'utf8'), ex.path ?? '').length) unfiltered++;
  }
  t.diagnostic(`negatives reported when entropy and allowlists are off: ${unfiltered}`);
  assert.ok(unfiltered >= 100, `only ${unfiltered} negatives depend on the filter stages`);
});
