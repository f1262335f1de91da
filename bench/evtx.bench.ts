/**
 * EVTX reader throughput, side by side with libyal's `evtxexport -f xml` on the same files in
 * the same run, every tool writing to /dev/null:
 * `npm run bench:evtx [-- FILE|DIR… ] [--runs N] [--repeat K]`.
 *
 * Corpus: ../shared/evtx (edge cases and attack samples) when present, else the test fixtures.
 * Each configuration runs N times (default 5) as a fresh process; the median wall time gives
 * records/s and MB/s, and GNU time gives peak RSS. evtxexport takes one file per process, so it
 * is run file by file and its times summed; its per-process start-up is measured and shown.
 * `--repeat K` passes the corpus K times (to both tools) for a workload closer to a real
 * collection, where Firebreak's one-off start-up and JIT warm-up matter less.
 *
 * What is compared, to be fair about it: each tool is run the way it is used. Firebreak takes
 * every file in one process (one start-up, one JIT warm-up for the whole corpus); evtxexport
 * takes one file per process, so it pays its start-up (about 20 ms, spawned from this script)
 * per file. Both figures are printed: the speed-up as measured, and without evtxexport's start-up.
 * `--per-file` adds Firebreak run the same way, one process per file (start-up and warm-up per
 * file: slow, and not how it is used, but like for like). The load average is printed before and
 * after: on a shared machine only ratios from the same run mean anything. `--baseline BIN` adds
 * another build's `bin/firebreak.js` (single-threaded), interleaved run by run, for a before/after
 * under the same load.
 */
import { spawnSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/firebreak.js');

function evtxFiles(p: string, out: string[] = []): string[] {
  if (statSync(p).isDirectory()) {
    for (const n of readdirSync(p).sort()) evtxFiles(join(p, n), out);
  } else if (readFileSync(p).subarray(0, 8).toString('latin1') === 'ElfFile\0') {
    out.push(p);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const hasTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;

/** Run a command with stdout to /dev/null; wall seconds, peak RSS (KiB) and stderr. */
function timed(cmd: string, args: string[]): { secs: number; rssKiB: number; stderr: string } {
  const devnull = openSync('/dev/null', 'w');
  const argv = hasTime ? ['-f', '\nMAXRSS %M', cmd, ...args] : args;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(hasTime ? '/usr/bin/time' : cmd, argv, { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /MAXRSS (\d+)/.exec(r.stderr ?? '');
  return { secs, rssKiB: m ? Number(m[1]) : NaN, stderr: r.stderr ?? '' };
}

function main(): void {
  const args = process.argv.slice(2);
  let runs = 5;
  let repeat = 1;
  let perFile = false;
  let baseline: string | undefined;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--repeat') repeat = Number(args[++i]);
    else if (args[i] === '--per-file') perFile = true;
    else if (args[i] === '--baseline') baseline = args[++i];
    else inputs.push(args[i]!);
  }
  if (!inputs.length) {
    const shared = join(REPO, '../shared/evtx');
    try {
      statSync(shared);
      inputs.push(shared);
    } catch {
      inputs.push(join(REPO, 'test/fixtures/evtx'));
    }
  }
  const once = inputs.flatMap((p) => evtxFiles(p));
  const files = Array.from({ length: repeat }, () => once).flat();
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const cores = availableParallelism();

  // Record count from our own run (checked against evtxexport's when it is installed).
  const probe = spawnSync(process.execPath, [BIN, 'evtx', 'dump', '--threads', '1', ...files], { stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
  const records = Number(/(\d+) good records?/.exec(probe.stderr)?.[1] ?? NaN);
  console.log(`corpus: ${once.length} files${repeat > 1 ? ` x ${repeat} passes` : ''}, ${(bytes / 1e6).toFixed(1)} MB, ${records} records; ${runs} runs each, medians; ${cores} cores`);
  console.log(probe.stderr.trim().split('\n').pop());
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`load average before: ${load()}`);

  const rows: [string, number, number][] = [];
  const report = (name: string, secsList: number[], rss: number[]): number => {
    const secs = median(secsList);
    rows.push([name, secs, median(rss)]);
    return secs;
  };

  const single: number[] = [];
  const singleRss: number[] = [];
  const multi: number[] = [];
  const multiRss: number[] = [];
  const xml: number[] = [];
  const own: number[] = [];
  const base: number[] = [];
  const baseRss: number[] = [];
  const ex: number[] = [];
  const exRss: number[] = [];
  let exStartup = NaN;
  const haveEvtxexport = spawnSync('evtxexport', ['-V'], { encoding: 'utf8' }).status === 0;
  for (let r = 0; r < runs; r++) {
    let t = timed(process.execPath, [BIN, 'evtx', 'dump', '--threads', '1', ...files]);
    single.push(t.secs);
    singleRss.push(t.rssKiB);
    t = timed(process.execPath, [BIN, 'evtx', 'dump', '--threads', String(cores), ...files]);
    multi.push(t.secs);
    multiRss.push(t.rssKiB);
    xml.push(timed(process.execPath, [BIN, 'evtx', 'dump', '--format', 'xml', '--threads', '1', ...files]).secs);
    if (baseline) {
      const b = timed(process.execPath, [baseline, 'evtx', 'dump', '--threads', '1', ...files]);
      base.push(b.secs);
      baseRss.push(b.rssKiB);
    }
    if (perFile) own.push(files.reduce((sum, f) => sum + timed(process.execPath, [BIN, 'evtx', 'dump', '--threads', '1', f]).secs, 0));
    if (haveEvtxexport) {
      let sum = 0;
      let rss = 0;
      for (const f of files) {
        const e = timed('evtxexport', ['-f', 'xml', f]);
        sum += e.secs;
        rss = Math.max(rss, e.rssKiB);
      }
      ex.push(sum);
      exRss.push(rss);
    }
  }
  if (haveEvtxexport) exStartup = median(Array.from({ length: 5 }, () => timed('evtxexport', ['-V']).secs));

  const s1 = report('firebreak evtx dump (jsonl), 1 thread', single, singleRss);
  report(`firebreak evtx dump (jsonl), ${cores} threads`, multi, multiRss);
  report('firebreak evtx dump --format xml, 1 thread', xml, []);
  const sb = baseline ? report('baseline build: evtx dump (jsonl), 1 thread', base, baseRss) : NaN;
  if (perFile) report('firebreak evtx dump, one process per file', own, []);
  const se = haveEvtxexport ? report('evtxexport -f xml (one process per file)', ex, exRss) : NaN;

  console.log(`load average after: ${load()}`);
  console.log('');
  console.log('tool'.padEnd(48) + 'median s'.padStart(10) + 'records/s'.padStart(12) + 'MB/s'.padStart(9) + 'peak RSS'.padStart(11));
  for (const [name, secs, rss] of rows) {
    console.log(
      name.padEnd(48) +
        secs.toFixed(3).padStart(10) +
        Math.round(records / secs)
          .toString()
          .padStart(12) +
        (bytes / 1e6 / secs).toFixed(1).padStart(9) +
        (Number.isFinite(rss) ? `${(rss / 1024).toFixed(0)} MiB` : 'n/a').padStart(11),
    );
  }
  if (haveEvtxexport) {
    console.log('');
    console.log(`single-threaded speed-up over evtxexport: ${(se / s1).toFixed(1)}x`);
    if (baseline) console.log(`baseline build (${baseline}): ${(se / sb).toFixed(1)}x; this build is ${(sb / s1).toFixed(2)}x the baseline's speed`);
    const startupTotal = exStartup * files.length;
    console.log(
      `evtxexport process start-up: ${(exStartup * 1000).toFixed(1)} ms x ${files.length} files = ${startupTotal.toFixed(2)} s of its time; ` +
        `without it the speed-up is ${((se - startupTotal) / s1).toFixed(1)}x (firebreak's one start-up stays in)`,
    );
  } else {
    console.log('\nevtxexport not installed (apt-get install libevtx-utils): no side-by-side figure');
  }
}

main();
