/**
 * SigmaHQ regression tests (`regression_data/…/info.yml`), run the way SigmaHQ's own CI runs
 * them: a test passes when its rule fires at least `match_count` times (once when absent) on
 * the test's log file. Logsource routing applies, as it does in SigmaHQ's checker.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlFile } from '../core/yaml.js';
import { Engine } from './engine.js';
import type { Event } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';

export interface RegressionCase {
  ruleId: string;
  title: string;
  /** Log file path (resolved against the Sigma root), with the extension for the chosen source. */
  file: string;
  expected: number;
  infoFile: string;
}

export interface RegressionResult {
  rule_id: string;
  file: string;
  expected: number;
  matched: number;
  ok: boolean;
  error?: string;
}

/** Find every regression test under `<root>/regression_data`. */
export function findRegressionCases(root: string, source: 'json' | 'evtx'): RegressionCase[] {
  const out: RegressionCase[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === 'info.yml') out.push(...casesFromInfo(p, root, source));
    }
  };
  walk(join(root, 'regression_data'));
  return out;
}

function casesFromInfo(infoFile: string, root: string, source: 'json' | 'evtx'): RegressionCase[] {
  const info = parseYamlFile(readFileSync(infoFile, 'utf8'), infoFile).data as {
    rule_metadata?: { id?: string; title?: string }[];
    regression_tests_info?: { type?: string; path?: string; match_count?: number }[] | null;
  };
  const meta = info?.rule_metadata?.[0];
  if (!meta?.id || !Array.isArray(info.regression_tests_info)) return [];
  return info.regression_tests_info
    .filter((t) => t.type === 'evtx' && typeof t.path === 'string')
    .map((t) => ({
      ruleId: meta.id!,
      title: meta.title ?? '',
      file: join(root, source === 'json' ? t.path!.replace(/\.evtx$/i, '.json') : t.path!),
      expected: typeof t.match_count === 'number' ? t.match_count : 1,
      infoFile,
    }));
}

/** Run the cases; `readEvents` yields the events of one log file. */
export async function runRegression(
  cases: readonly RegressionCase[],
  rules: readonly SigmaRule[],
  readEvents: (file: string) => AsyncIterable<Event>,
  engine: Engine = new Engine(rules),
): Promise<RegressionResult[]> {
  const known = new Set(rules.map((r) => r.id));
  const results: RegressionResult[] = [];
  for (const c of cases) {
    if (!known.has(c.ruleId)) {
      results.push({ rule_id: c.ruleId, file: c.file, expected: c.expected, matched: 0, ok: false, error: 'rule not loaded' });
      continue;
    }
    let matched = 0;
    try {
      for await (const ev of readEvents(c.file)) for (const d of engine.match(ev)) if (d.rule.id === c.ruleId) matched++;
      results.push({ rule_id: c.ruleId, file: c.file, expected: c.expected, matched, ok: matched >= c.expected });
    } catch (e) {
      results.push({ rule_id: c.ruleId, file: c.file, expected: c.expected, matched, ok: false, error: (e as Error).message });
    }
  }
  return results;
}
