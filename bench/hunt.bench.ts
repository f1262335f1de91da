/**
 * End-to-end `hunt` throughput and memory: the full bundled rule set over the attack samples
 * replicated to at least EVENTS events (default 1,000,000), next to parse-only throughput of the
 * same files in the same run (the same pipeline with no rules) and the same hunt without
 * correlations and stories (`--no-correlations --no-stories`: what those two stages cost), and
 * peak RSS at each scale (1x and 10x by default, to show memory does not grow with the evidence).
 *
 * Linux corpora run in the same invocation (`--linux-events N`, default 500,000 each; 0 skips
 * them): raw audit logs made from go-libaudit's real records (event ids renumbered so each copy
 * is a new event) and syslog files made from loghub's sshd and /var/log/messages lines, both
 * read from ../shared and written to the temporary folder only.
 *
 * `npm run bench:hunt [-- --events N] [--scales 1,10] [--runs R] [--threads T] [--linux-events N] [--keep] [--against DIR]`
 *
 * `--against DIR` names another built checkout of Firebreak (e.g. the last release): its full
 * hunt runs alternately with this one's on the same corpus (A B A B …), and the table gains the
 * other build's median and the ratio of medians (this / other), so a change is judged in one run.
 *
 * The corpus is built from hard links (copies when linking fails) under the system temp folder,
 * so 10x costs no disk. Each configuration is a fresh `firebreak hunt` process; the figures come
 * from its `--summary-json` (events, elapsed, peak RSS of the whole process, workers included)
 * and the median of R runs is quoted, with the process's CPU time (user + system, all threads)
 * beside the wall time. The load average is printed before and after: on a shared machine only
 * ratios from the same run mean anything, and the CPU ratio is the one load changes least. The
 * runs use a rule cache of their own after one warm-up run per build, so other work on the
 * machine cannot evict the compiled rules and turn a run into a compile.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HuntSummary } from '../src/output/records.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/firebreak.js');
const SAMPLES = join(REPO, '../shared/evtx/attack-samples');
const LINUX = join(REPO, '../shared/linux');

function files(p: string, out: string[] = []): string[] {
  if (statSync(p).isDirectory()) for (const n of readdirSync(p).sort()) files(join(p, n), out);
  else out.push(p);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** A folder holding `copies` replicas of the samples (hard links where possible). */
function corpus(root: string, sources: string[], copies: number): string {
  const dir = join(root, `x${copies}`);
  if (existsSync(dir)) return dir;
  for (let c = 0; c < copies; c++) {
    for (const src of sources) {
      const dst = join(dir, `copy${String(c).padStart(5, '0')}`, relative(SAMPLES, src));
      mkdirSync(dirname(dst), { recursive: true });
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
  return dir;
}

/** Lines per file of the Linux corpora. */
const LINUX_FILE_LINES = 100_000;

/**
 * A folder of `kind` logs with about `target` lines: go-libaudit's raw records (every copy's
 * events get new serials and later times, so the joiner sees new events) or loghub's syslog lines.
 */
function linuxCorpus(root: string, kind: 'auditd' | 'syslog', target: number): string {
  const dir = join(root, `linux-${kind}`);
  mkdirSync(dir, { recursive: true });
  const sources =
    kind === 'auditd'
      ? [
          'go-libaudit/testdata/normal.log',
          'go-libaudit/aucoalesce/testdata/execve.log',
          'go-libaudit/auparse/testdata/audit-rhel7.log',
          'go-libaudit/auparse/testdata/test2.log',
          'go-libaudit/aucoalesce/testdata/sockaddr.log',
        ]
      : ['loghub/OpenSSH/OpenSSH_2k.log', 'loghub/Linux/Linux_2k.log'];
  const lines = sources.flatMap((f) =>
    readFileSync(join(LINUX, f), 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim()),
  );
  let out: string[] = [];
  let file = 0;
  let serial = 1;
  let copy = 0;
  for (let n = 0; n < target;) {
    const ids = new Map<string, string>();
    for (const line of lines) {
      if (kind === 'auditd')
        out.push(
          line.replace(/msg=audit\((\d+)\.(\d+):(\d+)\)/, (_, sec: string, ms: string, id: string) => {
            let mapped = ids.get(`${sec}.${ms}:${id}`);
            if (!mapped) ids.set(`${sec}.${ms}:${id}`, (mapped = `${1_700_000_000 + copy * 60 + (Number(sec) % 60)}.${ms}:${serial++}`));
            return `msg=audit(${mapped})`;
          }),
        );
      else out.push(line);
      n++;
      if (out.length >= LINUX_FILE_LINES || n >= target) {
        writeFileSync(join(dir, `${kind === 'auditd' ? 'audit.log' : 'syslog'}.${file++}`), out.join('\n') + '\n');
        out = [];
      }
      if (n >= target) break;
    }
    copy++;
  }
  return dir;
}

interface Run {
  secs: number;
  /** CPU seconds (user + system, every thread) of the hunt process, or NaN where unknown. */
  cpu: number;
  summary: HuntSummary;
}

/**
 * CPU seconds of the children this process has waited for (Linux: /proc/self/stat's cutime and
 * cstime, in clock ticks of 1/100 s); NaN elsewhere. CPU time is what a loaded machine changes
 * least, so it is quoted beside the wall time.
 */
function childCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return NaN;
  }
}

