/** Stories as a pipeline stage: it watches every detection go by and joins them into stories. */
import type { DetectionRecord } from '../detections/record.js';
import { ObserverStage, type StageOutput, type StageStats, NONE } from '../detections/stage.js';
import type { AddressClaim } from '../events/addresses.js';
import type { LiveStory, StoryBuilder } from './builder.js';
import type { Story } from './model.js';

export class StoryStage extends ObserverStage {
  readonly name = 'stories';
  private found: Story[] | undefined;
  /** Called with each detection a story took and the story component it joined (live use). */
  onJoin: ((d: DetectionRecord, key: number) => void) | undefined;

  constructor(private readonly builder: StoryBuilder) {
    super();
  }

  /** Address claims read from the events (a side input: stories resolve addresses to hosts with them). */
  learn(claims: Iterable<AddressClaim & { at?: string | null }>): void {
    for (const c of claims) this.builder.learnAddress(c.ip, c.host, c.at ?? undefined);
  }

  protected observe(batch: readonly DetectionRecord[]): void {
    for (const d of batch) {
      const key = this.builder.add(d);
      if (key !== undefined) this.onJoin?.(d, key);
    }
  }

  override advance(watermark: number): StageOutput {
    this.builder.advance(watermark);
    return NONE;
  }

  override finish(): StageOutput {
    this.found = this.builder.finish();
    return NONE;
  }

  /** Live use: the stories that changed since the last call (see `StoryBuilder.changed`). */
  changed(): LiveStory[] {
    return this.builder.changed();
  }

  /** The stories, highest score first (after `finish`). */
  stories(): Story[] {
    if (!this.found) throw new Error('stories are known only after finish()');
    return this.found;
  }

  stats(): StageStats {
    return { ...this.builder.stats() };
  }
}
