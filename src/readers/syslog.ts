/**
 * The syslog *message* parser: one line or datagram → header fields and message, as a pure
 * function that files and live listeners share (network framing is the listener's business).
 *
 * Accepted forms, tried in this order:
 * - RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD…] MSG` (NILVALUE `-`)
 * - RFC 3164 / BSD, with or without `<PRI>`: `Mmm dd hh:mm:ss HOST TAG[PID]: MSG` (day padded with a
 *   space or not, optional fraction of a second, optional year after the day), and without a host
 *   when a sender leaves it out (`<13>Oct 11 22:14:15 su: …`)
 * - rsyslog's file formats with an RFC 3339 time (`2024-03-01T12:00:00.123+01:00 HOST TAG: MSG`,
 *   Debian 12's default), with or without `<PRI>`
 *
 * RFC 3164 time stamps have no year and no zone: `YearInference` supplies the year from the
 * file's context, and the zone is the reader's option (UTC unless told otherwise).
 */

export interface SyslogHeader {
  /** Facility and severity, when the line has a `<PRI>`. */
  facility?: number;
  severity?: number;
  /** 5424 version (1), absent for BSD lines. */
  version?: number;
  /** The time as written. */
  timeText: string;
  /** Parsed time: full when the line has a year and a zone, else the parts to complete. */
  time: { kind: 'absolute'; ms: number } | { kind: 'local'; year?: number; month: number; day: number; hour: number; minute: number; second: number; millis: number };
  host?: string;
  /** The tag / APP-NAME as written (`sshd`, `sshd(pam_unix)`, `/usr/sbin/cron`). */
  program?: string;
  pid?: string;
  msgId?: string;
  /** RFC 5424 structured data as written (`[id k="v"]…`). */
  structuredData?: string;
  message: string;
  /** `rfc5424`, `rfc3164` or `rfc3339` (BSD layout with an RFC 3339 time stamp). */
  format: 'rfc5424' | 'rfc3164' | 'rfc3339';
}

export class SyslogParseError {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|z|[+-]\d\d:?\d\d)?/;
const BSD_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?= |$)/;

