/**
 * The write-ahead log's on-disk encoding: segment headers, frames and record payloads.
 *
 * Segment file: a 16-byte header (`FBWALSG1` + the first record's offset, u64 LE), then frames.
 * Frame: payload length (u32 LE), CRC-32 of offset bytes + payload (u32 LE), offset (u64 LE),
 * payload. The CRC covers the offset, so a frame copied to the wrong place does not check out.
 * Payload: version (u8 = 1), protocol code (u8), kind (u8), receivedAt (f64 LE), source length
 * (u16 LE) + UTF-8, metadata length (u32 LE) + JSON (0 = none), then the body as UTF-8 to the end.
 */
import { crc32 } from 'node:zlib';
import { INGEST_PROTOCOLS, type IngestMeta, type IngestRecord } from '../record.js';

export const SEGMENT_MAGIC = Buffer.from('FBWALSG1', 'latin1');
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 16;
const PAYLOAD_VERSION = 1;

/** Encodes a record's payload (everything but the frame header). */
export function encodePayload(r: IngestRecord): Buffer {
  const source = Buffer.from(r.source, 'utf8');
  if (source.length > 0xffff) throw new RangeError(`source name is ${source.length} bytes; the limit is 65535`);
  const meta = r.meta && Object.keys(r.meta).length ? Buffer.from(JSON.stringify(r.meta), 'utf8') : null;
  const bodyBytes = Buffer.byteLength(r.body, 'utf8');
  const head = 1 + 1 + 1 + 8 + 2 + source.length + 4 + (meta?.length ?? 0);
  const out = Buffer.allocUnsafe(head + bodyBytes);
  let p = 0;
  out[p++] = PAYLOAD_VERSION;
  out[p++] = INGEST_PROTOCOLS.indexOf(r.protocol);
  out[p++] = r.kind === 'json' ? 0 : 1;
  out.writeDoubleLE(r.receivedAt, p);
  p += 8;
  out.writeUInt16LE(source.length, p);
  p += 2;
  source.copy(out, p);
  p += source.length;
  out.writeUInt32LE(meta?.length ?? 0, p);
  p += 4;
  if (meta) {
    meta.copy(out, p);
    p += meta.length;
  }
  out.write(r.body, p, 'utf8');
  return out;
}

/** Decodes a payload written by `encodePayload`; throws a plain Error naming what is wrong. */
export function decodePayload(b: Buffer): IngestRecord {
  if (b.length < 17) throw new Error(`payload of ${b.length} bytes is shorter than its fixed fields`);
  if (b[0] !== PAYLOAD_VERSION) throw new Error(`unknown payload version ${b[0]}`);
  const protocol = INGEST_PROTOCOLS[b[1]!];
  if (!protocol) throw new Error(`unknown protocol code ${b[1]}`);
  const kind = b[2] === 0 ? 'json' : b[2] === 1 ? 'text' : null;
  if (!kind) throw new Error(`unknown record kind ${b[2]}`);
  const receivedAt = b.readDoubleLE(3);
  let p = 11;
  const sl = b.readUInt16LE(p);
  p += 2;
  if (p + sl + 4 > b.length) throw new Error('source name runs past the payload');
  const source = b.toString('utf8', p, p + sl);
  p += sl;
  const ml = b.readUInt32LE(p);
  p += 4;
  if (p + ml > b.length) throw new Error('metadata runs past the payload');
  const rec: IngestRecord = { source, protocol, receivedAt, kind, body: '' };
  if (ml) rec.meta = JSON.parse(b.toString('utf8', p, p + ml)) as IngestMeta;
  p += ml;
  rec.body = b.toString('utf8', p);
  return rec;
}

/** The segment file header for a segment whose first record has offset `base`. */
export function segmentHeader(base: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(h, 0);
  h.writeBigUInt64LE(BigInt(base), 8);
  return h;
}

/** The base offset in a segment header, or null when the header is not one of ours. */
export function readSegmentHeader(h: Buffer): number | null {
  if (h.length < SEGMENT_HEADER_BYTES || !h.subarray(0, 8).equals(SEGMENT_MAGIC)) return null;
  return Number(h.readBigUInt64LE(8));
}

/** A frame header for `payload` at `offset`. */
export function frameHeader(offset: number, payload: Buffer): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUInt32LE(payload.length, 0);
  h.writeBigUInt64LE(BigInt(offset), 8);
  h.writeUInt32LE(crc32(payload, crc32(h.subarray(8, 16))), 4);
  return h;
}

/** The outcome of checking one frame in a buffer. */
export type FrameCheck = { ok: true; offset: number; payloadStart: number; end: number } | { ok: false; reason: 'incomplete'; need: number } | { ok: false; reason: 'corrupt'; message: string };

/**
 * Checks the frame at `pos` in `buf`: complete, within the size limit, checksum good, offset as
 * expected. `need` is the bytes from `pos` the frame needs when the buffer holds too few.
 */
export function checkFrame(buf: Buffer, pos: number, expectedOffset: number, maxPayload: number): FrameCheck {
  if (buf.length - pos < FRAME_HEADER_BYTES) return { ok: false, reason: 'incomplete', need: FRAME_HEADER_BYTES };
  const len = buf.readUInt32LE(pos);
  if (len > maxPayload) return { ok: false, reason: 'corrupt', message: `frame length ${len} exceeds the ${maxPayload}-byte limit` };
  const end = pos + FRAME_HEADER_BYTES + len;
  if (buf.length < end) return { ok: false, reason: 'incomplete', need: FRAME_HEADER_BYTES + len };
  const crc = buf.readUInt32LE(pos + 4);
  const actual = crc32(buf.subarray(pos + FRAME_HEADER_BYTES, end), crc32(buf.subarray(pos + 8, pos + 16)));
  if (crc !== actual) return { ok: false, reason: 'corrupt', message: `checksum mismatch (stored ${crc.toString(16)}, computed ${actual.toString(16)})` };
  const offset = Number(buf.readBigUInt64LE(pos + 8));
  if (offset !== expectedOffset) return { ok: false, reason: 'corrupt', message: `frame holds offset ${offset}, expected ${expectedOffset}` };
  return { ok: true, offset, payloadStart: pos + FRAME_HEADER_BYTES, end };
}
