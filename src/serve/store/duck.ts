/**
 * The event store itself, in the process that runs it: DuckDB, one table per day of filing time
 * (./schema.ts), appenders inside one transaction per append, the sandboxed search
 * (./sandbox.ts), the field filter (./filter.ts), the field-name catalogue. `firebreak serve`
 * runs this in a separate process (./host.ts, driven by ./events.ts) whose address space is
 * capped; tests also run it in-process.
 *
 * Durability: an append is one transaction (every day table it touches, the catalogue's new
 * names and the new highest offset). DuckDB writes a committed transaction to its own
 * write-ahead log and fsyncs it before COMMIT returns, and replays that log at open, so an
 * append is durable once it resolves; checkpoints (automatic past DuckDB's threshold, and at
 * retention and close) fold the log into the file. Forcing a checkpoint per append would rewrite
 * row groups for every small batch.
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { FirebreakError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { FilterError, buildFilter } from './filter.js';
import { SearchError, duckMessage, engineConfig, prepareSearch } from './sandbox.js';
import { SearchRunner, type MakeQuery } from './duck-search.js';
import { META_SCHEMA, STORE_FILE, STORE_SCHEMA_VERSION, createDayTableSql, dayLabel, dayOfMs, dayStartMs, dayTable, fileEvent, isoSql, parseDayTable, unionOf, viewSql } from './schema.js';
import { appendRow, bound, buckets_, clamp, micros, msOf, rowFromResult, storedEvent, textOf, timeCondition, StoreError, type StoreRow } from './duck-rows.js';
import type { EventStore, FilterQuery, Histogram, QueryResult, SqlOptions, StoreUsage, StoredEvent } from './types.js';

const L = LIMITS.store;
const DAY_MS = 86_400_000;
/** The catalogue's counts are rewritten at most this often (new names are written with their batch). */
const CATALOGUE_FLUSH_MS = 60_000;

export interface StoreOptions {
  /** The server's data directory; the store is `eventstore.duckdb` in it. */
  dir: string;
  /** DuckDB memory limit (default LIMITS.store.memoryBytes). */
  memoryBytes?: number;
  /** Spill space for queries (default LIMITS.store.tempBytes). */
  tempBytes?: number;
  /** DuckDB threads (default: half the cores, 1 to 4: the detection pipeline needs the rest). */
  threads?: number;
  /** The clock (ms), for retention and open-ended time ranges; tests move it. */
  now?: () => number;
}

/** Rows plus the field names they carry (name, events holding it): the catalogue's update. */
export interface StoreBatch {
  rows: StoreRow[];
  names: [string, number][];
}

/** StoredEvents → a batch (fields serialised once, names counted). */
export function toBatch(events: readonly StoredEvent[]): StoreBatch {
  const names = new Map<string, number>();
  const rows = events.map((e): StoreRow => {
    for (const k in e.fields) names.set(k, (names.get(k) ?? 0) + 1);
    return {
      offset: e.offset,
      source: e.source,
      timestamp: e.timestamp,
      receivedAt: e.receivedAt,
      computer: e.computer,
      channel: e.channel,
      provider: e.provider,
      eventId: e.eventId,
      recordId: e.recordId,
      fields: JSON.stringify(e.fields),
    };
  });
  return { rows, names: [...names] };
}

/** Throws StoreError `bad-event` unless `offset` is a write-ahead-log offset (a whole number ≥ 0). */
export function checkOffset(offset: unknown): void {
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new StoreError('bad-event', `event store: an event's offset must be a whole number ≥ 0, not ${String(offset)}`);
}

