/**
 * How the event store lays events out in DuckDB: one table per UTC day of *filing time*
 * (`events_YYYYMMDD`), an `events` view over all of them, and two small tables of its own
 * (`store_meta`, `field_names`) that search cannot see.
 *
 * Filing time (`time`) is the event's own time when it is believable, else its arrival time: a
 * day table holds exactly the events whose `time` falls in that day, so a time range names the
 * tables to read and retention drops whole tables (DuckDB frees a dropped table's blocks for
 * reuse; a DELETE would leave holes to vacuum).
 */
import { LIMITS } from '../../core/limits.js';
import { isoToMicros } from '../../output/time.js';

const DAY_MS = 86_400_000;
const DAY_US = 86_400_000_000n;

/** The file under the data directory. Its stem names DuckDB's catalog, so it must not be `events`. */
export const STORE_FILE = 'eventstore.duckdb';

/** Bumped when a table changes meaning; a store written by a newer Firebreak is refused. */
export const STORE_SCHEMA_VERSION = 1;

/** The columns of every day table, in appender order, with what each means (docs/serve.md "Search"). */
export const EVENT_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['offset', 'BIGINT NOT NULL'], // write-ahead-log offset of the record
  ['source', 'VARCHAR NOT NULL'], // ingest source (token or listener)
  ['time', 'TIMESTAMP NOT NULL'], // filing time: `timestamp` when believable, else `received`
  ['timestamp', 'TIMESTAMP'], // the event's own time, as it claimed (NULL when none or unreadable)
  ['received', 'TIMESTAMP NOT NULL'], // arrival at the listener
  ['computer', 'VARCHAR'],
  ['channel', 'VARCHAR'],
  ['provider', 'VARCHAR'],
  ['event_id', 'INTEGER'],
  ['record_id', 'BIGINT'],
  ['fields', 'JSON NOT NULL'], // flat Sigma-named fields
];

const q = (name: string): string => `"${name}"`;

/** `CREATE TABLE` for one day. */
export function createDayTableSql(day: number): string {
  return `CREATE TABLE ${dayTable(day)} (${EVENT_COLUMNS.map(([n, t]) => `${q(n)} ${t}`).join(', ')})`;
}

/** The store's own tables (idempotent). */
export const META_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  // No key: new names are appended with their batch; counts are rewritten whole now and then.
  `CREATE TABLE IF NOT EXISTS field_names (name VARCHAR NOT NULL, events BIGINT NOT NULL)`,
];

/**
 * The `events` view: every day table, oldest first. With no day yet it is an empty relation of
 * the same columns, so queries written against it always bind.
 */
export function viewSql(days: readonly number[]): string {
  if (!days.length) {
    const cols = EVENT_COLUMNS.map(([n, t]) => `CAST(NULL AS ${t.replace(' NOT NULL', '')}) AS ${q(n)}`).join(', ');
    return `CREATE OR REPLACE VIEW events AS SELECT ${cols} WHERE false`;
  }
  return `CREATE OR REPLACE VIEW events AS ${unionOf(days)}`;
}

/** The rows of the given day tables (our own identifiers, never user text). */
export function unionOf(days: readonly number[]): string {
  return days.map((d) => `SELECT * FROM ${dayTable(d)}`).join(' UNION ALL ');
}

/** Day number (days since 1970-01-01 UTC) → table name. */
export function dayTable(day: number): string {
  return `events_${dayLabel(day).replaceAll('-', '')}`;
}

/** Day number → `YYYY-MM-DD`. */
export function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** A table name → its day number, or null when it is not a day table. */
export function parseDayTable(name: string): number | null {
  const m = /^events_(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const day = ms / DAY_MS;
  return Number.isInteger(day) && dayTable(day) === name ? day : null;
}

/** The day an instant (ms) falls in. */
export function dayOfMs(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

export function dayStartMs(day: number): number {
  return day * DAY_MS;
}

/** Where one event is filed, in DuckDB microseconds. */
export interface Filing {
  time: bigint;
  timestamp: bigint | null;
  received: bigint;
  day: number;
}

// DuckDB's TIMESTAMP reaches further, but a 5-digit year is not an event time and `Date` (used
// for day labels) stops at ±275,760 years.
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * File an event: its own time when it is within `eventMaxDaysAgo` before and `eventMaxDaysAhead`
 * after its arrival, else its arrival. `receivedAt` comes from our listener; `now` stands in only
 * when it is not a usable instant.
 */
export function fileEvent(timestamp: string | null, receivedAt: number, now: number): Filing {
  const recMs = Number.isFinite(receivedAt) && receivedAt >= 0 && receivedAt <= MAX_MS ? Math.floor(receivedAt) : now;
  const received = BigInt(recMs) * 1000n;
  let ts = timestamp == null ? null : isoToMicros(timestamp);
  if (ts != null && (ts < 0n || ts > BigInt(MAX_MS) * 1000n)) ts = null;
  let time = received;
  if (ts != null) {
    const lo = received - BigInt(LIMITS.store.eventMaxDaysAgo) * DAY_US;
    const hi = received + BigInt(LIMITS.store.eventMaxDaysAhead) * DAY_US;
    if (ts >= lo && ts <= hi) time = ts;
  }
  return { time, timestamp: ts, received, day: Number(time / DAY_US) };
}

/** An ISO-8601 instant → DuckDB microseconds, or null. */
export function isoMicros(text: string): bigint | null {
  return isoToMicros(text);
}

/** Microseconds → `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the store's time text: exact, sortable, ISO-8601). */
export function microsToIso(us: bigint): string {
  const ms = us / 1000n;
  const frac = String(((us % 1_000_000n) + 1_000_000n) % 1_000_000n).padStart(6, '0');
  return new Date(Number(ms)).toISOString().slice(0, 19) + '.' + frac + 'Z';
}

/** SQL for a TIMESTAMP column as the store's time text. */
export function isoSql(column: string): string {
  return `strftime(${q(column)}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
}
