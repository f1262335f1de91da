/**
 * One Linux log stream (a file, or later a listener's connection) → Events: syslog lines, raw
 * audit records, journal entries. Holds the small, bounded state a stream needs (the audit
 * joiner, the RFC 3164 year, the program router) and takes input one line or entry at a time, so
 * files and live streams are read by the same code. Every bad line becomes an error value with
 * its position; reading goes on.
 */
import { RecordError } from '../../core/errors.js';
import { Event, toFieldValue, type EventSource, type Fields } from '../../events/event.js';
import { parseSyslogLine, SyslogParseError, YearInference, ZoneConverter, type SyslogHeader } from '../syslog.js';
import { AuditParseError, looksLikeAuditRecord, parseAuditRecord } from './audit.js';
import { AuditJoiner, type AuditJoinOptions, type AuditJoinStats } from './audit-join.js';
import { addMessageFields } from './messages.js';
import { ProgramRouter } from './programs.js';
import { parseSysmonXml, SysmonParseError, sysmonStart } from './sysmon.js';

export interface LinuxReadOptions {
  /** Zone of time stamps written without one (RFC 3164): `UTC` (default), `+02:00`, `Europe/Berlin`. */
  timeZone?: string;
  /** The year of RFC 3164 time stamps, when known; else inferred from `reference`. */
  year?: number;
  /** The latest time the stream can hold (a file's modification time; now for a live stream). */
  reference?: Date;
  programs?: ProgramRouter;
  join?: AuditJoinOptions;
}

export interface LinuxStreamStats {
  lines: number;
  badLines: number;
  audit: AuditJoinStats;
}

const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];
const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const MESSAGE_ONLY = ['Message'];

let defaultRouter: ProgramRouter | undefined;

export class LinuxStream {
  readonly joiner: AuditJoiner;
  private readonly years: YearInference;
  private readonly zone: ZoneConverter;
  private readonly router: ProgramRouter;
  private lines = 0;
  private bad = 0;

  constructor(
    readonly file: string,
    opts: LinuxReadOptions = {},
  ) {
    this.joiner = new AuditJoiner(opts.join);
    this.years = new YearInference(opts.reference ?? new Date(), opts.year);
    this.zone = new ZoneConverter(opts.timeZone ?? 'UTC');
    this.router = opts.programs ?? (defaultRouter ??= new ProgramRouter());
  }

  get stats(): LinuxStreamStats {
    return { lines: this.lines, badLines: this.bad, audit: this.joiner.stats };
  }

  private error(code: string, message: string, source: EventSource): RecordError {
    this.bad++;
    return new RecordError(code, message, this.file, { line: source.line, offset: source.offset });
  }

  /** One raw audit record line. */
  auditLine(text: string, source: EventSource): (Event | RecordError)[] {
    this.lines++;
    if (!text.trim()) return [];
    const rec = parseAuditRecord(text);
    if (rec instanceof AuditParseError) return [this.error(rec.code, rec.message, source)];
    return this.joiner.push(rec, source);
  }

  /** One syslog line (any of the forms `parseSyslogLine` takes). */
  syslogLine(text: string, source: EventSource): (Event | RecordError)[] {
    this.lines++;
    if (!text.trim()) return [];
    const h = parseSyslogLine(text);
    if (h instanceof SyslogParseError) return [this.error(h.code, h.message, source)];
    const ms = this.timeOf(h);
    return this.messageRecord(
      {
        host: h.host,
        ms,
        program: h.program,
        pid: h.pid,
        facility: h.facility,
        severity: h.severity,
        message: h.message,
        extra: h.msgId !== undefined || h.structuredData !== undefined ? { MsgId: h.msgId, StructuredData: h.structuredData } : undefined,
      },
      source,
    );
  }

  /** One journal entry (`journalctl -o json` object or a parsed `-o export` entry). */
  journalEntry(entry: Record<string, unknown>, source: EventSource): (Event | RecordError)[] {
    this.lines++;
    const message = journalText(entry.MESSAGE);
    if (message === undefined) return [this.error('journal-no-message', 'journal entry has no MESSAGE', source)];
    const usec = journalText(entry._SOURCE_REALTIME_TIMESTAMP) ?? journalText(entry.__REALTIME_TIMESTAMP);
    const ms = usec && /^\d{1,19}$/.test(usec) ? Math.floor(Number(usec) / 1000) : NaN;
    const host = journalText(entry._HOSTNAME);
    if (journalText(entry._TRANSPORT) === 'audit') return this.journalAudit(entry, message, usec, host, source);
    const extra: Record<string, string | undefined> = {};
    for (const k in entry) {
      if (k === 'MESSAGE' || k.startsWith('__')) continue;
      extra[k] = journalText(entry[k]);
    }
    const facility = Number(journalText(entry.SYSLOG_FACILITY));
    const priority = Number(journalText(entry.PRIORITY));
    return this.messageRecord(
      {
        host,
        ms,
        program: journalText(entry.SYSLOG_IDENTIFIER) ?? journalText(entry._COMM),
        pid: journalText(entry.SYSLOG_PID) ?? journalText(entry._PID),
        facility: Number.isInteger(facility) && facility >= 0 && facility < 24 ? facility : undefined,
        severity: Number.isInteger(priority) && priority >= 0 && priority < 8 ? priority : undefined,
        message,
        extra,
      },
      source,
    );
  }

