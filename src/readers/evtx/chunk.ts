/**
 * One 64 KiB chunk → its records, synchronously (so worker threads can run it). A chunk is
 * self-contained: names and templates are offsets inside it, so chunks parse independently and
 * in any order. A bad record becomes an error and the next record is read; a bad record header
 * ends the chunk (the next record's position is unknown); a bad checksum is a warning.
 */
import { Codes, DecodeError, EvtxError, type EvtxLocation } from './errors.js';
import { BinXmlParser } from './binxml.js';
import { filetime } from './format.js';
import { CHUNK_FLAG_NO_CRC32, chunkDataCrc, chunkHeaderCrc, isChunk, parseChunkHeader } from './headers.js';
import { toDocument } from './json.js';
import { CHUNK_HEADER_SIZE, CHUNK_SIZE, MIN_RECORD_SIZE, RECORD_HEADER_SIZE } from './limits.js';
import { resetBudget, resetChunkBudget, restoreBudget, saveBudget } from './resolve.js';
import { toXml } from './xml.js';

/** One event record. `doc` has the evtx crate's JSON shape: `{ Event: { System, EventData… } }`. */
export interface EvtxRecord {
  /** EventRecordID from the record header. */
  recordId: number;
  /** Record header time (when the record was written), RFC 3339 UTC with microseconds. */
  timestamp: string;
  /** The file it was read from. */
  file: string;
  /** Index of the chunk in the file (0-based). */
  chunk: number;
  /** Absolute byte offset of the record in the file. */
  offset: number;
  doc: { Event: Record<string, unknown> };
  /** The record as XML, when asked for (`xml: true`). */
  xml?: string;
}

export interface ChunkInfo {
  /** Path shown in errors. */
  file: string;
  /** Chunk index in the file. */
  chunk: number;
  /** Absolute offset of the chunk in the file. */
  fileOffset: number;
  /**
   * The chunk lies past the count in the file header. Such chunks are read when they hold a
   * valid chunk (a file not closed cleanly); otherwise they are slack space, not an error.
   */
  beyondHeaderCount?: boolean;
}

export interface ParseOptions {
  /** Also render each record as XML into `record.xml`. */
  xml?: boolean;
}

/** What a chunk yields, in order: records and the errors met between them. */
export type ChunkItem = EvtxRecord | EvtxError;

/**
 * What each record becomes: its document (the API; `doc+xml` adds `record.xml`), or only the
 * output line of `firebreak evtx dump` (`jsonl`, `xml`), in which case the record is a string.
 */
export type RecordMode = 'doc' | 'doc+xml' | 'jsonl' | 'xml';

const ZERO_CHUNK = Buffer.alloc(CHUNK_SIZE);

function allZero(buf: Uint8Array): boolean {
  // Buffer.equals is a native memcmp: zero chunks are common in pre-allocated files.
  return Buffer.from(buf.buffer, buf.byteOffset, buf.length).equals(ZERO_CHUNK.subarray(0, buf.length));
}

const isRecordMagic = (b: Uint8Array, p: number): boolean => b[p] === 0x2a && b[p + 1] === 0x2a && b[p + 2] === 0 && b[p + 3] === 0;

/**
 * Parse one chunk (`buf` is the whole 64 KiB). Never throws: every problem is an EvtxError in
 * the returned list. An all-zero chunk (pre-allocated, never written) yields nothing.
 */
export function parseChunk(buf: Uint8Array, info: ChunkInfo, opts: ParseOptions = {}): ChunkItem[] {
  return parseChunkAs(buf, info, opts.xml ? 'doc+xml' : 'doc') as ChunkItem[];
}

/** parseChunk, with each record made into what `mode` asks for. Never throws. */
export function parseChunkAs(buf: Uint8Array, info: ChunkInfo, mode: RecordMode): (ChunkItem | string)[] {
  return [...chunkRecords(buf, info, mode)];
}

/**
 * The chunk's items one at a time, parsed as they are asked for: each record's document can die
 * before the next is made (parsed eagerly, a chunk's hundreds of documents outlived young-
 * generation collections and were copied, then promoted). `buf` must not change until the
 * iteration ends. Never throws.
 */
export function* chunkRecords(buf: Uint8Array, info: ChunkInfo, mode: RecordMode): Generator<ChunkItem | string> {
  const where = (rel: number, record?: number): EvtxLocation => ({ file: info.file, chunk: info.chunk, record, offset: info.fileOffset + rel });
  try {
    if (buf.length < CHUNK_SIZE) {
      if (info.beyondHeaderCount) return;
      yield new EvtxError(Codes.chunkIncomplete, `chunk is ${buf.length} bytes, expected ${CHUNK_SIZE} (file truncated)`, where(0), 'chunk');
      return;
    }
    if (!isChunk(buf)) {
      if (!info.beyondHeaderCount && !allZero(buf)) yield new EvtxError(Codes.chunkMagic, 'chunk does not start with ElfChnk', where(0), 'chunk header');
      return;
    }
    const h = parseChunkHeader(buf);
    let limit = h.freeSpaceOffset;
    if (limit < CHUNK_HEADER_SIZE || limit > CHUNK_SIZE) {
      yield new EvtxError(Codes.chunkHeader, `free space offset ${limit} is outside the chunk; reading records up to the chunk end`, where(48), 'chunk header', 'warning');
      limit = CHUNK_SIZE;
    }
    if (!(h.flags & CHUNK_FLAG_NO_CRC32)) {
      const hc = chunkHeaderCrc(buf);
      if (hc !== h.headerChecksum) {
        yield new EvtxError(Codes.chunkHeaderChecksum, `chunk header CRC-32 is 0x${hc.toString(16)}, header says 0x${h.headerChecksum.toString(16)}`, where(124), 'chunk header', 'warning');
      }
      const dc = chunkDataCrc(buf, limit);
      if (dc !== h.dataChecksum) {
        yield new EvtxError(Codes.chunkDataChecksum, `record data CRC-32 is 0x${dc.toString(16)}, header says 0x${h.dataChecksum.toString(16)}`, where(52), 'chunk header', 'warning');
      }
    }
    yield* readRecords(buf, info, h.lastRecordId, limit, mode, where);
  } catch (e) {
    // Unreachable by design; kept so that a bug costs one chunk, never the whole file.
    yield new EvtxError('evtx.internal', `internal error: ${(e as Error)?.message ?? String(e)}`, where(0), 'chunk');
  }
}

