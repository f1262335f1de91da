/**
 * The event store as the server sees it: `openEventStore` starts the store process (./host.ts)
 * with its address space capped (RLIMIT_AS through the shell's `ulimit -v`) and returns an
 * `EventStore` that forwards every call over IPC (./wire.ts). Why a process (src/core/limits.ts,
 * `LIMITS.store`): SQL search runs analysts' queries, and DuckDB builds some values outside its
 * own memory limit and has functions that do not look at their interrupt; in a process of its own
 * such a query fails under the cap or gets the process killed, never the server.
 *
 * The process is restarted when it dies (a crash, or killed for a query still running
 * `searchInterruptGraceMs` after its interrupt), giving up after `restartMax` crashes in a row. Appends,
 * retention and the small reads are re-sent after a restart (an append is idempotent: events at
 * or below the stored highest offset are skipped); searches and scans in flight fail with a clear
 * error. A committed append survives any death: it is a DuckDB transaction, in DuckDB's
 * write-ahead log before it is acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LIMITS } from '../../core/limits.js';
import { DuckEventStore, StoreError, checkOffset, storedEvent, toBatch } from './duck.js';
import { FilterError } from './filter.js';
import { SearchError } from './sandbox.js';
import { decodeRows, encodeRows, type Call, type FromHost, type HostOptions, type ToHost, type WireError } from './wire.js';
import type { EventStore, FilterQuery, Histogram, QueryResult, SqlOptions, StoreUsage, StoredEvent } from './types.js';

const L = LIMITS.store;
const HOST = fileURLToPath(new URL('./host.js', import.meta.url));
/** Bytes of the store process's stderr kept to explain its death. */
const STDERR_TAIL = 4096;

export interface EventStoreOptions {
  /** DuckDB's memory limit (default LIMITS.store.memoryBytes). */
  memoryBytes?: number;
  /** Spill space for queries (default LIMITS.store.tempBytes). */
  tempBytes?: number;
  /** DuckDB threads (default: half the cores, 1 to 4). */
  threads?: number;
  /** Address space of the store process (default LIMITS.store.processAddressSpaceBytes; 0: no cap). */
  addressSpaceBytes?: number;
  /** Grace after a query's interrupt before its store process is killed (default LIMITS.store.searchInterruptGraceMs). */
  interruptGraceMs?: number;
  /**
   * Run DuckDB inside this process instead (no address-space cap, nothing to kill a query that
   * ignores its interrupt): for tools and tests of the store's logic, not for the server.
   */
  inProcess?: boolean;
  /** Warnings (a restart, a missing cap) and notes. */
  log?: (level: 'info' | 'warn', message: string) => void;
}

