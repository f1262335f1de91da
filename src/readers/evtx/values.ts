/**
 * Decoding of BinXML typed values: the sized ones that follow a template instance (the
 * substitution array) and the self-delimiting ones of a Value token. Integers and booleans stay
 * numbers; every other type is turned into its text form at once (format.ts), since that text is
 * what both the JSON document and the XML show.
 */
import { Cursor, decodeUtf16 } from './cursor.js';
import { Codes, DecodeError } from './errors.js';
import { binaryHex, filetime, guid, hex32, hex64, sid, sidLength, systemtime } from './format.js';
import { ArrayValue, T, type Node, type Scalar, type Value } from './ir.js';

/** Parses nested BinXML fragments: `[c.pos, end)`, or up to the end-of-stream token when end = -1. */
export interface NestedParser {
  fragment(c: Cursor, end: number, inTemplate: boolean, depth: number): Node[];
}

/** Natural width of fixed-size types; 0 for variable-size ones. */
const WIDTH: Record<number, number> = {
  [T.Int8]: 1,
  [T.UInt8]: 1,
  [T.Int16]: 2,
  [T.UInt16]: 2,
  [T.Int32]: 4,
  [T.UInt32]: 4,
  [T.Int64]: 8,
  [T.UInt64]: 8,
  [T.Real32]: 4,
  [T.Real64]: 8,
  [T.Bool]: 4,
  [T.Guid]: 16,
  [T.FileTime]: 8,
  [T.SysTime]: 16,
  [T.HexInt32]: 4,
  [T.HexInt64]: 8,
};

function i64(dv: DataView, p: number): number | bigint {
  const hi = dv.getInt32(p + 4, true);
  const lo = dv.getUint32(p, true);
  return hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + lo : dv.getBigInt64(p, true);
}

function u64(dv: DataView, p: number): number | bigint {
  const hi = dv.getUint32(p + 4, true);
  return hi < 0x200000 ? hi * 4294967296 + dv.getUint32(p, true) : dv.getBigUint64(p, true);
}

/** Decode one fixed-width scalar at `p` (bounds already checked). */
function fixed(c: Cursor, type: number, p: number): Scalar {
  const dv = c.dv;
  switch (type) {
    case T.Int8:
      return dv.getInt8(p);
    case T.UInt8:
      return c.buf[p]!;
    case T.Int16:
      return dv.getInt16(p, true);
    case T.UInt16:
      return dv.getUint16(p, true);
    case T.Int32:
      return dv.getInt32(p, true);
    case T.UInt32:
      return dv.getUint32(p, true);
    case T.Int64:
      return i64(dv, p);
    case T.UInt64:
      return u64(dv, p);
    case T.Real32:
      return dv.getFloat32(p, true);
    case T.Real64:
      return dv.getFloat64(p, true);
    // Windows writes BOOL as a 32-bit integer; any non-zero value is true (seen: 0x2, 0xff).
    case T.Bool:
      return dv.getInt32(p, true) !== 0;
    case T.Guid:
      return guid(c.buf, p);
    case T.FileTime:
      return filetime(dv.getUint32(p, true), dv.getUint32(p + 4, true));
    case T.SysTime:
      return systemtime(dv, p);
    case T.HexInt32:
      return hex32(dv.getUint32(p, true));
    case T.HexInt64:
      return hex64(dv.getUint32(p, true), dv.getUint32(p + 4, true));
    default:
      throw new Error(`not a fixed-width type ${type}`);
  }
}

/** UTF-16 text of `bytes` bytes, cut at the first NUL (Windows pads and terminates strings). */
function utf16Until0(buf: Uint8Array, p: number, bytes: number): string {
  const n = bytes >> 1;
  let len = 0;
  while (len < n && (buf[p + len * 2]! | buf[p + len * 2 + 1]!) !== 0) len++;
  return decodeUtf16(buf, p, len);
}

// Code page 1252 differs from Latin-1 only in 0x80–0x9F; undefined bytes map to U+FFFD.
const CP1252_HIGH =
  '\u20ac\ufffd\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\ufffd\u017d\ufffd\ufffd\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\ufffd\u017e\u0178';

/** ANSI (code page 1252) text, decoded by hand; NUL bytes, used as padding, are dropped. */
function ansiText(buf: Uint8Array, p: number, bytes: number): string {
  let s = '';
  for (let i = p; i < p + bytes; i++) {
    const b = buf[i]!;
    if (b === 0) continue;
    s += b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : String.fromCharCode(b);
  }
  return s;
}

// Rust's `char::is_whitespace` set (Unicode White_Space), which the evtx crate trims from the end
// of string values; JavaScript's \s differs (it has U+FEFF, lacks U+0085).
const TRAILING_WS = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

/**
 * A string substitution. Trailing whitespace is dropped, as the evtx crate (0.8.5 on) does and
 * as the SigmaHQ regression twins show: Windows pads some values (`"Advapi  "`, command lines
 * ending in a space), and rules are written against the trimmed text.
 */
function substString(buf: Uint8Array, p: number, bytes: number): string {
  return trimTrailingWhitespace(utf16Until0(buf, p, bytes));
}

/** Drop trailing whitespace as the evtx crate does (other readers of Windows events share it). */
export function trimTrailingWhitespace(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return last <= 0x20 || last === 0x85 || last === 0xa0 || last >= 0x1680 ? s.replace(TRAILING_WS, '') : s;
}

/** NUL-separated UTF-16 strings filling `bytes` bytes. */
function utf16List(buf: Uint8Array, p: number, bytes: number): string[] {
  const out: string[] = [];
  const end = p + (bytes & ~1);
  let start = p;
  for (let q = p; q < end; q += 2) {
    if ((buf[q]! | buf[q + 1]!) === 0) {
      out.push(decodeUtf16(buf, start, (q - start) >> 1));
      start = q + 2;
    }
  }
  if (start < end) out.push(decodeUtf16(buf, start, (end - start) >> 1));
  return out;
}

