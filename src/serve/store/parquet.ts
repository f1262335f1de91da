/**
 * The event store of a scaled-out server (docs/scale-out.md "Event storage"): Parquet files in a
 * directory, one folder per UTC hour of filing time (`hour=YYYY-MM-DDTHH`), written by the detect
 * nodes with DuckDB and read by search with DuckDB. The columns, the filing time and the search
 * rules are the embedded store's (./schema.ts, ./sandbox.ts): a search written for one runs on the
 * other.
 *
 * Writing (`ParquetWriter`): events are buffered and written together (at most every
 * `LIMITS.store.parquetFlushMs`, or sooner once `parquetFlushEvents` wait), a file per hour they
 * fall in, named `<first offset>-<last offset>-<node>-<random>.parquet`: written under a hidden
 * temporary name, fsynced, then renamed, so a reader sees a whole file or none. `append` resolves
 * once its events are in such a file; a detect node acknowledges an events message only then. A
 * message handed out again (its node died before acknowledging) may already be stored: the
 * writer then checks the hours it falls in for its offsets (only files whose name's range covers
 * them are read) and stores only the hours that lack them, so a redelivery adds no second copy.
 *
 * Reading (`ParquetEventStore`): an in-memory DuckDB instance that may read only the directory
 * (external access off except for it, configuration locked), with the `events` view over every
 * file; filters and histograms read only the hours in their time range. Retention deletes whole
 * hour folders.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { bound, buckets_, clamp, micros, msOf, rowFromResult, storedEvent, textOf, timeCondition, StoreError } from './duck-rows.js';
import { SearchRunner, type MakeQuery } from './duck-search.js';
import { EVENT_COLUMNS_OUT, EVENT_SELECT } from './duck.js';
import { FilterError, buildFilter } from './filter.js';
import { duckMessage, engineConfig, prepareSearch, SearchError } from './sandbox.js';
import { isoSql, viewSql } from './schema.js';
import type { EventStore, FilterQuery, Histogram, QueryResult, SqlOptions, StoreUsage, StoredEvent } from './types.js';
import { DAY_MS, HOUR_MS, L, hourFolder, lit, listHours, parseHourFolder, readHours, type ParquetWriter } from './parquet-writer.js';

export { hourFolder, listHours, parseFileName, parseHourFolder, ParquetWriter, type ParquetWriterOptions } from './parquet-writer.js';

export interface ParquetStoreOptions {
  dir: string;
  /** DuckDB memory limit for searches (default LIMITS.store.memoryBytes). */
  memoryBytes?: number;
  /** Spill space for searches (default LIMITS.store.tempBytes), in `tempDir`. */
  tempBytes?: number;
  /** Where searches spill (default: a folder in the system's temporary directory). */
  tempDir: string;
  threads?: number;
  now?: () => number;
  /** The writer `append` goes to (a node that both stores and searches); without it the store is read-only. */
  writer?: ParquetWriter;
}

