/**
 * In-place decoding of base64, hex, percent- and Unicode-escaped text, one pass at a time, keeping for each
 * decoded segment where it came from so that a finding in decoded text is reported at its place
 * in the original file, with the chain of encodings that hid it.
 *
 * The model follows gitleaks' decoder (detect/codec) so that its decoding fixtures hold: each pass
 * finds encoded runs, replaces each with its decoded value, and records the segment's
 * predecessors (the segments of the previous pass) so positions map back through every layer.
 * Only printable ASCII results are kept: binary output is not text a rule could match.
 */

/** Bit flags of the encodings a segment went through (or-ed over layers). */
export const enum Encoding {
  Percent = 1,
  Unicode = 2,
  Hex = 4,
  Base64 = 8,
}

const ENCODING_NAMES: [Encoding, string][] = [
  [Encoding.Percent, 'percent'],
  [Encoding.Unicode, 'unicode'],
  [Encoding.Hex, 'hex'],
  [Encoding.Base64, 'base64'],
];

/** Names of the encodings in a bit set, in a fixed order. */
export function encodingNames(bits: number): string[] {
  return ENCODING_NAMES.filter(([b]) => bits & b).map(([, n]) => n);
}

/** A half-open range [start, end) of string offsets. */
export interface Span {
  start: number;
  end: number;
}

/** One decoded run. `original` is in the source text; `encoded`/`decoded` are in this pass. */
export interface Segment {
  predecessors: Segment[];
  original: Span;
  encoded: Span;
  decoded: Span;
  value: string;
  encodings: number;
  depth: number;
}

// Touching ranges count as overlapping: a match that ends where a decoded run starts is still
// considered part of it (gitleaks' convention, which its fixtures depend on).
function overlaps(a: Span, b: Span): boolean {
  return b.start <= a.end && b.end >= a.start;
}
function contains(a: Span, b: Span): boolean {
  return a.start <= b.start && b.end <= a.end;
}
function merge(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

// Precedence: percent encodings are partial (mixed into plain text) so they are undone first; a
// run that touches a higher-precedence run waits for the next pass.
const PRECEDENCE = [4, 3, 2, 1];
const KINDS = [Encoding.Percent, Encoding.Unicode, Encoding.Hex, Encoding.Base64];
// Alternation order is precedence order: at one position the partial encodings win.
/** The reference pattern (gitleaks'); findEncodedRuns is the fast equivalent, tested against it. */
export const ENCODED_RUN = /((?:%[0-9A-Fa-f]{2})+)|((?:U\+[a-fA-F0-9]{4}(?:[\t\n\f\r ]|$))+|(?:\\{1,2}[uU][a-fA-F0-9]{4})+)|([0-9A-Fa-f]{32,})|([\w/+-]{16,}={0,3})/g;

function isPrintable(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c <= 8 || c >= 127) return false;
  }
  return true;
}