/** The events → columns of a filter result (times as ISO-8601 text, fields as an object); the Parquet store's too. */
export const EVENT_COLUMNS_OUT: QueryResult['columns'] = [
  ['offset', 'BIGINT'],
  ['source', 'VARCHAR'],
  ['time', 'VARCHAR'],
  ['timestamp', 'VARCHAR'],
  ['received', 'VARCHAR'],
  ['computer', 'VARCHAR'],
  ['channel', 'VARCHAR'],
  ['provider', 'VARCHAR'],
  ['event_id', 'INTEGER'],
  ['record_id', 'BIGINT'],
  ['fields', 'JSON'],
].map(([name, type]) => ({ name: name!, type: type! }));
export const EVENT_SELECT = `"offset", source, ${isoSql('time')} AS "time", ${isoSql('timestamp')} AS "timestamp", ${isoSql('received')} AS received, computer, channel, provider, event_id, record_id, fields`;

export class DuckEventStore implements EventStore {
  private readonly days = new Map<number, number>();
  private maxOff = -1;
  private readonly catalogue = new Map<string, number>();
  private namesDropped = 0;
  private countsDirty = false;
  private countsFlushedAt = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly searcher: SearchRunner;
  private closed = false;
  /** Set when DuckDB reported an error that leaves the instance unusable; every call then fails. */
  failed: Error | null = null;

