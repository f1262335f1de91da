/**
 * `firebreak serve [--config FILE] [--data DIR]` — the live server; `--demo` starts one on
 * loopback with a temporary data directory and replays the bundled sample intrusion into it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { FirebreakError, UsageError } from '../../core/errors.js';
import { Credentials } from '../../serve/api/auth/credentials.js';
import { Passwords } from '../../serve/api/auth/passwords.js';
import { parseRoles, type ClusterRole } from '../../serve/cluster/config.js';
import { parseServeConfig, type ConfigOverrides, type ServeConfig } from '../../serve/config.js';
import { DEMO_SAMPLE, demoConfig, replaySample } from '../../serve/demo.js';
import { startServer, type Server } from '../../serve/server.js';
import type { Io } from '../io.js';

const HELP = `usage: firebreak serve [--config FILE] [--data DIR] [--roles ROLES]
       firebreak serve --demo [--speed N] [--once]

Runs the live server: the listeners the fleet's shippers send to (Elasticsearch bulk API, syslog,
OTLP/HTTP, Splunk HEC), the full rule set, correlations and stories on the stream, alerts and
stories in the data directory, the API and console. Configuration reference: docs/serve.md.

  --config FILE   the YAML configuration (default: ./firebreak.yml)
  --data DIR      the data directory (overrides 'data' in the file)
  --roles ROLES   scale-out (docs/scale-out.md): the roles this process holds, comma-separated
                  (ingest, detect, correlate, api); overrides cluster.roles in the file
  --demo          a server on loopback with a temporary data directory and a login, and the
                  bundled sample intrusion replayed through the bulk API so the story appears
  --speed N       demo: event time runs N times faster than real time (default: the sample in ~1 min)
  --once          demo: stop when the replay is processed (print the stories) instead of running on

SIGTERM or Ctrl-C stops accepting, lets requests in flight finish, drains the pipeline and commits.
Exit status: 0 after a clean stop, 1 when the server cannot start, 2 on wrong usage or configuration.
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      data: { type: 'string' },
      roles: { type: 'string' },
      demo: { type: 'boolean' },
      speed: { type: 'string' },
      once: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  void positionals;
  if (values.demo) return demo(io, values.speed, values.once ?? false);
  if (values.speed !== undefined || values.once) throw new UsageError('--speed and --once go with --demo');
  const file = values.config ?? 'firebreak.yml';
  if (!existsSync(file)) {
    throw new UsageError(`no configuration: ${file} does not exist. Write one (docs/serve.md has an example), or try 'firebreak serve --demo'.`);
  }
  let roles: ClusterRole[] | undefined;
  if (values.roles !== undefined) {
    const r = parseRoles(values.roles);
    if (typeof r === 'string') throw new UsageError(`--roles: ${r}`);
    roles = r;
  }
  const config = loadConfig(file, { ...(values.data !== undefined ? { data: values.data } : {}), ...(roles ? { roles } : {}) }, io);
  if (!config) return 2;
  if (config.cluster) return cluster(config, io);
  let server: Server;
  try {
    server = await startServer(config);
  } catch (e) {
    io.stderr.write(`firebreak serve: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  printAddresses(server, io);
  await untilSignal();
  io.stderr.write('firebreak serve: stopping (draining the pipeline)…\n');
  await server.close();
  return 0;
}

/** One node of a scaled-out server (docs/scale-out.md). */
async function cluster(config: ServeConfig, io: Io): Promise<number> {
  const { startClusterNode } = await import('../../serve/cluster/node.js');
  const k = config.cluster!;
  let node: Awaited<ReturnType<typeof startClusterNode>>;
  try {
    node = await startClusterNode(config);
  } catch (e) {
    io.stderr.write(`firebreak serve: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  const lines = [`firebreak serve: node ${k.node}, roles ${k.roles.join(', ')}`];
  for (const [name, addr] of Object.entries(node.ingest?.addresses ?? {}) as [string, AddressInfo | undefined][]) if (addr) lines.push(`  ${name.padEnd(12)} ${addr.address}:${addr.port}`);
  if (node.plan) lines.push(`  ${node.plan.rules.length - node.plan.feederKeys.size} rules, ${node.plan.correlations.length} correlations`);
  if (node.api) lines.push(`  ${'api+console'.padEnd(12)} ${node.api.api.address.address}:${node.api.api.address.port}`);
  io.stderr.write(`${lines.join('\n')}\n`);
  await untilSignal();
  io.stderr.write(`firebreak serve: stopping node ${k.node}…\n`);
  await node.close();
  return 0;
}

function loadConfig(file: string, overrides: ConfigOverrides, io: Io): ServeConfig | undefined {
  try {
    return parseServeConfig(readFileSync(file, 'utf8'), file, overrides);
  } catch (e) {
    if (!(e instanceof FirebreakError)) throw e;
    io.stderr.write(`firebreak serve: ${e.message}\n`);
    return undefined;
  }
}

function printAddresses(server: Server, io: Io): void {
  const a = server.ingest.addresses;
  const lines: string[] = [];
  for (const [name, addr] of Object.entries(a) as [string, AddressInfo | undefined][]) if (addr) lines.push(`  ${name.padEnd(12)} ${addr.address}:${addr.port}`);
  if (server.api) lines.push(`  ${'api+console'.padEnd(12)} ${server.api.address.address}:${server.api.address.port}`);
  io.stderr.write(
    `firebreak serve: ${server.plan.rules.length - server.plan.feederKeys.size} rules, ${server.plan.correlations.length} correlations; data in ${server.config.data}\n${lines.join('\n')}\n`,
  );
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve();
    };
    process.on('SIGTERM', done);
    process.on('SIGINT', done);
  });
}

async function demo(io: Io, speedArg: string | undefined, once: boolean): Promise<number> {
  const speed = speedArg === undefined ? undefined : Number(speedArg);
  if (speed !== undefined && !(speed > 0)) throw new UsageError(`--speed must be a positive number, not '${speedArg}'`);
  const { yaml, token, dir } = demoConfig();
  const config = parseServeConfig(yaml, `${dir}/demo.yml`);
  const server = await startServer(config);
  const password = randomBytes(12).toString('base64url');
  await new Credentials(server.db, new Passwords()).addUser('demo', 'admin', password);
  const elastic = server.ingest.addresses.elastic!;
  const api = server.api!.address;
  io.stdout.write(
    `Firebreak demo: a server on loopback with a temporary data directory (${dir}).\n` +
      `  console:  http://127.0.0.1:${api.port}/   login: demo / ${password}\n` +
      `  bulk API: http://127.0.0.1:${elastic.port}/   (Winlogbeat's output.elasticsearch points here)\n` +
      `Replaying the sample intrusion (${readdirSync(DEMO_SAMPLE).filter((f) => f.endsWith('.json.gz')).length} hosts) through the bulk API…\n`,
  );
  const seen = new Set<string>();
  const unsubscribe = server.live.subscribe((e) => {
    if (e.type !== 'story.created' || seen.has(e.data.id)) return;
    seen.add(e.data.id);
    const s = e.data.summary as { title?: string; patientZero?: string | null; hosts?: number } | undefined;
    io.stdout.write(`  story ${e.data.id}: ${s?.title ?? ''}${s?.patientZero ? ` (patient zero ${s.patientZero})` : ''}\n`);
  });
  const abort = new AbortController();
  const stop = untilSignal().then(() => abort.abort());
  let sent = 0;
  try {
    sent = await replaySample({ url: `http://127.0.0.1:${elastic.port}`, token, speed, signal: abort.signal });
    io.stdout.write(`Replay done: ${sent} events acknowledged.\n`);
    const deadline = Date.now() + 120_000;
    while (server.processor.stats().processedOffset < server.wal.nextOffset && Date.now() < deadline && !abort.signal.aborted) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 2 * config.processing.idleFlushMs + 500));
    const n = (server.db.db.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n;
    const top = server.db.db.prepare('SELECT id, title, patient_zero, hosts FROM stories WHERE merged_into IS NULL ORDER BY score DESC LIMIT 3').all() as {
      id: string;
      title: string;
      patient_zero: string | null;
      hosts: number;
    }[];
    io.stdout.write(`${n} alerts, ${top.length ? 'top stories:' : 'no story'}\n`);
    for (const t of top) io.stdout.write(`  ${t.id}  ${t.title}  (${t.hosts} hosts, patient zero ${t.patient_zero ?? 'unknown'})\n`);
    if (!once) {
      io.stdout.write('The server keeps running: open the console. Ctrl-C stops it and deletes the demo data.\n');
      await stop;
    }
  } catch (e) {
    if (!abort.signal.aborted) io.stderr.write(`firebreak serve --demo: ${(e as Error).message}\n`);
  } finally {
    unsubscribe();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return sent > 0 ? 0 : 1;
}