function sizeT(c: Cursor, p: number, size: number): string {
  return size <= 4 ? hex32(c.dv.getUint32(p, true)) : hex64(c.dv.getUint32(p, true), c.dv.getUint32(p + 4, true));
}

/**
 * A substitution value of `size` bytes at the cursor; the cursor ends after it. Arrays print as
 * their items joined by commas, as the evtx crate and Event Viewer show them.
 */
export function readSized(c: Cursor, type: number, size: number, nested: NestedParser, depth: number): Value {
  const start = c.pos;
  if (start + size > c.end) c.need(size, 'substitution value');
  const buf = c.buf;
  let v: Value;
  switch (type) {
    case T.Null:
      v = null;
      break;
    case T.String:
      v = substString(buf, start, size);
      break;
    case T.AnsiString:
      v = ansiText(buf, start, size);
      break;
    case T.Binary:
      v = binaryHex(buf, start, size);
      break;
    case T.Sid:
      v = sid(buf, start, size);
      break;
    case T.SizeT:
      if (size < 4) throw new DecodeError(Codes.binxmlValue, `SizeT value of ${size} bytes`, start, 'substitution value');
      v = sizeT(c, start, size);
      break;
    case T.BinXml:
      v = size === 0 ? null : nested.fragment(new Cursor(buf, start, start + size, c.dv), start + size, false, depth);
      break;
    case T.EvtXml:
      // An XML document stored as text; kept verbatim.
      v = utf16Until0(buf, start, size);
      break;
    case T.EvtHandle:
      // A handle is an opaque integer; print it like Windows prints pointers.
      v = size >= 8 ? hex64(c.dv.getUint32(start, true), c.dv.getUint32(start + 4, true)) : size >= 4 ? hex32(c.dv.getUint32(start, true)) : null;
      break;
    default:
      v = type & T.Array ? readArray(c, type & 0x7f, start, size) : readFixedSized(c, type, start, size);
  }
  c.pos = start + size;
  return v;
}

function readFixedSized(c: Cursor, type: number, start: number, size: number): Value {
  const w = WIDTH[type];
  if (w === undefined) throw new DecodeError(Codes.binxmlValue, `unknown value type 0x${type.toString(16)}`, start, 'substitution value');
  if (size === 0) return null;
  // A value shorter than its type (seen in dirty files) cannot be read without reading its
  // neighbour's bytes: it is an error for this record, not a guess.
  if (size < w) throw new DecodeError(Codes.binxmlValue, `value of type 0x${type.toString(16)} needs ${w} bytes, has ${size}`, start, 'substitution value');
  return fixed(c, type, start);
}

function readArray(c: Cursor, base: number, start: number, size: number): ArrayValue {
  const buf = c.buf;
  const items: Scalar[] = [];
  const end = start + size;
  switch (base) {
    case T.String:
      return new ArrayValue(utf16List(buf, start, size));
    case T.AnsiString: {
      let s = start;
      for (let q = start; q < end; q++) {
        if (buf[q] !== 0) continue;
        items.push(ansiText(buf, s, q - s));
        s = q + 1;
      }
      if (s < end) items.push(ansiText(buf, s, end - s));
      break;
    }
    case T.Binary:
      items.push(binaryHex(buf, start, size));
      break;
    case T.Sid:
      for (let p = start; p + 8 <= end;) {
        const n = Math.min(sidLength(buf, p), end - p);
        items.push(sid(buf, p, n));
        p += n;
      }
      break;
    case T.SizeT: {
      const w = size % 8 === 0 ? 8 : 4;
      for (let p = start; p + w <= end; p += w) items.push(sizeT(c, p, w));
      break;
    }
    default: {
      const w = WIDTH[base];
      if (w === undefined) throw new DecodeError(Codes.binxmlValue, `unknown array type 0x${(base | T.Array).toString(16)}`, start, 'substitution value');
      for (let p = start; p + w <= end; p += w) items.push(fixed(c, base, p));
    }
  }
  return new ArrayValue(items);
}

/** The value of a Value token: a type byte then a self-delimiting value. */
export function readUnsized(c: Cursor, type: number, nested: NestedParser, depth: number): Value {
  switch (type) {
    case T.Null:
      return null;
    case T.String:
      return c.lenPrefixedUtf16('string value');
    case T.AnsiString: {
      const n = c.u16('ansi string length');
      return ansiText(c.take(n, 'ansi string'), 0, n);
    }
    case T.Sid: {
      c.need(8, 'SID');
      const n = sidLength(c.buf, c.pos);
      c.need(n, 'SID');
      const v = sid(c.buf, c.pos, n);
      c.pos += n;
      return v;
    }
    case T.Binary: {
      const n = c.u32('binary length');
      c.need(n, 'binary value');
      const v = binaryHex(c.buf, c.pos, n);
      c.pos += n;
      return v;
    }
    case T.SizeT: {
      c.need(8, 'SizeT value');
      const v = sizeT(c, c.pos, 8);
      c.pos += 8;
      return v;
    }
    case T.BinXml:
      return nested.fragment(c, -1, false, depth);
    default: {
      const w = WIDTH[type];
      if (w === undefined) throw new DecodeError(Codes.binxmlValue, `unsupported value type 0x${type.toString(16)} in a Value token`, c.pos, 'value token');
      c.need(w, 'value token');
      const v = fixed(c, type, c.pos);
      c.pos += w;
      return v;
    }
  }
}