  private constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    memoryBytes: number,
    private readonly now: () => number,
  ) {
    this.searcher = new SearchRunner(instance, memoryBytes, (e) => this.noteFatal(e));
  }

  /** Open (or create) the store under `o.dir`. Throws StoreError `store-open`, or `store-locked` while another process holds the file. */
  static async open(o: StoreOptions): Promise<DuckEventStore> {
    mkdirSync(o.dir, { recursive: true });
    const path = join(o.dir, STORE_FILE);
    const memoryBytes = o.memoryBytes ?? L.memoryBytes;
    const threads = o.threads ?? Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
    const config = engineConfig({ memoryBytes, tempDir: join(o.dir, 'eventstore.tmp'), tempBytes: o.tempBytes ?? L.tempBytes, threads });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (e) {
      const msg = duckMessage(e);
      throw new StoreError(/Could not set lock/i.test(msg) ? 'store-locked' : 'store-open', `event store ${path}: ${msg}`, { cause: e });
    }
    const writer = await instance.connect();
    const store = new DuckEventStore(path, instance, writer, memoryBytes, o.now ?? Date.now);
    try {
      await store.load();
    } catch (e) {
      writer.closeSync();
      instance.closeSync();
      throw e instanceof FirebreakError ? e : new StoreError('store-open', `event store ${path}: ${duckMessage(e)}`, { cause: e });
    }
    return store;
  }

  private async load(): Promise<void> {
    const w = this.writer;
    for (const sql of META_SCHEMA) await w.run(sql);
    const meta = new Map((await w.runAndReadAll('SELECT key, value FROM store_meta')).getRowsJson().map((r) => [textOf(r[0]), textOf(r[1])]));
    const version = Number(meta.get('schema_version') ?? STORE_SCHEMA_VERSION);
    if (version > STORE_SCHEMA_VERSION) throw new StoreError('store-open', `event store ${this.path}: written by a newer Firebreak (schema ${version}; this one reads ${STORE_SCHEMA_VERSION})`);
    if (!meta.has('schema_version')) await w.run(`INSERT OR REPLACE INTO store_meta VALUES ('schema_version', $1)`, [String(STORE_SCHEMA_VERSION)]);
    this.maxOff = Number(meta.get('max_offset') ?? -1);
    this.namesDropped = Number(meta.get('field_names_dropped') ?? 0);
    const tables = (await w.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'`)).getRowsJson();
    const days = tables.map((r) => parseDayTable(textOf(r[0]))).filter((d): d is number => d != null);
    days.sort((a, b) => a - b);
    if (days.length) {
      const counts = await w.runAndReadAll(days.map((d) => `SELECT ${d} AS day, count(*) AS n FROM ${dayTable(d)}`).join(' UNION ALL '));
      for (const [d, n] of counts.getRowsJson()) this.days.set(Number(d), Number(n));
    }
    await w.run(viewSql(days));
    const names = await w.runAndReadAll(`SELECT name, max(events) AS n FROM field_names GROUP BY name ORDER BY n DESC, name LIMIT ${L.fieldCatalogueMax}`);
    for (const [name, n] of names.getRowsJson()) this.catalogue.set(textOf(name), Number(n));
    this.countsFlushedAt = this.now();
  }

  /** Run `fn` after every earlier write (appends, retention and close never interleave). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      this.check();
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private check(): void {
    if (this.failed) throw new StoreError('store-failed', `event store ${this.path}: ${this.failed.message}`, { cause: this.failed });
    if (this.closed) throw new StoreError('store-closed', `event store ${this.path}: closed`);
  }

  /** Remember errors after which DuckDB refuses to go on (an invalidated instance needs a restart). */
  private noteFatal(e: unknown): void {
    const msg = duckMessage(e);
    if (/database has been invalidated|FATAL Error|INTERNAL Error/i.test(msg)) this.failed = new Error(msg);
  }

  async append(events: readonly StoredEvent[]): Promise<void> {
    return this.appendBatch(toBatch(events));
  }

  /** Store a batch (the store process receives batches, not StoredEvents). */
  appendBatch(batch: StoreBatch): Promise<void> {
    return this.exclusive(async () => {
      for (const r of batch.rows) checkOffset(r.offset);
      const rows = batch.rows.filter((r) => r.offset > this.maxOff);
      if (!rows.length) return;
      const now = this.now();
      const byDay = new Map<number, { row: StoreRow; f: ReturnType<typeof fileEvent> }[]>();
      let top = this.maxOff;
      for (const row of rows) {
        const f = fileEvent(row.timestamp, row.receivedAt, now);
        let list = byDay.get(f.day);
        if (!list) byDay.set(f.day, (list = []));
        list.push({ row, f });
        if (row.offset > top) top = row.offset;
      }
      const newDays = [...byDay.keys()].filter((d) => !this.days.has(d));
      const newNames: [string, number][] = [];
      let dropped = 0;
      for (const [name, n] of batch.names) {
        if (this.catalogue.has(name)) continue;
        if (name.length > L.fieldNameMaxChars || this.catalogue.size + newNames.length >= L.fieldCatalogueMax) dropped++;
        else newNames.push([name, n]);
      }
      const w = this.writer;
      await w.run('BEGIN TRANSACTION');
      try {
        for (const d of newDays) await w.run(createDayTableSql(d));
        if (newDays.length) await w.run(viewSql([...this.days.keys(), ...newDays].sort((a, b) => a - b)));
        for (const [day, list] of byDay) {
          const a = await w.createAppender(dayTable(day));
          try {
            for (const { row, f } of list) appendRow(a, row, f);
          } finally {
            a.closeSync();
          }
        }
        if (newNames.length) {
          const a = await w.createAppender('field_names');
          for (const [name, n] of newNames) {
            a.appendVarchar(name);
            a.appendBigInt(BigInt(n));
            a.endRow();
          }
          a.closeSync();
        }
        await w.run(`INSERT OR REPLACE INTO store_meta VALUES ('max_offset', $1)`, [String(top)]);
        await w.run('COMMIT');
      } catch (e) {
        await w.run('ROLLBACK').catch(() => undefined);
        this.noteFatal(e);
        throw new StoreError('store-write', `event store ${this.path}: append of offsets ${rows[0]!.offset}–${top} failed: ${duckMessage(e)}`, { cause: e });
      }
      for (const [day, list] of byDay) this.days.set(day, (this.days.get(day) ?? 0) + list.length);
      this.maxOff = top;
      for (const [name, n] of newNames) this.catalogue.set(name, n);
      const fresh = new Set(newNames.map(([name]) => name));
      for (const [name, n] of batch.names) {
        if (fresh.has(name)) continue;
        const had = this.catalogue.get(name);
        if (had != null) {
          this.catalogue.set(name, had + n);
          this.countsDirty = true;
        }
      }
      this.namesDropped += dropped;
      if (dropped) this.countsDirty = true;
      if (this.countsDirty && this.now() - this.countsFlushedAt >= CATALOGUE_FLUSH_MS) await this.flushCounts();
    });
  }

  /** Rewrite the catalogue's counts (and the dropped-name count) in one transaction. */
  private async flushCounts(): Promise<void> {
    const w = this.writer;
    await w.run('BEGIN TRANSACTION');
    try {
      await w.run('DELETE FROM field_names');
      const a = await w.createAppender('field_names');
      for (const [name, n] of this.catalogue) {
        a.appendVarchar(name);
        a.appendBigInt(BigInt(n));
        a.endRow();
      }
      a.closeSync();
      await w.run(`INSERT OR REPLACE INTO store_meta VALUES ('field_names_dropped', $1)`, [String(this.namesDropped)]);
      await w.run('COMMIT');
    } catch (e) {
      await w.run('ROLLBACK').catch(() => undefined);
      this.noteFatal(e);
      throw new StoreError('store-write', `event store ${this.path}: saving the field-name catalogue failed: ${duckMessage(e)}`, { cause: e });
    }
    this.countsDirty = false;
    this.countsFlushedAt = this.now();
  }

  async maxOffset(): Promise<number> {
    this.check();
    return this.maxOff;
  }

  // ---- search ----

  /** `started` is called when the query leaves the queue and starts running (the store process reports it so the server can time it). */
  async sql(text: string, opts: SqlOptions = {}, started?: () => void): Promise<QueryResult> {
    this.check();
    if (typeof text !== 'string' || !text.trim()) throw new SearchError('search-refused', 'no statement: write one SELECT');
    if (text.length > L.sqlMaxChars) throw new SearchError('search-refused', `the query is longer than ${L.sqlMaxChars} characters`);
    let comments = 0;
    for (let i = text.indexOf('/*'); i >= 0; i = text.indexOf('/*', i + 2)) {
      if (++comments > L.sqlMaxBlockComments) throw new SearchError('search-refused', `the query has more than ${L.sqlMaxBlockComments} block comments (/* … */)`);
    }
    const maxRows = clamp(opts.maxRows, L.searchRowsDefault, L.searchRowsMax);
    const timeoutMs = clamp(opts.timeoutMs, L.searchTimeoutDefaultMs, L.searchTimeoutMaxMs);
    return this.search(timeoutMs, started, async (conn) => ({ prepared: await prepareSearch(conn, text), maxRows, parseJson: true }));
  }

  async filter(q: FilterQuery, started?: () => void): Promise<QueryResult> {
    this.check();
    const maxRows = clamp(q.limit, L.filterRowsDefault, L.filterRowsMax);
    const timeoutMs = clamp(q.timeoutMs, L.searchTimeoutDefaultMs, L.searchTimeoutMaxMs);
    const { from, to } = this.range(q.from, q.to);
    const days = this.daysIn(from, to);
    const time = timeCondition(from, to);
    const f = buildFilter(q.filter ?? '', time.params.length + 1);
    if (!days.length) return { columns: EVENT_COLUMNS_OUT, rows: [], truncated: false, elapsedMs: 0 };
    const sql = `SELECT ${EVENT_SELECT} FROM (${unionOf(days)}) WHERE ${time.sql} AND (${f.sql}) ORDER BY "time" DESC, "offset" DESC LIMIT ${maxRows + 1}`;
    return this.search(timeoutMs, started, async (conn) => ({ prepared: await bound(conn, sql, [...time.params, ...f.params]), maxRows, parseJson: true }));
  }

  async histogram(q: FilterQuery, buckets: number, started?: () => void): Promise<Histogram> {
    this.check();
    const n = clamp(Number.isFinite(buckets) ? Math.floor(buckets) : undefined, 60, L.histogramMaxBuckets);
    const toMs = q.to != null ? msOf(q.to, 'to') : this.now();
    const oldest = Math.min(...this.days.keys());
    const fromMs = q.from != null ? msOf(q.from, 'from') : Number.isFinite(oldest) ? Math.min(dayStartMs(oldest), toMs - 1) : toMs - DAY_MS;
    if (!(fromMs < toMs)) throw new StoreError('bad-time', `histogram: 'from' (${q.from ?? ''}) is not before 'to' (${q.to ?? ''})`);
    const { step, start, count } = buckets_(fromMs, toMs, n);
    const end = start + count * step;
    const from = BigInt(start) * 1000n;
    const to = BigInt(end) * 1000n;
    const days = this.daysIn(from, to);
    const counts = new Array<number>(count).fill(0);
    const result: Histogram = { from: new Date(start).toISOString(), to: new Date(end).toISOString(), bucketMs: step, counts };
    if (!days.length) {
      buildFilter(q.filter ?? ''); // still report a bad filter
      return result;
    }
    const time = timeCondition(from, to);
    const f = buildFilter(q.filter ?? '', time.params.length + 3);
    const params: DuckDBValue[] = [...time.params, BigInt(start) * 1000n, BigInt(step) * 1000n, ...f.params];
    const b0 = `$${time.params.length + 1}`;
    const b1 = `$${time.params.length + 2}`;
    const sql = `SELECT CAST(floor((epoch_us("time") - ${b0}) / ${b1}) AS BIGINT) AS b, count(*) AS n FROM (${unionOf(days)}) WHERE ${time.sql} AND (${f.sql}) GROUP BY b`;
    const timeoutMs = clamp(q.timeoutMs, L.searchTimeoutDefaultMs, L.searchTimeoutMaxMs);
    const r = await this.search(timeoutMs, started, async (conn) => ({ prepared: await bound(conn, sql, params), maxRows: count + 1, parseJson: false }));
    for (const [b, c] of r.rows) {
      const i = Number(b);
      if (i >= 0 && i < count) counts[i] = Number(c);
    }
    return result;
  }

  async fieldNames(prefix = '', limit?: number): Promise<string[]> {
    this.check();
    const max = clamp(limit, 50, L.fieldNamesMax);
    const p = prefix.toLowerCase();
    const hits: [string, number][] = [];
    for (const e of this.catalogue) if (e[0].toLowerCase().startsWith(p)) hits.push(e);
    hits.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return hits.slice(0, max).map(([name]) => name);
  }

  async scan(from: string, to: string, onBatch: (events: StoredEvent[]) => void | Promise<void>, maxEvents?: number): Promise<number> {
    return this.scanRows(from, to, (rows) => onBatch(rows.map(storedEvent)), maxEvents);
  }

  /** `scan` with the fields left as JSON text (what the store process sends back). */
  async scanRows(from: string, to: string, onRows: (rows: StoreRow[]) => void | Promise<void>, maxEvents?: number): Promise<number> {
    this.check();
    const r = this.range(from, to);
    const max = clamp(maxEvents, L.scanMaxEventsDefault, L.scanMaxEventsMax);
    const time = timeCondition(r.from, r.to);
    let total = 0;
    const conn = await this.instance.connect();
    try {
      for (const day of this.daysIn(r.from, r.to)) {
        if (total >= max) break;
        const sql = `SELECT "offset", source, ${isoSql('timestamp')}, epoch_ms(received), computer, channel, provider, event_id, record_id, CAST(fields AS VARCHAR) FROM ${dayTable(day)} WHERE ${time.sql} ORDER BY "time", "offset" LIMIT ${max - total}`;
        let result;
        try {
          result = await conn.stream(sql, time.params);
        } catch (e) {
          if (!this.days.has(day)) continue; // dropped by retention meanwhile
          throw new StoreError('store-read', `event store ${this.path}: scan of ${dayLabel(day)} failed: ${duckMessage(e)}`, { cause: e });
        }
        let batch: StoreRow[] = [];
        for await (const rows of result.yieldRowsJson()) {
          for (const row of rows) {
            batch.push(rowFromResult(row));
            if (batch.length >= L.scanBatch) {
              total += batch.length;
              await onRows(batch);
              batch = [];
            }
          }
        }
        if (batch.length) {
          total += batch.length;
          await onRows(batch);
        }
      }
    } finally {
      conn.closeSync();
    }
    return total;
  }

  private search(timeoutMs: number, started: (() => void) | undefined, make: MakeQuery): Promise<QueryResult> {
    return this.searcher.run(timeoutMs, started, make);
  }

  /** A time range in microseconds (absent ends are open). */
  private range(from?: string, to?: string): { from: bigint | null; to: bigint | null } {
    const f = from != null && from !== '' ? micros(from, 'from') : null;
    const t = to != null && to !== '' ? micros(to, 'to') : null;
    if (f != null && t != null && f >= t) throw new StoreError('bad-time', `'from' (${from}) is not before 'to' (${to})`);
    return { from: f, to: t };
  }

  /** Days held that can hold events in [from, to), oldest first. */
  private daysIn(from: bigint | null, to: bigint | null): number[] {
    const lo = from == null ? -Infinity : dayOfMs(Number(from / 1000n));
    const hi = to == null ? Infinity : dayOfMs(Number((to - 1n) / 1000n));
    return [...this.days.keys()].filter((d) => d >= lo && d <= hi).sort((a, b) => a - b);
  }

  // ---- retention, usage, close ----

  retain(days: number): Promise<string[]> {
    if (!Number.isInteger(days) || days < 0) return Promise.reject(new StoreError('bad-retention', `retention must be a whole number of days ≥ 0, not ${days}`));
    return this.exclusive(async () => {
      const cutoff = this.now() - days * DAY_MS;
      const drop = [...this.days.keys()].filter((d) => dayStartMs(d) + DAY_MS <= cutoff).sort((a, b) => a - b);
      if (!drop.length) return [];
      const keep = [...this.days.keys()].filter((d) => !drop.includes(d)).sort((a, b) => a - b);
      const w = this.writer;
      await w.run('BEGIN TRANSACTION');
      try {
        for (const d of drop) await w.run(`DROP TABLE ${dayTable(d)}`);
        await w.run(viewSql(keep));
        await w.run('COMMIT');
      } catch (e) {
        await w.run('ROLLBACK').catch(() => undefined);
        this.noteFatal(e);
        throw new StoreError('store-write', `event store ${this.path}: retention failed: ${duckMessage(e)}`, { cause: e });
      }
      for (const d of drop) this.days.delete(d);
      // Free the dropped tables' blocks for reuse now; a running search makes DuckDB skip it, and
      // the next automatic checkpoint does it instead.
      await w.run('CHECKPOINT').catch(() => undefined);
      return drop.map(dayLabel);
    });
  }

  async usage(): Promise<StoreUsage> {
    this.check();
    let bytes = 0;
    for (const p of [this.path, `${this.path}.wal`]) {
      try {
        bytes += statSync(p).size;
      } catch {
        // no log yet
      }
    }
    const days = [...this.days.keys()].sort((a, b) => a - b);
    let events = 0;
    for (const n of this.days.values()) events += n;
    return { bytes, days: days.map(dayLabel), events, fieldNames: this.catalogue.size, fieldNamesDropped: this.namesDropped, restarts: 0 };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.searcher.interruptAll();
    const done = this.exclusive(async () => {
      try {
        if (this.countsDirty) await this.flushCounts();
        await this.writer.run('CHECKPOINT').catch(() => undefined);
      } finally {
        this.closed = true;
        await this.searcher.idle();
        this.writer.closeSync();
        this.instance.closeSync();
      }
    });
    return done.catch((e: unknown) => {
      if (e instanceof StoreError && (e.code === 'store-closed' || e.code === 'store-failed')) {
        this.closed = true;
        return;
      }
      throw e;
    });
  }
}

export { FilterError, StoreError, storedEvent, type StoreRow };
