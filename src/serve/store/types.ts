/**
 * The seams between the server's parts: what the pipeline stores, what the API reads. The event
 * store (./events.ts) implements `EventStore`; the API (../api) depends on these types only.
 */
import type { FieldValue } from '../../events/event.js';

/** One event as the server stores it (every event, not only those that fired a rule). */
export interface StoredEvent {
  /** The write-ahead-log offset of the record it came from (several events may share one). */
  offset: number;
  /** The ingest source (token or listener name). */
  source: string;
  /** ISO-8601 UTC event time, or null when the record had none (then the arrival time is used for its day). */
  timestamp: string | null;
  /** Arrival time at the listener (ms since the epoch; `IngestRecord.receivedAt`): files events without a believable time. */
  receivedAt: number;
  computer: string | null;
  channel: string | null;
  provider: string | null;
  eventId: number | null;
  recordId: number | null;
  /** Flat Sigma-named fields. */
  fields: Record<string, FieldValue>;
}

/** A query result: columns and rows (JSON-safe values), capped. */
export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  /** More rows existed than the cap. */
  truncated: boolean;
  elapsedMs: number;
}

export interface SqlOptions {
  /** Rows returned at most (default and ceiling in src/core/limits.ts). */
  maxRows?: number;
  /** The query is interrupted after this long (default and ceiling in src/core/limits.ts). */
  timeoutMs?: number;
}

/** The simple field filter: `field=value` terms (wildcards `*`), AND-ed, over a time range. */
export interface FilterQuery {
  /** e.g. `EventID=4624 TargetUserName=adm* Computer=WS009*` (see docs/serve.md); empty matches every event. */
  filter: string;
  /** ISO-8601, inclusive; compared with the event's filing time (`time`: its own time, or its arrival). */
  from?: string;
  /** ISO-8601, exclusive. */
  to?: string;
  /** Events returned at most, newest first (default and ceiling in src/core/limits.ts). */
  limit?: number;
  /** Interrupt after this long (as for SQL). */
  timeoutMs?: number;
}

/** Event counts per time bucket; bucket i covers [from + i·bucketMs, from + (i+1)·bucketMs). */
export interface Histogram {
  from: string;
  to: string;
  bucketMs: number;
  counts: number[];
}

/** What the store holds, for health and metrics. */
export interface StoreUsage {
  /** Bytes on disk (the database file and DuckDB's own write-ahead log). */
  bytes: number;
  /** Days held (UTC, `YYYY-MM-DD`), oldest first. */
  days: string[];
  events: number;
  /** Names in the autocomplete catalogue, and new names not catalogued because it was full. */
  fieldNames: number;
  fieldNamesDropped: number;
  /** Times the store process was restarted (a crash, or a query that ignored its interrupt). */
  restarts: number;
}

export interface EventStore {
  /**
   * Store events (in offset order, all events of one record in one call); events at or below
   * `maxOffset()` are skipped (a replay). Durable once resolved.
   */
  append(events: readonly StoredEvent[]): Promise<void>;
  /** The highest offset stored (−1 when empty): where a restarted server resumes storing. */
  maxOffset(): Promise<number>;
  /** Read-only SQL over the `events` view, sandboxed (docs/serve.md "Search"). */
  sql(sql: string, opts?: SqlOptions): Promise<QueryResult>;
  filter(q: FilterQuery): Promise<QueryResult>;
  histogram(q: FilterQuery, buckets: number): Promise<Histogram>;
  /** Field names seen in stored events, for autocomplete (optionally those starting with `prefix`). */
  fieldNames(prefix?: string, limit?: number): Promise<string[]>;
  /** Every stored event in a time range, in batches (e.g. to test a rule before enabling it). */
  scan(from: string, to: string, onBatch: (events: StoredEvent[]) => void | Promise<void>, maxEvents?: number): Promise<number>;
  /** Drop the days whose every event is more than `days` days old (retention); returns the days dropped. */
  retain(days: number): Promise<string[]>;
  /** Bytes on disk, days held, events held, catalogue size. */
  usage(): Promise<StoreUsage>;
  close(): Promise<void>;
}
