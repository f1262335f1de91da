/**
 * Baselines: a previous report (our JSON or JSONL, or a gitleaks JSON report) whose findings are
 * known and should not be reported again.
 */
import { readFileSync } from 'node:fs';
import { FirebreakError } from '../../core/errors.js';
import { gitleaksFingerprint } from './fingerprint.js';

/** The set of fingerprints in a baseline file (ours, and gitleaks' `file:rule:line`). */
export function loadBaseline(path: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FirebreakError('scan.baseline', `cannot read baseline ${path}: ${(err as Error).message}`);
  }
  let rows: unknown[];
  try {
    const t = text.trim();
    rows = t.startsWith('[') ? (JSON.parse(t) as unknown[]) : t ? t.split('\n').map((l) => JSON.parse(l) as unknown) : [];
  } catch (err) {
    throw new FirebreakError('scan.baseline', `baseline ${path} is not a JSON or JSONL report: ${(err as Error).message}`);
  }
  const out = new Set<string>();
  for (const r of rows) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    if (typeof o.fingerprint === 'string') out.add(o.fingerprint);
    if (typeof o.RuleID === 'string' && typeof o.File === 'string' && typeof o.StartLine === 'number') {
      out.add(gitleaksFingerprint(o.File, o.RuleID, o.StartLine));
    }
  }
  return out;
}
