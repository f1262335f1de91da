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
 *
 * `npm run bench:scan -- --against DIR` names another built checkout of Firebreak (e.g. the last
 * release): instead of the ripgrep comparison, `firebreak scan --format json` of this build and of
 * that one run alternately (A B A B …) as separate processes on the same corpus with the same
 * threads, and the run prints each build's median MB/s, CPU time (user + sys, all threads) and peak
 * RSS, the findings each reported, and the ratios of medians (this / other), so a change is judged
 * in one run. On a shared machine CPU time is the steadier figure; wall time moves with the load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** One `firebreak scan` process of a build: wall and CPU seconds, peak RSS, findings reported. */
interface CliRun {
  seconds: number;
  cpu: number;
  rssMB: number;
  findings: number;
}

/**
 * A preload module that writes the process's resource usage (all threads) to $FIREBREAK_BENCH_RUSAGE
 * when it exits: the same measure for any build, without relying on a `time` program.
 */
function rusageHook(dir: string): string {
  const hook = join(dir, 'rusage.mjs');
  writeFileSync(
    hook,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.resourceUsage(); writeFileSync(process.env.FIREBREAK_BENCH_RUSAGE, JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, rssMB: u.maxRSS / 1024 })); });\n",
  );
  return hook;
}

function scanCli(bin: string, corpus: string, scratch: string, hook: string): CliRun {
  const out = join(scratch, 'report.json');
  const usage = join(scratch, 'rusage.json');
  rmSync(out, { force: true });
  rmSync(usage, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', hook, bin, 'scan', '--format', 'json', '-o', out, '-j', String(JOBS), corpus], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, FIREBREAK_BENCH_RUSAGE: usage },
  });
  const seconds = (performance.now() - t0) / 1000;
  // Exit status 1 means "found something", which a corpus with secrets in it must.
  if ((r.status !== 0 && r.status !== 1) || !existsSync(out) || !existsSync(usage)) throw new Error(`${bin} scan failed (status ${r.status}): ${r.stderr}`);
  const findings = (JSON.parse(readFileSync(out, 'utf8')) as unknown[]).length;
  const u = JSON.parse(readFileSync(usage, 'utf8')) as { cpu: number; rssMB: number };
  return { seconds, cpu: u.cpu, rssMB: u.rssMB, findings };
}

/** This build against another, alternating, `RUNS` runs each of the whole corpus. */
function against(otherRoot: string, corpus: { bytes: number }): void {
  const other = join(otherRoot, 'bin/firebreak.js');
  if (!existsSync(other)) {
    process.stderr.write(`--against: no ${other}\n`);
    process.exit(2);
  }
  const self = fileURLToPath(new URL('../../bin/firebreak.js', import.meta.url));
  const scratch = mkdtempSync(join(tmpdir(), 'fb-scan-ab-'));
  const hook = rusageHook(scratch);
  const MBs = (s: number): number => corpus.bytes / 1e6 / s;
  const a: CliRun[] = [];
  const b: CliRun[] = [];
  const show = (who: string, i: number, x: CliRun): void =>
    void process.stdout.write(
      `run ${i + 1} ${who}: ${MBs(x.seconds).toFixed(1)} MB/s (${x.seconds.toFixed(1)} s wall, ${x.cpu.toFixed(1)} s CPU, peak RSS ${x.rssMB.toFixed(0)} MB, ${x.findings} findings)\n`,
    );
  process.stdout.write(`this build (${self}) against ${other}: firebreak scan --format json -j ${JOBS}, alternating\n`);
  for (let i = 0; i < RUNS; i++) {
    // Alternate which build goes first, so neither always runs on a warmer page cache.
    const order: [string, string, CliRun[]][] = [
      ['this ', self, a],
      ['other', other, b],
    ];
    if (i % 2) order.reverse();
    for (const [who, bin, into] of order) {
      const x = scanCli(bin, DIR, scratch, hook);
      into.push(x);
      show(who, i, x);
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  const row = (who: string, xs: CliRun[]): string =>
    `| ${who} | ${MBs(median(xs.map((x) => x.seconds))).toFixed(1)} | ${median(xs.map((x) => x.seconds)).toFixed(1)} | ${median(xs.map((x) => x.cpu)).toFixed(1)} | ${Math.max(...xs.map((x) => x.rssMB)).toFixed(0)} | ${xs[0]!.findings} |`;
  process.stdout.write(`\nmedians of ${RUNS} runs each on ${(corpus.bytes / 1e6).toFixed(0)} MB:\n\n`);
  process.stdout.write('| build | MB/s (wall) | wall s | CPU s (user+sys) | peak RSS MB | findings |\n|---|---|---|---|---|---|\n');
  process.stdout.write(`${row('this', a)}\n${row('other', b)}\n`);
  const ratio = (f: (x: CliRun) => number): string => (median(a.map(f)) / median(b.map(f))).toFixed(2);
  process.stdout.write(`\nratio this/other: MB/s ${(median(b.map((x) => x.seconds)) / median(a.map((x) => x.seconds))).toFixed(2)}, CPU time ${ratio((x) => x.cpu)}\n`);
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
  process.stdout.write(`corpus: ${DIR} (target ${MB} MB)\n`);
  const t0 = performance.now();
  const corpus = await ensureCorpus(DIR, MB);
  process.stdout.write(`corpus ready: ${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(0)} MB (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  const at = process.argv.indexOf('--against');
  if (at >= 0) {
    if (!process.argv[at + 1]) {
      process.stderr.write('--against needs the folder of another built checkout\n');
      process.exit(2);
    }
    against(process.argv[at + 1]!, corpus);
    return;
  }
  const rgVersion = spawnSync('rg', ['--version'], { encoding: 'utf8' });
  if (rgVersion.status !== 0) {
    process.stderr.write('bench:scan needs ripgrep (Debian: apt-get install ripgrep)\n');
    process.exit(2);
  }
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
