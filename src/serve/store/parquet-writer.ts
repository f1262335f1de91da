/**
 * Writing the scaled-out event store's Parquet files (`ParquetWriter`) and the layout they share
 * with search (./parquet.ts, whose comment describes both): a folder per UTC hour of filing time,
 * files named by the offsets they hold.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LIMITS } from '../../core/limits.js';
import { appendRow, StoreError, type StoreRow } from './duck-rows.js';
import { toBatch } from './duck.js';
import { duckMessage } from './sandbox.js';
import { EVENT_COLUMNS, fileEvent } from './schema.js';
import type { StoredEvent } from './types.js';

export const L = LIMITS.store;
export const HOUR_MS = 3_600_000;
const HOUR_US = 3_600_000_000n;
export const DAY_MS = 86_400_000;

/** An hour number (hours since 1970-01-01 UTC) → its folder name. */
export function hourFolder(hour: number): string {
  return `hour=${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}`;
}

/** A folder name → its hour number, or null when it is not an hour folder. */
export function parseHourFolder(name: string): number | null {
  const m = /^hour=(\d{4})-(\d{2})-(\d{2})T(\d{2})$/.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  const hour = ms / HOUR_MS;
  return Number.isInteger(hour) && hourFolder(hour) === name ? hour : null;
}

/** A data file's name → the offsets it holds (first and last), or null when it is not one of ours. */
export function parseFileName(name: string): { first: number; last: number } | null {
  const m = /^(\d{1,16})-(\d{1,16})-[A-Za-z0-9_.-]+\.parquet$/.exec(name);
  if (!m) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return Number.isSafeInteger(first) && Number.isSafeInteger(last) && first <= last ? { first, last } : null;
}

/** A path in SQL text (our own paths; quotes doubled). */
export const lit = (p: string): string => `'${p.replaceAll("'", "''")}'`;

