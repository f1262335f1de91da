/**
 * A bounds-checked little-endian cursor over a chunk buffer. Every read names what it reads, so
 * a truncated or corrupt structure becomes a DecodeError saying what was wanted, where, and how
 * many bytes were needed versus available. Reads return views or numbers, never copies.
 */
import { Codes, DecodeError } from './errors.js';

const utf16 = new TextDecoder('utf-16le');

/** Decode `chars` UTF-16LE code units at `pos` (no bounds check: callers check first). */
export function decodeUtf16(buf: Uint8Array, pos: number, chars: number): string {
  // Short strings (element names, small values) are cheaper to build by hand than through a
  // TextDecoder call; long ones go through the decoder.
  if (chars <= 24) {
    let s = '';
    for (let i = 0; i < chars; i++, pos += 2) s += String.fromCharCode(buf[pos]! | (buf[pos + 1]! << 8));
    return s;
  }
  return utf16.decode(buf.subarray(pos, pos + chars * 2));
}

export class Cursor {
  readonly dv: DataView;

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    /** Reads may not go past this offset (the end of the record, template or value). */
    public end: number = buf.length,
    /** A view of `buf` to share (making one per cursor costs more than the reads). */
    dv?: DataView,
  ) {
    this.dv = dv ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Throw unless `n` more bytes are available. */
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(Codes.truncated, `${what}: need ${n} bytes at chunk offset ${this.pos}, have ${Math.max(0, this.end - this.pos)}`, this.pos, what);
    }
  }

  u8(what: string): number {
    if (this.pos + 1 > this.end) this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    if (this.pos + 2 > this.end) this.need(2, what);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    if (this.pos + 4 > this.end) this.need(4, what);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A view of the next `n` bytes (not a copy). */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** `chars` UTF-16LE code units. */
  utf16(chars: number, what: string): string {
    this.need(chars * 2, what);
    const s = decodeUtf16(this.buf, this.pos, chars);
    this.pos += chars * 2;
    return s;
  }

  /** A UTF-16 string prefixed by its u16 length in code units. */
  lenPrefixedUtf16(what: string): string {
    return this.utf16(this.u16(what), what);
  }
}
