/**
 * A segment file of the write-ahead log as the log keeps it in memory (base offset, durable size,
 * checkpoints), with the file-level helpers the log, its recovery and its readers share: naming,
 * creating, checkpoint lookups, full reads and directory syncs.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SEGMENT_HEADER_BYTES, segmentHeader } from './codec.js';
import { WalError } from './errors.js';

/** A position every `CHECKPOINT_BYTES` of segment data: lag in bytes and reader seeks use them. */
export const CHECKPOINT_BYTES = 64 * 1024;
export const READ_CHUNK_BYTES = 1024 * 1024;

export interface Segment {
  base: number;
  file: string;
  /** Durable bytes, header included. */
  size: number;
  /** Offset after the last durable record. */
  end: number;
  /** Flat pairs: offset, position of that record's frame. */
  checkpoints: number[];
}

/** The file name of the segment whose first record is `base`. */
export const segName = (base: number) => `${String(base).padStart(20, '0')}.wal`;

/** Creates an empty segment file starting at `base`, durably (file and directory synced). */
export async function createSegment(dir: string, base: number): Promise<Segment> {
  const file = segName(base);
  const fh = await open(join(dir, file), 'wx');
  try {
    await fh.write(segmentHeader(base), 0, SEGMENT_HEADER_BYTES, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await syncDir(dir);
  return { base, file, size: SEGMENT_HEADER_BYTES, end: base, checkpoints: [] };
}

/** A frame position at or before the record `offset` in `s` (a checkpoint). */
export function positionBefore(s: Segment, offset: number): number {
  let pos = SEGMENT_HEADER_BYTES;
  const cp = s.checkpoints;
  let lo = 0;
  let hi = cp.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp[mid * 2]! <= offset) {
      pos = cp[mid * 2 + 1]!;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return pos;
}

/** The offset of the record at the checkpoint `positionBefore` returned. */
export function offsetAtPosition(s: Segment, pos: number): number {
  if (pos === SEGMENT_HEADER_BYTES) return s.base;
  const cp = s.checkpoints;
  for (let i = 0; i < cp.length; i += 2) if (cp[i + 1] === pos) return cp[i]!;
  throw new WalError('wal-internal', `no checkpoint at position ${pos}`, s.file, pos);
}

/** Fills `buf` from `position`; running out of file first is a corrupt segment. */
export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (!bytesRead) throw new WalError('wal-corrupt', `unexpected end of segment at byte ${position + done}`, undefined, position + done);
    done += bytesRead;
  }
}

/** Syncs a directory, so that a created, renamed or deleted entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Size of a directory's segment files, for tests and health. */
export async function walDiskBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) if (f.endsWith('.wal')) n += (await stat(join(dir, f))).size;
  return n;
}
