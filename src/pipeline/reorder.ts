/**
 * Arrival order → event-time order, for a live stream: detections are held until the watermark
 * passes them, then released in the total order (`compareDetections`). Shippers deliver late and
 * out of order; a detection older than the last watermark is late: it is counted and passed on at
 * once (the stages after handle late input as well as they can and count it too), never dropped.
 * Bounded: beyond `maxHeld` the oldest held detections are released early (counted).
 */
import { LIMITS } from '../core/limits.js';
import type { DetectionRecord } from '../detections/record.js';
import { compareDetections, eventTime, NONE, type Stage, type StageOutput, type StageStats } from '../detections/stage.js';

export class ReorderStage implements Stage {
  readonly name = 'reorder';
  private readonly heap: DetectionRecord[] = [];
  private released = -Infinity;
  private readonly s = { held: 0, late: 0, untimed: 0, forced: 0, released: 0 };

  constructor(private readonly maxHeld: number = LIMITS.reorderMaxHeld) {}

  push(batch: readonly DetectionRecord[]): StageOutput {
    let now: DetectionRecord[] | undefined;
    for (const d of batch) {
      const t = eventTime(d);
      if (Number.isNaN(t) || t < this.released) {
        if (Number.isNaN(t)) this.s.untimed++;
        else this.s.late++;
        (now ??= []).push(d);
        continue;
      }
      this.insert(d);
    }
    while (this.heap.length > this.maxHeld) {
      (now ??= []).push(this.pop());
      this.s.forced++;
    }
    this.s.released += now?.length ?? 0;
    return now ?? NONE;
  }

  advance(watermark: number): StageOutput {
    if (watermark > this.released) this.released = watermark;
    const out: DetectionRecord[] = [];
    while (this.heap.length && eventTime(this.heap[0]!) < this.released) out.push(this.pop());
    this.s.released += out.length;
    return out;
  }

  finish(): StageOutput {
    const out: DetectionRecord[] = [];
    while (this.heap.length) out.push(this.pop());
    this.s.released += out.length;
    this.released = Infinity;
    return out;
  }

  stats(): StageStats {
    return { ...this.s, held: this.heap.length };
  }

  private insert(d: DetectionRecord): void {
    const h = this.heap;
    h.push(d);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (compareDetections(h[i]!, h[p]!) >= 0) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): DetectionRecord {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && compareDetections(h[l]!, h[m]!) < 0) m = l;
        if (r < h.length && compareDetections(h[r]!, h[m]!) < 0) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
