/**
 * The EVTX file header (first 4 KiB) and chunk headers (first 512 bytes of each 64 KiB chunk),
 * with their CRC-32 checks. Layouts from libyal's "Windows XML Event Log (EVTX)" format notes.
 */
import { crc32 } from './crc32.js';
import { CHUNK_HEADER_SIZE } from './limits.js';

const FILE_MAGIC = [0x45, 0x6c, 0x66, 0x46, 0x69, 0x6c, 0x65, 0x00]; // "ElfFile\0"
const CHUNK_MAGIC = [0x45, 0x6c, 0x66, 0x43, 0x68, 0x6e, 0x6b, 0x00]; // "ElfChnk\0"

/** Chunk flag: the chunk carries no CRC-32 values (seen in some exported logs). */
export const CHUNK_FLAG_NO_CRC32 = 0x4;

function hasMagic(buf: Uint8Array, magic: number[], at = 0): boolean {
  if (buf.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (buf[at + i] !== magic[i]) return false;
  return true;
}

/** True when `head` starts with the EVTX file signature `ElfFile\0`. */
export function isEvtx(head: Uint8Array): boolean {
  return hasMagic(head, FILE_MAGIC);
}

export function isChunk(buf: Uint8Array): boolean {
  return hasMagic(buf, CHUNK_MAGIC);
}

export interface FileHeader {
  firstChunk: number;
  lastChunk: number;
  nextRecordId: number;
  headerSize: number;
  minorVersion: number;
  majorVersion: number;
  headerBlockSize: number;
  chunkCount: number;
  flags: number;
  checksum: number;
  /** CRC-32 of the first 120 bytes, which `checksum` should equal. */
  computedChecksum: number;
}

function u64(dv: DataView, at: number): number {
  // Chunk numbers and record ids fit in 53 bits in any real file; larger values stay approximate.
  return dv.getUint32(at + 4, true) * 4294967296 + dv.getUint32(at, true);
}

/** Parse the first 128 bytes of a file (the caller has checked the magic and the length). */
export function parseFileHeader(buf: Uint8Array): FileHeader {
  const dv = new DataView(buf.buffer, buf.byteOffset, 128);
  return {
    firstChunk: u64(dv, 8),
    lastChunk: u64(dv, 16),
    nextRecordId: u64(dv, 24),
    headerSize: dv.getUint32(32, true),
    minorVersion: dv.getUint16(36, true),
    majorVersion: dv.getUint16(38, true),
    headerBlockSize: dv.getUint16(40, true),
    chunkCount: dv.getUint16(42, true),
    flags: dv.getUint32(120, true),
    checksum: dv.getUint32(124, true),
    computedChecksum: crc32(buf.subarray(0, 120)),
  };
}

export interface ChunkHeader {
  firstRecordNumber: number;
  lastRecordNumber: number;
  firstRecordId: number;
  lastRecordId: number;
  headerSize: number;
  lastRecordOffset: number;
  freeSpaceOffset: number;
  dataChecksum: number;
  flags: number;
  headerChecksum: number;
}

/** Parse a chunk header (the caller has checked the magic; `buf` is a whole chunk). */
export function parseChunkHeader(buf: Uint8Array): ChunkHeader {
  const dv = new DataView(buf.buffer, buf.byteOffset, CHUNK_HEADER_SIZE);
  return {
    firstRecordNumber: u64(dv, 8),
    lastRecordNumber: u64(dv, 16),
    firstRecordId: u64(dv, 24),
    lastRecordId: u64(dv, 32),
    headerSize: dv.getUint32(40, true),
    lastRecordOffset: dv.getUint32(44, true),
    freeSpaceOffset: dv.getUint32(48, true),
    dataChecksum: dv.getUint32(52, true),
    flags: dv.getUint32(120, true),
    headerChecksum: dv.getUint32(124, true),
  };
}

/** CRC-32 over chunk header bytes 0–120 and 128–512 (the checksum field itself is skipped). */
export function chunkHeaderCrc(buf: Uint8Array): number {
  return crc32(buf.subarray(128, CHUNK_HEADER_SIZE), crc32(buf.subarray(0, 120)));
}

/** CRC-32 over the record area, from the end of the chunk header to the free-space offset. */
export function chunkDataCrc(buf: Uint8Array, freeSpaceOffset: number): number {
  return crc32(buf.subarray(CHUNK_HEADER_SIZE, Math.min(freeSpaceOffset, buf.length)));
}
