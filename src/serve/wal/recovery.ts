/**
 * Recovery of the write-ahead log at open: scans every segment frame by frame, cuts a torn or
 * corrupt tail off the last one (a crash can tear nothing else), checks that segments and the
 * committed offset line up, and removes segments a crash left behind after a commit.
 */
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFrame, readSegmentHeader, SEGMENT_HEADER_BYTES } from './codec.js';
import { WalError } from './errors.js';
import { CHECKPOINT_BYTES, createSegment, READ_CHUNK_BYTES, segName, type Segment } from './segment.js';

/** What recovery at open found. */
export interface WalRecovery {
  segments: number;
  /** Records found in the log at open (from the oldest kept segment). */
  records: number;
  /** A torn or corrupt tail that was cut off, or null. */
  truncated: { file: string; position: number; bytes: number; reason: string } | null;
  /** Files removed at open: fully committed segments, an empty segment left by a crash. */
  removed: string[];
}

/**
 * Reads the segments in `dir` against the committed offset `committed`, repairing what a crash
 * may have left; returns them oldest first (at least one: an empty log gets its first segment).
 */
export async function recoverSegments(dir: string, committed: number, frameMaxBytes: number, warn: (m: string) => void): Promise<{ segments: Segment[]; recovery: WalRecovery }> {
  const recovery: WalRecovery = { segments: 0, records: 0, truncated: null, removed: [] };
  const segments: Segment[] = [];
  const names = (await readdir(dir)).filter((n) => /^\d{20}\.wal$/.test(n)).sort();
  for (let i = 0; i < names.length; i++) {
    const last = i === names.length - 1;
    const seg = await scanSegment(dir, names[i]!, last, frameMaxBytes, recovery, warn);
    if (!seg) continue;
    const prev = segments[segments.length - 1];
    if (prev && prev.end !== seg.base) {
      throw new WalError('wal-gap', `segment ${seg.file} starts at offset ${seg.base} but the previous one ends at ${prev.end}: records are missing`, seg.file);
    }
    segments.push(seg);
  }
  const lastSeg = segments[segments.length - 1];
  if (lastSeg && committed > lastSeg.end) {
    throw new WalError('wal-commit-ahead', `the committed offset ${committed} is beyond the log's last record (${lastSeg.end - 1}): segment files are missing`, 'commit');
  }
  if (lastSeg && committed < segments[0]!.base) {
    throw new WalError('wal-gap', `the committed offset ${committed} is below the oldest segment (${segments[0]!.base}): uncommitted records were deleted`, segments[0]!.file);
  }
  // Segments wholly below the committed offset (a crash between commit and delete).
  while (segments.length > 1 && segments[0]!.end <= committed) {
    const s = segments.shift()!;
    await rm(join(dir, s.file), { force: true });
    recovery.removed.push(s.file);
  }
  if (!segments.length) {
    const s = await createSegment(dir, committed);
    segments.push(s);
  }
  return { segments, recovery };
}

/** Reads and checks one segment; cuts a torn tail when it is the last one (noted in `recovery`). */
async function scanSegment(dir: string, file: string, last: boolean, frameMaxBytes: number, recovery: WalRecovery, warn: (m: string) => void): Promise<Segment | null> {
  const path = join(dir, file);
  const fh = await open(path, last ? 'r+' : 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
    const base = bytesRead === SEGMENT_HEADER_BYTES ? readSegmentHeader(head) : null;
    if (base === null || segName(base) !== file) {
      if (last && size <= SEGMENT_HEADER_BYTES) {
        // Created just before a crash, header not (fully) written: it never held a record.
        await fh.close();
        await rm(path, { force: true });
        recovery.removed.push(file);
        return null;
      }
      throw new WalError('wal-corrupt', `segment ${file} has no valid header`, file, 0);
    }
    const seg: Segment = { base, file, size: SEGMENT_HEADER_BYTES, end: base, checkpoints: [] };
    let buf = Buffer.alloc(0);
    let bufPos = SEGMENT_HEADER_BYTES; // file position of buf[0]
    let filePos = SEGMENT_HEADER_BYTES;
    let lastCp = -CHECKPOINT_BYTES;
    let bad: string | null = null;
    for (;;) {
      let p = seg.size - bufPos;
      let need = 0;
      while (true) {
        const c = checkFrame(buf, p, seg.end, frameMaxBytes);
        if (!c.ok) {
          if (c.reason === 'corrupt') bad = c.message;
          else need = c.need;
          break;
        }
        const pos = bufPos + p;
        if (pos - lastCp >= CHECKPOINT_BYTES) {
          seg.checkpoints.push(seg.end, pos);
          lastCp = pos;
        }
        seg.end++;
        p = c.end;
        seg.size = bufPos + p;
      }
      if (bad || filePos >= size) break;
      const keep = buf.subarray(seg.size - bufPos);
      const want = Math.max(READ_CHUNK_BYTES, need);
      const chunk = Buffer.allocUnsafe(Math.min(want, size - filePos));
      const r = await fh.read(chunk, 0, chunk.length, filePos);
      filePos += r.bytesRead;
      buf = keep.length ? Buffer.concat([keep, chunk.subarray(0, r.bytesRead)]) : chunk.subarray(0, r.bytesRead);
      bufPos = seg.size;
      if (r.bytesRead === 0) break;
    }
    if (!bad && seg.size < size) bad = `torn frame: the last ${size - seg.size} bytes do not make a whole frame`;
    if (bad) {
      if (!last)
        throw new WalError(
          'wal-corrupt',
          `segment ${file} is corrupt at byte ${seg.size} (record ${seg.end}): ${bad}; it is not the last segment, so this is not a crash's torn write`,
          file,
          seg.size,
        );
      const cut = size - seg.size;
      await fh.truncate(seg.size);
      await fh.datasync();
      recovery.truncated = { file, position: seg.size, bytes: cut, reason: bad };
      warn(`wal: cut ${cut} bytes from the end of ${file} at byte ${seg.size} (after record ${seg.end - 1}): ${bad}`);
    }
    return seg;
  } finally {
    await fh.close().catch(() => {});
  }
}
