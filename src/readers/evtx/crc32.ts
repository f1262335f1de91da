/** CRC-32 (IEEE 802.3, as zlib), which EVTX uses for its header, chunk and record checksums. */
import * as zlib from 'node:zlib';

// Built on first use: with zlib.crc32 (below) it never is, and start-up skips the loop.
let TABLE: Int32Array | undefined;

function table(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

function crc32Js(buf: Uint8Array, crc: number): number {
  const TABLE_ = (TABLE ??= table());
  let c = ~crc;
  for (let i = 0; i < buf.length; i++) c = TABLE_[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// zlib.crc32 (native, Node >= 20.15) is an order of magnitude faster than the table loop.
const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `buf`, continuing from `crc` (0 to start). */
export function crc32(buf: Uint8Array, crc = 0): number {
  return native ? native(buf, crc) >>> 0 : crc32Js(buf, crc);
}
