/**
 * One raw Linux audit record (a line of audit.log) → its fields, as a pure function a file reader
 * and a live stream share. Handles the `node=` prefix, the RAW and ENRICHED log formats (in
 * ENRICHED, auditd appends translated values after a 0x1D byte with upper-case names:
 * `SYSCALL=execve AUID="alice"`), user-space records whose fields sit in a quoted `msg='…'`,
 * values auditd writes in hex (untrusted strings with spaces, quotes, control or non-ASCII
 * bytes), and arguments split across `aN[i]=` pieces. Record semantics follow the Linux Audit
 * documentation (audit.rules(7), auditd.conf(5)) and the kernel's audit_log_execve_info().
 */
import { syscallName, ARCH_NAMES } from './syscalls.js';

/** One field value: text, `null` for auditd's `(null)`, or a list (several keys in `key=`). */
export type AuditValue = string | null | string[];

/** One piece of a split EXECVE argument (`a1[0]=…`), kept so pieces in later records can join it. */
export interface ArgPiece {
  arg: number;
  index: number;
  bytes: Buffer;
}

export interface AuditRecord {
  /** `node=` name (set by auditd's `name_format`), when present. */
  node?: string;
  /** Record type as written: `SYSCALL`, `EXECVE`, `UNKNOWN[1329]`… */
  type: string;
  /** `1492037291.036`: seconds and milliseconds of the audit event. */
  time: string;
  serial: number;
  /** Decoded fields in record order; ENRICHED translations under their upper-case names. */
  fields: Record<string, AuditValue>;
  /** EXECVE argument pieces (`aN[i]=`), when the record has any. */
  pieces?: ArgPiece[];
}