/** Parse one syslog line (without its line break). */
export function parseSyslogLine(line: string): SyslogHeader | SyslogParseError {
  let s = line.endsWith('\r') ? line.slice(0, -1) : line;
  let facility: number | undefined;
  let severity: number | undefined;
  if (s.charCodeAt(0) === 0x3c) {
    const close = s.indexOf('>');
    const pri = close > 1 && close <= 4 ? s.slice(1, close) : '';
    if (!/^\d{1,3}$/.test(pri) || Number(pri) > 191) return new SyslogParseError('syslog-bad-pri', `bad <PRI> '${s.slice(0, Math.min(8, s.length))}'`);
    facility = Number(pri) >> 3;
    severity = Number(pri) & 7;
    s = s.slice(close + 1);
    // RFC 5424: a version digit and a space right after the PRI.
    const v = /^([1-9]\d{0,2}) /.exec(s);
    if (v) return parse5424(s.slice(v[0].length), Number(v[1]), facility, severity);
  }
  const r = RFC3339.exec(s);
  // A time stamp then a space: `2024-…Z,…` is a CSV row, not a syslog line.
  if (r && s.charCodeAt(r[0].length) === 0x20) {
    const ms = absoluteMs(r);
    if (ms === undefined) return new SyslogParseError('syslog-bad-time', `bad time stamp '${r[0]}'`);
    const time = r[8]
      ? ({ kind: 'absolute', ms } as const)
      : ({ kind: 'local', year: Number(r[1]), month: Number(r[2]) - 1, day: Number(r[3]), hour: Number(r[4]), minute: Number(r[5]), second: Number(r[6]), millis: fracMs(r[7]) } as const);
    return withTag(s.slice(r[0].length), { facility, severity, timeText: r[0], time, format: 'rfc3339' });
  }
  const b = BSD_TIME.exec(s);
  if (b) {
    const month = MONTHS[b[1]!.toLowerCase()];
    const day = Number(b[2]);
    const hour = Number(b[4]);
    const minute = Number(b[5]);
    const second = Number(b[6]);
    if (month === undefined || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return new SyslogParseError('syslog-bad-time', `bad time stamp '${b[0]}'`);
    const time = { kind: 'local', year: b[3] ? Number(b[3]) : undefined, month, day, hour, minute, second, millis: fracMs(b[7]) } as const;
    return withTag(s.slice(b[0].length), { facility, severity, timeText: b[0], time, format: 'rfc3164' });
  }
  return new SyslogParseError('syslog-no-time', 'not a syslog line: no RFC 5424, RFC 3164 or RFC 3339 time stamp where one belongs');
}

function fracMs(f: string | undefined): number {
  return f ? Number((f + '00').slice(0, 3)) : 0;
}

function absoluteMs(r: RegExpExecArray): number | undefined {
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(r[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || sec! > 60) return undefined;
  let ms = Date.UTC(y!, mo! - 1, d, h, mi, sec, fracMs(r[7]));
  const z = r[8];
  if (z && z !== 'Z' && z !== 'z') {
    const sign = z[0] === '-' ? -1 : 1;
    const digits = z.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

type Partial3164 = Pick<SyslogHeader, 'facility' | 'severity' | 'timeText' | 'time' | 'format'>;

/** After the time stamp: ` HOST TAG[PID]: MSG` (the host may be missing). */
function withTag(rest: string, head: Partial3164): SyslogHeader {
  const out: SyslogHeader = { ...head, message: '' };
  if (head.facility === undefined) delete out.facility;
  if (head.severity === undefined) delete out.severity;
  let s = rest.startsWith(' ') ? rest.slice(1) : rest;
  // The host is the next word unless that word is already the tag (`su:`, `sshd[12]:`).
  const sp = s.indexOf(' ');
  const word = sp < 0 ? s : s.slice(0, sp);
  if (word && !isTagWord(word)) {
    out.host = word;
    s = sp < 0 ? '' : s.slice(sp + 1);
  }
  const tag = /^([^\s:[\]]{1,128})(?:\[([^\]\s]{0,32})\])?:(?: |$)/.exec(s);
  if (tag) {
    out.program = tag[1];
    if (tag[2] !== undefined && tag[2] !== '') out.pid = tag[2];
    out.message = s.slice(tag[0].length);
    return out;
  }
  // A tag with spaces before `[pid]:` (`-- root[2421]: ROOT LOGIN ON tty2`, util-linux login).
  const spaced = /^ *([^:[\]]{1,48}?)\[(\d{1,10})\]: ?/.exec(s);
  if (spaced && out.host) {
    out.program = spaced[1]!.trim();
    out.pid = spaced[2];
    out.message = s.slice(spaced[0].length);
    return out;
  }
  // A tag without the colon (`syslogd 1.4.1: restart.`, `kernel [1.2] …`): RFC 3164 ends a tag
  // at the first character that is not alphanumeric.
  const bare = /^([A-Za-z][\w.-]{0,47})(?:\[(\d{1,10})\])?(?= )/.exec(s);
  if (bare && out.host) {
    out.program = bare[1];
    if (bare[2]) out.pid = bare[2];
    out.message = s.slice(bare[0].length + 1);
    return out;
  }
  out.message = s;
  return out;
}

/** `su:` or `sshd[12]:` or `sshd(pam_unix)[12]:`: a tag, not a host name. */
function isTagWord(w: string): boolean {
  return w.endsWith(':') || /\[[^\]]*\]:?$/.test(w);
}

function parse5424(s: string, version: number, facility: number, severity: number): SyslogHeader | SyslogParseError {
  const parts: string[] = [];
  let i = 0;
  for (let k = 0; k < 5; k++) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) {
      if (k === 4 && i < s.length) {
        parts.push(s.slice(i));
        i = s.length;
        break;
      }
      return new SyslogParseError('syslog-5424-short', `RFC 5424 header has ${k} of its 5 fields before the structured data`);
    }
    parts.push(s.slice(i, sp));
    i = sp + 1;
  }
  const [ts, host, app, procid, msgid] = parts as [string, string, string, string, string];
  let time: SyslogHeader['time'];
  if (ts === '-') time = { kind: 'absolute', ms: NaN };
  else {
    const r = RFC3339.exec(ts);
    const ms = r && r[0].length === ts.length ? absoluteMs(r) : undefined;
    if (!r || ms === undefined) return new SyslogParseError('syslog-bad-time', `bad RFC 5424 time stamp '${ts.slice(0, 40)}'`);
    time = r[8]
      ? { kind: 'absolute', ms }
      : { kind: 'local', year: Number(r[1]), month: Number(r[2]) - 1, day: Number(r[3]), hour: Number(r[4]), minute: Number(r[5]), second: Number(r[6]), millis: fracMs(r[7]) };
  }
  let sd: string | undefined;
  const rest = s.slice(i);
  let msgStart: number;
  if (rest.startsWith('-')) {
    msgStart = 1;
  } else if (rest.startsWith('[')) {
    const end = structuredDataEnd(rest);
    if (end < 0) return new SyslogParseError('syslog-5424-sd', 'RFC 5424 structured data is not closed');
    sd = rest.slice(0, end);
    msgStart = end;
  } else if (rest === '') msgStart = 0;
  else return new SyslogParseError('syslog-5424-sd', 'RFC 5424 structured data must be - or start with [');
  let message = rest.slice(msgStart);
  if (message.startsWith(' ')) message = message.slice(1);
  if (message.charCodeAt(0) === 0xfeff) message = message.slice(1);
  const out: SyslogHeader = { facility, severity, version, timeText: ts, time, message, format: 'rfc5424' };
  if (host !== '-') out.host = host;
  if (app !== '-') out.program = app;
  if (procid !== '-') out.pid = procid;
  if (msgid !== '-') out.msgId = msgid;
  if (sd !== undefined) out.structuredData = sd;
  return out;
}

