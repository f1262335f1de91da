/**
 * `firebreak serve` scaled out (docs/scale-out.md) against the embedded single-node server, in the
 * same run, on this machine.
 *
 * The scenario is the bundled sample intrusion replicated COPIES times (record ids renumbered,
 * each copy later in time), sent through the Elasticsearch bulk API (1,000 documents a request,
 * 4 requests in flight), with one marker event per request in the latency runs that a marker rule
 * (suppression off) turns into an alert of its own.
 *
 * Three set-ups, each started fresh: the embedded server; a cluster with 1 detect node; a cluster
 * with 2 detect nodes. A cluster is NATS servers with JetStream (NATS_SERVERS, replicas as many),
 * PostgreSQL, an ingest node, the detect nodes and a correlate node, each its own process, all
 * started here on loopback (the test helpers of test/serve/cluster). Every detection process
 * (the embedded server, each detect node) gets one detection thread: one node's share, so the
 * ratio of 2 to 1 detect nodes shows what adding a machine adds. Event storage is off everywhere
 * (the pipelines are compared, not the stores).
 *
 *  1. max rate, RUNS times per set-up: events/s from the first request until everything is
 *     processed (the embedded server: its processed offset; a cluster: the events stream empty and
 *     the correlate node's progress in PostgreSQL past it). Median.
 *  2. CPU per event of each process during the max-rate runs (utime+stime from /proc), so the
 *     bottleneck is named from what each part costs, not guessed.
 *  3. latency, at one rate for every set-up (half the slowest one's median), for LATENCY_S
 *     seconds: ack → the marker's alert readable (SQLite for the embedded server, PostgreSQL for a
 *     cluster), p50 and p99.
 *
 * Bounded: each wait has a limit, and the whole run stops adding work after BUDGET minutes.
 *
 * `npm run bench:scale [-- --copies N] [--runs R] [--latency-seconds S] [--nats N]`  (defaults 4, 3, 30, 3)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { connect } from 'nats';
import pg from 'pg';
import { defaultRuleDirs } from '../src/sigma/bundled.js';
import { clusterMissing, freePort, startNatsCluster, startNodeProcess, startPostgres, type NatsCluster, type NodeProcess, type Postgres } from '../test/serve/cluster/helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/firebreak.js');
const SAMPLE = join(REPO, 'data/samples/intrusion');
const TOKEN = 'bench-token-0123456789abcdef';
const AUTH = 'Basic ' + Buffer.from(`elastic:${TOKEN}`).toString('base64');
const MARKER_TITLE = 'Bench latency marker';
const MARKER_RULE = `title: ${MARKER_TITLE}
id: 0b6a1f64-5c1e-4d4f-9a57-3b8f0f3c2a11
status: test
level: low
logsource: { product: windows, category: process_creation }
detection:
  sel: { CommandLine|contains: 'fb-bench-marker' }
  condition: sel
`;

const { values } = parseArgs({
  options: {
    copies: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
    'latency-seconds': { type: 'string', default: '30' },
    nats: { type: 'string', default: '3' },
    'budget-minutes': { type: 'string', default: '9' },
  },
});
const COPIES = Number(values.copies);
const RUNS = Number(values.runs);
const LATENCY_MS = Number(values['latency-seconds']) * 1000;
const NATS_SERVERS = Number(values.nats);
const BUDGET_MS = Number(values['budget-minutes']) * 60_000;
const T0 = Date.now();
/** Longest wait for a set-up to process what it was sent. */
const DRAIN_LIMIT_MS = 180_000;
const POLL_MS = 20;
const MARKER_WAIT_MS = 30_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (n: number) => (n === Infinity ? '∞' : Math.round(n).toLocaleString('en-US'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const overBudget = () => Date.now() - T0 > BUDGET_MS;

async function until(cond: () => Promise<boolean> | boolean, what: string, limitMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > limitMs) throw new Error(`gave up waiting for ${what} after ${limitMs / 1000} s`);
    await sleep(POLL_MS);
  }
}

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
      out.push({
        t: t + c * span,
        line: line
          .replace(/"SystemTime":"[^"]+"/, `"SystemTime":"${new Date(t + c * span).toISOString()}"`)
          .replace(/"EventRecordID":(\d+)/, (_m, n: string) => `"EventRecordID":${Number(n) + c * 10_000_000}`),
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
        Computer: `bench-${i % 16}.corp.example`,
      },
      EventData: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: `cmd /c fb-bench-marker ${i}` },
    },
  });
}

