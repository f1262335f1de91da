/**
 * `firebreak serve` under load, with `hunt` over the same events as the reference in the same run.
 *
 * The scenario is the bundled sample intrusion replicated COPIES times (record ids renumbered,
 * each copy moved later in time), plus one marker event per bulk request that a marker rule
 * (suppression off) turns into an alert of its own, to time acknowledgement → alert.
 *
 *  1. hunt: `firebreak hunt` over the scenario written as JSON-lines files, R runs, median events/s.
 *  2. max rate: a load generator in a second process sends the scenario through `_bulk` (1,000
 *     documents a request, 4 requests in flight) to a fresh `firebreak serve` with the full rule
 *     set, correlations and stories; rate = events ÷ (first send → all processed). R runs, median.
 *  3. latency: at 50% of that rate for 60 s, p50/p99 of (marker alert committed and readable −
 *     request acknowledged), and of (request acknowledged − sent) for context.
 *  4. soak: SOAK minutes at 50% of that rate; peak RSS of the server process (workers are threads,
 *     so included), and RSS in the first and last minute to show whether it grows.
 *
 * `npm run bench:serve [-- --copies N] [--runs R] [--soak-minutes M]`  (defaults 20, 3, 10)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import type { HuntSummary } from '../src/output/records.js';
import { defaultRuleDirs } from '../src/sigma/bundled.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/firebreak.js');
const SAMPLE = join(REPO, 'data/samples/intrusion');
const TOKEN = 'bench-token-0123456789abcdef';
const AUTH = 'Basic ' + Buffer.from(`elastic:${TOKEN}`).toString('base64');
const MARKER_RULE = `title: Bench latency marker
id: 0b6a1f64-5c1e-4d4f-9a57-3b8f0f3c2a11
status: test
level: low
logsource: { product: windows, category: process_creation }
detection:
  sel: { CommandLine|contains: 'fb-bench-marker' }
  condition: sel
`;

const USAGE = `usage: node dist/bench/serve.bench.js [--copies N] [--runs R] [--soak-minutes M]
  --copies N        copies of the sample intrusion in the scenario (default 20)
  --runs R          hunt and maximum-rate runs, medians reported (default 3)
  --soak-minutes M  length of the soak at half the maximum rate (default 10)
  --soak-rate N     only the soak, at N events/s (no hunt, maximum-rate or latency runs): to
                    compare memory between builds at the same rate`;
const { values } = parseArgs({
  options: {
    copies: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    'soak-minutes': { type: 'string', default: '10' },
    'soak-rate': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const COPIES = Number(values.copies);
const RUNS = Number(values.runs);
const SOAK_MS = Number(values['soak-minutes']) * 60_000;
const SOAK_RATE = values['soak-rate'] === undefined ? undefined : Number(values['soak-rate']);
for (const [name, v] of [
  ['--copies', COPIES],
  ['--runs', RUNS],
  ['--soak-minutes', SOAK_MS],
  ['--soak-rate', SOAK_RATE ?? 1],
] as const) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} must be a positive whole number\n${USAGE}`);
    process.exit(2);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => (a === b ? 0 : a < b ? -1 : 1))[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (n: number) => (n === Infinity ? '∞' : Math.round(n).toLocaleString('en-US'));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How often the latency runs look for new marker alerts (ms): the resolution of the measurement. */
const POLL_MS = 5;
/** How long after the last request a marker's alert is waited for. */
const MARKER_WAIT_MS = 60_000;

/** The scenario: every sample line, COPIES times, record ids and times shifted per copy. */
function scenario(): string[] {
  const lines: { t: number; line: string }[] = [];
  for (const f of readdirSync(SAMPLE).sort())
    for (const l of gunzipSync(readFileSync(join(SAMPLE, f)))
      .toString('utf8')
      .split('\n'))
      if (l.trim()) lines.push({ t: timeOf(l), line: l });
  const span = Math.max(...lines.map((x) => x.t)) - Math.min(...lines.map((x) => x.t)) + 3600_000;
  const out: { t: number; line: string }[] = [];
  for (let c = 0; c < COPIES; c++) {
    for (const { t, line } of lines) {
      const shifted = new Date(t + c * span).toISOString();
      out.push({
        t: t + c * span,
        line: line.replace(/"SystemTime":"[^"]+"/, `"SystemTime":"${shifted}"`).replace(/"EventRecordID":(\d+)/, (_m, n: string) => `"EventRecordID":${Number(n) + c * 10_000_000}`),
      });
    }
  }
  return out.sort((a, b) => a.t - b.t).map((x) => x.line);
}

