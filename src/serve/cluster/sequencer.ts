/**
 * Puts detect nodes' results back in the order of the events stream. Several detect nodes finish
 * events messages in any order; the correlate node applies their results by events sequence, one
 * after the other, exactly as the embedded server applies its write-ahead log's batches in offset
 * order. That total order is what makes a cluster's alerts and stories the embedded server's.
 *
 * A result arrives in parts (./messages.ts); it is complete when every part of one split has come
 * (a redelivered message matched again may come split the same way or, with other rules, not).
 * Results further ahead than the window are not held: the caller reads them again later from the
 * detections stream (`dropped` says from where).
 */
import { LIMITS } from '../../core/limits.js';
import type { Result, ResultPart } from './messages.js';

interface HeldPart {
  part: ResultPart;
  dseq: number;
  bytes: number;
}

interface Held {
  /** parts count → part number → the part and where it was read. */
  splits: Map<number, Map<number, HeldPart>>;
  /** A result that could not be read: it stands for the whole message. */
  broken?: { error: string; dseq: number };
}

/** A complete result with the lowest detections-stream sequence it was read at. */
export interface Ready {
  result: Result;
  dseq: number;
}

export class Sequencer {
  private readonly held = new Map<number, Held>();
  private bytes = 0;
  /** Lowest detections-stream sequence of a result dropped for lack of room (read it again from there). */
  dropped: number | undefined;
  readonly counters = { parts: 0, duplicates: 0, old: 0, dropped: 0, broken: 0, skipped: 0 };

  constructor(
    /** The next events sequence to apply. */
    public cursor: number,
    private readonly window: number = LIMITS.cluster.reorderWindow,
    private readonly windowBytes: number = LIMITS.cluster.reorderWindowBytes,
  ) {}

  /** Results held (waiting for an earlier one or for their other parts). */
  get size(): number {
    return this.held.size;
  }

  /** Takes a part read at detections-stream sequence `dseq`. */
  add(part: ResultPart, dseq: number, bytes: number): void {
    this.counters.parts++;
    if (part.seq < this.cursor) return void this.counters.old++;
    if (!this.room(part.seq, dseq, bytes)) return;
    const h = this.slot(part.seq);
    let split = h.splits.get(part.parts);
    if (!split) h.splits.set(part.parts, (split = new Map<number, HeldPart>()));
    if (split.has(part.part)) return void this.counters.duplicates++;
    split.set(part.part, { part, dseq, bytes });
    this.bytes += bytes;
  }

  /** A result for `seq` that could not be read: the message counts as done with this error. */
  broken(seq: number, error: string, dseq: number): void {
    this.counters.broken++;
    if (seq < this.cursor || !this.room(seq, dseq, 0)) return;
    this.slot(seq).broken ??= { error, dseq };
  }

  /** Gives up on the result at the cursor (it will never come: see the correlate node's gap check). */
  skip(): void {
    this.release(this.cursor);
    this.cursor++;
    this.counters.skipped++;
  }

  /** Complete results from the cursor on, in order (at most `max`); the cursor moves past them. */
  take(max = Infinity): Ready[] {
    const out: Ready[] = [];
    while (out.length < max) {
      const h = this.held.get(this.cursor);
      const ready = h && complete(this.cursor, h);
      if (!ready) break;
      this.release(this.cursor);
      out.push(ready);
      this.cursor++;
    }
    return out;
  }

  /** The lowest detections-stream sequence among held parts (Infinity when none). */
  lowDseq(): number {
    let low = Infinity;
    for (const h of this.held.values()) {
      if (h.broken) low = Math.min(low, h.broken.dseq);
      for (const split of h.splits.values()) for (const p of split.values()) low = Math.min(low, p.dseq);
    }
    return low;
  }

  private room(seq: number, dseq: number, bytes: number): boolean {
    if (seq >= this.cursor + this.window || (this.bytes + bytes > this.windowBytes && seq !== this.cursor)) {
      this.counters.dropped++;
      this.dropped = Math.min(this.dropped ?? Infinity, dseq);
      return false;
    }
    return true;
  }

  private slot(seq: number): Held {
    let h = this.held.get(seq);
    if (!h) this.held.set(seq, (h = { splits: new Map() }));
    return h;
  }

  private release(seq: number): void {
    const h = this.held.get(seq);
    if (!h) return;
    for (const split of h.splits.values()) for (const p of split.values()) this.bytes -= p.bytes;
    this.held.delete(seq);
  }
}

function complete(seq: number, h: Held): Ready | undefined {
  for (const [parts, split] of h.splits) {
    if (split.size !== parts) continue;
    const ordered = [...split.values()].sort((a, b) => a.part.part - b.part.part);
    const first = ordered[0]!.part;
    const result: Result = {
      seq,
      partition: first.partition,
      node: first.node,
      records: first.records,
      eventCount: first.eventCount,
      maxTime: first.maxTime,
      receivedAt: first.receivedAt,
      detections: ordered.flatMap((p) => p.part.detections),
      claims: ordered.flatMap((p) => p.part.claims),
      facts: ordered.flatMap((p) => p.part.facts),
      errors: ordered.flatMap((p) => p.part.errors),
    };
    return { result, dseq: Math.min(...ordered.map((p) => p.dseq)) };
  }
  if (h.broken) {
    return {
      result: {
        seq,
        // Unknown: it moves no partition's event time.
        partition: -1,
        node: '',
        records: 0,
        eventCount: 0,
        maxTime: null,
        receivedAt: null,
        detections: [],
        claims: [],
        facts: [],
        errors: [{ offset: null, source: '', code: 'cluster-bad-result', message: h.broken.error }],
      },
      dseq: h.broken.dseq,
    };
  }
  return undefined;
}