/** The hours held under `dir` with their data files, oldest first (other names are left alone). */
export function listHours(dir: string): { hour: number; files: string[] }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StoreError('store-read', `event files ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const out: { hour: number; files: string[] }[] = [];
  for (const n of names) {
    const hour = parseHourFolder(n);
    if (hour === null) continue;
    let files: string[];
    try {
      files = readdirSync(join(dir, n)).filter((f) => parseFileName(f) !== null);
    } catch {
      continue; // deleted by retention meanwhile
    }
    if (files.length) out.push({ hour, files });
  }
  return out.sort((a, b) => a.hour - b.hour);
}

/** SQL reading the given hours' files. */
export function readHours(dir: string, hours: readonly number[]): string {
  const globs = hours.map((h) => lit(join(dir, hourFolder(h), '*.parquet')));
  return `SELECT * FROM read_parquet([${globs.join(', ')}], hive_partitioning = false, union_by_name = true)`;
}

export interface ParquetWriterOptions {
  /** The directory (shared by every detect node and the nodes that search). */
  dir: string;
  /** This node's name, in file names. */
  node: string;
  /** Flush at most this long after the first buffered event (default LIMITS.store.parquetFlushMs). */
  flushMs?: number;
  /** Flush once this many events wait (default LIMITS.store.parquetFlushEvents). */
  flushEvents?: number;
  /** The clock (ms), for the filing time of events without a believable one. */
  now?: () => number;
}

interface Pending {
  rows: StoreRow[];
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Writes events to hourly Parquet files (a detect node's side). */
export class ParquetWriter {
  private pending: Pending[] = [];
  private pendingEvents = 0;
  /** Events handed to a write not yet finished. */
  private writingEvents = 0;
  /** Callers of `room()` waiting for the buffer to drain. */
  private roomWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly stats = { files: 0, events: 0, flushes: 0, skippedRedelivered: 0 };

  private constructor(
    private readonly o: ParquetWriterOptions,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(o: ParquetWriterOptions): Promise<ParquetWriter> {
    try {
      mkdirSync(o.dir, { recursive: true });
    } catch (e) {
      throw new StoreError('store-open', `event files ${o.dir}: ${(e as Error).message}`, { cause: e });
    }
    // Nothing but our own statements runs here: no user SQL reaches the writer.
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: `${Math.floor(L.parquetWriterMemoryBytes / 2 ** 20)}MiB`,
      threads: '1',
      autoload_known_extensions: 'false',
      autoinstall_known_extensions: 'false',
    });
    const conn = await instance.connect();
    await conn.run(`CREATE TABLE staging (${EVENT_COLUMNS.map(([n, t]) => `"${n}" ${t}`).join(', ')})`);
    const w = new ParquetWriter(o, instance, conn);
    w.sweep();
    return w;
  }

  /**
   * Store `events`; resolves once they are in files on disk (rejects with StoreError when they
   * could not be written). `redelivered`: they may be stored already (an events message handed out
   * again), so hours that hold their offsets are skipped.
   */
  append(events: readonly StoredEvent[], redelivered = false): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('store-closed', `event files ${this.o.dir}: closed`));
    if (!events.length) return Promise.resolve();
    const rows = toBatch(events).rows;
    const add = async (): Promise<void> => {
      const keep = redelivered ? await this.notStored(rows) : rows;
      if (!keep.length) return;
      return new Promise<void>((resolve, reject) => {
        this.pending.push({ rows: keep, resolve, reject });
        this.pendingEvents += keep.length;
        if (this.pendingEvents >= (this.o.flushEvents ?? L.parquetFlushEvents)) void this.flush();
        else this.timer ??= setTimeout(() => void this.flush(), this.o.flushMs ?? L.parquetFlushMs);
      });
    };
    return add();
  }

  /**
   * Resolves once the writer can take more: while twice `flushEvents` wait or are being written
   * (the disk slower than detection), the caller waits, and with it the stream (memory stays
   * bounded).
   */
  room(): Promise<void> {
    const limit = 2 * (this.o.flushEvents ?? L.parquetFlushEvents);
    if (this.closed || this.pendingEvents + this.writingEvents < limit) return Promise.resolve();
    return new Promise((r) => this.roomWaiters.push(r));
  }

  /** Rows of a redelivered message whose hour does not already hold its offsets. */
  private async notStored(rows: StoreRow[]): Promise<StoreRow[]> {
    const now = (this.o.now ?? Date.now)();
    const byHour = new Map<number, StoreRow[]>();
    for (const r of rows) {
      const h = Number(fileEvent(r.timestamp, r.receivedAt, now).time / HOUR_US);
      const list = byHour.get(h) ?? [];
      list.push(r);
      byHour.set(h, list);
    }
    const out: StoreRow[] = [];
    for (const [hour, list] of byHour) {
      const lo = Math.min(...list.map((r) => r.offset));
      const hi = Math.max(...list.map((r) => r.offset));
      const folder = join(this.o.dir, hourFolder(hour));
      let files: string[] = [];
      try {
        files = readdirSync(folder).filter((f) => {
          const r = parseFileName(f);
          return r !== null && r.first <= hi && r.last >= lo;
        });
      } catch {
        // no such hour yet
      }
      let held = 0;
      if (files.length) {
        const r = await this.conn.runAndReadAll(`SELECT count(*) FROM read_parquet([${files.map((f) => lit(join(folder, f))).join(', ')}]) WHERE "offset" BETWEEN ${lo} AND ${hi}`);
        held = Number(r.getRowsJson()[0]?.[0] ?? 0);
      }
      if (held > 0) this.stats.skippedRedelivered += list.length;
      else out.push(...list);
    }
    return out;
  }

  /** Write what is buffered now (one file per hour); resolves when done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    const n = this.pendingEvents;
    this.pending = [];
    this.pendingEvents = 0;
    this.writingEvents += n;
    const run = this.tail
      .then(() => this.write(batch))
      .finally(() => {
        this.writingEvents -= n;
        for (const r of this.roomWaiters.splice(0)) r();
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(batch: Pending[]): Promise<void> {
    if (!batch.length) return;
    try {
      const now = (this.o.now ?? Date.now)();
      const byHour = new Map<number, { row: StoreRow; f: ReturnType<typeof fileEvent> }[]>();
      for (const p of batch) {
        for (const row of p.rows) {
          const f = fileEvent(row.timestamp, row.receivedAt, now);
          const h = Number(f.time / HOUR_US);
          const list = byHour.get(h) ?? [];
          list.push({ row, f });
          byHour.set(h, list);
        }
      }
      for (const [hour, list] of byHour) {
        await this.conn.run('DELETE FROM staging');
        const a = await this.conn.createAppender('staging');
        try {
          for (const { row, f } of list) appendRow(a, row, f);
        } finally {
          a.closeSync();
        }
        let lo = Infinity;
        let hi = -Infinity;
        for (const { row } of list) {
          if (row.offset < lo) lo = row.offset;
          if (row.offset > hi) hi = row.offset;
        }
        const folder = join(this.o.dir, hourFolder(hour));
        mkdirSync(folder, { recursive: true });
        const name = `${lo}-${hi}-${this.o.node}-${randomBytes(4).toString('hex')}.parquet`;
        const tmp = join(folder, `.${name}.tmp`);
        await this.conn.run(`COPY (SELECT * FROM staging ORDER BY "time", "offset") TO ${lit(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
        syncFile(tmp);
        renameSync(tmp, join(folder, name));
        syncFile(folder);
        this.stats.files++;
        this.stats.events += list.length;
      }
      this.stats.flushes++;
      for (const p of batch) p.resolve();
    } catch (e) {
      const err = new StoreError('store-write', `event files ${this.o.dir}: writing ${batch.reduce((n, p) => n + p.rows.length, 0)} events failed: ${duckMessage(e)}`, { cause: e });
      for (const p of batch) p.reject(err);
    }
  }

  /** Temporary files a crashed writer left (older than an hour: a live writer renames its own within seconds). */
  private sweep(): void {
    const cutoff = Date.now() - HOUR_MS;
    let names: string[];
    try {
      names = readdirSync(this.o.dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (parseHourFolder(n) === null) continue;
      let files: string[];
      try {
        files = readdirSync(join(this.o.dir, n));
      } catch {
        continue;
      }
      for (const f of files) {
        if (!f.startsWith('.') || !f.endsWith('.tmp')) continue;
        const p = join(this.o.dir, n, f);
        try {
          if (statSync(p).mtimeMs < cutoff) rmSync(p, { force: true });
        } catch {
          // gone already
        }
      }
    }
  }

  /** Write what is buffered, then close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush().catch(() => undefined);
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function syncFile(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