async function bulk(port: number, docs: string[]): Promise<number> {
  for (let tries = 0; ; tries++) {
    const res = await fetch(`http://127.0.0.1:${port}/_bulk`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/x-ndjson' },
      body: docs.map((d) => `{"create":{"_index":"winlogbeat"}}\n${d}\n`).join(''),
    });
    const body = (await res.json().catch(() => ({}))) as { errors?: boolean };
    // 429 (or per-document refusals): back-pressure, send again as Beats would.
    if (res.status === 429 || body.errors) {
      if (tries > 600) throw new Error('bulk: refused for too long');
      await sleep(200);
      continue;
    }
    if (!res.ok) throw new Error(`bulk answered ${res.status}`);
    return Date.now();
  }
}

/** A set-up under test: where to send, how far it has processed, where its alerts are, its processes. */
interface Target {
  name: string;
  port: number;
  /** Records processed so far (fully: alerts written). */
  caughtUp(sent: number): Promise<boolean>;
  /** Marker alerts newer than `after` (id), with the marker number. */
  markers(after: number): Promise<{ id: number; marker: number }[]>;
  /** Process ids by role, for CPU accounting. */
  pids(): Map<string, number[]>;
  stop(): Promise<void>;
}

function rulesYaml(dir: string): string {
  writeFileSync(join(dir, 'marker.yml'), MARKER_RULE);
  return `rules: { paths: [${[...defaultRuleDirs(), join(dir, 'marker.yml')].join(', ')}] }
suppression: { rules: { "${MARKER_TITLE}": 0 } }
storage: { events: false }
processing: { threads: 1 }
`;
}

const markerOf = (detection: string | null) => Number(/fb-bench-marker (\d+)/.exec(detection ?? '')?.[1] ?? NaN);

