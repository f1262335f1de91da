/**
 * The one contract every stateful step after matching shares (correlation, stories, counts,
 * outputs): detections go in as batches in event-time order, a watermark says how far event time
 * has certainly progressed, `finish` ends the input, and `stats` says what the stage saw and
 * dropped. `hunt` runs a list of stages over its time sort; `serve` runs the same list over a live
 * stream (behind a reorder stage that turns arrival order into event-time order within an allowed
 * lateness). A stage returns what goes on to the next stage: a transform (correlation) adds the
 * detections it makes and drops the ones it hides; an observer (stories, counts, outputs) passes
 * its input on.
 */
import type { DetectionRecord } from './record.js';
import { isoMs } from '../core/time.js';

/** Detections handed to the next stage (a promise only when the stage had to wait, e.g. on a slow disk). */
export type StageOutput = readonly DetectionRecord[] | Promise<readonly DetectionRecord[]>;

/** Counters a stage reports (nothing is dropped without being counted in one). */
export type StageStats = Readonly<Record<string, number>>;

export interface Stage {
  /** Names the stage in stats and errors. */
  readonly name: string;
  /**
   * Take a batch, in event-time order (`compareDetections`) after anything pushed before, except
   * detections that arrive later than the last watermark allowed: those are late, and a stage
   * handles them as well as it can and counts them.
   */
  push(batch: readonly DetectionRecord[]): StageOutput;
  /**
   * Event time (ms since the epoch) has reached `watermark`: no detection older than it will come
   * except late ones. A stage expires state it no longer needs and may release what it held.
   */
  advance(watermark: number): StageOutput;
  /** End of input: release everything held. The stage takes no more input afterwards. */
  finish(): StageOutput;
  stats(): StageStats;
}

/** A stage that only watches detections go by (stories, counts, outputs): it passes its input on. */
export abstract class ObserverStage implements Stage {
  abstract readonly name: string;

  /** Look at one batch; may return a promise to apply back-pressure. */
  protected abstract observe(batch: readonly DetectionRecord[]): void | Promise<void>;

  push(batch: readonly DetectionRecord[]): StageOutput {
    const waited = this.observe(batch);
    return waited ? waited.then(() => batch) : batch;
  }

  advance(_watermark: number): StageOutput {
    return NONE;
  }

  finish(): StageOutput {
    return NONE;
  }

  abstract stats(): StageStats;
}

export const NONE: readonly DetectionRecord[] = Object.freeze([]);

/** Event time of a detection in ms, or NaN when it has none. */
export function eventTime(d: DetectionRecord): number {
  return d.timestamp ? isoMs(d.timestamp) : Number.NaN;
}

/** The total order of detections: time, computer, record ID, rule title, source file. */
export function compareDetections(a: DetectionRecord, b: DetectionRecord): number {
  const ta = a.timestamp ?? '';
  const tb = b.timestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ca = a.computer ?? '';
  const cb = b.computer ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  return (a.recordId ?? 0) - (b.recordId ?? 0) || text(a.rule.title, b.rule.title) || text(a.sourceFile, b.sourceFile);
}

const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
