/**
 * The write-ahead log's tailing reader: reads durable records from an offset on, seeking by the
 * segments' checkpoints, and waits at the end for new ones. It sees the log only through
 * `WalSource`, so it does not import the log itself.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestRecord } from '../record.js';
import { checkFrame, decodePayload, FRAME_HEADER_BYTES } from './codec.js';
import { WalError } from './errors.js';
import { offsetAtPosition, positionBefore, READ_CHUNK_BYTES, readFully, type Segment } from './segment.js';

/** One record read back, with its offset. */
export interface WalEntry {
  offset: number;
  record: IngestRecord;
}

/** What a reader needs of the log (implemented by `WriteAheadLog`). */
export interface WalSource {
  readonly dir: string;
  readonly frameMaxBytes: number;
  /** One past the last durable record. */
  readonly nextOffset: number;
  /** The oldest offset still on disk. */
  readonly firstOffset: number;
  /** Closed or failed: no more records will become durable. */
  readonly isClosed: boolean;
  /** The segment holding `offset`, or null when it was deleted (or is not written yet). */
  segmentFor(offset: number): Segment | null;
  /** Whether `s` is still being appended to. */
  isActive(s: Segment): boolean;
  /** Resolves when a record at `offset` is durable or the log closes. */
  waitDurable(offset: number): Promise<void>;
}

/**
 * Reads records from an offset on, in order, and waits for new ones at the end (only durable
 * records are ever returned). `read()` returns batches; the reader is also an async iterable of
 * single entries. It ends (an empty batch, or the iteration stops) when the log or reader closes.
 */
export class WalReader implements AsyncIterable<WalEntry> {
  private offset: number;
  private seg: Segment | null = null;
  private fh: FileHandle | null = null;
  private pos = 0;
  private closed = false;
  /** Ends the wait of a read waiting for new records (set while one waits). */
  private stopWaiting: (() => void) | null = null;
  /** The read in progress (settled), so `close` does not pull the file from under it. */
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly wal: WalSource,
    from: number,
  ) {
    this.offset = from;
  }

  /** The offset of the next record this reader returns. */
  get position(): number {
    return this.offset;
  }

  /**
   * Up to `max` records from the current position. With `wait` (default), waits until at least one
   * is durable; returns [] only when the log or this reader is closed (or, without `wait`, when
   * there is nothing new).
   */
  read(max = 1000, wait = true): Promise<WalEntry[]> {
    const r = this.next(max, wait);
    this.reading = r.catch(() => undefined);
    return r;
  }

  private async next(max: number, wait: boolean): Promise<WalEntry[]> {
    for (;;) {
      if (this.closed) return [];
      if (this.offset >= this.wal.nextOffset) {
        if (!wait || this.wal.isClosed) return [];
        await this.waitForMore();
        continue;
      }
      const seg = this.wal.segmentFor(this.offset);
      if (!seg) throw new WalError('wal-offset-gone', `offset ${this.offset} is no longer in the log (oldest kept: ${this.wal.firstOffset})`);
      if (seg !== this.seg) await this.openSegment(seg);
      if (this.pos >= seg.size) {
        if (this.offset >= seg.end && !this.wal.isActive(seg)) {
          // Sealed and read to its end: the next segment starts at this offset.
          this.seg = null;
          continue;
        }
        if (!wait) return [];
        await this.waitForMore();
        continue;
      }
      return this.readFrames(seg, max);
    }
  }

  /** Stops the reader; a pending `read` returns [] (one reading from the file finishes first). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWaiting?.();
    await this.reading;
    await this.fh?.close().catch(() => {});
    this.fh = null;
  }

  /** Until a record at the current offset is durable, the log closes, or this reader is closed. */
  private waitForMore(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.stopWaiting = resolve;
      void this.wal.waitDurable(this.offset).then(resolve);
    }).finally(() => (this.stopWaiting = null));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WalEntry> {
    try {
      for (;;) {
        const batch = await this.read(1000);
        if (!batch.length) return;
        yield* batch;
      }
    } finally {
      await this.close();
    }
  }

  private async openSegment(seg: Segment): Promise<void> {
    await this.fh?.close().catch(() => {});
    this.fh = await open(join(this.wal.dir, seg.file), 'r');
    this.seg = seg;
    // Seek: the nearest checkpoint at or before the offset, then skip frame by frame.
    let pos = positionBefore(seg, this.offset);
    let off = offsetAtPosition(seg, pos);
    const h = Buffer.alloc(FRAME_HEADER_BYTES);
    while (off < this.offset) {
      const { bytesRead } = await this.fh.read(h, 0, FRAME_HEADER_BYTES, pos);
      if (bytesRead < FRAME_HEADER_BYTES) throw new WalError('wal-corrupt', `segment ${seg.file} ends inside a frame header at byte ${pos}`, seg.file, pos);
      pos += FRAME_HEADER_BYTES + h.readUInt32LE(0);
      off++;
    }
    this.pos = pos;
  }

  private async readFrames(seg: Segment, max: number): Promise<WalEntry[]> {
    const fh = this.fh!;
    const limit = seg.size;
    let len = Math.min(READ_CHUNK_BYTES, limit - this.pos);
    let buf = Buffer.allocUnsafe(len);
    await readFully(fh, buf, this.pos);
    const out: WalEntry[] = [];
    let p = 0;
    while (out.length < max) {
      const c = checkFrame(buf, p, this.offset, this.wal.frameMaxBytes);
      if (!c.ok) {
        if (c.reason === 'corrupt') throw new WalError('wal-corrupt', `segment ${seg.file} at byte ${this.pos + p}: ${c.message}`, seg.file, this.pos + p);
        if (out.length || this.pos + p >= limit) break;
        // A frame larger than the chunk: read exactly it.
        len = Math.min(c.need, limit - this.pos);
        if (len < c.need) throw new WalError('wal-corrupt', `segment ${seg.file} ends inside a frame at byte ${this.pos}`, seg.file, this.pos);
        buf = Buffer.allocUnsafe(len);
        await readFully(fh, buf, this.pos);
        continue;
      }
      let record: IngestRecord;
      try {
        record = decodePayload(buf.subarray(c.payloadStart, c.end));
      } catch (e) {
        throw new WalError('wal-corrupt', `record ${this.offset} in ${seg.file} at byte ${this.pos + p}: ${(e as Error).message}`, seg.file, this.pos + p);
      }
      out.push({ offset: this.offset, record });
      this.offset++;
      p = c.end;
    }
    this.pos += p;
    return out;
  }
}
