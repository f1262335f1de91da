/**
 * Text forms of EVTX values, as Windows prints them: hex integers as `0x100` (lower case, no
 * padding), GUIDs upper case in braces (the evtx crate drops the braces; Windows, `evtxexport`
 * and SigmaHQ's rules keep them), SIDs as `S-1-5-18`, timestamps as RFC 3339 UTC with
 * microseconds, binary as upper-case hex. All take bytes at an offset so no value is copied
 * before it is formatted.
 */

const HEX_UPPER = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

/** `0x` + lower-case hex of a u32. */
export function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

// Keywords masks repeat in every record: remember recent texts (bounded, cleared when full).
const hex64Cache = new Map<number, Map<number, string>>();
let hex64Cached = 0;

/** `0x` + lower-case hex of a u64 given as two u32 halves. */
export function hex64(lo: number, hi: number): string {
  if (hi === 0) return '0x' + (lo >>> 0).toString(16);
  let m = hex64Cache.get(hi);
  const hit = m?.get(lo);
  if (hit !== undefined) return hit;
  const s = '0x' + (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0');
  if (++hex64Cached > 4096) {
    hex64Cache.clear();
    hex64Cached = 1;
    m = undefined;
  }
  if (!m) hex64Cache.set(hi, (m = new Map<number, string>()));
  m.set(lo, s);
  return s;
}

export function binaryHex(buf: Uint8Array, pos: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += HEX_UPPER[buf[pos + i]!];
  return s;
}

/**
 * GUID: Data1–3 little-endian, Data4 as stored, in braces as Windows (Event Viewer, wevtutil,
 * `evtxexport`) prints it and SigmaHQ's rules compare it: `{5770385F-C22A-43E0-BF4C-06F5698FFBD9}`.
 */
export function guid(b: Uint8Array, p: number): string {
  const h = HEX_UPPER;
  return (
    '{' +
    h[b[p + 3]!]! +
    h[b[p + 2]!] +
    h[b[p + 1]!] +
    h[b[p]!] +
    '-' +
    h[b[p + 5]!] +
    h[b[p + 4]!] +
    '-' +
    h[b[p + 7]!] +
    h[b[p + 6]!] +
    '-' +
    h[b[p + 8]!] +
    h[b[p + 9]!] +
    '-' +
    h[b[p + 10]!] +
    h[b[p + 11]!] +
    h[b[p + 12]!] +
    h[b[p + 13]!] +
    h[b[p + 14]!] +
    h[b[p + 15]!] +
    '}'
  );
}

/**
 * SID from `len` bytes: revision, sub-authority count, 48-bit big-endian authority, then
 * little-endian u32 sub-authorities. A SID cut short prints the sub-authorities that are present
 * (some providers log truncated SIDs; the record is still worth reading).
 */
export function sid(b: Uint8Array, p: number, len: number): string {
  if (len < 8) return 'S-?';
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + b[p + i]!;
  let s = `S-${b[p]!}-${authority}`;
  const count = b[p + 1]!;
  for (let i = 0, q = p + 8; i < count && q + 4 <= p + len; i++, q += 4) {
    s += '-' + ((b[q]! | (b[q + 1]! << 8) | (b[q + 2]! << 16) | (b[q + 3]! << 24)) >>> 0);
  }
  return s;
}

/** Byte length of a SID at `p` (8 + 4 per sub-authority). */
export function sidLength(b: Uint8Array, p: number): number {
  return 8 + 4 * b[p + 1]!;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : '' + n);

function ymd(year: number, month: number, day: number): string {
  const y = year < 0 ? '-' + String(-year).padStart(4, '0') : String(year).padStart(4, '0');
  return `${y}-${pad2(month)}-${pad2(day)}`;
}

// FILETIME counts 100 ns ticks since 1601-01-01; Unix time starts 11,644,473,600 s later.
const EPOCH_DELTA_S = 11644473600;
let lastDay = NaN;
let lastDayText = '';

/** Seconds since 1601 + microseconds → `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six digits). */
function formatSeconds1601(sec: number, micros: number): string {
  const day = Math.floor(sec / 86400);
  const sod = sec - day * 86400;
  // Records in one file share a handful of days: cache the date part.
  if (day !== lastDay) {
    const d = new Date((day * 86400 - EPOCH_DELTA_S) * 1000);
    lastDay = day;
    lastDayText = ymd(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
  }
  const hh = Math.floor(sod / 3600);
  const mm = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  return `${lastDayText}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}.${String(micros).padStart(6, '0')}Z`;
}

/** FILETIME (two u32 halves) → RFC 3339 UTC, truncated to microseconds like the evtx crate. */
export function filetime(lo: number, hi: number): string {
  if (hi < 0x10000000) {
    // For hi < 2^28 (dates before year 5255) ticks >> 7 stays below 2^53, so the split is exact:
    // ticks = v * 128 + r7, and 10^7 ticks per second = 128 * 78125.
    const v = hi * 33554432 + (lo >>> 7);
    const r7 = lo & 127;
    const sec = Math.floor(v / 78125);
    const ticks = (v - sec * 78125) * 128 + r7;
    return formatSeconds1601(sec, Math.floor(ticks / 10));
  }
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  return formatSeconds1601(Number(t / 10000000n), Number((t % 10000000n) / 10n));
}

/** SYSTEMTIME (8 × u16: year, month, weekday, day, hour, minute, second, ms). */
export function systemtime(dv: DataView, p: number): string {
  const g = (i: number): number => dv.getUint16(p + i * 2, true);
  const ms = g(7);
  return `${ymd(g(0), g(1), g(3))}T${pad2(g(4))}:${pad2(g(5))}:${pad2(g(6))}${ms ? '.' + String(ms).padStart(3, '0') : ''}Z`;
}
