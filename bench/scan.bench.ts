/**
 * `npm run bench:scan`: throughput of `firebreak scan` on a generated corpus of at least 1 GB,
 * side by side in the same run with ripgrep:
 *  - rg with the union of the detectors' patterns (gitleaks' regexes plus regex forms of the
 *    card, IBAN and SSN detectors), the comparison the issue asks for. rg 13 compiles that union
 *    into an automaton too big for its fast engines and crawls (well under 1 MB/s), so it runs on
 *    a sample of the corpus within a time limit, and firebreak is timed on the same sample;
 *  - rg with the union of the rules' keywords as fixed strings plus the PII regexes, over the
 *    whole corpus: what a literal search alone costs, the floor no detector can beat.
 * Prints MB/s (bytes on disk / wall time), medians of the runs, and peak memory. Environment:
 * FIREBREAK_BENCH_MB (default 1100), FIREBREAK_BENCH_DIR, FIREBREAK_BENCH_RUNS (3),
 * FIREBREAK_BENCH_JOBS (threads, default one per core, as the CLI).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../src/scan/sources/limits.js';
import { listFiles, scanParallel } from '../src/scan/parallel.js';
import { GITLEAKS_DEFAULT_TOML } from '../src/scan/data/gitleaks-default.js';
import { parse } from 'smol-toml';
import { ensureCorpus } from './scan-corpus.js';

const MB = Number(process.env.FIREBREAK_BENCH_MB ?? 1100);
const DIR = process.env.FIREBREAK_BENCH_DIR ?? join(tmpdir(), 'firebreak-scan-corpus');
const RUNS = Number(process.env.FIREBREAK_BENCH_RUNS ?? 3);
const JOBS = Number(process.env.FIREBREAK_BENCH_JOBS ?? availableParallelism());
const SAMPLE_BYTES = 4e6;
const RG_UNION_TIMEOUT_S = 120;
const PII_PATTERNS = ['\\b(?:\\d[ -]?){12,18}\\d\\b', '\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\\b', '\\b\\d{3}[- ]\\d{2}[- ]\\d{4}\\b'];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Pattern files for rg: the union of every rule regex rg accepts (+ PII), and of the keywords. */
function rgPatterns(): { union: string; keywords: string; count: number; keywordCount: number; rejected: string[] } {
  const doc = parse(GITLEAKS_DEFAULT_TOML) as { rules: { id: string; regex?: string; keywords?: string[] }[] };
  const pats: string[] = [];
  const rejected: string[] = [];
  const keywords = new Set<string>();
  for (const r of doc.rules) {
    for (const k of r.keywords ?? []) keywords.add(k.toLowerCase());
    if (!r.regex) continue;
    // rg's regex crate reads Go RE2 syntax; a pattern it cannot compile is listed, not hidden.
    const ok = spawnSync('rg', ['-q', '-e', r.regex, '/dev/null']).status !== 2;
    if (ok) pats.push(r.regex);
    else rejected.push(r.id);
  }
  const dir = mkdtempSync(join(tmpdir(), 'fb-rg-'));
  const union = join(dir, 'union.txt');
  writeFileSync(union, [...pats, ...PII_PATTERNS].join('\n') + '\n');
  const kw = join(dir, 'keywords.txt');
  writeFileSync(kw, [...keywords].join('\n') + '\n');
  return { union, keywords: kw, count: pats.length + PII_PATTERNS.length, keywordCount: keywords.size, rejected };
}

const scanOnce = async (inputs: string[]): Promise<{ seconds: number; findings: number; issues: number; leaves: number }> => {
  const spec = { only: [], limits: DEFAULT_LIMITS, maxDecodeDepth: 5, baseline: [] };
  const t0 = performance.now();
  const r = await scanParallel(inputs, spec, JOBS);
  return { seconds: (performance.now() - t0) / 1000, findings: r.findings.length, issues: r.issues.length, leaves: r.stats.leaves };
};

