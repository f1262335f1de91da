/**
 * Correlation as a pipeline stage: every detection is fed to the correlation engine (building
 * blocks included); what goes on is the detections that are outputs of their own (not `hidden`)
 * followed, at the detection that completed them, by the correlation detections they made.
 */
import type { DetectionRecord } from '../detections/record.js';
import { NONE, type Stage, type StageOutput, type StageStats } from '../detections/stage.js';
import type { CorrelationEngine } from './engine.js';

export class CorrelationStage implements Stage {
  readonly name = 'correlation';

  constructor(
    private readonly engine: CorrelationEngine,
    /**
     * True for a detection of a rule that runs only to feed a correlation (the filters did not
     * select it): it is consumed, never an output of its own.
     */
    private readonly feederOnly?: (d: DetectionRecord) => boolean,
  ) {}

  push(batch: readonly DetectionRecord[]): StageOutput {
    const out: DetectionRecord[] = [];
    for (const d of batch) {
      if (this.feederOnly?.(d)) d.hidden = true;
      const made = this.engine.push(d);
      if (!d.hidden) out.push(d);
      for (const c of made) if (!c.hidden) out.push(c);
    }
    return out;
  }

  advance(watermark: number): StageOutput {
    this.engine.advance(watermark);
    return NONE;
  }

  finish(): StageOutput {
    this.engine.finish();
    return NONE;
  }

  stats(): StageStats {
    return { ...this.engine.stats() };
  }
}