function timeOf(line: string): number {
  return Date.parse(/"SystemTime":"([^"]+)"/.exec(line)?.[1] ?? '1970-01-01T00:00:00Z');
}

function marker(i: number, at: string): string {
  return JSON.stringify({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
        EventID: 1,
        TimeCreated: { '#attributes': { SystemTime: at } },
        EventRecordID: 900_000_000 + i,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: 'bench.corp.example',
      },
      EventData: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: `cmd /c fb-bench-marker ${i}` },
    },
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

interface Running {
  child: ChildProcess;
  port: number;
  db: () => Database.Database;
  dir: string;
  stop(): Promise<void>;
}

async function startServe(root: string, name: string): Promise<Running> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'marker.yml'), MARKER_RULE);
  writeFileSync(
    join(dir, 'serve.yml'),
    `data: ${dir}/data
listeners:
  elastic: { listen: 127.0.0.1:${port} }
tokens:
  - { source: bench, secret: ${TOKEN}, protocols: [elastic] }
rules: { paths: [${[...defaultRuleDirs(), join(dir, 'marker.yml')].join(', ')}] }
suppression: { rules: { "Bench latency marker": 0 } }
storage: { events: false }
`,
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'serve.yml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    if (i > 1200) throw new Error('serve did not start');
    const ok = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: AUTH } }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  let handle: Database.Database | undefined;
  return {
    child,
    port,
    dir,
    db: () => (handle ??= new Database(join(dir, 'data', 'state.db'), { readonly: true })),
    async stop() {
      handle?.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const processed = (r: Running) => Number((r.db().prepare("SELECT value FROM meta WHERE key = 'processed'").get() as { value: string } | undefined)?.value ?? 0);

async function bulk(port: number, docs: string[]): Promise<number> {
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/_bulk`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/x-ndjson' },
      body: docs.map((d) => `{"create":{"_index":"winlogbeat"}}\n${d}\n`).join(''),
    });
    if (res.status === 429) {
      await sleep(200);
      continue;
    }
    if (!res.ok) throw new Error(`bulk answered ${res.status}`);
    await res.arrayBuffer();
    return Date.now();
  }
}

/** Everything as fast as it is taken: events/s from the first send until all are processed. */
async function maxRate(root: string, events: string[], run: number): Promise<number> {
  const s = await startServe(root, `max${run}`);
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const from = next;
      next += 1000;
      await bulk(s.port, events.slice(from, from + 1000));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  while (processed(s) < events.length) await sleep(20);
  const rate = events.length / ((Date.now() - t0) / 1000);
  await s.stop();
  return rate;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Paced {
  /** Per marker: acknowledgement → its alert committed and readable (Infinity: never seen). */
  latencies: number[];
  /** Per marker seen: acknowledgement → the time stamp the server gave its alert row (`created_at`, set before the row is committed). */
  stamped: number[];
  /** Per request: sent → acknowledged. */
  acks: number[];
  rss: { t: number; rss: number }[];
  /** The machine's 1-minute load average, sampled with the RSS. */
  load: number[];
}

/**
 * At `rate` events/s for `ms` (cycling through the scenario): marker latencies, acknowledgement
 * times and RSS samples. A marker's alert counts from when this process can read it in the state
 * database (polled every POLL_MS on a read-only connection, so only committed rows are seen), not
 * from the time stamp the server gives the row, which it writes before its transaction commits.
 * Markers are waited for up to MARKER_WAIT_MS after the last request; any never seen count as
 * infinitely late rather than being left out.
 */
async function paced(root: string, events: string[], rate: number, ms: number, name: string): Promise<Paced> {
  const s = await startServe(root, name);
  const batch = Math.max(50, Math.round(rate / 10));
  const acks = new Map<number, number>();
  const ackTimes: number[] = [];
  const seen = new Map<number, number>();
  const stampedAt = new Map<number, number>();
  const rss: { t: number; rss: number }[] = [];
  const loads: number[] = [];
  const t0 = Date.now();
  let i = 0;
  let m = 0;
  const sampler = setInterval(() => {
    rss.push({ t: Date.now() - t0, rss: rssOf(s.child.pid!) });
    loads.push(loadavg()[0]!);
  }, 5000);
  const newAlerts = s.db().prepare("SELECT id, CASE WHEN rule_title = 'Bench latency marker' THEN detection END AS detection, created_at FROM alerts WHERE id > ? ORDER BY id");
  let lastId = 0;
  const poll = () => {
    const at = Date.now();
    for (const row of newAlerts.iterate(lastId) as Iterable<{ id: number; detection: string | null; created_at: string }>) {
      lastId = row.id;
      if (row.detection === null) continue;
      const id = Number(/fb-bench-marker (\d+)/.exec(row.detection)?.[1]);
      if (!seen.has(id)) seen.set(id, at);
      stampedAt.set(id, Date.parse(row.created_at));
    }
  };
  const poller = setInterval(poll, POLL_MS);
  while (Date.now() - t0 < ms) {
    const due = t0 + ((i + m) / rate) * 1000;
    if (Date.now() < due) await sleep(due - Date.now());
    const docs: string[] = [];
    for (let k = 0; k < batch - 1; k++) docs.push(events[(i + k) % events.length]!);
    i += batch - 1;
    const id = m++;
    // The marker carries the time of the events around it, so it never moves the watermark ahead of them.
    docs.push(marker(id, new Date(timeOf(docs[docs.length - 1]!)).toISOString()));
    const sent = Date.now();
    const ack = await bulk(s.port, docs);
    acks.set(id, ack);
    ackTimes.push(ack - sent);
  }
  clearInterval(sampler);
  const deadline = Date.now() + MARKER_WAIT_MS;
  while (seen.size < acks.size && Date.now() < deadline) await sleep(POLL_MS);
  clearInterval(poller);
  poll();
  const latencies = [...acks].map(([id, ack]) => {
    const at = seen.get(id);
    return at === undefined ? Infinity : Math.max(0, at - ack);
  });
  const stamped = [...acks].flatMap(([id, ack]) => {
    const at = stampedAt.get(id);
    return at === undefined ? [] : [Math.max(0, at - ack)];
  });
  const missing = latencies.filter((x) => x === Infinity).length;
  if (missing) console.log(`  (${missing} of ${acks.size} markers had no alert ${MARKER_WAIT_MS / 1000} s after the last request: counted as infinitely late)`);
  await s.stop();
  return { latencies, stamped, acks: ackTimes, rss, load: loads };
}

/** The soak's rows of the result table: latency, load and RSS by minute. */
function soakRows(soak: Paced, rate: number): void {
  const first = soak.rss.filter((x) => x.t <= 60_000).map((x) => x.rss);
  const last = soak.rss.filter((x) => x.t >= SOAK_MS - 60_000).map((x) => x.rss);
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)} / ${median(xs).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`;
  console.log(`| soak: load average (1 min) min / median / max | ${range(soak.load)} (${cpus().length} cores) |`);
  console.log(`| soak: ack → alert | p50 ${fmt(pct(soak.latencies, 50))} ms, p99 ${fmt(pct(soak.latencies, 99))} ms, max ${fmt(Math.max(...soak.latencies))} ms (${soak.latencies.length} markers) |`);
  console.log(`| soak ${SOAK_MS / 60_000} min at ${fmt(rate)} ev/s: peak RSS | ${mb(Math.max(...soak.rss.map((x) => x.rss)))} |`);
  console.log(`| soak: median RSS first minute → last minute | ${mb(median(first))} → ${mb(median(last))} |`);
  const minutes = Array.from({ length: Math.ceil(SOAK_MS / 60_000) }, (_, k) => soak.rss.filter((x) => x.t >= k * 60_000 && x.t < (k + 1) * 60_000).map((x) => x.rss)).filter((xs) => xs.length);
  console.log(`| soak: median RSS by minute | ${minutes.map((xs) => (median(xs) / 1048576).toFixed(0)).join(' ')} MB |`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'fb-bench-serve-'));
  try {
    console.log(`load average before: ${load()}`);
    const events = scenario();
    const huntDir = join(root, 'hunt');
    mkdirSync(huntDir);
    // One file per copy-sized slice, as a folder of exported logs would be.
    const per = Math.ceil(events.length / COPIES);
    for (let c = 0; c < COPIES; c++) writeFileSync(join(huntDir, `part${String(c).padStart(3, '0')}.json`), events.slice(c * per, (c + 1) * per).join('\n') + '\n');
    console.log(`scenario: ${fmt(events.length)} events (${COPIES} copies of the sample intrusion)`);

    if (SOAK_RATE !== undefined) {
      console.log(`soak at ${fmt(SOAK_RATE)} ev/s for ${SOAK_MS / 60_000} min (soak only)…`);
      const soak = await paced(root, events, SOAK_RATE, SOAK_MS, 'soak');
      console.log(`load average after: ${load()}\n`);
      console.log('| measure | value |');
      console.log('|---|---|');
      soakRows(soak, SOAK_RATE);
      return;
    }
    const hunt: number[] = [];
    const serve: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const out = join(root, `hunt${r}.json`);
      const h = spawnSync(process.execPath, [BIN, 'hunt', huntDir, '--quiet', '--summary-json', out], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (h.status !== 0 && h.status !== 1) throw new Error(`hunt exited ${h.status}`);
      const sum = JSON.parse(readFileSync(out, 'utf8')) as HuntSummary;
      hunt.push(sum.eventsPerSecond);
      serve.push(await maxRate(root, events, r));
      console.log(`  run ${r + 1}: hunt ${fmt(hunt[r]!)} ev/s, serve ${fmt(serve[r]!)} ev/s`);
    }
    const huntMed = median(hunt);
    const serveMed = median(serve);
    const half = serveMed / 2;
    console.log(`latency run at ${fmt(half)} ev/s for 60 s…`);
    const lat = await paced(root, events, half, 60_000, 'latency');
    console.log(`soak at ${fmt(half)} ev/s for ${SOAK_MS / 60_000} min…`);
    const soak = await paced(root, events, half, SOAK_MS, 'soak');
    console.log(`load average after: ${load()}\n`);
    console.log('| measure | value |');
    console.log('|---|---|');
    console.log(`| hunt, same events (reference), median of ${RUNS} | ${fmt(huntMed)} events/s |`);
    console.log(`| serve, maximum sustained, median of ${RUNS} | ${fmt(serveMed)} events/s (${((serveMed / huntMed) * 100).toFixed(0)}% of hunt) |`);
    console.log(
      `| ack → alert at 50% (${fmt(half)} ev/s), ${lat.latencies.length} markers | p50 ${fmt(pct(lat.latencies, 50))} ms, p99 ${fmt(pct(lat.latencies, 99))} ms, max ${fmt(Math.max(...lat.latencies))} ms |`,
    );
    console.log(`| … to the alert row's own time stamp (created_at, written before its commit) | p50 ${fmt(pct(lat.stamped, 50))} ms, p99 ${fmt(pct(lat.stamped, 99))} ms |`);
    console.log(`| send → ack at 50%, ${lat.acks.length} requests | p50 ${fmt(pct(lat.acks, 50))} ms, p99 ${fmt(pct(lat.acks, 99))} ms |`);
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)} / ${median(xs).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`;
    console.log(`| latency run: load average (1 min) min / median / max | ${range(lat.load)} (${cpus().length} cores) |`);
    soakRows(soak, half);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
