/**
 * Stories as a pipeline stage: it watches every detection go by and joins them into stories.
 * Two side inputs come from the events, not the detections: address claims (which host owns an
 * address) and routine facts (who reaches which host, which program runs where: ./facts.ts). A
 * hunt's workers send both before the first detection comes; a live server feeds them as events
 * arrive. Live, `changed()` after `push`/`advance` gives the stories that grew, merged or closed.
 */
import type { DetectionRecord } from '../detections/record.js';
import { ObserverStage, type StageOutput, type StageStats, NONE } from '../detections/stage.js';
import type { AddressClaim } from '../events/addresses.js';
import type { LiveStory, StoryBuilder } from './builder.js';
import type { RoutineFact } from './facts.js';
import type { Story } from './model.js';
import type { RoutineState } from './routine.js';

/** The name the stories' baselines are stored under (a server's `baselines` table). */
export const BASELINE_NAME = 'stories.routine';

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

  /** Routine facts read from the events (a side input: what the network does every day, ./routine.ts). */
  learnRoutine(facts: Iterable<RoutineFact>): void {
    this.builder.learnRoutine(facts);
  }

  /**
   * The learnt baselines as plain JSON (bounded: LIMITS.stories.routine), to store under
   * `BASELINE_NAME` and give back to `importBaseline` after a restart. Learning goes on as
   * before; the warm-up (`StoryOptions.routine.warmupMs`) counts from the first fact ever
   * learnt, so a restored baseline is not warming up again.
   */
  exportBaseline(): RoutineState {
    return this.builder.exportRoutine();
  }

  /** Restore baselines `exportBaseline` gave (parsed JSON), before feeding anything; damaged state is refused and nothing changes. */
  importBaseline(state: unknown): void {
    this.builder.importRoutine(state);
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
