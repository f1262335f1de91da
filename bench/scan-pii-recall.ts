/**
 * `npm run bench:scan-pii`: recall and false positives of `firebreak scan` per identifier and per
 * confidence level, on the generated corpus of bench/scan-pii-corpus.ts (its ground truth says
 * which values are personal data and which files are contact lists; everything else found is a
 * false positive). Environment: FIREBREAK_PII_SCALE (payroll rows, default 400), FIREBREAK_PII_SEED.
 */
import { join } from 'node:path';
import { Scanner } from '../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS } from '../src/scan/sources/limits.js';
import { LEVELS, levelRank, type Confidence } from '../src/scan/engine/confidence.js';
import type { Finding } from '../src/scan/engine/finding.js';
import { GENERATED_ROOT, generatePiiCorpus, type Corpus } from './scan-pii-corpus.js';

export interface RecallRow {
  ruleId: string;
  level: Confidence;
  truth: number;
  found: number;
  falsePositives: number;
}

/** Scan the corpus once (everything from `low`) and score it per rule id and level. */
export async function measure(corpus: Corpus): Promise<{ rows: RecallRow[]; findings: Finding[]; issues: number }> {
  const scanner = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: DEFAULT_LIMITS, maxDecodeDepth: 5, minConfidence: 'low' });
  const r = await scanner.scan([corpus.dir], (async function* (): AsyncGenerator<Buffer> {})());
  const norm = (s: string): string => s.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
  const truthKey = new Set(corpus.truth.map((t) => `${t.file}\0${t.ruleId}\0${t.value}`));
  const pii = r.findings.filter((f) => f.confidence);
  const ids = [...new Set([...VALIDATED_DETECTORS.map((d) => d.id)])];
  const rows: RecallRow[] = [];
  for (const ruleId of ids) {
    for (const level of LEVELS) {
      const at = pii.filter((f) => f.ruleId === ruleId && levelRank(f.confidence!) >= levelRank(level));
      const bulk = corpus.bulk.filter((b) => b.ruleId === ruleId);
      if (bulk.length) {
        const hit = bulk.filter((b) => at.some((f) => f.file === b.file && (f.count ?? 0) >= b.count)).length;
        const fp = at.filter((f) => !bulk.some((b) => b.file === f.file)).length;
        rows.push({ ruleId, level, truth: bulk.length, found: hit, falsePositives: fp });
        continue;
      }
      const truth = corpus.truth.filter((t) => t.ruleId === ruleId);
      const foundKeys = new Set(at.map((f) => `${f.file}\0${f.ruleId}\0${norm(f.secret)}`));
      const found = truth.filter((t) => foundKeys.has(`${t.file}\0${t.ruleId}\0${t.value}`)).length;
      const fp = at.filter((f) => !truthKey.has(`${f.file}\0${f.ruleId}\0${norm(f.secret)}`)).length;
      rows.push({ ruleId, level, truth: truth.length, found, falsePositives: fp });
    }
  }
  return { rows, findings: r.findings, issues: r.issues.length };
}

/** The table as Markdown (per rule id: values in the truth, then recall and false positives at each level). */
export function renderTable(rows: RecallRow[]): string {
  const ids = [...new Set(rows.map((r) => r.ruleId))];
  const head = `| identifier | truth | ${LEVELS.map((l) => `recall ≥${l}`).join(' | ')} | ${LEVELS.map((l) => `FP ≥${l}`).join(' | ')} |`;
  const sep = `|${'---|'.repeat(2 + LEVELS.length * 2)}`;
  const lines = ids.map((id) => {
    const rs = LEVELS.map((l) => rows.find((r) => r.ruleId === id && r.level === l)!);
    const pct = (r: RecallRow): string => (r.truth ? `${((100 * r.found) / r.truth).toFixed(1)}% (${r.found})` : '–');
    return `| ${id} | ${rs[0]!.truth} | ${rs.map(pct).join(' | ')} | ${rs.map((r) => String(r.falsePositives)).join(' | ')} |`;
  });
  return [head, sep, ...lines].join('\n') + '\n';
}

async function main(): Promise<void> {
  const scale = Number(process.env.FIREBREAK_PII_SCALE ?? 400);
  const seed = Number(process.env.FIREBREAK_PII_SEED ?? 7);
  const corpus = generatePiiCorpus(join(GENERATED_ROOT, 'pii-bench'), { seed, scale });
  process.stdout.write(
    `corpus: ${corpus.dir}: ${corpus.files} files, ${corpus.truth.length} identifier values and ${corpus.bulk.length} contact lists in the truth (seed ${seed}, scale ${scale})\n\n`,
  );
  const { rows, findings, issues } = await measure(corpus);
  process.stdout.write(renderTable(rows));
  const fps = findings.filter((f) => f.confidence && !corpus.truth.some((t) => t.file === f.file && t.ruleId === f.ruleId) && !corpus.bulk.some((b) => b.file === f.file));
  const byFile = new Map<string, number>();
  for (const f of fps)
    byFile.set(`${f.ruleId} ${f.file.slice(corpus.dir.length + 1)} (${f.confidence})`, (byFile.get(`${f.ruleId} ${f.file.slice(corpus.dir.length + 1)} (${f.confidence})`) ?? 0) + 1);
  if (byFile.size) {
    process.stdout.write('\nfalse positives by file (in files with no truth of that kind):\n');
    for (const [k, n] of [...byFile].sort()) process.stdout.write(`  ${n} × ${k}\n`);
  }
  process.stdout.write(`\n${issues} issue(s)\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await main();