/** A rule cache of the benchmark's own, so that other work on the machine cannot evict its entries. */
let cacheHome = '';

function hunt(dir: string, extra: string[], threads: string[], scratch: string, bin = BIN): Run {
  const out = join(scratch, 'summary.json');
  rmSync(out, { force: true });
  const t0 = process.hrtime.bigint();
  const c0 = childCpu();
  const r = spawnSync(process.execPath, [bin, 'hunt', dir, '--quiet', '--summary-json', out, ...threads, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, XDG_CACHE_HOME: cacheHome },
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = childCpu() - c0;
  if (r.status !== 0 || !existsSync(out)) throw new Error(`hunt failed (${r.status}): ${r.stderr}`);
  return { secs, cpu, summary: JSON.parse(readFileSync(out, 'utf8')) as HuntSummary };
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
  };
  const target = Number(opt('--events', '1000000'));
  const scales = opt('--scales', '1,10').split(',').map(Number);
  const runs = Number(opt('--runs', '3'));
  const threads = args.includes('--threads') ? ['--threads', opt('--threads', '0')] : [];
  const against = args.includes('--against') ? join(opt('--against', ''), 'bin/firebreak.js') : undefined;
  if (against && !existsSync(against)) {
    console.error(`--against: no ${against}`);
    process.exit(2);
  }
  const linuxEvents = Number(opt('--linux-events', '500000'));
  if (!existsSync(SAMPLES)) {
    console.error(`attack samples not found at ${SAMPLES}`);
    process.exit(2);
  }
  const sources = files(SAMPLES);
  const root = mkdtempSync(join(tmpdir(), 'firebreak-bench-hunt-'));
  const emptyRules = join(root, 'no-rules');
  mkdirSync(emptyRules);
  cacheHome = join(root, 'cache');
  try {
    // Events per copy, from a parse-only pass over one copy.
    const oneDir = corpus(root, sources, 1);
    const one = hunt(oneDir, ['--rules', emptyRules], threads, root).summary.events;
    // Warm-up, not counted: each build compiles the rules into the benchmark's cache once.
    hunt(oneDir, [], threads, root);
    if (against) hunt(oneDir, [], threads, root, against);
    console.log(`corpus: ${sources.length} files, ${fmt(one)} events per copy; ${availableParallelism()} cores; threads ${threads[1] ?? 'all'}; runs ${runs}`);
    console.log(`load average before: ${load()}`);
    const rows: string[] = [];
    const compared: string[] = [];
    for (const scale of scales) {
      const copies = Math.ceil((target * scale) / one);
      const dir = corpus(root, sources, copies);
      const n = scale === 1 ? runs : 1;
      const full: Run[] = [];
      const parse: Run[] = [];
      const plain: Run[] = [];
      const other: Run[] = [];
      for (let i = 0; i < n; i++) {
        parse.push(hunt(dir, ['--rules', emptyRules], threads, root));
        // What correlations and stories cost is measured at 1x only (the 10x run shows memory).
        if (scale === 1) plain.push(hunt(dir, ['--no-correlations', '--no-stories'], threads, root));
        full.push(hunt(dir, [], threads, root));
        if (against) other.push(hunt(dir, [], threads, root, against));
      }
      if (against) {
        const a = median(full.map((r) => r.secs));
        const b = median(other.map((r) => r.secs));
        const ac = median(full.map((r) => r.cpu));
        const bc = median(other.map((r) => r.cpu));
        const orss = Math.max(...other.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20;
        compared.push(
          `| ${scale}x | ${fmt(full[0]!.summary.events)} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} | ${ac.toFixed(1)} | ${bc.toFixed(1)} | ${(ac / bc).toFixed(2)} | ${fmt(Math.max(...full.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20)} | ${fmt(orss)} | ${fmt(full[0]!.summary.detections)} / ${fmt(other[0]!.summary.detections)} | ${n} |`,
        );
      }
      const ss = plain.length ? median(plain.map((r) => r.secs)) : NaN;
      const fs = median(full.map((r) => r.secs));
      const ps = median(parse.map((r) => r.secs));
      const events = full[0]!.summary.events;
      const rss = Math.max(...full.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20;
      const prss = Math.max(...parse.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20;
      const sum = full[0]!.summary;
      const srss = plain.length ? Math.max(...plain.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20 : NaN;
      const dash = (x: number, f: (x: number) => string) => (Number.isNaN(x) ? '-' : f(x));
      rows.push(
        `| ${scale}x | ${fmt(events)} | ${fs.toFixed(1)} | ${fmt(events / fs)} | ${fmt(rss)} | ${dash(ss, (x) => x.toFixed(1))} | ${dash(srss, fmt)} | ${dash(ss, (x) => `${(100 * (fs / x - 1)).toFixed(0)}%`)} | ${ps.toFixed(1)} | ${fmt(events / ps)} | ${fmt(prss)} | ${fmt(sum.detections)} | ${sum.stories?.count ?? 0} | ${n} |`,
      );
      console.log(
        `${scale}x done: ${fmt(events)} events, full ${fs.toFixed(1)} s, without correlations/stories ${dash(ss, (x) => x.toFixed(1))} s, parse-only ${ps.toFixed(1)} s, peak RSS ${fmt(rss)} MiB (load ${load()})`,
      );
    }
    if (linuxEvents > 0 && existsSync(LINUX))
      for (const kind of ['auditd', 'syslog'] as const) {
        const dir = linuxCorpus(root, kind, linuxEvents);
        const full: Run[] = [];
        const parse: Run[] = [];
        for (let i = 0; i < runs; i++) {
          parse.push(hunt(dir, ['--rules', emptyRules], threads, root));
          full.push(hunt(dir, [], threads, root));
        }
        const fs = median(full.map((r) => r.secs));
        const ps = median(parse.map((r) => r.secs));
        const events = full[0]!.summary.events;
        const rss = Math.max(...full.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20;
        const prss = Math.max(...parse.map((r) => r.summary.peakRssBytes ?? 0)) / 2 ** 20;
        const sum = full[0]!.summary;
        rows.push(
          `| ${kind} | ${fmt(events)} | ${fs.toFixed(1)} | ${fmt(events / fs)} | ${fmt(rss)} | - | - | - | ${ps.toFixed(1)} | ${fmt(events / ps)} | ${fmt(prss)} | ${fmt(sum.detections)} | ${sum.stories?.count ?? 0} | ${runs} |`,
        );
        console.log(`${kind} done: ${fmt(events)} events, full ${fs.toFixed(1)} s, parse-only ${ps.toFixed(1)} s, peak RSS ${fmt(rss)} MiB (load ${load()})`);
      }
    else if (linuxEvents > 0) console.log(`Linux material not found at ${LINUX}: auditd and syslog corpora skipped`);
    console.log('');
    console.log(
      '| input | events | full hunt: median s | events/s | peak RSS MiB | no correlations/stories: median s | peak RSS MiB | correlations + stories cost | parse only: median s | events/s | peak RSS MiB | detections | stories | runs |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    if (against) {
      console.log(`\nthis build against ${against} (full hunt, alternating runs):\n`);
      console.log(
        '| input | events | this: median s | other: median s | ratio this/other | this: median CPU s | other: median CPU s | CPU ratio | this: peak RSS MiB | other: peak RSS MiB | detections this / other | runs |',
      );
      console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
      for (const r of compared) console.log(r);
    }
    console.log(`\nload average after: ${load()}`);
  } finally {
    if (!args.includes('--keep')) rmSync(root, { recursive: true, force: true });
    else console.log(`corpus kept in ${root}`);
  }
}

main();