/** Search over the hourly Parquet files (the search API's `EventStore` in a cluster). */
export class ParquetEventStore implements EventStore {
  private readonly searcher: SearchRunner;
  /** Whether the `events` view now reads files (false: the empty relation). */
  private viewReadsFiles: boolean | undefined;
  private viewLock: Promise<unknown> = Promise.resolve();
  private catalogue: { at: number; names: string[] } | undefined;
  private readonly rowCounts = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly o: ParquetStoreOptions,
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    memoryBytes: number,
  ) {
    this.searcher = new SearchRunner(instance, memoryBytes);
  }

  static async open(o: ParquetStoreOptions): Promise<ParquetEventStore> {
    mkdirSync(o.dir, { recursive: true });
    mkdirSync(o.tempDir, { recursive: true });
    const memoryBytes = o.memoryBytes ?? L.memoryBytes;
    const locked = engineConfig({ memoryBytes, tempDir: o.tempDir, tempBytes: o.tempBytes ?? L.tempBytes, threads: o.threads ?? 1 });
    // The directory is the one place it may read: allowed before external access is turned off,
    // and the configuration locked after that.
    const { enable_external_access: _off, lock_configuration: _lock, ...open } = locked;
    const instance = await DuckDBInstance.create(':memory:', open);
    const admin = await instance.connect();
    try {
      await admin.run(`SET allowed_directories = [${lit(o.dir)}]`);
      await admin.run('SET enable_external_access = false');
      await admin.run('SET lock_configuration = true');
    } catch (e) {
      admin.closeSync();
      instance.closeSync();
      throw new StoreError('store-open', `event files ${o.dir}: ${duckMessage(e)}`, { cause: e });
    }
    const s = new ParquetEventStore(o, instance, admin, memoryBytes);
    await s.refreshView();
    return s;
  }

  private check(): void {
    if (this.closed) throw new StoreError('store-closed', `event files ${this.o.dir}: closed`);
  }

  /** The `events` view over every file, or the empty relation while there is none. */
  private refreshView(): Promise<void> {
    const run = this.viewLock.then(async () => {
      const any = listHours(this.o.dir).length > 0;
      if (any === this.viewReadsFiles) return;
      await this.admin.run(
        any ? `CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet(${lit(join(this.o.dir, 'hour=*', '*.parquet'))}, hive_partitioning = false, union_by_name = true)` : viewSql([]),
      );
      this.viewReadsFiles = any;
    });
    this.viewLock = run.catch(() => undefined);
    return run;
  }

  /** Run a search; when retention removed files it was about to read, once more with the files there now. */
  private async searchOnce(timeoutMs: number, started: (() => void) | undefined, make: MakeQuery): Promise<QueryResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.searcher.run(timeoutMs, attempt ? undefined : started, make);
      } catch (e) {
        const gone = e instanceof SearchError && /No files found|No such file|Cannot open file/i.test(e.message);
        if (!gone || attempt > 0) throw e;
        await this.refreshView();
      }
    }
  }

  append(events: readonly StoredEvent[]): Promise<void> {
    if (!this.o.writer) return Promise.reject(new StoreError('store-read-only', `event files ${this.o.dir}: this node searches them; detect nodes write them`));
    return this.o.writer.append(events);
  }

  /** Files carry no log offsets of one server: a replay is recognised per events message instead (`ParquetWriter.append`). */
  maxOffset(): Promise<number> {
    return Promise.resolve(-1);
  }

  async sql(text: string, opts: SqlOptions = {}, started?: () => void): Promise<QueryResult> {
    this.check();
    if (typeof text !== 'string' || !text.trim()) throw new SearchError('search-refused', 'no statement: write one SELECT');
    if (text.length > L.sqlMaxChars) throw new SearchError('search-refused', `the query is longer than ${L.sqlMaxChars} characters`);
    const maxRows = clamp(opts.maxRows, L.searchRowsDefault, L.searchRowsMax);
    const timeoutMs = clamp(opts.timeoutMs, L.searchTimeoutDefaultMs, L.searchTimeoutMaxMs);
    await this.refreshView();
    return this.searchOnce(timeoutMs, started, async (conn) => ({ prepared: await prepareSearch(conn, text), maxRows, parseJson: true }));
  }

  async filter(q: FilterQuery, started?: () => void): Promise<QueryResult> {
    this.check();
    const maxRows = clamp(q.limit, L.filterRowsDefault, L.filterRowsMax);
    const timeoutMs = clamp(q.timeoutMs, L.searchTimeoutDefaultMs, L.searchTimeoutMaxMs);
    const { from, to } = range(q.from, q.to);
    const time = timeCondition(from, to);
    const f = buildFilter(q.filter ?? '', time.params.length + 1);
    const hours = this.hoursIn(from, to);
    if (!hours.length) return { columns: EVENT_COLUMNS_OUT, rows: [], truncated: false, elapsedMs: 0 };
    const sql = `SELECT ${EVENT_SELECT} FROM (${readHours(this.o.dir, hours)}) WHERE ${time.sql} AND (${f.sql}) ORDER BY "time" DESC, "offset" DESC LIMIT ${maxRows + 1}`;
    return this.searchOnce(timeoutMs, started, async (conn) => ({ prepared: await bound(conn, sql, [...time.params, ...f.params]), maxRows, parseJson: true }));
  }

  async histogram(q: FilterQuery, buckets: number, started?: () => void): Promise<Histogram> {
    this.check();
    const n = clamp(Number.isFinite(buckets) ? Math.floor(buckets) : undefined, 60, L.histogramMaxBuckets);
    const now = (this.o.now ?? Date.now)();
    const toMs = q.to != null ? msOf(q.to, 'to') : now;
    const held = listHours(this.o.dir);
    const fromMs = q.from != null ? msOf(q.from, 'from') : held.length ? Math.min(held[0]!.hour * HOUR_MS, toMs - 1) : toMs - DAY_MS;
    if (!(fromMs < toMs)) throw new StoreError('bad-time', `histogram: 'from' (${q.from ?? ''}) is not before 'to' (${q.to ?? ''})`);
    const { step, start, count } = buckets_(fromMs, toMs, n);
    const end = start + count * step;
    const from = BigInt(start) * 1000n;
    const to = BigInt(end) * 1000n;
    const counts = new Array<number>(count).fill(0);
    const result: Histogram = { from: new Date(start).toISOString(), to: new Date(end).toISOString(), bucketMs: step, counts };
    const hours = this.hoursIn(from, to);
    if (!hours.length) {
      buildFilter(q.filter ?? ''); // still report a bad filter
      return result;
    }
    const time = timeCondition(from, to);
    const f = buildFilter(q.filter ?? '', time.params.length + 3);
    const params: DuckDBValue[] = [...time.params, BigInt(start) * 1000n, BigInt(step) * 1000n, ...f.params];
    const b0 = `$${time.params.length + 1}`;
    const b1 = `$${time.params.length + 2}`;
    const sql = `SELECT CAST(floor((epoch_us("time") - ${b0}) / ${b1}) AS BIGINT) AS b, count(*) AS n FROM (${readHours(this.o.dir, hours)}) WHERE ${time.sql} AND (${f.sql}) GROUP BY b`;
    const timeoutMs = clamp(q.timeoutMs, L.searchTimeoutDefaultMs, L.searchTimeoutMaxMs);
    const r = await this.searchOnce(timeoutMs, started, async (conn) => ({ prepared: await bound(conn, sql, params), maxRows: count + 1, parseJson: false }));
    for (const [b, c] of r.rows) {
      const i = Number(b);
      if (i >= 0 && i < count) counts[i] = Number(c);
    }
    return result;
  }

  /** Field names of the newest hour's events (the catalogue is worked out again at most once a minute). */
  async fieldNames(prefix = '', limit?: number): Promise<string[]> {
    this.check();
    const max = clamp(limit, 50, L.fieldNamesMax);
    const now = Date.now();
    if (!this.catalogue || now - this.catalogue.at >= 60_000) {
      const held = listHours(this.o.dir);
      let names: string[] = [];
      if (held.length) {
        const sql = `SELECT k, count(*) AS n FROM (SELECT unnest(json_keys(fields)) AS k FROM (${readHours(this.o.dir, [held[held.length - 1]!.hour])})) GROUP BY k ORDER BY n DESC, k LIMIT ${L.fieldCatalogueMax}`;
        const r = await this.searchOnce(L.searchTimeoutDefaultMs, undefined, async (conn) => ({ prepared: await bound(conn, sql, []), maxRows: L.fieldCatalogueMax, parseJson: false }));
        names = r.rows.map((row) => textOf(row[0]));
      }
      this.catalogue = { at: now, names };
    }
    const p = prefix.toLowerCase();
    return this.catalogue.names.filter((n) => n.toLowerCase().startsWith(p)).slice(0, max);
  }

  async scan(from: string, to: string, onBatch: (events: StoredEvent[]) => void | Promise<void>, maxEvents?: number): Promise<number> {
    this.check();
    const r = range(from, to);
    const max = clamp(maxEvents, L.scanMaxEventsDefault, L.scanMaxEventsMax);
    const time = timeCondition(r.from, r.to);
    let total = 0;
    const conn = await this.instance.connect();
    try {
      for (const hour of this.hoursIn(r.from, r.to)) {
        if (total >= max) break;
        const sql = `SELECT "offset", source, ${isoSql('timestamp')}, epoch_ms(received), computer, channel, provider, event_id, record_id, CAST(fields AS VARCHAR) FROM (${readHours(this.o.dir, [hour])}) WHERE ${time.sql} ORDER BY "time", "offset" LIMIT ${max - total}`;
        let result;
        try {
          result = await conn.stream(sql, time.params);
        } catch (e) {
          if (!listHours(this.o.dir).some((h) => h.hour === hour)) continue; // deleted by retention meanwhile
          throw new StoreError('store-read', `event files ${this.o.dir}: scan of ${hourFolder(hour)} failed: ${duckMessage(e)}`, { cause: e });
        }
        let batch: StoredEvent[] = [];
        for await (const rows of result.yieldRowsJson()) {
          for (const row of rows) {
            batch.push(storedEvent(rowFromResult(row)));
            if (batch.length >= L.scanBatch) {
              total += batch.length;
              await onBatch(batch);
              batch = [];
            }
          }
        }
        if (batch.length) {
          total += batch.length;
          await onBatch(batch);
        }
      }
    } finally {
      conn.closeSync();
    }
    return total;
  }

  /** Delete the hours wholly more than `days` days old; returns the hours deleted (`hour=…` names). */
  async retain(days: number): Promise<string[]> {
    if (!Number.isInteger(days) || days < 0) throw new StoreError('bad-retention', `retention must be a whole number of days ≥ 0, not ${days}`);
    this.check();
    return retainHours(this.o.dir, days, (this.o.now ?? Date.now)());
  }

  async usage(): Promise<StoreUsage> {
    this.check();
    const held = listHours(this.o.dir);
    let bytes = 0;
    let events = 0;
    const seen = new Set<string>();
    const unknown: string[] = [];
    for (const h of held) {
      for (const f of h.files) {
        const p = join(this.o.dir, hourFolder(h.hour), f);
        seen.add(p);
        try {
          bytes += statSync(p).size;
        } catch {
          continue;
        }
        const n = this.rowCounts.get(p);
        if (n === undefined) unknown.push(p);
        else events += n;
      }
    }
    for (const p of [...this.rowCounts.keys()]) if (!seen.has(p)) this.rowCounts.delete(p);
    // Files never change once written: each one's row count is read from its footer once.
    for (let i = 0; i < unknown.length; i += 500) {
      const chunk = unknown.slice(i, i + 500);
      try {
        const r = await this.admin.runAndReadAll(
          `SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows FROM parquet_metadata([${chunk.map(lit).join(', ')}])) GROUP BY file_name`,
        );
        for (const [file, n] of r.getRowsJson()) {
          this.rowCounts.set(textOf(file), Number(n));
          events += Number(n);
        }
      } catch {
        // a file deleted meanwhile: counted next time
      }
    }
    const days = [...new Set(held.map((h) => new Date(h.hour * HOUR_MS).toISOString().slice(0, 10)))];
    return { bytes, days, events, fieldNames: this.catalogue?.names.length ?? 0, fieldNamesDropped: 0, restarts: 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.searcher.interruptAll();
    await this.searcher.idle();
    this.admin.closeSync();
    this.instance.closeSync();
  }

  /** Hours held that can hold events in [from, to), oldest first. */
  private hoursIn(from: bigint | null, to: bigint | null): number[] {
    const lo = from == null ? -Infinity : Math.floor(Number(from / 1000n) / HOUR_MS);
    const hi = to == null ? Infinity : Math.floor(Number((to - 1n) / 1000n) / HOUR_MS);
    return listHours(this.o.dir)
      .map((h) => h.hour)
      .filter((h) => h >= lo && h <= hi);
  }
}

/** Delete the hour folders whose every event is more than `days` days older than `now`; returns their names. */
export function retainHours(dir: string, days: number, now: number): string[] {
  const cutoff = now - days * DAY_MS;
  const gone: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  for (const n of names.sort()) {
    const hour = parseHourFolder(n);
    if (hour === null || (hour + 1) * HOUR_MS > cutoff) continue;
    rmSync(join(dir, n), { recursive: true, force: true });
    gone.push(n);
  }
  return gone;
}

/** A time range in microseconds (absent ends are open). */
function range(from?: string, to?: string): { from: bigint | null; to: bigint | null } {
  const f = from != null && from !== '' ? micros(from, 'from') : null;
  const t = to != null && to !== '' ? micros(to, 'to') : null;
  if (f != null && t != null && f >= t) throw new StoreError('bad-time', `'from' (${from}) is not before 'to' (${to})`);
  return { from: f, to: t };
}

export { FilterError };
