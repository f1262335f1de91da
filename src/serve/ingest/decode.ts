/**
 * Pure functions that turn a stored record's `body` back into what the readers need, one per
 * protocol, so nothing protocol-specific leaks into the pipeline. They never touch the network or
 * the log. A body that does not decode (it cannot happen for records written by the adapters, but
 * the log is a file) gives a RecordError naming the offset.
 */
import { RecordError } from '../../core/errors.js';
import type { IngestRecord } from '../record.js';
import type { OtlpLogDocument } from './otlp-model.js';

export type { OtlpLogDocument } from './otlp-model.js';

/** A HEC event as stored: the object the client sent (raw lines become `{event: line, …}`). */
export interface HecEvent {
  event: unknown;
  time?: number | string;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  fields?: Record<string, unknown>;
}

/** What a record decodes to, by protocol. */
export type DecodedBody =
  { protocol: 'elastic'; doc: Record<string, unknown> } | { protocol: 'syslog'; line: string } | { protocol: 'otlp'; doc: OtlpLogDocument } | { protocol: 'hec'; doc: HecEvent };

const where = (offset: number | undefined) => ({ offset });

function parseObject(r: IngestRecord, offset: number | undefined): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(r.body);
  } catch (e) {
    throw new RecordError('ingest-body', `${r.protocol} record from ${r.source} is not JSON: ${(e as Error).message}`, 'wal', where(offset));
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new RecordError('ingest-body', `${r.protocol} record from ${r.source} is not a JSON object`, 'wal', where(offset));
  return v as Record<string, unknown>;
}

/** An Elasticsearch bulk document: the source object as the shipper sent it (ECS or winlog.*). */
export function decodeElastic(r: IngestRecord, offset?: number): Record<string, unknown> {
  return parseObject(r, offset);
}

/** A syslog message: the text as received (RFC 5424, RFC 3164, or JSON/XML inside it). */
export function decodeSyslog(r: IngestRecord): string {
  return r.body;
}

/** An OTLP log record with its resource and scope (see OtlpLogDocument). */
export function decodeOtlp(r: IngestRecord, offset?: number): OtlpLogDocument {
  const o = parseObject(r, offset);
  if (typeof o.resource !== 'object' || typeof o.scope !== 'object' || typeof o.attributes !== 'object') {
    throw new RecordError('ingest-body', `otlp record from ${r.source} lacks resource, scope or attributes`, 'wal', where(offset));
  }
  return o as unknown as OtlpLogDocument;
}

/** A HEC event object. */
export function decodeHec(r: IngestRecord, offset?: number): HecEvent {
  const o = parseObject(r, offset);
  if (!('event' in o)) throw new RecordError('ingest-body', `hec record from ${r.source} has no event field`, 'wal', where(offset));
  return o as unknown as HecEvent;
}

/** Dispatches on the record's protocol. */
export function decodeRecord(r: IngestRecord, offset?: number): DecodedBody {
  switch (r.protocol) {
    case 'elastic':
      return { protocol: 'elastic', doc: decodeElastic(r, offset) };
    case 'syslog':
      return { protocol: 'syslog', line: decodeSyslog(r) };
    case 'otlp':
      return { protocol: 'otlp', doc: decodeOtlp(r, offset) };
    case 'hec':
      return { protocol: 'hec', doc: decodeHec(r, offset) };
  }
}
