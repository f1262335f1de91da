/**
 * The event store's row and query helpers (./duck.ts uses them): results collected under the row
 * cap and time limit, time conditions and histogram buckets, rows to and from DuckDB's appender.
 */
import { timestampValue, type DuckDBAppender, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBValue } from '@duckdb/node-api';
import { LIMITS } from '../../core/limits.js';
import { fileEvent, isoMicros } from './schema.js';
import type { QueryResult, StoredEvent } from './types.js';
import { FirebreakError } from '../../core/errors.js';

const L = LIMITS.store;
const DAY_MS = 86_400_000;

/**
 * One event ready for the store: identity columns and the fields as JSON text. This is what
 * crosses from the server to the store process (./wire.ts).
 */
export interface StoreRow {
  offset: number;
  source: string;
  timestamp: string | null;
  receivedAt: number;
  computer: string | null;
  channel: string | null;
  provider: string | null;
  eventId: number | null;
  recordId: number | null;
  fields: string;
}

/** A failed store operation that is not a search's fault: store-open, store-write, store-closed, store-failed, bad-time. */
export class StoreError extends FirebreakError {}

/** Read a prepared statement's rows up to the caps. */
export async function collect(conn: DuckDBConnection, prepared: DuckDBPreparedStatement, maxRows: number, parseJson: boolean, t0: number): Promise<QueryResult> {
  const result = await prepared.stream();
  const types = result.columnTypes();
  const columns = result.deduplicatedColumnNames().map((name, i) => ({ name, type: types[i]!.alias ?? types[i]!.toString() }));
  const json = parseJson ? columns.map((c, i) => (c.type === 'JSON' ? i : -1)).filter((i) => i >= 0) : [];
  const rows: unknown[][] = [];
  let chars = 0;
  let truncated = false;
  outer: for await (const chunk of result.yieldRowsJson()) {
    for (const row of chunk) {
      if (rows.length >= maxRows) {
        truncated = true;
        break outer;
      }
      for (const i of json) {
        const v = row[i];
        if (typeof v === 'string') {
          try {
            row[i] = JSON.parse(v) as never;
          } catch {
            // not JSON after all: keep the text
          }
        }
      }
      chars += JSON.stringify(row).length + 1;
      if (chars > L.searchResultMaxChars) {
        truncated = true;
        break outer;
      }
      rows.push(row);
    }
  }
  if (truncated) conn.interrupt();
  return { columns, rows, truncated, elapsedMs: Math.round(performance.now() - t0) };
}

/** Prepare our own SQL and bind its parameters. */
export async function bound(conn: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<DuckDBPreparedStatement> {
  const p = await conn.prepare(sql);
  if (params.length) p.bind(params);
  return p;
}

export function timeCondition(from: bigint | null, to: bigint | null): { sql: string; params: DuckDBValue[] } {
  const parts: string[] = [];
  const params: DuckDBValue[] = [];
  if (from != null) {
    params.push(timestampValue(from));
    parts.push(`"time" >= $${params.length}`);
  }
  if (to != null) {
    params.push(timestampValue(to));
    parts.push(`"time" < $${params.length}`);
  }
  return { sql: parts.length ? parts.join(' AND ') : 'true', params };
}

export function micros(text: string, what: string): bigint {
  const us = typeof text === 'string' ? isoMicros(text) : null;
  if (us == null) throw new StoreError('bad-time', `'${what}' is not an ISO-8601 time: ${String(text).slice(0, 64)}`);
  return us;
}

export function msOf(text: string, what: string): number {
  return Number(micros(text, what) / 1000n);
}

/** `v` when it is a positive integer, else `dflt`; never above `max`. */
export function clamp(v: number | undefined, dflt: number, max: number): number {
  const n = v != null && Number.isFinite(v) && v >= 1 ? Math.floor(v) : dflt;
  return Math.min(n, max);
}

/** Bucket widths a person reads at a glance (ms). */
export const STEPS = [1, 2, 5, 10, 15, 30]
  .map((s) => s * 1000)
  .concat(
    [1, 2, 5, 10, 15, 30].map((m) => m * 60_000),
    [1, 2, 3, 6, 12].map((h) => h * 3_600_000),
    [1, 2, 7, 14, 30, 90, 365].map((d) => d * DAY_MS),
  );

/** The smallest readable step giving at most `n` buckets over [from, to), aligned to the step. */
export function buckets_(from: number, to: number, n: number): { step: number; start: number; count: number } {
  let step = STEPS.find((s) => s * n >= to - from) ?? Math.ceil((to - from) / n / (365 * DAY_MS)) * 365 * DAY_MS;
  for (;;) {
    const start = Math.floor(from / step) * step;
    const count = Math.ceil((to - start) / step);
    if (count <= n) return { step, start, count };
    step = STEPS.find((s) => s > step) ?? step * 2;
  }
}

/** A scalar from DuckDB's JSON rows as text (objects and lists as JSON, never "[object Object]"). */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v == null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : `${v as number | boolean | bigint}`;
}

export function rowFromResult(r: unknown[]): StoreRow {
  const num = (v: unknown): number | null => (v == null ? null : Number(v));
  const text = (v: unknown): string | null => (v == null ? null : textOf(v));
  return {
    offset: Number(r[0]),
    source: String(r[1]),
    timestamp: text(r[2]),
    receivedAt: Number(r[3]),
    computer: text(r[4]),
    channel: text(r[5]),
    provider: text(r[6]),
    eventId: num(r[7]),
    recordId: num(r[8]),
    fields: String(r[9]),
  };
}

/** A stored row back to the StoredEvent it was made from. */
export function storedEvent(r: StoreRow): StoredEvent {
  return { ...r, fields: JSON.parse(r.fields) as StoredEvent['fields'] };
}

/** One row in EVENT_COLUMNS order. */
export function appendRow(a: DuckDBAppender, r: StoreRow, f: ReturnType<typeof fileEvent>): void {
  a.appendBigInt(BigInt(r.offset));
  a.appendVarchar(String(r.source ?? ''));
  a.appendTimestamp(timestampValue(f.time));
  if (f.timestamp == null) a.appendNull();
  else a.appendTimestamp(timestampValue(f.timestamp));
  a.appendTimestamp(timestampValue(f.received));
  text(a, r.computer);
  text(a, r.channel);
  text(a, r.provider);
  // Event IDs are 16-bit in EVTX; anything a JSON source claims outside INTEGER is not an ID.
  if (r.eventId == null || !Number.isInteger(r.eventId) || Math.abs(r.eventId) > 0x7fffffff) a.appendNull();
  else a.appendInteger(r.eventId);
  if (r.recordId == null || !Number.isSafeInteger(r.recordId)) a.appendNull();
  else a.appendBigInt(BigInt(r.recordId));
  a.appendVarchar(r.fields);
  a.endRow();
}

export function text(a: DuckDBAppender, v: string | null): void {
  if (v == null) a.appendNull();
  else a.appendVarchar(String(v));
}
