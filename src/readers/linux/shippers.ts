/**
 * JSON documents that shippers make of Linux logs → the records and messages the Linux stream
 * reads, so a rule matches the same fields whichever way the logs were collected:
 *
 * - LAUREL (threathunters-io/laurel, json-format.md): one object per audit event, `ID` =
 *   `time:serial`, one key per record type (`SYSCALL`, `EXECVE` with `ARGV`, `CWD`, `PATH[]`,
 *   `PROCTITLE` with `ARGV`…), percent-encoded bytes, `0x`/`0o`-prefixed numbers, `PARENT_INFO`.
 * - Auditbeat's auditd module (Elastic): one document per audit event, already joined
 *   (`auditd.data`, `auditd.paths`, `process.*`, `user.*`, `tags` = audit keys); with
 *   `include_raw_message` the raw records are in `event.original` and are read instead.
 * - `journalctl -o json`: one entry per line (`MESSAGE`, `_HOSTNAME`, `SYSLOG_IDENTIFIER`, …).
 * - Microsoft Sentinel's `Syslog` table (`SyslogMessage`, `Computer`, `ProcessName`, …), as
 *   Sysmon for Linux recordings are often shared.
 */
import type { EventSource, Event } from '../../events/event.js';
import { lookupPath } from '../../events/event.js';
import type { RecordError } from '../../core/errors.js';
import { AuditParseError, looksLikeAuditRecord, parseAuditRecord, type AuditRecord, type AuditValue } from './audit.js';
import { journalText, type LinuxStream } from './stream.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export type LinuxJsonKind = 'journal' | 'laurel' | 'auditbeat' | 'sentinel-syslog';

const AUDIT_ID = /^(\d{1,12}\.\d{1,9}):(\d{1,20})$/;

/** Which Linux shipper made this JSON document, if any. */
export function linuxJsonKind(doc: unknown): LinuxJsonKind | undefined {
  if (!isObj(doc)) return undefined;
  if ('MESSAGE' in doc && ('__REALTIME_TIMESTAMP' in doc || '_HOSTNAME' in doc || 'SYSLOG_IDENTIFIER' in doc || '_TRANSPORT' in doc)) return 'journal';
  if (typeof doc.ID === 'string' && AUDIT_ID.test(doc.ID) && Object.keys(doc).some((k) => k !== 'ID' && /^[A-Z_]+$/.test(k))) return 'laurel';
  if (isObj(doc.auditd) || typeof doc['auditd.sequence'] === 'number' || (isObj(doc.event) && doc.event.module === 'auditd')) return 'auditbeat';
  if (typeof doc.SyslogMessage === 'string') return 'sentinel-syslog';
  return undefined;
}

/** One shipper document → events, through the file's Linux stream. */
export function linuxJsonEvents(kind: LinuxJsonKind, doc: Obj, stream: LinuxStream, source: EventSource): (Event | RecordError)[] {
  switch (kind) {
    case 'journal':
      return stream.journalEntry(doc, source);
    case 'laurel':
      return laurel(doc, stream, source);
    case 'auditbeat':
      return auditbeat(doc, stream, source);
    case 'sentinel-syslog':
      return sentinel(doc, stream, source);
  }
}

/** Push a whole audit event's records and its end, so the joiner completes it at once. */
function pushEvent(records: AuditRecord[], stream: LinuxStream, source: EventSource): (Event | RecordError)[] {
  const out: (Event | RecordError)[] = [];
  const first = records[0];
  if (!first) return out;
  for (const r of records) out.push(...stream.joiner.push(r, source));
  const eoe: AuditRecord = { type: 'EOE', time: first.time, serial: first.serial, fields: Object.create(null) as Record<string, AuditValue> };
  if (first.node !== undefined) eoe.node = first.node;
  out.push(...stream.joiner.push(eoe, source));
  return out;
}