export class AuditParseError {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

/** The record separator of the ENRICHED log format (auditd.conf `log_format = ENRICHED`). */
const GS = '\x1d';

/**
 * Fields auditd writes as untrusted strings: quoted when printable, else hex (auparse's
 * AUPARSE_TYPE_ESCAPED and friends). EXECVE arguments `aN` are handled apart (a0…a3 of a
 * SYSCALL record are register values in hex, never strings).
 */
const ESCAPED = new Set([
  'path',
  'comm',
  'exe',
  'file',
  'name',
  'watch',
  'cwd',
  'cmd',
  'acct',
  'dir',
  'key',
  'vm',
  'ocomm',
  'grp',
  'new_group',
  'proctitle',
  'data',
  'root_dir',
  'old-disk',
  'new-disk',
  'old-fs',
  'new-fs',
  'old-net',
  'new-net',
  'device',
  'cgroup',
  'sw',
  'old-chardev',
  'new-chardev',
  'old-rng',
  'new-rng',
]);

const HEX = /^(?:[0-9A-Fa-f]{2})+$/;

/** Parse one audit record line (without its line break). */
export function parseAuditRecord(line: string): AuditRecord | AuditParseError {
  let s = line;
  if (s.endsWith('\r')) s = s.slice(0, -1);
  let pos = 0;
  let node: string | undefined;
  while (s.charCodeAt(pos) === 0x20) pos++;
  if (s.startsWith('node=', pos)) {
    const end = s.indexOf(' ', pos);
    if (end < 0) return new AuditParseError('audit-no-type', 'a node= prefix and nothing else');
    node = s.slice(pos + 5, end);
    pos = end + 1;
  }
  if (!s.startsWith('type=', pos)) return new AuditParseError('audit-no-type', 'not an audit record: it does not start with type=');
  const typeEnd = s.indexOf(' ', pos);
  if (typeEnd < 0) return new AuditParseError('audit-no-header', 'a record type and no msg=audit(…) header');
  const type = s.slice(pos + 5, typeEnd);
  if (!type) return new AuditParseError('audit-no-type', 'empty record type');
  const h = parseHeader(s, typeEnd + 1);
  if (!h) return new AuditParseError('audit-no-header', `record ${type} has no msg=audit(SECONDS.MILLIS:SERIAL) header`);
  let body = s.slice(h.end);
  let enriched = '';
  const gs = body.indexOf(GS);
  if (gs >= 0) {
    enriched = body.slice(gs + 1);
    body = body.slice(0, gs);
  }
  const fields: Record<string, AuditValue> = Object.create(null) as Record<string, AuditValue>;
  const pieces: ArgPiece[] = [];
  const execve = type === 'EXECVE';
  tokenize(body, (key, raw, quote) => {
    if (quote === "'" && key === 'msg') {
      // User-space records carry their own fields inside msg='…' (flattened, as ausearch shows them).
      tokenize(raw, (k, r, q) => setField(fields, pieces, execve, k, r, q));
      return;
    }
    setField(fields, pieces, execve, key, raw, quote);
  });
  if (pieces.length) joinPieces(fields, pieces);
  if (enriched)
    tokenize(enriched, (key, raw) => {
      if (!(key in fields)) fields[key] = raw;
    });
  if (type === 'SYSCALL') translateSyscall(fields);
  else if (type === 'SOCKADDR') decodeSockaddr(fields);
  const rec: AuditRecord = { type, time: h.time, serial: h.serial, fields };
  if (node !== undefined) rec.node = node;
  if (pieces.length) rec.pieces = pieces;
  return rec;
}

/** `msg=audit(1492037291.036:59):` → time, serial and where the body starts. */
function parseHeader(s: string, from: number): { time: string; serial: number; end: number } | undefined {
  let p = from;
  while (s.charCodeAt(p) === 0x20) p++;
  if (!s.startsWith('msg=audit(', p)) return undefined;
  p += 10;
  const close = s.indexOf(')', p);
  if (close < 0 || close - p > 40) return undefined;
  const inner = s.slice(p, close);
  const colon = inner.indexOf(':');
  if (colon < 0) return undefined;
  const time = inner.slice(0, colon);
  const serialText = inner.slice(colon + 1);
  if (!/^\d{1,12}\.\d{1,9}$/.test(time) || !/^\d{1,20}$/.test(serialText)) return undefined;
  let end = close + 1;
  if (s.charCodeAt(end) === 0x3a) end++;
  return { time, serial: Number(serialText), end };
}

/**
 * Walk `key=value` pairs: values may be "double-quoted" (no escapes: auditd hex-encodes any
 * value with a quote), 'single-quoted' (the nested msg of user-space records) or bare up to the
 * next space. Words without `=` (`avc:  denied  { read } for`, `auditd start,`) are skipped.
 */
function tokenize(s: string, onPair: (key: string, raw: string, quote: string) => void): void {
  const n = s.length;
  let i = 0;
  while (i < n) {
    while (i < n && s.charCodeAt(i) === 0x20) i++;
    if (i >= n) break;
    const start = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x3d || c === 0x20) break;
      i++;
    }
    if (i >= n || s.charCodeAt(i) === 0x20) continue; // a bare word
    let key = s.slice(start, i);
    i++; // '='
    // Old formats wrap the tail in parentheses: `(hostname=?, addr=?, terminal=cron res=success)`.
    if (key.charCodeAt(0) === 0x28) key = key.slice(1);
    const q = s[i];
    if (q === '"' || q === "'") {
      const close = s.indexOf(q, i + 1);
      const end = close < 0 ? n : close;
      if (key) onPair(key, s.slice(i + 1, end), q);
      i = end + 1;
      continue;
    }
    const vs = i;
    while (i < n && s.charCodeAt(i) !== 0x20) i++;
    let raw = s.slice(vs, i);
    while (raw.endsWith(',') || (raw.endsWith(')') && !raw.startsWith('('))) raw = raw.slice(0, -1);
    if (key) onPair(key, raw, '');
  }
}

const ARG = /^a(\d{1,6})(?:\[(\d{1,6})\])?$/;

function setField(fields: Record<string, AuditValue>, pieces: ArgPiece[], execve: boolean, key: string, raw: string, quote: string): void {
  if (execve && key.charCodeAt(0) === 0x61) {
    const m = ARG.exec(key);
    if (m) {
      if (m[2] !== undefined) {
        pieces.push({ arg: Number(m[1]), index: Number(m[2]), bytes: quote ? Buffer.from(raw, 'utf8') : HEX.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'utf8') });
        return;
      }
      if (!(key in fields)) fields[key] = quote ? raw : decodeHex(raw);
      return;
    }
  }
  if (key in fields) return;
  if (quote) {
    fields[key] = raw;
    return;
  }
  if (raw === '(null)') {
    fields[key] = null;
    return;
  }
  if (ESCAPED.has(key) && raw.length >= 2 && HEX.test(raw)) {
    if (key === 'proctitle') fields[key] = hexBytes(raw).replace(/\0+$/, '').replace(/\0/g, ' ');
    else if (key === 'key') {
      // Several keys on one rule are joined with 0x01 (AUDIT_KEY_SEPARATOR).
      const keys = hexBytes(raw).split('\x01');
      fields[key] = keys.length > 1 ? keys : keys[0]!;
    } else fields[key] = hexBytes(raw);
    return;
  }
  fields[key] = raw;
}

