/**
 * Where the write-ahead log must be kept from so that a restart can rebuild the correlation and
 * story state (docs/serve.md "Write-ahead log"): the processor notes each batch's first offset and
 * latest event time, and the replay point is the batch before the first one within `replayMs` of
 * the newest event time.
 *
 * Bounded: a batch whose latest event time is not past the newest one noted adds nothing (the
 * replay point then stays at the earlier mark, keeping more of the log, never less), so while
 * event time stands still — input of old or repeated events — nothing accumulates; and beyond
 * `LIMITS.serve.replayMarks` marks every other one is dropped, which again can only move the
 * replay point earlier.
 */
import { LIMITS } from '../core/limits.js';

export class ReplayHorizon {
  /** Marks in log order with strictly increasing event times. */
  private readonly marks: { offset: number; maxTime: number }[] = [];

  constructor(private readonly maxMarks: number = LIMITS.serve.replayMarks) {}

  /** A batch starting at `offset` whose latest event time is `maxTime` (ms) was processed. */
  note(offset: number, maxTime: number): void {
    const last = this.marks[this.marks.length - 1];
    if (last !== undefined && maxTime <= last.maxTime) return;
    this.marks.push({ offset, maxTime });
    if (this.marks.length > this.maxMarks) {
      // Keep the first (the replay point) and every other later one.
      let w = 1;
      for (let r = 2; r < this.marks.length; r += 2) this.marks[w++] = this.marks[r]!;
      this.marks.length = w;
    }
  }

  /**
   * The offset to keep the log from when event time before `keepFrom` (ms) is no longer needed:
   * at most `processed` (everything before it is done); marks no longer needed are forgotten.
   */
  replayFrom(keepFrom: number, processed: number): number {
    const m = this.marks;
    let drop = 0;
    while (m.length - drop > 1 && m[drop + 1]!.maxTime < keepFrom) drop++;
    if (drop) m.splice(0, drop);
    return Math.min(processed, m[0]?.offset ?? processed);
  }

  /** Marks held (for tests and health). */
  get size(): number {
    return this.marks.length;
  }
}