/** LAUREL's encoding: bytes outside printable ASCII, `%` and `+` are percent-encoded. */
function unpercent(s: string): string {
  if (!s.includes('%')) return s;
  return Buffer.from(
    s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/** A LAUREL value as raw-log text: `0xcafe` → `cafe` (auditd prints hex without a prefix), `0o755` → `0755`. */
function laurelScalar(v: unknown): AuditValue {
  if (v === null) return null;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    if (/^0x[0-9a-fA-F]+$/.test(v)) return v.slice(2);
    if (/^0o[0-7]+$/.test(v)) return `0${v.slice(2)}`;
    return unpercent(v);
  }
  if (Array.isArray(v)) return v.map((x) => String(laurelScalar(x) ?? ''));
  return JSON.stringify(v);
}

function laurel(doc: Obj, stream: LinuxStream, source: EventSource): (Event | RecordError)[] {
  const m = AUDIT_ID.exec(doc.ID as string)!;
  const node = typeof doc.NODE === 'string' ? doc.NODE : undefined;
  const records: AuditRecord[] = [];
  const make = (type: string, body: Obj): AuditRecord => {
    const fields = Object.create(null) as Record<string, AuditValue>;
    for (const [k, v] of Object.entries(body)) {
      if (k === 'ARGV' || k === 'ARGV_STR') continue;
      fields[k] = laurelScalar(v);
    }
    const argv = Array.isArray(body.ARGV) ? body.ARGV.map((x) => String(laurelScalar(x) ?? '')) : typeof body.ARGV_STR === 'string' ? unpercent(body.ARGV_STR).split(' ') : undefined;
    if (argv) {
      if (type === 'EXECVE') {
        argv.forEach((a, i) => (fields[`a${i}`] = a));
        fields.argc ??= String(argv.length);
      } else if (type === 'PROCTITLE') fields.proctitle = argv.join(' ');
      else if (type === 'SYSCALL') argv.slice(0, 4).forEach((a, i) => (fields[`a${i}`] = a));
    }
    const rec: AuditRecord = { type, time: m[1]!, serial: Number(m[2]), fields };
    if (node !== undefined) rec.node = node;
    return rec;
  };
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'ID' || k === 'NODE' || k === 'PARENT_INFO' || !/^[A-Z][A-Z0-9_]*$/.test(k)) continue;
    if (isObj(v)) records.push(make(k, v));
    else if (Array.isArray(v)) for (const x of v) if (isObj(x)) records.push(make(k, x));
  }
  const parent = doc.PARENT_INFO;
  const sys = doc.SYSCALL;
  const ppid = isObj(sys) && (typeof sys.ppid === 'number' || typeof sys.ppid === 'string') ? String(sys.ppid) : undefined;
  if (isObj(parent) && ppid !== undefined && typeof parent.exe === 'string') stream.joiner.knowProcess(node ?? '', ppid, unpercent(parent.exe));
  return pushEvent(records, stream, source);
}

