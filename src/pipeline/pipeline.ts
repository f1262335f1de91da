/**
 * A list of stages run in order (src/detections/stage.ts): what one stage returns is the next
 * one's input. `advance` and `finish` go stage by stage, and whatever a stage releases on them
 * flows through the stages after it before those advance too, so nothing overtakes a watermark.
 */
import type { DetectionRecord } from '../detections/record.js';
import type { Stage, StageStats } from '../detections/stage.js';

export class Pipeline {
  private finished = false;

  constructor(readonly stages: readonly Stage[]) {}

  /** Feed a batch (in event-time order, late detections aside). */
  async push(batch: readonly DetectionRecord[]): Promise<void> {
    this.check();
    await this.from(0, batch);
  }

  /** Event time has reached `watermark` (ms). */
  async advance(watermark: number): Promise<void> {
    this.check();
    for (let i = 0; i < this.stages.length; i++) {
      const out = await this.stages[i]!.advance(watermark);
      if (out.length) await this.from(i + 1, out);
    }
  }

  /** End of input. */
  async finish(): Promise<void> {
    this.check();
    this.finished = true;
    for (let i = 0; i < this.stages.length; i++) {
      const out = await this.stages[i]!.finish();
      if (out.length) await this.from(i + 1, out);
    }
  }

  /** Every stage's counters, by stage name. */
  stats(): Record<string, StageStats> {
    return Object.fromEntries(this.stages.map((s) => [s.name, s.stats()]));
  }

  private async from(i: number, batch: readonly DetectionRecord[]): Promise<void> {
    let b = batch;
    for (let k = i; k < this.stages.length && b.length; k++) b = await this.stages[k]!.push(b);
  }

  private check(): void {
    if (this.finished) throw new Error('pipeline: input after finish()');
  }
}