async function embedded(root: string): Promise<Target> {
  const dir = join(root, 'embedded');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(
    join(dir, 'serve.yml'),
    `data: ${dir}/data
listeners:
  elastic: { listen: 127.0.0.1:${port} }
tokens:
  - { source: bench, secret: ${TOKEN}, protocols: [elastic] }
${rulesYaml(dir)}`,
  );
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'serve.yml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await until(
    () =>
      fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: AUTH } }).then(
        (r) => r.ok,
        () => false,
      ),
    'the embedded server to start',
    120_000,
  );
  let db: Database.Database | undefined;
  const state = () => (db ??= new Database(join(dir, 'data', 'state.db'), { readonly: true }));
  return {
    name: 'embedded server',
    port,
    caughtUp: async (sent) => Number((state().prepare("SELECT value FROM meta WHERE key = 'processed'").get() as { value: string } | undefined)?.value ?? 0) >= sent,
    markers: async (after) =>
      (state().prepare('SELECT id, detection FROM alerts WHERE id > ? AND rule_title = ? ORDER BY id').all(after, MARKER_TITLE) as { id: number; detection: string }[]).map((r) => ({
        id: r.id,
        marker: markerOf(r.detection),
      })),
    pids: () => new Map([['embedded server', [child.pid!]]]),
    async stop() {
      db?.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function cluster(root: string, detectNodes: number): Promise<Target> {
  const dir = join(root, `cluster${detectNodes}`);
  mkdirSync(dir, { recursive: true });
  let nats: NatsCluster | undefined;
  let pgs: Postgres | undefined;
  const nodes: NodeProcess[] = [];
  let client: pg.Client | undefined;
  const stop = async () => {
    await client?.end().catch(() => undefined);
    for (const n of nodes) await n.stop().catch(() => undefined);
    await nats?.stop();
    await pgs?.destroy();
  };
  try {
    nats = await startNatsCluster(NATS_SERVERS);
    pgs = await startPostgres();
    const port = await freePort();
    const rules = rulesYaml(dir);
    const config = (name: string, roles: string) => {
      const file = join(dir, `${name}.yml`);
      writeFileSync(
        file,
        `data: ${dir}/${name}
listeners:
  elastic: { listen: 127.0.0.1:${port} }
tokens:
  - { source: bench, secret: ${TOKEN}, protocols: [elastic] }
${rules}cluster:
  roles: [${roles}]
  node: ${name}
  nats: { servers: [${nats!.urls.map((u) => `"${u}"`).join(', ')}], replicas: ${NATS_SERVERS}, partitions: 16, eventsMaxBytes: 1073741824, detectionsMaxBytes: 1073741824 }
  postgres: { url: "${pgs!.url}" }
`,
      );
      return file;
    };
    nodes.push(await startNodeProcess('correlate-1', config('correlate-1', 'correlate')));
    for (let i = 1; i <= detectNodes; i++) nodes.push(await startNodeProcess(`detect-${i}`, config(`detect-${i}`, 'detect')));
    nodes.push(await startNodeProcess('ingest-1', config('ingest-1', 'ingest')));
    client = new pg.Client({ connectionString: pgs.url });
    await client.connect();
    const nc = await connect({ servers: nats.urls });
    const jsm = await nc.jetstreamManager();
    const c = client;
    return {
      name: `cluster, ${detectNodes} detect node${detectNodes > 1 ? 's' : ''}`,
      port,
      async caughtUp() {
        const st = (await jsm.streams.info('FIREBREAK_EVENTS').catch(() => null))?.state;
        if (!st || st.messages > 0) return false;
        const row = (await c.query<{ next_seq: string }>("SELECT next_seq FROM correlator WHERE name = 'correlate'").catch(() => ({ rows: [] }))).rows[0];
        return !!row && Number(row.next_seq) > st.last_seq;
      },
      markers: async (after) =>
        (await c.query<{ id: string; detection: string }>('SELECT id, detection FROM alerts WHERE id > $1 AND rule_title = $2 ORDER BY id', [after, MARKER_TITLE])).rows.map((r) => ({
          id: Number(r.id),
          marker: markerOf(r.detection),
        })),
      pids() {
        const m = new Map<string, number[]>();
        const add = (role: string, pid: number | undefined) => {
          if (pid !== undefined) m.set(role, [...(m.get(role) ?? []), pid]);
        };
        for (const n of nodes) add(n.name.replace(/-\d+$/, ' nodes').replace('ingest nodes', 'ingest node').replace('correlate nodes', 'correlate node'), n.proc.pid);
        for (const s of nats!.servers) add('NATS servers', s.pid());
        const pm = pgs!.pid();
        if (pm !== undefined) for (const p of [pm, ...childrenOf(pm)]) add('PostgreSQL', p);
        return m;
      },
      async stop() {
        await nc.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU seconds (user + system) a process has used, 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

function cpuByRole(pids: Map<string, number[]>): Map<string, number> {
  return new Map([...pids].map(([role, list]) => [role, list.reduce((n, p) => n + cpuSeconds(p), 0)]));
}

/** Everything as fast as it is taken; events/s from the first send until all are processed. */
async function maxRate(t: Target, events: string[], sentBefore: number): Promise<{ rate: number; cpu: Map<string, number> }> {
  const pids = t.pids(); // PostgreSQL's backends as they are now (connections are pooled)
  const before = cpuByRole(pids);
  const loadBefore = process.cpuUsage();
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const from = next;
      next += 1000;
      await bulk(t.port, events.slice(from, from + 1000));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await until(() => t.caughtUp(sentBefore + events.length), `${t.name} to process the scenario`, DRAIN_LIMIT_MS);
  const rate = events.length / ((Date.now() - t0) / 1000);
  const after = cpuByRole(pids);
  const cpu = new Map([...after].map(([role, s]) => [role, s - (before.get(role) ?? 0)]));
  const own = process.cpuUsage(loadBefore);
  cpu.set('load generator (this process)', (own.user + own.system) / 1e6);
  return { rate, cpu };
}

/** At `rate` events/s for LATENCY_MS, one marker per request: ack → marker alert readable. */
async function latency(t: Target, events: string[], rate: number): Promise<number[]> {
  const batch = Math.max(20, Math.round(rate / 10));
  const acks = new Map<number, number>();
  const seen = new Map<number, number>();
  let lastId = 0;
  let polling: Promise<void> | undefined;
  const poller = setInterval(() => {
    polling ??= t
      .markers(lastId)
      .then((rows) => {
        const at = Date.now();
        for (const r of rows) {
          lastId = Math.max(lastId, r.id);
          if (!seen.has(r.marker)) seen.set(r.marker, at);
        }
      })
      .catch((e: unknown) => console.log(`  (reading alerts: ${(e as Error).message})`))
      .finally(() => (polling = undefined));
  }, POLL_MS);
  const t0 = Date.now();
  let i = 0;
  let m = 0;
  while (Date.now() - t0 < LATENCY_MS) {
    const due = t0 + ((i + m) / rate) * 1000;
    if (Date.now() < due) await sleep(due - Date.now());
    const docs: string[] = [];
    for (let k = 0; k < batch - 1; k++) docs.push(events[(i + k) % events.length]!);
    i += batch - 1;
    const id = m++;
    docs.push(marker(id, new Date(timeOf(docs[docs.length - 1]!)).toISOString()));
    acks.set(id, await bulk(t.port, docs));
  }
  const deadline = Date.now() + MARKER_WAIT_MS;
  while (seen.size < acks.size && Date.now() < deadline) await sleep(POLL_MS);
  clearInterval(poller);
  await polling;
  return [...acks].map(([id, ack]) => {
    const at = seen.get(id);
    return at === undefined ? Infinity : Math.max(0, at - ack);
  });
}

interface Result {
  name: string;
  rates: number[];
  cpu: Map<string, number>;
  events: number;
  latencies?: number[];
}

async function main(): Promise<void> {
  const missing = clusterMissing();
  if (missing) {
    console.log(`bench:scale needs NATS and PostgreSQL: ${missing}`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'fb-bench-scale-'));
  const events = scenario();
  console.log(`scenario: ${fmt(events.length)} events (${COPIES} copies of the sample intrusion); ${cpus().length} cores; load average before: ${load()}`);
  const setups: [string, () => Promise<Target>][] = [
    ['embedded', () => embedded(root)],
    ['cluster1', () => cluster(root, 1)],
    ['cluster2', () => cluster(root, 2)],
  ];
  const results: Result[] = [];
  const started = new Map<string, Target>();
  try {
    // Max rate, set-up by set-up (each alone on the machine).
    for (const [key, start] of setups) {
      if (overBudget()) break;
      const t = await start();
      started.set(key, t);
      const r: Result = { name: t.name, rates: [], cpu: new Map(), events: 0 };
      for (let run = 0; run < RUNS && !overBudget(); run++) {
        const m = await maxRate(t, events, r.events);
        r.events += events.length;
        r.rates.push(m.rate);
        for (const [role, s] of m.cpu) r.cpu.set(role, (r.cpu.get(role) ?? 0) + s);
        console.log(`  ${t.name}, run ${run + 1}: ${fmt(m.rate)} events/s (load ${load()})`);
      }
      results.push(r);
      cpuReport(r);
      // Kept running for the latency runs only while the budget allows; stopped otherwise so the next has the machine.
      await t.stop();
      started.delete(key);
    }
    // Latency, at one rate for all: half the slowest median.
    const rate = Math.min(...results.map((r) => median(r.rates))) / 2;
    for (const [key, start] of setups) {
      const r = results.find((x) => x.name.startsWith(key === 'embedded' ? 'embedded' : `cluster, ${key.slice(-1)}`));
      if (!r || overBudget()) break;
      const t = await start();
      started.set(key, t);
      r.latencies = await latency(t, events, rate);
      console.log(`  ${t.name}: ack → alert p50 ${fmt(pct(r.latencies, 50))} ms, p99 ${fmt(pct(r.latencies, 99))} ms at ${fmt(rate)} events/s`);
      await t.stop();
      started.delete(key);
    }
    report(results, rate);
  } finally {
    for (const t of started.values()) await t.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

function cpuReport(r: Result): void {
  console.log(`CPU per 1,000 events, ${r.name} (CPU-seconds; ${cpus().length} cores):`);
  const total = [...r.cpu.values()].reduce((a, b) => a + b, 0);
  const sorted = [...r.cpu].sort((a, b) => b[1] - a[1]);
  for (const [role, s] of sorted) console.log(`  ${role.padEnd(32)} ${((s / r.events) * 1000).toFixed(3)} s  (${((s / total) * 100).toFixed(0)}%)`);
  console.log(`  ${'all'.padEnd(32)} ${((total / r.events) * 1000).toFixed(3)} s`);
}

function report(results: Result[], rate: number): void {
  console.log(`\nload average after: ${load()}; ${Math.round((Date.now() - T0) / 1000)} s in all\n`);
  const base = results[0] ? median(results[0].rates) : NaN;
  console.log('| set-up | events/s (median of runs) | vs embedded | ack → alert p50 / p99 |');
  console.log('|---|---|---|---|');
  for (const r of results) {
    const lat = r.latencies ? `${fmt(pct(r.latencies, 50))} / ${fmt(pct(r.latencies, 99))} ms` : 'not run (budget)';
    console.log(`| ${r.name} | ${fmt(median(r.rates))} (${r.rates.map(fmt).join(', ')}) | ${(median(r.rates) / base).toFixed(2)}× | ${lat} |`);
  }
  console.log(`\nlatency runs at ${fmt(rate)} events/s for ${LATENCY_MS / 1000} s each, one marker per request\n`);
  const c1 = results.find((r) => r.name.includes('1 detect'));
  const c2 = results.find((r) => r.name.includes('2 detect'));
  if (c1 && c2) console.log(`2 detect nodes / 1 detect node: ${(median(c2.rates) / median(c1.rates)).toFixed(2)}×\n`);
  for (const r of results) cpuReport(r);
  if (c2) {
    // What more machines would give: each part's capacity is one core per its CPU per event; the
    // parts that do not scale out (the one active correlate node; the NATS cluster) bound the rest.
    const perEvent = (role: string) => (c2.cpu.get(role) ?? 0) / c2.events;
    const correlate = perEvent('correlate node');
    const detect = perEvent('detect nodes');
    console.log(
      `\nprediction: detection costs ${(detect * 1000).toFixed(3)} CPU-s per 1,000 events (${fmt(1 / detect)} events/s per detect core); ` +
        `the one active correlate node costs ${(correlate * 1000).toFixed(3)} (at most ${fmt(1 / correlate)} events/s on one core), ` +
        `so about ${Math.max(1, Math.floor(detect / correlate))} detect cores keep it busy; beyond that the correlate node is the bottleneck.`,
    );
  }
}

await main();
