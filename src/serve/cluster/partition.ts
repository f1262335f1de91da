/**
 * Which partition (subject) an ingest record goes to: its host's, so one host's events stay in
 * order in one subject. The host is read the way shippers write it (Winlogbeat's
 * `winlog.computer_name`, ECS `host.name`, an EVTX `Computer`, journald's `_HOSTNAME`, a syslog
 * header's host…), cut to its first label and lower-cased; a record naming no host goes by its
 * source and the shipper's address. It is only a routing key: detection reads the record again.
 */
import { parseSyslogLine } from '../../readers/syslog.js';
import type { IngestRecord } from '../record.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Paths tried in order, each a list of keys. */
const HOST_PATHS: readonly (readonly string[])[] = [
  ['winlog', 'computer_name'],
  ['host', 'name'],
  ['host', 'hostname'],
  ['agent', 'hostname'],
  ['Event', 'System', 'Computer'],
  ['Computer'],
  ['computer_name'],
  ['ComputerName'],
  ['_HOSTNAME'],
  ['hostname'],
  ['Hostname'],
  ['host'],
  // OTLP records as the OTLP adapter stores them: resource attributes.
  ['resource', 'host.name'],
];

function at(doc: Obj, path: readonly string[]): string | undefined {
  let v: unknown = doc;
  for (const k of path) {
    if (!isObj(v)) return undefined;
    v = v[k];
  }
  return str(v);
}

/** The host a record names (normal form), or undefined. */
export function recordHost(r: IngestRecord): string | undefined {
  let host: string | undefined;
  if (r.kind === 'text') {
    const h = parseSyslogLine(r.body);
    if (!('code' in h)) host = h.host;
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(r.body);
    } catch {
      return undefined;
    }
    if (!isObj(doc)) return undefined;
    // HEC wraps the event; OTLP keeps resource attributes flat.
    const inner = isObj(doc.event) ? doc.event : undefined;
    for (const p of HOST_PATHS) {
      host = at(doc, p) ?? (inner ? at(inner, p) : undefined);
      if (host) break;
    }
    host ??= r.protocol === 'hec' ? str(doc.host) : undefined;
  }
  if (!host) return undefined;
  return host.split('.')[0]!.toLowerCase() || undefined;
}

/** The routing key of a record: its host, else its source and the shipper's address. */
export function partitionKey(r: IngestRecord): string {
  const host = recordHost(r);
  if (host) return `h:${host}`;
  const remote = r.meta?.remote?.replace(/:\d+$/, '') ?? '';
  return `s:${r.source}|${remote}`;
}

/** FNV-1a (32 bits) of the key, over `n` partitions. */
export function partitionOf(key: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}