/** Open the event store kept in `dir` (created when absent); the server's one way in. */
export async function openEventStore(dir: string, opts: EventStoreOptions = {}): Promise<EventStore> {
  const host: HostOptions = { dir, memoryBytes: opts.memoryBytes, tempBytes: opts.tempBytes, threads: opts.threads };
  if (opts.inProcess) return DuckEventStore.open(host);
  const store = new ProcessEventStore(host, opts);
  await store.start();
  try {
    await store.maxOffset();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}

/** Calls that may be re-sent to a new store process (idempotent, and not what killed the old one). */
const RETRY: ReadonlySet<Call['op']> = new Set(['append', 'maxOffset', 'fieldNames', 'retain', 'usage']);

interface Pending {
  id: number;
  call: Call;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** A search's time limit (the watchdog starts when the store process says it started). */
  timeoutMs?: number;
  watchdog?: NodeJS.Timeout;
  /** The watchdog killed the process for this call. */
  killed?: boolean;
  onBatch?: (rows: StoredEvent[]) => void | Promise<void>;
  /** The consumer of a scan threw: the scan is cancelled and fails with this. */
  batchError?: Error;
}

/** The EventStore of `firebreak serve`: DuckDB in a capped child process. */
export class ProcessEventStore implements EventStore {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Deaths since the last successful reply. */
  private deaths = 0;
  private restarts = 0;
  private failed: StoreError | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Appends and retention in order, one at a time. */
  private writes: Promise<unknown> = Promise.resolve();
  /** The highest offset known stored (a lower bound: the process skips replays itself too). */
  private knownMax = -1;
  private stderr = '';
  private readonly cap: number;
  private readonly grace: number;

  constructor(
    private readonly host: HostOptions,
    private readonly o: EventStoreOptions,
  ) {
    this.cap = o.addressSpaceBytes ?? L.processAddressSpaceBytes;
    this.grace = o.interruptGraceMs ?? L.searchInterruptGraceMs;
  }

  /** The store process's id (health, and tests that kill it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start a store process, open the store in it, and send it the calls that were waiting. */
  async start(): Promise<void> {
    const child = this.spawn();
    this.stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-STDERR_TAIL);
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromHost): void => {
        if (m.t === 'ready') {
          done();
          resolve();
        } else if (m.t === 'open-failed') {
          done();
          child.kill('SIGKILL');
          reject(fromWire(m.error));
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        done();
        reject(new StoreError('store-open', `event store ${this.host.dir}: the store process ${ended(code, signal)} while opening${this.tail()}`));
      };
      const onError = (e: Error): void => {
        done();
        child.kill('SIGKILL');
        reject(new StoreError('store-open', `event store ${this.host.dir}: cannot start the store process: ${e.message}`, { cause: e }));
      };
      const done = (): void => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.on('error', onError);
      // A failed send (the process died at once) is explained by its 'exit', with its stderr.
      child.send({ t: 'open', opts: this.host } satisfies ToHost, (e: Error | null) => void e);
    });
    this.child = child;
    child.on('message', (m: FromHost) => this.onMessage(m));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', () => undefined); // a failed send; 'exit' follows
    for (const p of this.pending.values()) this.post({ t: 'call', id: p.id, ...p.call });
  }

  /** The child, under `ulimit -v` where there is a POSIX shell. */
  private spawn(): ChildProcess {
    const opts = { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[], serialization: 'advanced' as const, windowsHide: true };
    if (this.cap > 0 && process.platform !== 'win32') {
      const kib = String(Math.ceil(this.cap / 1024));
      // `ulimit -v` sets RLIMIT_AS in KiB for the shell, which then becomes the store process.
      return spawn('/bin/sh', ['-c', 'ulimit -v "$0" || exit 97; exec "$@"', kib, process.execPath, HOST], opts);
    }
    if (this.cap > 0) this.o.log?.('warn', `event store: no address-space cap for the store process on ${process.platform}`);
    return spawn(process.execPath, [HOST], opts);
  }

  private post(m: ToHost): void {
    // A send to a process that just died fails; its 'exit' re-sends or fails the call.
    if (this.child?.connected) this.child.send(m, (e: Error | null) => void e);
  }

  private tail(): string {
    const t = this.stderr.trim();
    return t ? `: ${t.slice(-1000)}` : '';
  }

  private call<T>(call: Call, extra: Partial<Pending> = {}): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new StoreError('store-closed', `event store ${this.host.dir}: closed`));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { id, call, resolve: resolve as (v: unknown) => void, reject, ...extra };
      this.pending.set(id, p);
      // While a new process is starting, the call waits; it is sent once that process is ready.
      if (this.child) this.post({ t: 'call', id, ...call });
    });
  }

  private onMessage(m: FromHost): void {
    if (m.t === 'ready' || m.t === 'open-failed') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.t) {
      case 'started':
        if (p.timeoutMs != null) p.watchdog = setTimeout(() => this.kill(p), p.timeoutMs + this.grace);
        break;
      case 'batch':
        void this.deliver(p, m.rows);
        break;
      case 'reply':
        clearTimeout(p.watchdog);
        this.pending.delete(p.id);
        this.deaths = 0;
        if (m.ok) p.resolve(m.value);
        else p.reject(p.batchError ?? fromWire(m.error));
        break;
    }
  }

  private async deliver(p: Pending, rows: Parameters<typeof decodeRows>[0]): Promise<void> {
    try {
      await p.onBatch!(decodeRows(rows).map(storedEvent));
      this.post({ t: 'ack', id: p.id });
    } catch (e) {
      p.batchError = e instanceof Error ? e : new Error(String(e));
      this.post({ t: 'cancel', id: p.id });
    }
  }

  /** A query ran past its limit and its grace: end the process (it is restarted). */
  private kill(p: Pending): void {
    if (!this.pending.has(p.id)) return;
    p.killed = true;
    this.o.log?.('warn', `event store: a query ran ${p.timeoutMs! + this.grace} ms, past its limit and its interrupt; restarting the store process`);
    this.child?.kill('SIGKILL');
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = null;
    if (this.closed) return;
    const how = ended(code, signal);
    const killedForQuery = [...this.pending.values()].some((p) => p.killed);
    for (const p of [...this.pending.values()]) {
      clearTimeout(p.watchdog);
      p.watchdog = undefined;
      if (RETRY.has(p.call.op) && !p.killed) continue;
      this.pending.delete(p.id);
      if (p.killed) {
        p.reject(
          new SearchError('search-timeout', `the query ran longer than ${p.timeoutMs} ms and did not stop when interrupted (one DuckDB function ignores interrupts); the store process was restarted`),
        );
      } else if (p.call.op === 'close') {
        p.resolve(null);
      } else {
        p.reject(new StoreError('store-restarted', `event store: the store process ${how} while this ${p.call.op} ran; it was restarted, try again`));
      }
    }
    // A process killed for a runaway query is not a crash: only crashes count towards giving up
    // (else a handful of hostile queries would stop the server storing events).
    if (!killedForQuery) this.deaths++;
    if (!this.pending.size && this.closing) return;
    this.o.log?.('warn', `event store: the store process ${how}${this.tail()}; restarting it`);
    void this.restart();
  }

  private async restart(): Promise<void> {
    let last: unknown = null;
    while (this.deaths <= L.restartMax && !this.closed) {
      this.restarts++;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.max(0, this.deaths - 1))));
      try {
        await this.start();
        return;
      } catch (e) {
        last = e;
        this.deaths++;
      }
    }
    if (this.closed) return;
    const why = last instanceof Error ? `: ${last.message}` : '';
    this.failed = new StoreError('store-failed', `event store ${this.host.dir}: the store process died ${this.deaths} times in a row; giving up${why}`);
    this.o.log?.('warn', this.failed.message);
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }

  /** Run a write after every earlier one. */
  private ordered<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => undefined);
    return run;
  }

  append(events: readonly StoredEvent[]): Promise<void> {
    return this.ordered(async () => {
      // Checked here too: an invalid offset below the known maximum must not pass as a replay.
      for (const e of events) checkOffset(e.offset);
      const fresh = inOffsetOrder(events.filter((e) => e.offset > this.knownMax));
      for (const chunk of chunks(fresh)) {
        const b = toBatch(chunk);
        const top = await this.call<number>({ op: 'append', rows: encodeRows(b.rows), names: b.names });
        this.knownMax = Math.max(this.knownMax, top);
      }
    });
  }

  async maxOffset(): Promise<number> {
    const n = await this.call<number>({ op: 'maxOffset' });
    this.knownMax = Math.max(this.knownMax, n);
    return n;
  }

  sql(sql: string, opts: SqlOptions = {}): Promise<QueryResult> {
    return this.call({ op: 'sql', sql, opts }, { timeoutMs: searchTimeout(opts.timeoutMs) });
  }

  filter(q: FilterQuery): Promise<QueryResult> {
    return this.call({ op: 'filter', q }, { timeoutMs: searchTimeout(q.timeoutMs) });
  }

  histogram(q: FilterQuery, buckets: number): Promise<Histogram> {
    return this.call({ op: 'histogram', q, buckets }, { timeoutMs: searchTimeout(q.timeoutMs) });
  }

  fieldNames(prefix = '', limit?: number): Promise<string[]> {
    return this.call({ op: 'fieldNames', prefix, limit });
  }

  scan(from: string, to: string, onBatch: (events: StoredEvent[]) => void | Promise<void>, maxEvents?: number): Promise<number> {
    return this.call({ op: 'scan', from, to, max: maxEvents }, { onBatch });
  }

  retain(days: number): Promise<string[]> {
    return this.ordered(() => this.call<string[]>({ op: 'retain', days }));
  }

  async usage(): Promise<StoreUsage> {
    const u = await this.call<StoreUsage>({ op: 'usage' });
    return { ...u, restarts: this.restarts };
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.writes;
      const child = this.child;
      if (!this.failed && child) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        try {
          await this.call({ op: 'close' });
        } finally {
          this.closed = true;
          // The process exits once the channel closes; a query ignoring its interrupt cannot hold it.
          const t = setTimeout(() => child.kill('SIGKILL'), this.grace + 1000);
          if (child.connected) child.disconnect();
          await exited;
          clearTimeout(t);
        }
      }
      this.closed = true;
      this.child?.kill('SIGKILL');
      for (const p of this.pending.values()) p.reject(new StoreError('store-closed', `event store ${this.host.dir}: closed`));
      this.pending.clear();
    })());
  }
}

