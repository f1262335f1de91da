/**
 * What crosses between the server and the store process (./host.ts) over Node's IPC channel
 * (`serialization: 'advanced'`). Rows travel as two strings: a small JSON head (the identity
 * columns and each row's fields length) and the rows' fields JSON concatenated, so neither side
 * parses or re-serialises the fields and the channel copies one large string, not thousands of
 * objects.
 */
import type { FieldValue } from '../../events/event.js';
import type { StoreRow } from './duck.js';
import type { FilterQuery, SqlOptions } from './types.js';

export interface WireRows {
  head: string;
  body: string;
}

type Head = [number, string, string | null, number, string | null, string | null, string | null, number | null, number | null, number];

export function encodeRows(rows: readonly StoreRow[]): WireRows {
  const head: Head[] = rows.map((r) => [r.offset, r.source, r.timestamp, r.receivedAt, r.computer, r.channel, r.provider, r.eventId, r.recordId, r.fields.length]);
  return { head: JSON.stringify(head), body: rows.map((r) => r.fields).join('') };
}

export function decodeRows(w: WireRows): StoreRow[] {
  const head = JSON.parse(w.head) as Head[];
  let pos = 0;
  return head.map(([offset, source, timestamp, receivedAt, computer, channel, provider, eventId, recordId, len]) => {
    const fields = w.body.slice(pos, pos + len);
    pos += len;
    return { offset, source, timestamp, receivedAt, computer, channel, provider, eventId, recordId, fields };
  });
}

/** Options the server hands the store process at start. */
export interface HostOptions {
  dir: string;
  memoryBytes?: number;
  tempBytes?: number;
  threads?: number;
}

/** A call to the store process; `id` pairs it with its reply. */
export type Call =
  | { op: 'append'; rows: WireRows; names: [string, number][] }
  | { op: 'maxOffset' }
  | { op: 'sql'; sql: string; opts: SqlOptions }
  | { op: 'filter'; q: FilterQuery }
  | { op: 'histogram'; q: FilterQuery; buckets: number }
  | { op: 'fieldNames'; prefix: string; limit?: number }
  | { op: 'scan'; from: string; to: string; max?: number }
  | { op: 'retain'; days: number }
  | { op: 'usage' }
  | { op: 'close' };

export type ToHost = { t: 'open'; opts: HostOptions } | ({ t: 'call'; id: number } & Call) | { t: 'ack'; id: number } | { t: 'cancel'; id: number };

/** An error as it crosses the channel (rebuilt as the same class with the same code). */
export interface WireError {
  name: string;
  code: string;
  message: string;
  column?: number;
}

export type FromHost =
  | { t: 'ready' }
  | { t: 'open-failed'; error: WireError }
  | { t: 'started'; id: number }
  | { t: 'batch'; id: number; rows: WireRows }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: WireError };

export type { FieldValue };
