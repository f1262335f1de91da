/** The log's replay point (src/serve/replay-horizon.ts): bounded however long event time stands still, never later than marking every batch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../src/core/rng.js';
import { ReplayHorizon } from '../../src/serve/replay-horizon.js';

/** The replay point as the processor found it before marks were bounded: one mark per batch. */
class EveryBatch {
  private readonly marks: { offset: number; maxTime: number }[] = [];
  note(offset: number, maxTime: number): void {
    this.marks.push({ offset, maxTime });
  }
  replayFrom(keepFrom: number, processed: number): number {
    while (this.marks.length > 1 && this.marks[1]!.maxTime < keepFrom) this.marks.shift();
    return Math.min(processed, this.marks[0]?.offset ?? processed);
  }
}

describe('replay horizon', () => {
  it('event time standing still adds no marks, however many batches come', () => {
    const h = new ReplayHorizon(1_000);
    const T = Date.UTC(2026, 0, 1);
    // The first pass moves event time forward; then the same times again and again (a scenario replayed).
    for (let b = 0; b < 100; b++) h.note(b * 1000, T + b * 60_000);
    const after = h.size;
    for (let b = 100; b < 200_000; b++) h.note(b * 1000, T + (b % 100) * 60_000);
    assert.equal(h.size, after, `marks stayed at ${after} after 200,000 batches`);
    // The replay point stays where event time says (2 h window: everything is needed).
    assert.equal(h.replayFrom(T + 99 * 60_000 - 7_200_000, 200_000_000), 0);
  });

  it('event time crawling forward: at most maxMarks marks, and the replay point is never later than one mark per batch gives', () => {
    const next = rng(13);
    for (const maxMarks of [8, 64, 1_000]) {
      const h = new ReplayHorizon(maxMarks);
      const ref = new EveryBatch();
      let t = 0;
      let offset = 0;
      let maxSeen = -Infinity;
      let last = { mine: 0, theirs: 0 };
      for (let b = 0; b < 20_000; b++) {
        // Mostly forward, sometimes back (late input), by a few ms.
        t += Math.floor(next() * 10) - 2;
        offset += 1 + Math.floor(next() * 50);
        h.note(offset, t);
        ref.note(offset, t);
        maxSeen = Math.max(maxSeen, t);
        assert.ok(h.size <= maxMarks, `at most ${maxMarks} marks (${h.size})`);
        if (b % 7 === 0) {
          const keepFrom = maxSeen - 5_000;
          const mine = h.replayFrom(keepFrom, offset + 1);
          const theirs = ref.replayFrom(keepFrom, offset + 1);
          assert.ok(mine <= theirs, `replay point ${mine} not later than ${theirs} (batch ${b})`);
          last = { mine, theirs };
        }
      }
      // …and it still moves on: thinned marks keep it near, with many marks close.
      if (maxMarks >= 1_000) assert.ok(last.mine >= 0.9 * last.theirs, `replay point ${last.mine} near ${last.theirs}`);
      assert.ok(last.mine > 0, 'the replay point moved');
    }
  });
});
