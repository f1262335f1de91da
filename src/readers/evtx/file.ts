/**
 * Whole files: the file header, the list of chunks to read, and the two ways of reading them —
 * in this thread, one chunk at a time, or spread over worker threads. Either way chunks come
 * back in file order and at most a small window of chunks is in memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Codes, EvtxError } from './errors.js';
import { isEvtx, parseFileHeader, type FileHeader } from './headers.js';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from './limits.js';
import type { ChunkInfo } from './chunk.js';

/** A chunk to read: where it is and how to treat a bad one. */
export interface ChunkTask extends ChunkInfo {
  path: string;
  /** Bytes available for this chunk (less than 64 KiB when the file is cut short). */
  length: number;
}

/** What the reader found in a file's header, and the chunks it will read. */
export interface FilePlan {
  path: string;
  size: number;
  header: FileHeader;
  tasks: ChunkTask[];
}

/**
 * Check the first bytes of a file: the EVTX signature (else an error, and null) and the header
 * checksum (a warning when it does not match).
 */
export function checkHeader(path: string, head: Uint8Array, onError: (e: EvtxError) => void): FileHeader | null {
  if (head.length < 128 || !isEvtx(head)) {
    onError(new EvtxError(Codes.fileMagic, 'not an EVTX file (no ElfFile signature)', { file: path, offset: 0 }, 'file header'));
    return null;
  }
  const header = parseFileHeader(head);
  if (header.checksum !== header.computedChecksum) {
    onError(
      new EvtxError(
        Codes.fileChecksum,
        `file header CRC-32 is 0x${header.computedChecksum.toString(16)}, header says 0x${header.checksum.toString(16)}`,
        { file: path, offset: 124 },
        'file header',
        'warning',
      ),
    );
  }
  return header;
}

/**
 * A file cut short (a copy interrupted, a carved file) loses the chunks its header lists past
 * its end: say so, or their records would vanish without a word.
 */
export function checkChunkCount(path: string, size: number, present: number, header: FileHeader, onError: (e: EvtxError) => void): void {
  if (present >= header.chunkCount) return;
  const held = present === 0 ? 'it holds none of them' : `only ${present} ${present === 1 ? 'begins' : 'begin'} before it ends`;
  onError(
    new EvtxError(Codes.truncated, `the file ends at byte ${size}: its header lists ${header.chunkCount} chunk${header.chunkCount === 1 ? '' : 's'} and ${held}`, { file: path, offset: size }, 'file'),
  );
}

/**
 * Read and check a file header and list its chunks: every 64 KiB slot after the header, so
 * chunks past the header's count (a file not closed cleanly) are read when they hold a chunk.
 * Returns null, after reporting why, when the file cannot be read as EVTX.
 */
export async function planFile(path: string, onError: (e: EvtxError) => void): Promise<FilePlan | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    onError(new EvtxError(Codes.fileRead, `cannot open: ${(e as Error).message}`, { file: path, offset: 0 }, 'file'));
    return null;
  }
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(FILE_HEADER_SIZE);
    const { bytesRead } = await fh.read(head, 0, FILE_HEADER_SIZE, 0);
    const header = checkHeader(path, head.subarray(0, bytesRead), onError);
    if (!header) return null;
    const tasks: ChunkTask[] = [];
    for (let i = 0, off = FILE_HEADER_SIZE; off < size; i++, off += CHUNK_SIZE) {
      tasks.push({ path, file: path, chunk: i, fileOffset: off, length: Math.min(CHUNK_SIZE, size - off), beyondHeaderCount: i >= header.chunkCount });
    }
    checkChunkCount(path, size, tasks.length, header, onError);
    return { path, size, header, tasks };
  } catch (e) {
    onError(new EvtxError(Codes.fileRead, `cannot read: ${(e as Error).message}`, { file: path, offset: 0 }, 'file'));
    return null;
  } finally {
    await fh.close();
  }
}

/**
 * Run `exec` over `tasks` with at most `window` in flight, yielding results in task order.
 * This is what keeps parallel reading ordered and its memory bounded.
 */
export async function* ordered<T, R>(tasks: AsyncIterable<T>, exec: (t: T) => Promise<R>, window: number): AsyncGenerator<R> {
  const it = tasks[Symbol.asyncIterator]();
  const inflight: Promise<R>[] = [];
  let done = false;
  const refill = async (): Promise<void> => {
    while (!done && inflight.length < window) {
      const n = await it.next();
      if (n.done) done = true;
      else inflight.push(exec(n.value));
    }
  };
  try {
    await refill();
    while (inflight.length) {
      const r = await inflight.shift()!;
      await refill();
      yield r;
    }
  } finally {
    // Let abandoned work settle so no rejection goes unhandled.
    for (const p of inflight) p.catch(() => undefined);
    await it.return?.();
  }
}
