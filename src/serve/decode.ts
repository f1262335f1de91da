/**
 * Write-ahead-log records → `Event`s, with the same readers `hunt` uses, so a detection does not
 * depend on how an event travelled:
 *
 * - Winlogbeat / Elastic Agent documents (`winlog.*`, ECS) → the ECS reader;
 * - evtx-crate JSON (`{"Event":{"System":…}}`) and Windows XML (`<Event xmlns=…>`, as forwarded
 *   by WEF, NXLog or Splunk's XmlWinEventLog), inside any protocol, even inside a syslog message;
 * - Linux: syslog messages, raw audit records, Sysmon for Linux XML, journald, LAUREL and
 *   Auditbeat JSON → a Linux stream per source (the audit joiner and year inference are state);
 * - shippers' syslog documents (`message` plus host/program fields: rsyslog omelasticsearch,
 *   Filebeat, Fluent Bit, Logstash) → the message as a syslog record of that host and program;
 * - OTLP log records and Splunk HEC events → their body as one of the above, the resource's
 *   `host.name` / HEC `host` as the computer;
 * - any other JSON object → a flat event (field names as they are).
 *
 * Every event's source is `SOURCE#OFFSET` (the ingest source and the record's log offset): the
 * identity of its detections, stable across a replay. A record that cannot be read becomes a
 * `RecordError` naming the source and offset; the rest goes on.
 */
import { RecordError } from '../core/errors.js';
import { Event, type EventSource } from '../events/event.js';
import { isWindowsEventDoc } from '../events/winevent.js';
import { eventFromEcs, isEcsWindowsDoc } from '../readers/ecs.js';
import { eventFromJson } from '../readers/json.js';
import { looksLikeAuditRecord } from '../readers/linux/audit.js';
import { linuxJsonEvents, linuxJsonKind } from '../readers/linux/shippers.js';
import { LinuxStream } from '../readers/linux/stream.js';
import { sysmonStart } from '../readers/linux/sysmon.js';
import { eventFromWindowsXml, WinXmlError, windowsXmlStart } from '../readers/winxml.js';
import { decodeRecord } from './ingest/decode.js';
import type { IngestRecord } from './record.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export interface DecoderOptions {
  /** Linux syslog: zone of time stamps written without one. */
  timeZone?: string;
  /** Linux streams (one per source) kept at once; the least recently used is finished beyond it. */
  maxStreams?: number;
}

export type Decoded = Event | RecordError;

/** One decoder per worker thread: it keeps the per-source Linux stream state. */
export class RecordDecoder {
  private readonly streams = new Map<string, LinuxStream>();
  private readonly maxStreams: number;

  constructor(private readonly opts: DecoderOptions = {}) {
    this.maxStreams = opts.maxStreams ?? 1024;
  }

  /** The events of one record (usually one; none while an audit event is still being joined). */
  decode(offset: number, r: IngestRecord): Decoded[] {
    const source: EventSource = { file: `${r.source}#${offset}`, offset };
    try {
      const body = decodeRecord(r, offset);
      switch (body.protocol) {
        case 'elastic':
          return this.fromDoc(body.doc, source, r, undefined);
        case 'syslog':
          return this.fromText(body.line, source, r, undefined, undefined);
        case 'otlp': {
          const host = str(body.doc.resource.attributes['host.name']) ?? str(body.doc.attributes['host.name']);
          const ms = nanosToMs(body.doc.timeUnixNano) ?? nanosToMs(body.doc.observedTimeUnixNano) ?? r.receivedAt;
          const b = body.doc.body;
          if (isObj(b)) return this.fromDoc({ ...body.doc.attributes, ...b }, source, r, host);
          if (typeof b === 'string') return this.fromText(b, source, r, host, ms, body.doc.attributes);
          return this.fromDoc({ ...body.doc.attributes, body: b, 'host.name': host, '@timestamp': new Date(ms).toISOString() }, source, r, host);
        }
        case 'hec': {
          const e = body.doc.event;
          const host = str(body.doc.host);
          const ms = hecTime(body.doc.time) ?? r.receivedAt;
          if (isObj(e)) return this.fromDoc({ ...(isObj(body.doc.fields) ? body.doc.fields : {}), ...e }, source, r, host);
          if (typeof e === 'string') return this.fromText(e, source, r, host, ms, isObj(body.doc.fields) ? body.doc.fields : undefined);
          return [new RecordError('hec-event', `HEC event from ${r.source} is neither text nor an object`, source.file, { offset })];
        }
      }
    } catch (e) {
      if (e instanceof RecordError) return [e];
      return [new RecordError('decode', `record from ${r.source} could not be read: ${(e as Error).message}`, source.file, { offset })];
    }
  }