  /** An audit record that journald took in through its audit transport. */
  private journalAudit(entry: Record<string, unknown>, message: string, usec: string | undefined, host: string | undefined, source: EventSource): (Event | RecordError)[] {
    const name = journalText(entry._AUDIT_TYPE_NAME);
    const id = journalText(entry._AUDIT_ID);
    let body = message;
    // MESSAGE starts with the type name ("SYSCALL arch=…"); older systemd wrote the number.
    const sp = body.indexOf(' ');
    const first = sp < 0 ? body : body.slice(0, sp);
    if (first === name || /^[A-Z_]+$/.test(first) || /^\d+$/.test(first)) body = sp < 0 ? '' : body.slice(sp + 1);
    const type = name ?? (/^[A-Z_]+$/.test(first) ? first : `UNKNOWN[${journalText(entry._AUDIT_TYPE) ?? '?'}]`);
    if (!usec || !/^\d{7,19}$/.test(usec) || !id || !/^\d+$/.test(id)) return [this.error('journal-audit', 'audit journal entry without _AUDIT_ID or a time stamp', source)];
    const time = `${usec.slice(0, -6)}.${usec.slice(-6, -3)}`;
    const rec = parseAuditRecord(`${host ? `node=${host} ` : ''}type=${type} msg=audit(${time}:${id}): ${body}`);
    if (rec instanceof AuditParseError) return [this.error(rec.code, rec.message, source)];
    return this.joiner.push(rec, source);
  }

  /** A syslog-shaped message (a file line, a journal entry, a shipper's row) → its events. */
  messageRecord(
    m: { host?: string; ms: number; program?: string; pid?: string; facility?: number; severity?: number; message: string; extra?: Record<string, string | undefined> },
    source: EventSource,
  ): (Event | RecordError)[] {
    const xmlAt = sysmonStart(m.message);
    if (xmlAt >= 0) {
      const ev = parseSysmonXml(m.message.slice(xmlAt), source);
      if (ev instanceof SysmonParseError) return [this.error(ev.code, ev.message, source)];
      return [ev];
    }
    // audisp-syslog / audispd forward raw audit records as syslog messages.
    if (looksLikeAuditRecord(m.message)) {
      const rec = parseAuditRecord(m.message);
      if (rec instanceof AuditParseError) return [this.error(rec.code, rec.message, source)];
      if (rec.node === undefined && m.host) rec.node = m.host;
      return this.joiner.push(rec, source);
    }
    const fields: Fields = Object.create(null) as Fields;
    if (m.host) fields.Computer = m.host;
    if (!Number.isNaN(m.ms)) fields['@timestamp'] = new Date(m.ms).toISOString();
    fields.Channel = this.router.channel(m.program, m.facility);
    if (m.program !== undefined) fields.Program = m.program;
    if (m.pid !== undefined) fields.ProcessId = m.pid;
    if (m.facility !== undefined) fields.Facility = FACILITIES[m.facility] ?? String(m.facility);
    if (m.severity !== undefined) fields.Severity = SEVERITIES[m.severity] ?? String(m.severity);
    fields.Message = m.message;
    if (m.program !== undefined) addMessageFields(fields, m.program, m.message);
    if (m.extra) for (const k in m.extra) if (m.extra[k] !== undefined && !(k in fields)) fields[k] = m.extra[k];
    return [new Event(fields, source, undefined, 'linux', MESSAGE_ONLY)];
  }

  private timeOf(h: SyslogHeader): number {
    const t = h.time;
    if (t.kind === 'absolute') {
      if (!Number.isNaN(t.ms)) {
        const d = new Date(t.ms);
        this.years.anchor(d.getUTCFullYear(), d.getUTCMonth());
      }
      return t.ms;
    }
    let year = t.year;
    if (year === undefined) year = this.years.yearOf(t.month, t.day);
    else this.years.anchor(year, t.month);
    return this.zone.toUtc(year, t.month, t.day, t.hour, t.minute, t.second, t.millis);
  }

  /** End of the stream: the audit events still pending, and a note of what could not be joined. */
  finish(): (Event | RecordError)[] {
    const out: (Event | RecordError)[] = this.joiner.flush();
    const s = this.joiner.stats;
    const unjoined = s.unjoined.execveWithoutArguments + s.unjoined.argumentsWithoutSyscall;
    if (unjoined || s.late) {
      const parts = [];
      if (s.unjoined.execveWithoutArguments) parts.push(`${s.unjoined.execveWithoutArguments} execve events without their EXECVE record`);
      if (s.unjoined.argumentsWithoutSyscall) parts.push(`${s.unjoined.argumentsWithoutSyscall} EXECVE records without their SYSCALL record`);
      if (s.late) parts.push(`${s.late} records that arrived after their event was complete`);
      out.push(new RecordError('auditd-unjoined', `audit records not joined into processes: ${parts.join('; ')} (each record is still an event)`, this.file, {}));
    }
    return out;
  }
}

/** A journal field value as text: a string, or (binary fields in `-o json`) an array of bytes. */
export function journalText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    // A field given several times is an array of values: the first one.
    if (v.length && typeof v[0] !== 'number') return journalText(v[0]);
    if (v.every((b) => typeof b === 'number' && b >= 0 && b < 256)) return Buffer.from(v as number[]).toString('utf8');
  }
  const fv = toFieldValue(v);
  return typeof fv === 'string' ? fv : undefined;
}