/** End (exclusive) of `[…][…]`, honouring `\"`, `\\` and `\]` escapes in parameter values. */
function structuredDataEnd(s: string): number {
  let i = 0;
  while (s[i] === '[') {
    i++;
    let inValue = false;
    for (;;) {
      if (i >= s.length) return -1;
      const c = s[i];
      if (inValue) {
        if (c === '\\') i++;
        else if (c === '"') inValue = false;
      } else if (c === '"') inValue = true;
      else if (c === ']') break;
      i++;
    }
    i++;
  }
  return i;
}

/**
 * The year of RFC 3164 time stamps, which have none, inferred from the file's context: the
 * first line takes the latest year that does not put it after the reference time (the file's
 * modification time, or now for a live stream); later lines follow it, moving to the next year
 * when the month wraps from late in one year to early in the next; a line that carries a year
 * (RFC 3339/5424 in the same file) re-anchors it. Stateful and O(1) per line.
 */
export class YearInference {
  private year: number | undefined;
  private month = 0;
  private readonly refYear: number;
  private readonly refMonth: number;
  private readonly refDay: number;

  constructor(
    reference: Date,
    /** A fixed year (the user said so): no inference. */
    private readonly fixed?: number,
  ) {
    this.refYear = reference.getUTCFullYear();
    this.refMonth = reference.getUTCMonth();
    this.refDay = reference.getUTCDate();
  }

  /** The year for a line dated `month` (0–11) / `day` without a year. */
  yearOf(month: number, day: number): number {
    if (this.fixed !== undefined) return this.fixed;
    if (this.year === undefined) {
      // One day of slack for zones ahead of UTC.
      const after = month > this.refMonth || (month === this.refMonth && day > this.refDay + 1);
      this.year = after ? this.refYear - 1 : this.refYear;
      this.month = month;
      return this.year;
    }
    const step = month - this.month;
    if (step < -6) {
      this.year++;
      this.month = month;
    } else if (step > 6)
      return this.year - 1; // a straggler from before the new year
    else if (step > 0) this.month = month;
    return this.year;
  }

  /** A line with a full date: follow it. */
  anchor(year: number, month: number): void {
    if (this.fixed !== undefined) return;
    this.year = year;
    this.month = month;
  }
}

/**
 * Wall-clock time in a zone → UTC milliseconds. `zone` is `UTC`, a fixed offset (`+02:00`,
 * `-0500`) or an IANA name (`Europe/Berlin`; DST gaps resolve to the later offset).
 */
export class ZoneConverter {
  private readonly fixedMs: number | undefined;
  private readonly fmt: Intl.DateTimeFormat | undefined;
  private readonly cache = new Map<number, number>();

  constructor(readonly zone: string = 'UTC') {
    const m = /^(?:UTC|GMT)?([+-])(\d\d):?(\d\d)$/.exec(zone);
    if (zone === 'UTC' || zone === 'Z' || zone === 'GMT') this.fixedMs = 0;
    else if (m) this.fixedMs = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
    else {
      // Throws RangeError for an unknown zone: the caller reports it as a usage error.
      this.fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    }
  }

  /** The zone's offset from UTC (ms) at a UTC instant. */
  private offsetAt(utcMs: number): number {
    if (this.fixedMs !== undefined) return this.fixedMs;
    const hour = Math.floor(utcMs / 3_600_000);
    const hit = this.cache.get(hour);
    if (hit !== undefined) return hit;
    const p: Record<string, number> = {};
    for (const part of this.fmt!.formatToParts(new Date(hour * 3_600_000))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const asUtc = Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute, p.second);
    const off = asUtc - hour * 3_600_000;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hour, off);
    return off;
  }

  toUtc(year: number, month: number, day: number, hour: number, minute: number, second: number, millis: number): number {
    const wall = Date.UTC(year, month, day, hour, minute, second, millis);
    const first = wall - this.offsetAt(wall);
    const second2 = wall - this.offsetAt(first);
    return second2;
  }
}