const HEX_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VAL['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VAL['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function decodePercent(s: string): string {
  if (s.length % 3) return '';
  const out = new Uint8Array(s.length / 3);
  for (let i = 0; i < s.length; i += 3) out[i / 3] = (HEX_VAL[s.charCodeAt(i + 1)]! << 4) | HEX_VAL[s.charCodeAt(i + 2)]!;
  return isPrintable(out) ? Buffer.from(out).toString('latin1') : '';
}

function decodeHex(s: string): string {
  // A hex run with no digit is far more often a word than an encoding; skipping it saves work.
  if (s.length % 2 || !/[0-9]/.test(s)) return '';
  const out = Buffer.from(s, 'hex');
  return isPrintable(out) ? out.toString('latin1') : '';
}

const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_B64 = /^[A-Za-z0-9_-]*$/;

function decodeBase64(s: string): string {
  // Base64 of real data nearly always holds a digit or symbol; long identifiers rarely do.
  if (!/[0-9+/_-]/.test(s)) return '';
  let out: Buffer | null = null;
  if (STD_B64.test(s)) out = Buffer.from(s, 'base64');
  else if (URL_B64.test(s) && s.length % 4 !== 1) out = Buffer.from(s, 'base64url');
  return out && isPrintable(out) ? out.toString('latin1') : '';
}

// `U+0061 U+0062` (Unicode notation) and `\u0061` (JSON, JavaScript, Java escapes).
function decodeUnicode(s: string): string {
  let out = '';
  for (const m of s.matchAll(/(?:U\+|\\{1,2}[uU])([a-fA-F0-9]{4})/g)) out += String.fromCharCode(parseInt(m[1]!, 16));
  // Keep it in the latin1 domain of the scanner: code points above U+00FF become their UTF-8 bytes.
  return /[^\x00-\xff]/.test(out) ? Buffer.from(out, 'utf8').toString('latin1') : out;
}

const DECODERS = [decodePercent, decodeUnicode, decodeHex, decodeBase64];

// The partial encodings alone, tried only where one can start (sticky: at that position only).
const ESCAPE_RUN = /((?:%[0-9A-Fa-f]{2})+)|((?:U\+[a-fA-F0-9]{4}(?:[\t\n\f\r ]|$))+|(?:\\{1,2}[uU][a-fA-F0-9]{4})+)/y;

// Character classes for the run finder: bit 1 base64 `[\w/+-]`, bit 2 hex digit.
const CLS = new Uint8Array(65536);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/+-') CLS[c.charCodeAt(0)]! |= 1;
for (const c of '0123456789abcdefABCDEF') CLS[c.charCodeAt(0)]! |= 2;

/**
 * The runs ENCODED_RUN would match, found by a character loop: the same leftmost-first choice
 * at each position (percent, Unicode, hex, base64), but without trying a four-way alternation
 * at every byte of ordinary text, which made the regex the costliest part of a scan.
 */
export function findEncodedRuns(data: string): { start: number; end: number; kind: number }[] {
  const out: { start: number; end: number; kind: number }[] = [];
  const n = data.length;
  let i = 0;
  while (i < n) {
    const c = data.charCodeAt(i);
    if (c === 37 /* % */ || c === 85 /* U */ || c === 92 /* \ */) {
      ESCAPE_RUN.lastIndex = i;
      const m = ESCAPE_RUN.exec(data);
      if (m) {
        out.push({ start: i, end: i + m[0].length, kind: m[1] !== undefined ? 0 : 1 });
        i += m[0].length;
        continue;
      }
    }
    if (!(CLS[c]! & 1)) {
      i++;
      continue;
    }
    // A run of base64 characters from i; within it, the longest hex prefix.
    let j = i;
    while (j < n && CLS[data.charCodeAt(j)]! & 2) j++;
    const hexEnd = j;
    while (j < n && CLS[data.charCodeAt(j)]! & 1) j++;
    if (hexEnd - i >= 32) {
      out.push({ start: i, end: hexEnd, kind: 2 });
      i = hexEnd;
      continue;
    }
    if (j - i >= 16) {
      let e = j;
      while (e < n && e - j < 3 && data.charCodeAt(e) === 61) e++;
      out.push({ start: i, end: e, kind: 3 });
      i = e;
      continue;
    }
    // Too short from i; a later start inside this run is shorter still, except where a
    // Unicode `U+XXXX` begins inside it ('U' and '+' are base64 characters).
    let u = i + 1;
    while (u < j && !(data.charCodeAt(u) === 85 && data.charCodeAt(u + 1) === 43)) u++;
    i = u;
  }
  return out;
}

/** Decodes one pass at a time; keeps a cache because nested layers repeat the same runs. */
export class Decoder {
  private readonly cache = new Map<string, string>();

  /** Decode every encoded run of `data`; returns the new text and its segments (none: done). */
  decode(data: string, predecessors: Segment[]): { text: string; segments: Segment[] } {
    const segments = this.findSegments(data, predecessors);
    if (!segments.length) return { text: data, segments };
    let out = '';
    let at = 0;
    for (const seg of segments) {
      out += data.slice(at, seg.encoded.start) + seg.value;
      at = seg.encoded.end;
    }
    return { text: out + data.slice(at), segments };
  }

  private findSegments(data: string, predecessors: Segment[]): Segment[] {
    const matches = findEncodedRuns(data);
    const segments: Segment[] = [];
    let shift = 0;
    matches.forEach((m, i) => {
      const prev = matches[i - 1];
      const next = matches[i + 1];
      if (prev && prev.end === m.start && PRECEDENCE[prev.kind]! > PRECEDENCE[m.kind]!) return;
      if (next && m.end === next.start && PRECEDENCE[next.kind]! > PRECEDENCE[m.kind]!) return;
      const encodedValue = data.slice(m.start, m.end);
      let value = this.cache.get(encodedValue);
      if (value === undefined) {
        value = DECODERS[m.kind]!(encodedValue);
        this.cache.set(encodedValue, value);
      }
      if (!value || value === encodedValue) return;
      const seg: Segment = {
        predecessors,
        original: { start: 0, end: 0 },
        encoded: { start: m.start, end: m.end },
        decoded: { start: m.start + shift, end: m.start + shift + value.length },
        value,
        encodings: KINDS[m.kind]!,
        depth: 1,
      };
      shift += value.length - encodedValue.length;
      if (!predecessors.length) {
        seg.original = seg.encoded;
      } else {
        seg.depth = 1 + predecessors[0]!.depth;
        let orig: Span | null = null;
        for (const p of predecessors) {
          if (!overlaps(seg.encoded, p.decoded)) continue;
          seg.encodings |= p.encodings;
          const o = toOriginal(p, seg.encoded);
          orig = orig ? merge(orig, o) : o;
        }
        if (orig) seg.original = orig;
      }
      segments.push(seg);
    });
    return segments;
  }
}

/** Map a range in a segment's decoded pass back to the original text. */
function toOriginal(seg: Segment, r: Span): Span {
  if (contains(seg.decoded, r)) return seg.original;
  // The range reaches outside the decoded run: shift it into the previous pass's coordinates
  // by how far it overflows, then map through the predecessors that cover it.
  const m = merge(seg.decoded, r);
  const relative = { start: seg.encoded.start + (m.start - seg.decoded.start), end: seg.encoded.end + (m.end - seg.decoded.end) };
  let orig: Span | null = null;
  for (const p of seg.predecessors) {
    if (!overlaps(p.decoded, relative)) continue;
    const o = toOriginal(p, relative);
    orig = orig ? merge(orig, o) : o;
  }
  return orig ?? relative;
}

/** Segments of the current pass whose decoded range touches [start, end). */
export function segmentsOverlapping(segments: Segment[], start: number, end: number): Segment[] {
  const r = { start, end };
  return segments.filter((s) => overlaps(s.decoded, r));
}

/** The original-text range of a match found in decoded text. */
export function adjustToOriginal(segments: Segment[], start: number, end: number): Span {
  const r = { start, end };
  let out = toOriginal(segments[0]!, r);
  for (let i = 1; i < segments.length; i++) out = merge(out, toOriginal(segments[i]!, r));
  return out;
}

/** The decode chain of a match (`base64`, `hex`…) and the number of passes it took. */
export function decodeTags(segments: Segment[]): { chain: string[]; depth: number } {
  let bits = 0;
  for (const s of segments) bits |= s.encodings;
  return { chain: encodingNames(bits), depth: segments[0]?.depth ?? 0 };
}

/** The decoded line(s) around the segments, for allowlists that target the line. */
export function decodedLine(segments: Segment[], text: string): string {
  let r = segments[0]!.decoded;
  for (let i = 1; i < segments.length; i++) r = merge(r, segments[i]!.decoded);
  const s = text.lastIndexOf('\n', Math.min(r.start, text.length - 1));
  let e = text.indexOf('\n', r.end);
  if (e < 0) e = text.length;
  return text.slice(s < 0 ? 0 : s, e);
}
