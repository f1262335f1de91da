/**
 * What the scale-out tests start for themselves, on loopback in temporary folders, and stop:
 * a NATS JetStream cluster (`nats-server` from Debian, one process per server, random ports) and
 * a PostgreSQL 15 server (initdb + postgres; as the `postgres` user when the tests run as root,
 * since PostgreSQL refuses to run as root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port free on loopback now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const NATS_SERVER = which('nats-server') ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));
export const PG_BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => existsSync(join(d, 'postgres')));

/** The user PostgreSQL runs as: ourselves, or `postgres` when we are root. Undefined: impossible here. */
function pgUser(): { uid: number; gid: number } | null | undefined {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Why the cluster tests cannot run here (false: they can). */
export function clusterMissing(): string | false {
  if (!NATS_SERVER) return 'nats-server is not installed (apt-get install nats-server)';
  if (!PG_BIN) return 'PostgreSQL 15 is not installed (apt-get install postgresql)';
  if (pgUser() === undefined) return 'running as root and there is no postgres user to run PostgreSQL as (it refuses to run as root)';
  return false;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, limitMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() - t0 > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Every process the helpers started, with the signal that stops it at once, sent if the test
 * process exits without stopping them (a failed before(), a timeout): SIGKILL, but SIGQUIT for
 * PostgreSQL, whose postmaster then takes its backends down with it.
 */
const started = new Map<ChildProcess, NodeJS.Signals>();
process.on('exit', () => {
  for (const [p, signal] of started) if (p.exitCode === null && p.signalCode === null) p.kill(signal);
});

function track(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): ChildProcess {
  started.set(p, signal);
  p.once('exit', () => started.delete(p));
  return p;
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

export interface NatsServerHandle {
  name: string;
  url: string;
  running(): boolean;
  /** The process id while it runs. */
  pid(): number | undefined;
  /** SIGKILL, then wait for the process to go. */
  kill(): Promise<void>;
  /** Start again with the same store and ports. */
  start(): Promise<void>;
}

export interface NatsCluster {
  urls: string[];
  servers: NatsServerHandle[];
  log(): string;
  stop(): Promise<void>;
}

/** A JetStream cluster of `n` servers on loopback (random ports, stores under a temporary folder). */
export async function startNatsCluster(n = 3, opts: { maxPayload?: number } = {}): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-nats-'));
  const ports = await Promise.all(Array.from({ length: n }, async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(', ');
  let log = '';
  const servers: NatsServerHandle[] = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      `server_name: ${name}
listen: 127.0.0.1:${p.client}
max_payload: ${opts.maxPayload ?? 8 * 1024 * 1024}
jetstream { store_dir: "${join(dir, name)}", max_memory_store: 64MB, max_file_store: 16GB }
cluster { name: fbtest, listen: 127.0.0.1:${p.route}, routes: [${routes}] }
`,
    );
    let proc: ChildProcess | undefined;
    const url = `nats://127.0.0.1:${p.client}`;
    const h: NatsServerHandle = {
      name,
      url,
      running: () => !!proc && proc.exitCode === null && proc.signalCode === null,
      pid: () => proc?.pid,
      async kill() {
        if (!proc) return;
        const p0 = proc;
        p0.kill('SIGKILL');
        await exited(p0);
      },
      async start() {
        proc = track(spawn(NATS_SERVER!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }));
        proc.stderr!.on('data', (b: Buffer) => {
          log = (log + `[${name}] ` + b.toString()).slice(-200_000);
        });
        await waitFor(() => portOpen(p.client), `nats-server ${name} to listen`, 20_000);
      },
    };
    return h;
  });
  await Promise.all(servers.map((s) => s.start()));
  return {
    urls: servers.map((s) => s.url),
    servers,
    log: () => log,
    async stop() {
      await Promise.all(servers.map((s) => s.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Postgres {
  url: string;
  port: number;
  /** The postmaster's process id while it runs (its backends are its children). */
  pid(): number | undefined;
  /** Stop as an administrator would (fast shutdown: SIGINT). */
  stop(): Promise<void>;
  /** Start again on the same port and data. */
  start(): Promise<void>;
  /** Stop and remove the data. */
  destroy(): Promise<void>;
  log(): string;
}

/** A PostgreSQL server on loopback with a fresh cluster (trust authentication for user `firebreak`, database `firebreak`). */
export async function startPostgres(): Promise<Postgres> {
  const user = pgUser();
  if (user === undefined) throw new Error('no user to run PostgreSQL as');
  const dir = mkdtempSync(join(tmpdir(), 'fb-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(sock, user.uid, user.gid);
  }
  execFileSync(join(PG_BIN!, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'firebreak', '--no-sync', '-E', 'UTF8', '--locale', 'C'], { ...as, stdio: 'pipe', cwd: dir });
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let log = '';
  const url = `postgres://firebreak@127.0.0.1:${port}/firebreak`;
  const pg: Postgres = {
    url,
    port,
    pid: () => proc?.pid,
    log: () => log,
    async start() {
      // fsync off: the tests check Firebreak's recovery, not PostgreSQL's (a stop here is never a power loss).
      proc = track(
        spawn(join(PG_BIN!, 'postgres'), ['-D', data, '-p', String(port), '-k', sock, '-h', '127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'], {
          ...as,
          cwd: dir,
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
        'SIGQUIT',
      );
      proc.stderr!.on('data', (b: Buffer) => {
        log = (log + b.toString()).slice(-100_000);
      });
      const { default: pgm } = await import('pg');
      await waitFor(
        async () => {
          const c = new pgm.Client({ connectionString: url.replace(/\/firebreak$/, '/postgres') });
          await c.connect();
          await c.end();
          return true;
        },
        'PostgreSQL to accept connections',
        30_000,
      );
    },
    async stop() {
      if (!proc) return;
      const p = proc;
      p.kill('SIGINT');
      await exited(p);
    },
    async destroy() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  const { default: pgm } = await import('pg');
  const c = new pgm.Client({ connectionString: url.replace(/\/firebreak$/, '/postgres') });
  await c.connect();
  await c.query('CREATE DATABASE firebreak');
  await c.end();
  return pg;
}

/** The repository (for bin/firebreak.js), from dist/test/serve/cluster/. */
export const REPO = new URL('../../../../', import.meta.url);

export interface NodeProcess {
  name: string;
  proc: ChildProcess;
  output(): string;
  running(): boolean;
  /** SIGKILL (a crash), then wait for the process to go. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful stop) and wait. */
  stop(): Promise<number | null>;
}

/** Starts `firebreak serve --config file` and waits for it to say it started. */
export async function startNodeProcess(name: string, configFile: string, limitMs = 120_000): Promise<NodeProcess> {
  const bin = new URL('bin/firebreak.js', REPO).pathname;
  const proc = track(spawn(process.execPath, [bin, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  const add = (b: Buffer) => {
    out = (out + b.toString()).slice(-500_000);
  };
  proc.stdout!.on('data', add);
  proc.stderr!.on('data', add);
  const n: NodeProcess = {
    name,
    proc,
    output: () => out,
    running: () => proc.exitCode === null && proc.signalCode === null,
    async kill() {
      proc.kill('SIGKILL');
      await exited(proc);
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited(proc);
      return proc.exitCode;
    },
  };
  const t0 = Date.now();
  while (!out.includes(`node ${name}, roles`)) {
    if (!n.running()) throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}):\n${out}`);
    if (Date.now() - t0 > limitMs) {
      await n.kill();
      throw new Error(`${name} did not start in ${limitMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return n;
}
