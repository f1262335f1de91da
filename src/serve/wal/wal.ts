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
 *
 * This module holds the log itself (appends, group commit, commits, lag); the other files of this
 * folder hold its parts: `codec.ts` the on-disk encoding, `segment.ts` segment files, `recovery.ts`
 * the scan at open, `reader.ts` the tailing reader, `commit-file.ts` the committed offset,
 * `lock.ts` the lock file, `errors.ts` `WalError`.
 */
import { EventEmitter } from 'node:events';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS } from '../../core/limits.js';
import type { IngestRecord } from '../record.js';
import { encodePayload, FRAME_HEADER_BYTES, frameHeader, SEGMENT_HEADER_BYTES } from './codec.js';
import { readCommitFile, writeCommitFile } from './commit-file.js';
import { WalError } from './errors.js';
import { lockWal, unlockWal } from './lock.js';
import { WalReader, type WalSource } from './reader.js';
import { recoverSegments, type WalRecovery } from './recovery.js';
import { CHECKPOINT_BYTES, createSegment, positionBefore, segName, type Segment } from './segment.js';

export { WalError } from './errors.js';
export { WalReader, type WalEntry } from './reader.js';
export type { WalRecovery } from './recovery.js';
export { walDiskBytes } from './segment.js';

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

/** How far the consumer is behind: records and bytes appended (or queued) but not committed. */
export interface WalLag {
  records: number;
  bytes: number;
}

interface Pending {
  payloads: Buffer[];
  bytes: number;
  resolve: (v: { first: number; count: number }) => void;
  reject: (e: Error) => void;
}

export class WriteAheadLog extends EventEmitter implements WalSource {
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
    lockWal(opts.dir);
    try {
      await wal.recover(opts.onWarning ?? (() => {}));
    } catch (e) {
      unlockWal(opts.dir);
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
      else bytes += s.size - positionBefore(s, from);
    }
    return { records, bytes };
  }

  /**
   * The consumer has processed every record below `next`, though it keeps the log from
   * `committed` on (to rebuild its state after a restart): back-pressure counts lag from here.
   */
  markProcessed(next: number): void {
    if (next > this.processedOffset) {
      this.processedOffset = next;
      this.forgetCheckpoints();
    }
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
    unlockWal(this.dir);
  }

  /**
   * Sealed segments the consumer has processed keep no checkpoints: lag never looks into them and
   * the running reader is past them, so their checkpoints (16 KiB a 64 MiB segment) would only
   * pile up while the log is kept for replay, for ever when event time stands still. A reader
   * opened inside one later seeks frame by frame from the segment's start instead.
   */
  private forgetCheckpoints(): void {
    for (const s of this.segments) {
      if (s === this.active || s.end > this.processedOffset) break;
      if (s.checkpoints.length) s.checkpoints = [];
    }
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

  // ---- open and recovery ----

  private async recover(warn: (m: string) => void): Promise<void> {
    await rm(join(this.dir, 'commit.tmp'), { force: true });
    this.committedOffset = this.persistedCommit = this.commitTarget = readCommitFile(this.dir);
    const { segments, recovery } = await recoverSegments(this.dir, this.committedOffset, this.frameMaxBytes, warn);
    this.recovery = recovery;
    this.segments.push(...segments);
    this.active = this.segments[this.segments.length - 1]!;
    this.next = this.active.end;
    this.fh = await open(join(this.dir, this.active.file), 'r+');
    this.recovery.segments = this.segments.length;
    this.recovery.records = this.next - this.segments[0]!.base;
    if (this.recovery.removed.length) warn(`wal: removed ${this.recovery.removed.join(', ')}`);
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
      const seg = await createSegment(this.dir, this.next);
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
        await writeCommitFile(this.dir, v);
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