function decodeHex(raw: string): string {
  return raw.length >= 2 && HEX.test(raw) ? hexBytes(raw) : raw;
}

function hexBytes(raw: string): string {
  return Buffer.from(raw, 'hex').toString('utf8');
}

/** Join the pieces this record has of split arguments (more may follow in later EXECVE records). */
function joinPieces(fields: Record<string, AuditValue>, pieces: readonly ArgPiece[]): void {
  for (const [arg, bytes] of assemblePieces(pieces)) {
    const key = `a${arg}`;
    if (!(key in fields)) fields[key] = bytes.toString('utf8');
  }
}

/** Split-argument pieces → each argument's bytes, pieces in index order. */
export function assemblePieces(pieces: readonly ArgPiece[]): Map<number, Buffer> {
  const byArg = new Map<number, ArgPiece[]>();
  for (const p of pieces) {
    const list = byArg.get(p.arg);
    if (list) list.push(p);
    else byArg.set(p.arg, [p]);
  }
  const out = new Map<number, Buffer>();
  for (const [arg, list] of byArg) {
    list.sort((a, b) => a.index - b.index);
    out.set(arg, Buffer.concat(list.map((p) => p.bytes)));
  }
  return out;
}

/** RAW logs have `arch=c000003e syscall=59`; add the names ENRICHED logs carry (`ARCH`, `SYSCALL`). */
function translateSyscall(fields: Record<string, AuditValue>): void {
  const arch = fields.arch;
  const nr = fields.syscall;
  if (typeof arch !== 'string') return;
  if (!('ARCH' in fields) && ARCH_NAMES[arch.toLowerCase()]) fields.ARCH = ARCH_NAMES[arch.toLowerCase()]!;
  if ('SYSCALL' in fields || typeof nr !== 'string') return;
  const name = /^\d{1,4}$/.test(nr) ? syscallName(arch, Number(nr)) : undefined;
  if (name) fields.SYSCALL = name;
}

/**
 * `saddr=` is a hex `struct sockaddr`: add what it holds as `family`, `addr`, `port` (inet, inet6)
 * or `path` (unix), the names ausearch -i and go-libaudit give them.
 */
function decodeSockaddr(fields: Record<string, AuditValue>): void {
  const hex = fields.saddr;
  if (typeof hex !== 'string' || hex.length < 4 || !HEX.test(hex)) return;
  const b = Buffer.from(hex, 'hex');
  const family = b.readUInt16LE(0);
  const put = (k: string, v: string) => {
    if (!(k in fields)) fields[k] = v;
  };
  if (family === 2 && b.length >= 8) {
    put('family', 'ipv4');
    put('port', String(b.readUInt16BE(2)));
    put('addr', `${b[4]}.${b[5]}.${b[6]}.${b[7]}`);
  } else if (family === 10 && b.length >= 24) {
    put('family', 'ipv6');
    put('port', String(b.readUInt16BE(2)));
    const groups: string[] = [];
    for (let i = 8; i < 24; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    put('addr', compressIpv6(groups));
  } else if (family === 1) {
    put('family', 'unix');
    // An abstract socket's name starts with a NUL byte (shown as `@name`, as ss(8) does).
    const start = b[2] === 0 ? 3 : 2;
    const end = b.indexOf(0, start);
    put('path', (start === 3 ? '@' : '') + b.toString('utf8', start, end < 0 ? b.length : end));
  } else if (family === 16) put('family', 'netlink');
}

/** RFC 5952 text of eight 16-bit groups: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** `1492037291.036` → `2017-04-12T22:48:11.036Z`. */
export function auditTimeToIso(time: string): string | undefined {
  const dot = time.indexOf('.');
  const sec = Number(dot < 0 ? time : time.slice(0, dot));
  const frac = dot < 0 ? '' : time.slice(dot + 1);
  const ms = Number((frac + '000').slice(0, 3));
  const d = new Date(sec * 1000 + ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Quick test: does this text look like an audit record (for format sniffing)? */
export function looksLikeAuditRecord(line: string): boolean {
  return /^(?:node=\S+ )?type=[A-Z0-9_[\]]+ msg=audit\(\d+\.\d+:\d+\)/.test(line);
}