/** The time limit the store applies to a search (as it clamps it). */
function searchTimeout(ms: number | undefined): number {
  const n = ms != null && Number.isFinite(ms) && ms >= 1 ? Math.floor(ms) : L.searchTimeoutDefaultMs;
  return Math.min(n, L.searchTimeoutMaxMs);
}

function ended(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed (${signal})`;
  if (code === 97) return 'could not have its address space capped (ulimit -v failed)';
  return `exited with code ${code}`;
}

function inOffsetOrder(events: StoredEvent[]): StoredEvent[] {
  for (let i = 1; i < events.length; i++) if (events[i]!.offset < events[i - 1]!.offset) return [...events].sort((a, b) => a.offset - b.offset);
  return events;
}

/**
 * Split events (in offset order) into messages of about `appendChunkChars` field characters,
 * never between two events of one record: each chunk is one transaction.
 */
function* chunks(events: StoredEvent[]): Generator<StoredEvent[]> {
  let start = 0;
  let chars = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > start && chars >= L.appendChunkChars && e.offset !== events[i - 1]!.offset) {
      yield events.slice(start, i);
      start = i;
      chars = 0;
    }
    chars += approxChars(e.fields);
  }
  if (start < events.length) yield start === 0 ? events : events.slice(start);
}

/** A cheap estimate of an event's JSON size (its string values and names), without serialising it. */
function approxChars(fields: StoredEvent['fields']): number {
  let n = 2;
  for (const k in fields) {
    const v = fields[k];
    n += k.length + 4 + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.reduce<number>((s, x) => s + String(x).length + 1, 2) : 8);
  }
  return n;
}

/** Rebuild an error from the store process as the same class with the same code. */
export function fromWire(w: WireError): Error {
  switch (w.name) {
    case 'SearchError':
      return new SearchError(w.code, w.message);
    case 'FilterError': {
      const e = new FilterError('', w.column ?? 0);
      e.message = w.message;
      return e;
    }
    default:
      return new StoreError(w.code, w.message);
  }
}
