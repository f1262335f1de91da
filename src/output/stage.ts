/** Outputs as a pipeline stage: every detection that reaches it is written to each sink, in order. */
import type { DetectionRecord } from '../detections/record.js';
import { ObserverStage, type StageStats } from '../detections/stage.js';
import type { HuntSummary } from './records.js';

/** Receives detections in time order; closed with the run's summary at the end. */
export interface DetectionSink {
  /** The sink reads `DetectionRecord.event` (the whole event); without it, events are cut to what stories and correlations read. */
  needsEvent?: boolean;
  write(d: DetectionRecord): void | Promise<void>;
  close(summary: HuntSummary): Promise<void>;
}

export class SinkStage extends ObserverStage {
  readonly name = 'outputs';
  private written = 0;

  constructor(private readonly sinks: readonly DetectionSink[]) {
    super();
  }

  protected observe(batch: readonly DetectionRecord[]): void | Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      for (let k = 0; k < this.sinks.length; k++) {
        const waited = this.sinks[k]!.write(batch[i]!);
        // A saturated output: wait for it, then go on where this left off.
        if (waited) return this.resume(waited, batch, i, k + 1);
      }
      this.written++;
    }
  }

  private async resume(waited: Promise<void>, batch: readonly DetectionRecord[], i: number, k: number): Promise<void> {
    await waited;
    for (; i < batch.length; i++, k = 0) {
      for (; k < this.sinks.length; k++) await this.sinks[k]!.write(batch[i]!);
      this.written++;
    }
  }

  stats(): StageStats {
    return { written: this.written };
  }
}