  /** Audit events still waiting for their last records, from every stream (call when input is idle). */
  flush(): Decoded[] {
    const out: Decoded[] = [];
    for (const s of this.streams.values()) out.push(...s.joiner.flush());
    return out;
  }

  private stream(source: string): LinuxStream {
    let s = this.streams.get(source);
    if (s) {
      this.streams.delete(source);
      this.streams.set(source, s);
      return s;
    }
    if (this.streams.size >= this.maxStreams) {
      const [oldest] = this.streams.keys();
      if (oldest !== undefined) this.streams.delete(oldest);
    }
    // A live stream's latest possible time is now: it anchors RFC 3164's missing year.
    s = new LinuxStream(source, { timeZone: this.opts.timeZone, reference: new Date() });
    this.streams.set(source, s);
    return s;
  }

  /** A JSON document from any protocol. */
  private fromDoc(doc: Obj, source: EventSource, r: IngestRecord, host: string | undefined): Decoded[] {
    if (isEcsWindowsDoc(doc)) return [eventFromEcs(doc, source)];
    if (isWindowsEventDoc(doc)) return one(eventFromJson(doc, source));
    const linux = linuxJsonKind(doc);
    if (linux) return linuxJsonEvents(linux, doc, this.stream(r.source), source);
    const otelWin = otelWindowsEvent(doc, source);
    if (otelWin) return [otelWin];
    // A shipper's syslog document: the message, with the host and program it names.
    const message = str(doc.message);
    if (message !== undefined) {
      const shipped = shippedSyslog(doc, host);
      if (shipped) return this.fromText(message, source, r, shipped.host, shipped.ms, undefined, shipped.program);
    }
    const ev = eventFromJson(doc, source);
    return one(ev);
  }

  /**
   * A text: Windows XML or JSON inside, a raw audit record, Sysmon for Linux, or a syslog line
   * (with its own header, or a bare message of `host` at `ms`).
   */
  private fromText(text: string, source: EventSource, r: IngestRecord, host: string | undefined, ms: number | undefined, extra?: Obj, program?: string): Decoded[] {
    const xmlAt = windowsXmlStart(text);
    if (xmlAt >= 0 && sysmonStart(text) < 0) {
      const ev = eventFromWindowsXml(text.slice(xmlAt), source);
      return ev instanceof WinXmlError ? [new RecordError(ev.code, ev.message, source.file, { offset: source.offset })] : [ev];
    }
    const brace = text.indexOf('{');
    if (brace >= 0 && text.trimEnd().endsWith('}')) {
      const doc = tryJson(text.slice(brace));
      if (isObj(doc) && (isWindowsEventDoc(doc) || isEcsWindowsDoc(doc) || isNxlogWindows(doc))) return this.fromDoc(isNxlogWindows(doc) ? nxlogToWindows(doc) : doc, source, r, host);
    }
    const stream = this.stream(r.source);
    if (looksLikeAuditRecord(text)) return stream.auditLine(text, source);
    // A message with its syslog header (UDP/TCP/TLS syslog, rsyslog forwarding) is parsed as sent.
    if (r.protocol === 'syslog' || (host === undefined && program === undefined && /^(<\d{1,3}>|\d{4}-\d\d-\d\dT|[A-Z][a-z]{2} [ \d]\d )/.test(text))) return stream.syslogLine(text, source);
    return stream.messageRecord({ host, ms: ms ?? r.receivedAt, program, message: text, extra: extra ? stringsOf(extra) : undefined }, source);
  }
}

