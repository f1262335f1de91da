/**
 * The store process: `firebreak serve` starts this file as a child (./events.ts) with its
 * address space capped, and it runs the DuckDB event store (./duck.ts) for the server over
 * Node's IPC channel (./wire.ts). A query that makes DuckDB allocate outside its memory limit
 * fails here under the cap; one that ignores its interrupt, or a crash in DuckDB, ends this
 * process and the server starts another — the server itself is never the one that dies.
 *
 * It answers one `open`, then calls in any order (appends and retention are ordered by the
 * store itself). A scan sends its rows in batches and waits for the server's `ack` of each, so
 * a slow consumer holds the scan, not memory here. When the server goes away (the IPC channel
 * closes), this process closes the store and exits.
 */
import { LIMITS } from '../../core/limits.js';
import { DuckEventStore, StoreError } from './duck.js';
import { FilterError } from './filter.js';
import { decodeRows, encodeRows, type Call, type FromHost, type HostOptions, type ToHost, type WireError } from './wire.js';

const L = LIMITS.store;
/** Characters of an error message sent back (DuckDB echoes parts of the query). */
const MESSAGE_MAX = 4000;

let store: DuckEventStore | null = null;
let closing = false;
/** Scans waiting for the server to take their last batch. */
const acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

function send(m: FromHost): void {
  if (process.connected) process.send!(m);
}

export function toWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const raw = (err as Error & { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : 'store-failed';
  const message = err.message.length > MESSAGE_MAX ? `${err.message.slice(0, MESSAGE_MAX)}…` : err.message;
  return { name: err.name, code, message, ...(e instanceof FilterError ? { column: e.column } : {}) };
}

async function open(o: HostOptions): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      store = await DuckEventStore.open(o);
      return;
    } catch (e) {
      // The previous store process (of a server killed a moment ago) may still hold the file.
      if (!(e instanceof StoreError && e.code === 'store-locked') || Date.now() - t0 > L.openLockWaitMs) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function waitAck(id: number): Promise<void> {
  return new Promise((resolve, reject) => acks.set(id, { resolve, reject }));
}

async function run(id: number, c: Call, s: DuckEventStore): Promise<unknown> {
  switch (c.op) {
    case 'append':
      await s.appendBatch({ rows: decodeRows(c.rows), names: c.names });
      return s.maxOffset();
    case 'maxOffset':
      return s.maxOffset();
    case 'sql':
      return s.sql(c.sql, c.opts, () => send({ t: 'started', id }));
    case 'filter':
      return s.filter(c.q, () => send({ t: 'started', id }));
    case 'histogram':
      return s.histogram(c.q, c.buckets, () => send({ t: 'started', id }));
    case 'fieldNames':
      return s.fieldNames(c.prefix, c.limit);
    case 'scan':
      return s.scanRows(
        c.from,
        c.to,
        async (rows) => {
          send({ t: 'batch', id, rows: encodeRows(rows) });
          await waitAck(id);
        },
        c.max,
      );
    case 'retain':
      return s.retain(c.days);
    case 'usage':
      return s.usage();
    case 'close':
      closing = true;
      await s.close();
      return null;
  }
}

async function call(id: number, c: Call): Promise<void> {
  try {
    if (!store) throw new StoreError('store-closed', 'event store: not open');
    const value = await run(id, c, store);
    send({ t: 'reply', id, ok: true, value });
  } catch (e) {
    send({ t: 'reply', id, ok: false, error: toWire(e) });
  } finally {
    acks.delete(id);
  }
  if (c.op === 'close') {
    process.disconnect();
    return;
  }
  // DuckDB refuses to go on after some errors (an invalidated database): exit, and the server
  // starts a new process, which replays DuckDB's log.
  if (store?.failed && !closing) process.exit(70);
}

process.on('message', (m: ToHost) => {
  switch (m.t) {
    case 'open':
      open(m.opts).then(
        () => send({ t: 'ready' }),
        (e: unknown) => send({ t: 'open-failed', error: toWire(e) }),
      );
      break;
    case 'call': {
      const { t: _t, id, ...c } = m;
      void call(id, c);
      break;
    }
    case 'ack':
      acks.get(m.id)?.resolve();
      break;
    case 'cancel':
      acks.get(m.id)?.reject(new StoreError('scan-cancelled', 'event store: scan cancelled by the server'));
      break;
  }
});

// The server is gone (closed, or killed): close the store, but never linger on a query that
// ignores its interrupt — DuckDB's log makes every committed append durable without a close.
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), L.searchInterruptGraceMs).unref();
  const s = store;
  if (!s || closing) return;
  closing = true;
  s.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

// The terminal's Ctrl-C and a service manager's SIGTERM reach the whole process group; the server
// closes this store as part of its own graceful shutdown.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