/**
 * Yield one item of a chunk, keeping the chunk's expansion budget across the pause: another
 * chunk may be parsed in between (two readers interleaved in one thread).
 */
function* emit<T>(x: T): Generator<T> {
  const budget = saveBudget();
  yield x;
  restoreBudget(budget);
}

function* readRecords(buf: Uint8Array, info: ChunkInfo, lastRecordId: number, limit: number, mode: RecordMode, where: (rel: number, record?: number) => EvtxLocation): Generator<ChunkItem | string> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const parser = new BinXmlParser(buf);
  resetChunkBudget();
  resetBudget();
  let off = CHUNK_HEADER_SIZE;
  while (off < limit) {
    if (off + RECORD_HEADER_SIZE > CHUNK_SIZE) {
      yield* emit(new EvtxError(Codes.truncated, 'record header runs past the chunk end', where(off), 'record header'));
      return;
    }
    if (!isRecordMagic(buf, off)) {
      if (dv.getUint32(off, true) === 0) {
        // A writer that died between updating the chunk header and flushing the records
        // leaves zeros where the header promised records: the records simply end here.
        yield* emit(new EvtxError(Codes.recordsEndEarly, `records end at chunk offset ${off}, before the free-space offset ${limit}`, where(off), 'record header', 'warning'));
        return;
      }
      yield* emit(new EvtxError(Codes.recordMagic, 'record does not start with the **\\0\\0 signature', where(off), 'record header'));
      return;
    }
    const size = dv.getUint32(off + 4, true);
    const id = dv.getUint32(off + 12, true) * 4294967296 + dv.getUint32(off + 8, true);
    if (size < MIN_RECORD_SIZE) {
      yield* emit(new EvtxError(Codes.recordSize, `Invalid EVTX record data size, should be equals or greater than ${MIN_RECORD_SIZE}, found \`${size}\``, where(off + 4, id), 'record header'));
      return;
    }
    if (off + size > CHUNK_SIZE) {
      yield* emit(new EvtxError(Codes.recordSize, `record of ${size} bytes runs past the chunk end`, where(off + 4, id), 'record header'));
      return;
    }
    try {
      const nodes = parser.parseRecord(off + RECORD_HEADER_SIZE, off + size - 4);
      resetBudget();
      const doc = toDocument(nodes) as EvtxRecord['doc'];
      const eventRecordId = (doc.Event?.System as Record<string, unknown> | undefined)?.EventRecordID;
      if ((eventRecordId === 0 || eventRecordId === null) && id !== 0) {
        // A record whose header was written but whose values were not (all zeros): still
        // yielded, as the evtx crate does, but flagged. (A different non-zero id is normal:
        // exported logs renumber record headers and keep the original EventRecordID.)
        yield* emit(new EvtxError(Codes.recordUnwritten, `record ${id} holds zeroed values (EventRecordID ${String(eventRecordId)}): written only in part`, where(off + 8, id), 'record', 'warning'));
      }
      if (mode === 'jsonl') {
        // Measured: V8's native JSON.stringify over the built document beats writing the JSON
        // text from JavaScript (a streaming writer was 20% slower end to end, most of it in code
        // still cold on a collection of small files, where the native serialiser needs no warm-up).
        yield* emit(JSON.stringify(doc));
      } else if (mode === 'xml') {
        resetBudget();
        yield* emit(toXml(nodes));
      } else {
        const timestamp = filetime(dv.getUint32(off + 16, true), dv.getUint32(off + 20, true));
        const rec: EvtxRecord = { recordId: id, timestamp, file: info.file, chunk: info.chunk, offset: info.fileOffset + off, doc };
        if (mode === 'doc+xml') {
          resetBudget();
          rec.xml = toXml(nodes);
        }
        yield* emit(rec);
      }
    } catch (e) {
      if (e instanceof DecodeError) {
        yield* emit(new EvtxError(e.code, e.message, where(e.at > off ? e.at : off, id), e.what));
      } else {
        yield* emit(new EvtxError('evtx.internal', `internal error: ${(e as Error)?.message ?? String(e)}`, where(off, id), 'record'));
      }
    }
    // The chunk header names its last record; anything after it is slack space.
    if (id === lastRecordId) return;
    off += size;
  }
}
