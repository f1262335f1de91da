/**
 * The write-ahead log between ingest and the pipeline: records are appended to segment files and
 * acknowledged only once fsynced; a consumer reads them from a committed offset and commits as it
 * goes; fully committed segments are deleted. A crash can only tear the tail of the last segment:
 * recovery at open finds the first frame whose length, checksum or offset is wrong, truncates
 * there and reports it. Everything acknowledged precedes that point, so nothing acknowledged is lost.
 *
 * Offsets are record numbers (0, 1, 2, …), monotonic for the life of the directory, also across
 * deleted segments. `commit(next)` means every record below `next` has been consumed.
 *
 * Group commit: appends that arrive while an fsync is running are written and synced together by
 * the next one; an idle log waits at most `groupCommitMs` to gather a batch.
 */
import { EventEmitter } from 'node:events';
import { closeSync, openSync, readFileSync, writeSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { FirebreakError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import type { IngestRecord } from '../record.js';
import { checkFrame, decodePayload, encodePayload, FRAME_HEADER_BYTES, frameHeader, readSegmentHeader, SEGMENT_HEADER_BYTES, segmentHeader } from './codec.js';

/** An error of the write-ahead log: names the segment file and byte position where it applies. */
export class WalError extends FirebreakError {
  constructor(
    code: string,
    message: string,
    readonly file?: string,
    readonly position?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface WalOptions {
  /** The log's directory (created if missing). */
  dir: string;
  /** A segment is sealed past this size. */
  segmentBytes?: number;
  /** Longest an append waits for others to share its fsync when the log is idle (ms; 0 = next tick). */
  groupCommitMs?: number;
  /** Queued bytes that start a write at once, without waiting for `groupCommitMs`. */
  maxBatchBytes?: number;
  /** Largest frame payload accepted (and believed at recovery). */
  frameMaxBytes?: number;
  /** Told about recoveries and removed files; defaults to nothing (the facts are in `recovery`). */
  onWarning?: (message: string) => void;
}

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

/** One record read back, with its offset. */
export interface WalEntry {
  offset: number;
  record: IngestRecord;
}

/** How far the consumer is behind: records and bytes appended (or queued) but not committed. */
export interface WalLag {
  records: number;
  bytes: number;
}

/** A position every `CHECKPOINT_BYTES` of segment data: lag in bytes and reader seeks use them. */
const CHECKPOINT_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const COMMIT_MAGIC = 0x43574246; // "FBWC"

interface Segment {
  base: number;
  file: string;
  /** Durable bytes, header included. */
  size: number;
  /** Offset after the last durable record. */
  end: number;
  /** Flat pairs: offset, position of that record's frame. */
  checkpoints: number[];
}

interface Pending {
  payloads: Buffer[];
  bytes: number;
  resolve: (v: { first: number; count: number }) => void;
  reject: (e: Error) => void;
}

const segName = (base: number) => `${String(base).padStart(20, '0')}.wal`;

export class WriteAheadLog extends EventEmitter {
  private processedOffset = 0;
  private readonly segments: Segment[] = [];
  private active!: Segment;
  private fh!: FileHandle;
  private next = 0;
  private committedOffset = 0;
  private persistedCommit = 0;
  private commitTarget = 0;
  private commitWaiters: { next: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private committing: Promise<void> | null = null;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private queuedRecords = 0;
  private writingRecords = 0;
  private writingBytes = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failed: WalError | null = null;
  private closed = false;
  private durableWaiters: (() => void)[] = [];
  private readonly segmentBytes: number;
  private readonly groupCommitMs: number;
  private readonly maxBatchBytes: number;
  readonly frameMaxBytes: number;
  recovery!: WalRecovery;

  private constructor(
    readonly dir: string,
    opts: WalOptions,
  ) {
    super();
    this.segmentBytes = opts.segmentBytes ?? LIMITS.walSegmentBytes;
    this.groupCommitMs = opts.groupCommitMs ?? 2;
    this.maxBatchBytes = opts.maxBatchBytes ?? 4 * 1024 * 1024;
    this.frameMaxBytes = opts.frameMaxBytes ?? LIMITS.walFrameMaxBytes;
  }

  /** Opens (or creates) the log in `opts.dir`, recovering from a crash if there was one. */
  static async open(opts: WalOptions): Promise<WriteAheadLog> {
    const wal = new WriteAheadLog(opts.dir, opts);
    await mkdir(opts.dir, { recursive: true });
    wal.lock();
    try {
      await wal.recover(opts.onWarning ?? (() => {}));
    } catch (e) {
      wal.unlock();
      throw e;
    }
    return wal;
  }

  /** The offset the next durable record gets (= one past the last durable record). */
  get nextOffset(): number {
    return this.next;
  }
  /** The consumer's committed offset: every record below it has been consumed. */
  get committed(): number {
    return this.committedOffset;
  }
  /** The oldest offset still on disk. */
  get firstOffset(): number {
    return this.segments[0]!.base;
  }

  /**
   * Appends records; resolves with the first one's offset once all of them are on disk (fsynced).
   * Rejects when the log is closed or has failed, or a record is larger than a frame may be.
   */
  append(records: readonly IngestRecord[]): Promise<{ first: number; count: number }> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new WalError('wal-closed', 'the write-ahead log is closed'));
    const payloads: Buffer[] = [];
    let bytes = 0;
    for (const r of records) {
      const p = encodePayload(r);
      if (p.length > this.frameMaxBytes) {
        return Promise.reject(new WalError('wal-record-too-large', `a record of ${p.length} bytes exceeds the log's ${this.frameMaxBytes}-byte frame limit`));
      }
      payloads.push(p);
      bytes += p.length + FRAME_HEADER_BYTES;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ payloads, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.queuedRecords += payloads.length;
      this.schedule();
    });
  }

  /**
   * Records `next` as the consumer's committed offset (everything below it consumed), durably,
   * then deletes segments that hold only committed records. A lower value than the current one is
   * a no-op; one beyond the last durable record is refused.
   */
  commit(next: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new WalError('wal-closed', 'the write-ahead log is closed'));
    if (!Number.isSafeInteger(next) || next < 0) return Promise.reject(new WalError('wal-commit-invalid', `commit offset ${next} is not a non-negative integer`));
    if (next > this.next) return Promise.reject(new WalError('wal-commit-ahead', `commit offset ${next} is beyond the last durable record (next offset ${this.next})`));
    if (next <= this.persistedCommit) return Promise.resolve();
    if (next > this.commitTarget) this.commitTarget = next;
    this.committedOffset = Math.max(this.committedOffset, next);
    const p = new Promise<void>((resolve, reject) => this.commitWaiters.push({ next, resolve, reject }));
    if (!this.committing) this.committing = this.commitLoop().finally(() => (this.committing = null));
    this.emit('lag');
    return p;
  }

  /** A reader from `from` (default: the committed offset) that tails live appends. */
  reader(from: number = this.committedOffset): WalReader {
    return new WalReader(this, from);
  }

  /** Records and bytes appended or queued but not yet committed. */
  lag(): WalLag {
    // Behind what the consumer has processed (it may keep a little more committed-but-kept history
    // to rebuild its state after a restart; that history is not lag).
    const from = Math.max(this.committedOffset, Math.min(this.processedOffset, this.next));
    const records = this.next + this.queuedRecords + this.writingRecords - from;
    let bytes = this.queuedBytes + this.writingBytes;
    for (const s of this.segments) {
      if (s.end <= from && s !== this.active) continue;
      if (s.base >= from) bytes += s.size - SEGMENT_HEADER_BYTES;
      else bytes += s.size - this.positionBefore(s, from);
    }
    return { records, bytes };
  }

  /**
   * The consumer has processed every record below `next`, though it keeps the log from
   * `committed` on (to rebuild its state after a restart): back-pressure counts lag from here.
   */
  markProcessed(next: number): void {
    if (next > this.processedOffset) this.processedOffset = next;
    this.emit('lag', this.lag());
  }

  /** Counters for health and metrics. */
  stats(): { firstOffset: number; nextOffset: number; committed: number; segments: number; diskBytes: number; lag: WalLag; failed: string | null } {
    return {
      firstOffset: this.firstOffset,
      nextOffset: this.next,
      committed: this.committedOffset,
      segments: this.segments.length,
      diskBytes: this.segments.reduce((n, s) => n + s.size, 0),
      lag: this.lag(),
      failed: this.failed?.message ?? null,
    };
  }

  /** Stops accepting appends, writes and syncs what is queued, persists the last commit, closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length && !this.flushing && !this.failed) this.flushing = this.flushLoop().finally(() => (this.flushing = null));
    while (this.flushing || this.committing) await (this.flushing ?? this.committing);
    await this.fh.close().catch(() => {});
    this.wakeReaders();
    this.unlock();
  }

  // ---- internals shared with WalReader ----

  /** @internal The segment holding `offset`, or null when it was deleted (or is not written yet). */
  segmentFor(offset: number): Segment | null {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (offset >= s.base) return offset < s.end || s === this.active ? s : null;
    }
    return null;
  }
  /** @internal Whether `s` is still being appended to. */
  isActive(s: Segment): boolean {
    return s === this.active;
  }
  /** @internal Resolves when a record at `offset` is durable or the log closes. */
  waitDurable(offset: number): Promise<void> {
    if (offset < this.next || this.closed || this.failed) return Promise.resolve();
    return new Promise((resolve) => this.durableWaiters.push(resolve));
  }
  /** @internal Closed or failed: no more records will become durable. */
  get isClosed(): boolean {
    return this.closed || this.failed !== null;
  }
  /** @internal A frame position at or before the record `offset` in `s` (a checkpoint). */
  positionBefore(s: Segment, offset: number): number {
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
  /** @internal The offset of the record at the checkpoint `positionBefore` returned. */
  offsetAtPosition(s: Segment, pos: number): number {
    if (pos === SEGMENT_HEADER_BYTES) return s.base;
    const cp = s.checkpoints;
    for (let i = 0; i < cp.length; i += 2) if (cp[i + 1] === pos) return cp[i]!;
    throw new WalError('wal-internal', `no checkpoint at position ${pos}`, s.file, pos);
  }
  /** @internal */
  pathOf(s: Segment): string {
    return join(this.dir, s.file);
  }

  // ---- open and recovery ----

  private lockPath(): string {
    return join(this.dir, 'wal.lock');
  }

  /** One process per log: a lock file with our pid; a stale one (its process gone) is taken over. */
  private lock(): void {
    const p = this.lockPath();
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(p, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(readFileSync(p, 'utf8').trim());
        if (pid > 0 && pidAlive(pid)) throw new WalError('wal-locked', `the write-ahead log in ${this.dir} is in use by process ${pid}`, p);
        unlinkSync(p);
      }
    }
    throw new WalError('wal-locked', `could not lock the write-ahead log in ${this.dir}`, p);
  }

  private unlock(): void {
    try {
      unlinkSync(this.lockPath());
    } catch {
      // Already gone: nothing to release.
    }
  }

  private async recover(warn: (m: string) => void): Promise<void> {
    this.recovery = { segments: 0, records: 0, truncated: null, removed: [] };
    await rm(join(this.dir, 'commit.tmp'), { force: true });
    this.committedOffset = this.persistedCommit = this.commitTarget = await this.readCommit();
    const names = (await readdir(this.dir)).filter((n) => /^\d{20}\.wal$/.test(n)).sort();
    for (let i = 0; i < names.length; i++) {
      const last = i === names.length - 1;
      const seg = await this.scanSegment(names[i]!, last, warn);
      if (!seg) continue;
      const prev = this.segments[this.segments.length - 1];
      if (prev && prev.end !== seg.base) {
        throw new WalError('wal-gap', `segment ${seg.file} starts at offset ${seg.base} but the previous one ends at ${prev.end}: records are missing`, seg.file);
      }
      this.segments.push(seg);
    }
    const lastSeg = this.segments[this.segments.length - 1];
    if (lastSeg && this.committedOffset > lastSeg.end) {
      throw new WalError('wal-commit-ahead', `the committed offset ${this.committedOffset} is beyond the log's last record (${lastSeg.end - 1}): segment files are missing`, 'commit');
    }
    if (lastSeg && this.committedOffset < this.segments[0]!.base) {
      throw new WalError('wal-gap', `the committed offset ${this.committedOffset} is below the oldest segment (${this.segments[0]!.base}): uncommitted records were deleted`, this.segments[0]!.file);
    }
    // Segments wholly below the committed offset (a crash between commit and delete).
    while (this.segments.length > 1 && this.segments[0]!.end <= this.committedOffset) {
      const s = this.segments.shift()!;
      await rm(join(this.dir, s.file), { force: true });
      this.recovery.removed.push(s.file);
    }
    if (!this.segments.length) {
      const s = await this.createSegment(this.committedOffset);
      this.segments.push(s);
    }
    this.active = this.segments[this.segments.length - 1]!;
    this.next = this.active.end;
    this.fh = await open(join(this.dir, this.active.file), 'r+');
    this.recovery.segments = this.segments.length;
    this.recovery.records = this.next - this.segments[0]!.base;
    if (this.recovery.removed.length) warn(`wal: removed ${this.recovery.removed.join(', ')}`);
  }

  /** Reads and checks one segment; cuts a torn tail when it is the last one. */
  private async scanSegment(file: string, last: boolean, warn: (m: string) => void): Promise<Segment | null> {
    const path = join(this.dir, file);
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
          this.recovery.removed.push(file);
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
          const c = checkFrame(buf, p, seg.end, this.frameMaxBytes);
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
        this.recovery.truncated = { file, position: seg.size, bytes: cut, reason: bad };
        warn(`wal: cut ${cut} bytes from the end of ${file} at byte ${seg.size} (after record ${seg.end - 1}): ${bad}`);
      }
      return seg;
    } finally {
      await fh.close().catch(() => {});
    }
  }

  private async readCommit(): Promise<number> {
    let b: Buffer;
    try {
      b = readFileSync(join(this.dir, 'commit'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    if (b.length !== 16 || b.readUInt32LE(0) !== COMMIT_MAGIC || crc32(b.subarray(8, 16)) !== b.readUInt32LE(4)) {
      throw new WalError('wal-commit-corrupt', `the committed-offset file is damaged (${b.length} bytes)`, 'commit', 0);
    }
    return Number(b.readBigUInt64LE(8));
  }

  private async createSegment(base: number): Promise<Segment> {
    const file = segName(base);
    const fh = await open(join(this.dir, file), 'wx');
    try {
      await fh.write(segmentHeader(base), 0, SEGMENT_HEADER_BYTES, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await syncDir(this.dir);
    return { base, file, size: SEGMENT_HEADER_BYTES, end: base, checkpoints: [] };
  }

  // ---- writing ----

  private schedule(): void {
    if (this.flushing) return;
    if (this.queuedBytes >= this.maxBatchBytes || this.groupCommitMs <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.flushing = this.flushLoop().finally(() => (this.flushing = null));
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if (!this.flushing) this.flushing = this.flushLoop().finally(() => (this.flushing = null));
    }, this.groupCommitMs);
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length && !this.failed) {
      const batch = this.queue;
      this.queue = [];
      this.writingBytes = this.queuedBytes;
      this.writingRecords = this.queuedRecords;
      this.queuedBytes = this.queuedRecords = 0;
      await this.writeBatch(batch);
    }
    if (this.failed) this.failAll(this.queue);
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const seg = this.active;
    let pos = seg.size;
    let off = this.next;
    let lastCp = seg.checkpoints.length ? seg.checkpoints[seg.checkpoints.length - 1]! : SEGMENT_HEADER_BYTES - CHECKPOINT_BYTES;
    const cps: number[] = [];
    const firsts: number[] = [];
    const chunks: Buffer[] = [];
    let parts: Buffer[] = [];
    let partBytes = 0;
    for (const pending of batch) {
      firsts.push(off);
      for (const p of pending.payloads) {
        if (pos - lastCp >= CHECKPOINT_BYTES) {
          cps.push(off, pos);
          lastCp = pos;
        }
        parts.push(frameHeader(off, p), p);
        partBytes += FRAME_HEADER_BYTES + p.length;
        pos += FRAME_HEADER_BYTES + p.length;
        off++;
        if (partBytes >= 4 * 1024 * 1024) {
          chunks.push(Buffer.concat(parts, partBytes));
          parts = [];
          partBytes = 0;
        }
      }
    }
    if (parts.length) chunks.push(Buffer.concat(parts, partBytes));
    try {
      let at = seg.size;
      for (const c of chunks) {
        let done = 0;
        while (done < c.length) {
          const { bytesWritten } = await this.fh.write(c, done, c.length - done, at + done);
          done += bytesWritten;
        }
        at += c.length;
      }
      await this.fh.datasync();
    } catch (e) {
      this.failed = new WalError('wal-io', `writing ${seg.file} failed: ${(e as Error).message}; the log refuses appends until restarted`, seg.file, seg.size, { cause: e });
      await this.fh.truncate(seg.size).catch(() => {});
      this.writingBytes = this.writingRecords = 0;
      this.failAll(batch);
      this.emit('failed', this.failed);
      return;
    }
    seg.size = pos;
    seg.end = off;
    for (const x of cps) seg.checkpoints.push(x);
    this.next = off;
    this.writingBytes = this.writingRecords = 0;
    batch.forEach((p, i) => p.resolve({ first: firsts[i]!, count: p.payloads.length }));
    this.wakeReaders();
    this.emit('durable', off);
    if (seg.size >= this.segmentBytes) await this.roll();
  }

  private async roll(): Promise<void> {
    try {
      const seg = await this.createSegment(this.next);
      await this.fh.close();
      this.segments.push(seg);
      this.active = seg;
      this.fh = await open(join(this.dir, seg.file), 'r+');
    } catch (e) {
      this.failed = new WalError('wal-io', `starting a new segment failed: ${(e as Error).message}; the log refuses appends until restarted`, segName(this.next), 0, { cause: e });
      this.emit('failed', this.failed);
    }
  }

  private failAll(batch: Pending[]): void {
    for (const p of batch) p.reject(this.failed!);
    if (batch === this.queue) {
      this.queue = [];
      this.queuedBytes = this.queuedRecords = 0;
    }
    this.wakeReaders();
  }

  private wakeReaders(): void {
    const w = this.durableWaiters;
    this.durableWaiters = [];
    for (const f of w) f();
  }

  // ---- committing ----

  private async commitLoop(): Promise<void> {
    while (this.persistedCommit < this.commitTarget) {
      const v = this.commitTarget;
      try {
        const b = Buffer.alloc(16);
        b.writeUInt32LE(COMMIT_MAGIC, 0);
        b.writeBigUInt64LE(BigInt(v), 8);
        b.writeUInt32LE(crc32(b.subarray(8, 16)), 4);
        const tmp = join(this.dir, 'commit.tmp');
        const fh = await open(tmp, 'w');
        try {
          await fh.write(b, 0, 16, 0);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        await rename(tmp, join(this.dir, 'commit'));
        await syncDir(this.dir);
      } catch (e) {
        const err = new WalError('wal-io', `persisting the committed offset ${v} failed: ${(e as Error).message}`, 'commit', 0, { cause: e });
        for (const w of this.commitWaiters) w.reject(err);
        this.commitWaiters = [];
        this.commitTarget = this.persistedCommit;
        return;
      }
      this.persistedCommit = v;
      await this.deleteCommitted();
      this.commitWaiters = this.commitWaiters.filter((w) => {
        if (w.next <= v) w.resolve();
        return w.next > v;
      });
      this.emit('commit', v);
      this.emit('lag');
    }
  }

  private async deleteCommitted(): Promise<void> {
    while (this.segments.length > 1 && this.segments[0]!.end <= this.persistedCommit && this.segments[0] !== this.active) {
      const s = this.segments.shift()!;
      await rm(join(this.dir, s.file), { force: true });
    }
  }
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

  constructor(
    private readonly wal: WriteAheadLog,
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
  async read(max = 1000, wait = true): Promise<WalEntry[]> {
    for (;;) {
      if (this.closed) return [];
      if (this.offset >= this.wal.nextOffset) {
        if (!wait || this.wal.isClosed) return [];
        await this.wal.waitDurable(this.offset);
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
        await this.wal.waitDurable(this.offset);
        continue;
      }
      return this.readFrames(seg, max);
    }
  }

  /** Stops the reader; a pending `read` returns []. */
  async close(): Promise<void> {
    this.closed = true;
    await this.fh?.close().catch(() => {});
    this.fh = null;
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
    this.fh = await open(this.wal.pathOf(seg), 'r');
    this.seg = seg;
    // Seek: the nearest checkpoint at or before the offset, then skip frame by frame.
    let pos = this.wal.positionBefore(seg, this.offset);
    let off = this.wal.offsetAtPosition(seg, pos);
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

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (!bytesRead) throw new WalError('wal-corrupt', `unexpected end of segment at byte ${position + done}`, undefined, position + done);
    done += bytesRead;
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Size of a directory's segment files, for tests and health. */
export async function walDiskBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) if (f.endsWith('.wal')) n += (await stat(join(dir, f))).size;
  return n;
}