function one(ev: Event | undefined): Decoded[] {
  return ev ? [ev] : [];
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function nanosToMs(v: string | undefined): number | undefined {
  if (!v || !/^\d{1,20}$/.test(v) || v === '0') return undefined;
  return Math.floor(Number(BigInt(v) / 1000000n));
}

/** HEC `time`: epoch seconds (number or string, with decimals). */
function hecTime(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : undefined;
}

/**
 * The host, program and time a shipper's syslog document names: rsyslog's omelasticsearch
 * default template (`host`, `syslogtag`/`programname`, `timereported`), Filebeat/Elastic Agent
 * ECS (`host.name`, `process.name`, `log.syslog.*`, `@timestamp`), Fluent Bit and Logstash
 * (`host`/`hostname`, `ident`/`program`). Undefined when nothing says it is a log line.
 */
function shippedSyslog(doc: Obj, fallbackHost: string | undefined): { host?: string; program?: string; ms: number } | undefined {
  const hostObj = isObj(doc.host) ? doc.host : undefined;
  const host = str(doc.hostname) ?? str(doc.host) ?? str(hostObj?.name) ?? str(hostObj?.hostname) ?? str(doc.fromhost) ?? fallbackHost;
  const proc = isObj(doc.process) ? doc.process : undefined;
  const log = isObj(doc.log) ? doc.log : undefined;
  const syslog = log && isObj(log.syslog) ? log.syslog : undefined;
  const appname = syslog ? str(syslog.appname) : undefined;
  const tag = str(doc.syslogtag)?.replace(/(\[\d+\])?:?$/, '');
  const program = str(doc.programname) ?? str(doc.program) ?? str(doc.ident) ?? appname ?? str(proc?.name) ?? tag;
  if (host === undefined && program === undefined && !syslog) return undefined;
  const t = str(doc.timereported) ?? str(doc['@timestamp']) ?? str(doc.timestamp) ?? str(doc.time);
  const ms = t ? Date.parse(t) : NaN;
  return { host, program, ms: Number.isNaN(ms) ? Date.now() : ms };
}

/**
 * NXLog's and other agents' flat JSON for a Windows event (`EventID`, `Channel`/`SourceName`,
 * `Hostname`, `EventTime` and the event data as top-level keys).
 */
function isNxlogWindows(doc: Obj): boolean {
  return doc.EventID !== undefined && (typeof doc.Channel === 'string' || typeof doc.SourceName === 'string') && (typeof doc.Hostname === 'string' || typeof doc.Computer === 'string');
}

const NXLOG_SYSTEM: Record<string, string> = {
  Hostname: 'Computer',
  SourceName: 'Provider_Name',
  ProviderGuid: 'Provider_Guid',
  RecordNumber: 'EventRecordID',
  ProcessID: 'Execution_ProcessID',
  ThreadID: 'Execution_ThreadID',
};
const NXLOG_DROP = new Set([
  'EventTime',
  'EventReceivedTime',
  'SourceModuleName',
  'SourceModuleType',
  'Severity',
  'SeverityValue',
  'EventType',
  'Message',
  'Category',
  'Opcode',
  'Keywords',
  'Version',
  'Task',
  'Level',
  'Domain',
  'AccountName',
  'UserID',
  'AccountType',
]);

/** NXLog JSON → the evtx-crate shape, so the one Windows mapping reads it. */
function nxlogToWindows(doc: Obj): Obj {
  const system: Obj = { EventID: typeof doc.EventID === 'string' && /^\d+$/.test(doc.EventID) ? Number(doc.EventID) : doc.EventID };
  const data: Obj = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'EventID') continue;
    const sys = NXLOG_SYSTEM[k];
    if (k === 'Channel' || k === 'Computer') system[k] = v;
    else if (sys === 'Computer') system.Computer ??= v;
    else if (sys === 'Provider_Name') system.Provider = { '#attributes': { ...(isObj(system.Provider) ? (system.Provider['#attributes'] as Obj) : {}), Name: v } };
    else if (k === 'EventTime') system.TimeCreated = { '#attributes': { SystemTime: nxlogTime(v) } };
    else if (sys) system[sys] = v;
    else if (!NXLOG_DROP.has(k)) data[k] = v;
  }
  if (doc.EventTime !== undefined) system.TimeCreated = { '#attributes': { SystemTime: nxlogTime(doc.EventTime) } };
  return { Event: { System: system, EventData: data } };
}

function nxlogTime(v: unknown): unknown {
  // NXLog writes local "2024-05-14 06:00:06"; without a zone it is read as UTC.
  return typeof v === 'string' && /^\d{4}-\d\d-\d\d \d/.test(v) ? v.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? '' : 'Z') : v;
}

/**
 * The OpenTelemetry Collector's `windowseventlog` receiver body (`channel`, `computer`,
 * `event_id: {id}`, `provider: {name}`, `system_time`, `event_data: {data: [{Name: value}…]}`).
 */
function otelWindowsEvent(doc: Obj, source: EventSource): Event | undefined {
  const id = isObj(doc.event_id) ? doc.event_id.id : undefined;
  if (id === undefined || typeof doc.channel !== 'string') return undefined;
  const data: Obj = {};
  const ed = isObj(doc.event_data) ? doc.event_data.data : undefined;
  if (Array.isArray(ed)) for (const item of ed) if (isObj(item)) for (const [k, v] of Object.entries(item)) if (!(k in data)) data[k] = v;
  const provider = isObj(doc.provider) ? doc.provider : {};
  const system: Obj = {
    EventID: typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id,
    Channel: doc.channel,
    Computer: doc.computer,
    Provider: { '#attributes': { Name: provider.name, Guid: provider.guid } },
    TimeCreated: { '#attributes': { SystemTime: doc.system_time } },
    EventRecordID: doc.record_id,
  };
  return eventFromJson({ Event: { System: system, EventData: data } }, source);
}

function stringsOf(o: Obj): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'string' ? v : v === undefined || v === null ? undefined : JSON.stringify(v);
  return out;
}