function runRg(args: string[], inputs: string[], timeoutS?: number): { seconds: number; matches: number; status: number | null; timedOut: boolean } {
  const t0 = performance.now();
  const r = spawnSync('rg', ['--no-ignore', '--hidden', '--count-matches', '--no-filename', ...args, ...inputs], {
    maxBuffer: 1 << 28,
    encoding: 'utf8',
    ...(timeoutS ? { timeout: timeoutS * 1000 } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const matches = (r.stdout ?? '')
    .split('\n')
    .filter(Boolean)
    .reduce((a, l) => a + Number(l), 0);
  return { seconds, matches, status: r.status, timedOut: r.signal === 'SIGTERM' };
}

/** Every n-th file of the corpus, about SAMPLE_BYTES in all, spread over every kind of file. */
async function sample(): Promise<{ files: string[]; bytes: number }> {
  const all = (await listFiles([DIR], [])).filter((f) => !f.endsWith('MANIFEST.json'));
  const sizes = all.map((f) => statSync(f).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const perFile = total / all.length;
  const every = Math.max(1, Math.floor(all.length / Math.max(1, Math.round(SAMPLE_BYTES / perFile))));
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < all.length && bytes < SAMPLE_BYTES; i += every) {
    files.push(all[i]!);
    bytes += sizes[i]!;
  }
  return { files, bytes };
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
  process.stdout.write(
    `${rgVersion.stdout.split('\n')[0]}: union of ${pats.count} patterns${pats.rejected.length ? ` (not compilable by rg, left out: ${pats.rejected.join(', ')})` : ''}; ${pats.keywordCount} keywords\n`,
  );
  process.stdout.write(`firebreak: ${JOBS} thread(s), default settings (decode depth 5, archive depth 8)\n\n`);
  const MBs = (bytes: number, s: number): number => bytes / 1e6 / s;
  const fb: number[] = [];
  const rgKw: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const f = await scanOnce([DIR]);
    fb.push(f.seconds);
    const k = runRg(['-i', '-F', '-f', pats.keywords, ...PII_PATTERNS.flatMap((p) => ['-e', p])], [DIR]);
    rgKw.push(k.seconds);
    process.stdout.write(
      `run ${i + 1}, whole corpus: firebreak ${MBs(corpus.bytes, f.seconds).toFixed(1)} MB/s (${f.seconds.toFixed(1)} s, ${f.leaves} files incl. archive entries, ${f.findings} findings, ${f.issues} issues)` +
        ` | rg keywords ${MBs(corpus.bytes, k.seconds).toFixed(1)} MB/s (${k.seconds.toFixed(1)} s, ${k.matches} matches)\n`,
    );
  }
  const s = await sample();
  const fs1 = await scanOnce(s.files);
  const u = runRg(['--regex-size-limit', '2G', '--dfa-size-limit', '2G', '-f', pats.union], s.files, RG_UNION_TIMEOUT_S);
  const unionRate = u.timedOut
    ? `< ${MBs(s.bytes, u.seconds).toFixed(3)} MB/s (killed after ${RG_UNION_TIMEOUT_S} s, unfinished)`
    : `${MBs(s.bytes, u.seconds).toFixed(3)} MB/s (${u.seconds.toFixed(1)} s, ${u.matches} matches)`;
  process.stdout.write(`sample of ${s.files.length} files, ${(s.bytes / 1e6).toFixed(1)} MB: firebreak ${MBs(s.bytes, fs1.seconds).toFixed(1)} MB/s | rg union of patterns ${unionRate}\n`);

  const fbRate = MBs(corpus.bytes, median(fb));
  const kwRate = MBs(corpus.bytes, median(rgKw));
  const peak = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `\nmedian of ${RUNS} on ${(corpus.bytes / 1e6).toFixed(0)} MB: firebreak ${fbRate.toFixed(1)} MB/s; rg keywords-only ${kwRate.toFixed(1)} MB/s (ratio ${(fbRate / kwRate).toFixed(2)})\n`,
  );
  process.stdout.write(`rg union of patterns (target: firebreak >= 0.5x): ${unionRate} vs firebreak ${MBs(s.bytes, fs1.seconds).toFixed(1)} MB/s on the same sample\n`);
  process.stdout.write(`firebreak peak RSS ${peak.toFixed(0)} MB (all threads)\n`);
}

await main();