function auditbeat(doc: Obj, stream: LinuxStream, source: EventSource): (Event | RecordError)[] {
  const get = (path: string) => lookupPath(doc, path);
  const host = str(get('host.name')) ?? str(get('host.hostname'));
  // With include_raw_message, the records themselves: read them as audit.log lines.
  const original = get('event.original');
  const lines = (Array.isArray(original) ? original : [original]).filter((x): x is string => typeof x === 'string').flatMap((x) => x.split('\n'));
  if (lines.length && lines.every((l) => looksLikeAuditRecord(l))) {
    const recs: AuditRecord[] = [];
    for (const l of lines) {
      const r = parseAuditRecord(l);
      if (r instanceof AuditParseError) continue;
      if (r.node === undefined && host) r.node = host;
      recs.push(r);
    }
    if (recs.length === lines.length) return pushEvent(recs, stream, source);
  }
  const ts = str(get('@timestamp'));
  const ms = ts ? Date.parse(ts) : NaN;
  const seq = get('auditd.sequence');
  const time = Number.isNaN(ms) ? '0.000' : `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
  const serial = typeof seq === 'number' ? seq : typeof seq === 'string' && /^\d+$/.test(seq) ? Number(seq) : 0;
  const messageType = (str(get('auditd.message_type')) ?? 'unknown').toUpperCase();
  const base = (): Record<string, AuditValue> => Object.create(null) as Record<string, AuditValue>;
  const rec = (type: string, fields: Record<string, AuditValue>): AuditRecord => {
    const r: AuditRecord = { type, time, serial, fields };
    if (host) r.node = host;
    return r;
  };
  const main = base();
  const data = get('auditd.data');
  if (typeof data === 'string') {
    try {
      const parsed = JSON.parse(data) as unknown;
      if (isObj(parsed)) for (const [k, v] of Object.entries(parsed)) main[k] = typeof v === 'string' ? v : JSON.stringify(v);
    } catch {
      // not an object: ignore
    }
  }
  const setIf = (k: string, v: unknown) => {
    const s = str(v);
    if (s !== undefined && !(k in main)) main[k] = s;
  };
  setIf('pid', get('process.pid'));
  setIf('ppid', get('process.parent.pid') ?? get('process.ppid'));
  setIf('exe', get('process.executable'));
  setIf('comm', get('process.name'));
  setIf('uid', get('user.id'));
  setIf('euid', get('user.effective.id'));
  setIf('auid', get('user.audit.id'));
  setIf('ses', get('auditd.session'));
  const result = str(get('auditd.result'));
  if (result && !('success' in main)) main.success = result === 'success' ? 'yes' : 'no';
  if (messageType === 'SYSCALL' && typeof main.syscall === 'string' && !/^\d+$/.test(main.syscall)) main.SYSCALL = main.syscall;
  const tags = get('tags');
  if (Array.isArray(tags) && tags.length && !('key' in main)) main.key = tags.length === 1 ? String(tags[0]) : tags.map(String);
  const records = [rec(messageType, main)];
  const args = get('process.args');
  if (Array.isArray(args) && args.length && messageType === 'SYSCALL') {
    const f = base();
    f.argc = String(args.length);
    args.forEach((a, i) => (f[`a${i}`] = String(a)));
    records.push(rec('EXECVE', f));
  }
  const cwd = str(get('process.working_directory') ?? get('process.cwd'));
  if (cwd !== undefined) {
    const f = base();
    f.cwd = cwd;
    records.push(rec('CWD', f));
  }
  const paths = get('auditd.paths');
  const list = typeof paths === 'string' ? safeJson(paths) : paths;
  if (Array.isArray(list))
    for (const p of list as unknown[]) {
      const obj: unknown = typeof p === 'string' ? safeJson(p) : p;
      if (!isObj(obj)) continue;
      const f = base();
      for (const [k, v] of Object.entries(obj)) f[k] = typeof v === 'string' ? v : JSON.stringify(v);
      records.push(rec('PATH', f));
    }
  return pushEvent(records, stream, source);
}

function sentinel(doc: Obj, stream: LinuxStream, source: EventSource): (Event | RecordError)[] {
  const time = str(doc.EventTime) ?? str(doc.TimeGenerated);
  const ms = time ? Date.parse(time) : NaN;
  const facility = str(doc.Facility);
  const severity = str(doc.SeverityLevel);
  return stream.messageRecord(
    {
      host: str(doc.HostName) ?? str(doc.Computer),
      ms,
      program: str(doc.ProcessName),
      pid: str(doc.ProcessID),
      facility: facility !== undefined ? FACILITY_NUMBERS[facility.toLowerCase()] : undefined,
      severity: severity !== undefined ? SEVERITY_NUMBERS[severity.toLowerCase()] : undefined,
      message: doc.SyslogMessage as string,
      extra: { HostIP: str(doc.HostIP) },
    },
    source,
  );
}

const FACILITY_NUMBERS: Record<string, number> = { kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11 };
const SEVERITY_NUMBERS: Record<string, number> = { emerg: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7 };

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return journalText(v);
}
