/**
 * `npm run bench:scan`: throughput of `firebreak scan` on a generated corpus of at least 1 GB,
 * side by side in the same run with ripgrep searching the same files for the union of the
 * detectors' patterns (gitleaks' regexes plus regex forms of the card, IBAN and SSN detectors).
 * Prints MB/s (corpus bytes on disk / wall time), medians of the runs, and peak memory.
 * Environment: FIREBREAK_BENCH_MB (default 1100), FIREBREAK_BENCH_DIR, FIREBREAK_BENCH_RUNS (3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scanner } from '../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS } from '../src/scan/sources/limits.js';
import { GITLEAKS_DEFAULT_TOML } from '../src/scan/data/gitleaks-default.js';
import { parse } from 'smol-toml';
import { ensureCorpus } from './scan-corpus.js';

const MB = Number(process.env.FIREBREAK_BENCH_MB ?? 1100);
const DIR = process.env.FIREBREAK_BENCH_DIR ?? join(tmpdir(), 'firebreak-scan-corpus');
const RUNS = Number(process.env.FIREBREAK_BENCH_RUNS ?? 3);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The union of patterns for rg: every gitleaks rule regex rg accepts, and the PII detectors'. */
function rgPatterns(): { file: string; count: number; rejected: string[] } {
  const doc = parse(GITLEAKS_DEFAULT_TOML) as { rules: { id: string; regex?: string }[] };
  const pats: string[] = [];
  const rejected: string[] = [];
  for (const r of doc.rules) {
    if (!r.regex) continue;
    // rg's regex crate reads Go RE2 syntax; a pattern it cannot compile is listed, not hidden.
    const ok = spawnSync('rg', ['-q', '-e', r.regex, '/dev/null']).status !== 2;
    if (ok) pats.push(r.regex);
    else rejected.push(r.id);
  }
  pats.push('\\b(?:\\d[ -]?){12,18}\\d\\b', '\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\\b', '\\b\\d{3}[- ]\\d{2}[- ]\\d{4}\\b');
  const file = join(mkdtempSync(join(tmpdir(), 'fb-rg-')), 'patterns.txt');
  writeFileSync(file, pats.join('\n') + '\n');
  return { file, count: pats.length, rejected };
}

async function runFirebreak(): Promise<{ seconds: number; findings: number; issues: number; leaves: number }> {
  const scanner = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: DEFAULT_LIMITS, maxDecodeDepth: 5 });
  const t0 = performance.now();
  const r = await scanner.scan([DIR], (async function* (): AsyncGenerator<Buffer> {})());
  return { seconds: (performance.now() - t0) / 1000, findings: r.findings.length, issues: r.issues.length, leaves: r.stats.leaves };
}

function runRg(patterns: string): { seconds: number; matches: number; status: number } {
  const t0 = performance.now();
  const r = spawnSync('rg', ['--no-ignore', '--hidden', '--count-matches', '--no-filename', '-f', patterns, DIR], { maxBuffer: 1 << 28, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  const matches = r.stdout.split('\n').filter(Boolean).reduce((a, l) => a + Number(l), 0);
  return { seconds, matches, status: r.status ?? -1 };
}

async function main(): Promise<void> {
  const rgVersion = spawnSync('rg', ['--version'], { encoding: 'utf8' });
  if (rgVersion.status !== 0) {
    process.stderr.write('bench:scan needs ripgrep (Debian: apt-get install ripgrep)\n');
    process.exit(2);
  }
  process.stdout.write(`corpus: ${DIR} (target ${MB} MB)\n`);
  const t0 = performance.now();
  const corpus = await ensureCorpus(DIR, MB);
  process.stdout.write(`corpus ready: ${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(0)} MB (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const pats = rgPatterns();
  process.stdout.write(`rg ${rgVersion.stdout.split('\n')[0]}: ${pats.count} patterns${pats.rejected.length ? `; not compilable by rg: ${pats.rejected.join(', ')}` : ''}\n`);
  const fb: number[] = [];
  const rg: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const f = await runFirebreak();
    fb.push(f.seconds);
    const g = runRg(pats.file);
    rg.push(g.seconds);
    process.stdout.write(
      `run ${i + 1}: firebreak ${(corpus.bytes / 1e6 / f.seconds).toFixed(1)} MB/s (${f.seconds.toFixed(2)} s, ${f.leaves} files incl. archive entries, ${f.findings} findings, ${f.issues} issues) | ` +
        `rg ${(corpus.bytes / 1e6 / g.seconds).toFixed(1)} MB/s (${g.seconds.toFixed(2)} s, ${g.matches} matching lines, exit ${g.status})\n`,
    );
  }
  const fbRate = corpus.bytes / 1e6 / median(fb);
  const rgRate = corpus.bytes / 1e6 / median(rg);
  const peak = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`\nmedian of ${RUNS}: firebreak ${fbRate.toFixed(1)} MB/s, rg ${rgRate.toFixed(1)} MB/s, ratio ${(fbRate / rgRate).toFixed(2)} (target >= 0.50)\n`);
  process.stdout.write(`firebreak peak RSS ${peak.toFixed(0)} MB (single thread; rg uses all ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores)\n`);
}

await main();
