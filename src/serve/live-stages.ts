/**
 * What `serve` does with detections once they are matched, wherever they were matched: the alert
 * stage (single-event alerts at once), the reorder stage (arrival order → event-time order within
 * the allowed lateness), then the same stages `hunt` runs (src/pipeline/plan.ts): correlation and
 * its alerts, counts, stories written live (./stories.ts). The embedded processor (./processor.ts)
 * feeds it the write-ahead log's batches; a scaled-out correlate node (./cluster/correlate.ts)
 * feeds it the detect nodes' results in stream order. Both write to a state database (SQLite).
 */
import { LIMITS } from '../core/limits.js';
import { ruleKey } from '../detections/convert.js';
import type { DetectionRecord } from '../detections/record.js';
import type { Stage } from '../detections/stage.js';
import { detectionStages, type DetectionPlan, type DetectionStages } from '../pipeline/plan.js';
import { ReorderStage } from '../pipeline/reorder.js';
import { BASELINE_NAME } from '../stories/stage.js';
import { AlertStage, type AlertChange, type SuppressionConfig } from './alerts.js';
import type { DetectResult } from './detect-worker.js';
import type { NotifyEvent } from './notify/message.js';
import type { StateDb } from './store/db.js';
import { LiveStories, type StoryChange } from './stories.js';

export interface LiveStagesOptions {
  db: StateDb;
  plan: DetectionPlan;
  suppression: SuppressionConfig;
  /** How late (ms of event time) a detection may arrive and still be put in order. */
  allowedLatenessMs: number;
  /** Stages run after stories. */
  after?: (parts: Pick<DetectionStages, 'stories' | 'counts'>) => Stage[];
  /** Alert changes, for the live feed. */
  onAlerts?: (changes: AlertChange[]) => void;
  /** Story changes (written to the database), for the live feed. */
  onStories?: (changes: StoryChange[]) => void;
  /** Queue a story notification (called inside the transaction that writes the story). */
  notify?: (e: NotifyEvent) => void;
  /** The console's address, for links in notifications. */
  publicUrl?: string;
  /** Problems of the stages' own state (e.g. stored baselines that cannot be used). */
  onWarning?: (message: string) => void;
}

/** What one batch of matching gives the stages. */
export type MatchedBatch = Pick<DetectResult, 'detections' | 'claims' | 'facts' | 'maxTime'>;

/** Event times more than this far in the future (clock skew, hostile input) do not move the watermark. */
const FUTURE_SKEW_MS = 5 * 60_000;

export class LiveStages {
  readonly stages: DetectionStages;
  readonly alerts: AlertStage;
  readonly correlationAlerts: AlertStage;
  readonly liveStories: LiveStories;
  private feederKeys: ReadonlySet<string>;
  private seen = -Infinity;
  /** How far event time has come for the watermark (before the allowed lateness). */
  private mark = -Infinity;
  private storiesWrittenAt = 0;

  constructor(private readonly o: LiveStagesOptions) {
    const plan = o.plan;
    this.feederKeys = plan.feederKeys;
    const engine = plan.correlationEngine;
    // Feeders are looked up in the rules running now (an analyst may enable a feeder as a rule of its own).
    const hiddenByCorrelation = (d: DetectionRecord) => this.feederKeys.has(ruleKey(d.rule)) || (engine?.hides(d) ?? false);
    this.alerts = new AlertStage(o.db, o.suppression, (d) => d.rule.kind === 'sigma' && !hiddenByCorrelation(d), 'alerts');
    this.correlationAlerts = new AlertStage(o.db, o.suppression, (d) => d.rule.kind === 'correlation' && !d.hidden, 'correlation-alerts');
    const reorder = new ReorderStage();
    this.liveStories = new LiveStories(o.db, {
      alertOf: (d) => this.alerts.alertOf(d) ?? this.correlationAlerts.alertOf(d),
      notify: o.notify,
      publicUrl: o.publicUrl,
    });
    this.stages = detectionStages(plan, {
      stories: { live: { merged: (into, from) => this.liveStories.merged(into, from), dropped: (key) => this.liveStories.dropped(key) } },
      before: [this.alerts, reorder],
      afterCorrelation: [this.correlationAlerts],
      after: (parts) => o.after?.(parts) ?? [],
    });
    if (this.stages.stories) {
      const stories = this.stages.stories;
      stories.onJoin = (d, key) => this.liveStories.joined(d, key);
      // The stories' baselines (what is routine here) survive a restart; damaged state starts cold.
      const row = o.db.db.prepare('SELECT state FROM baselines WHERE name = ?').get(BASELINE_NAME) as { state: string } | undefined;
      if (row) {
        try {
          stories.importBaseline(JSON.parse(row.state));
        } catch (e) {
          o.onWarning?.(`stored story baselines not used (starting cold): ${(e as Error).message}`);
        }
      }
    }
  }

  /** The rules now running hide these feeders of correlations (an analyst changed the rules). */
  setFeederKeys(keys: ReadonlySet<string>): void {
    this.feederKeys = keys;
  }

  /** The latest event time seen (ms), -Infinity before the first. */
  get maxSeen(): number {
    return this.seen;
  }

  /** The event-time watermark (ISO), null before the first event. */
  get watermark(): string | null {
    return this.mark === -Infinity ? null : new Date(this.mark - this.o.allowedLatenessMs).toISOString();
  }

  /**
   * One matched batch: the stories learn its address claims and routine facts, its detections go
   * through the stages, the watermark follows its latest event time (less the allowed lateness),
   * stories written (at most every `storyFlushMs`). `upTo` holds the
   * watermark back to how far event time has come everywhere (a scaled-out correlate node: the
   * least advanced of the partitions still sending), when the batch's latest time is not that.
   * The caller runs it in a transaction (`StateDb.batch`) and calls `published()` after the commit.
   * Returns the batch's latest event time as it moved `maxSeen`, NaN when it had none.
   */
  async apply(r: MatchedBatch, upTo?: number): Promise<number> {
    this.stages.stories?.learn(r.claims);
    if (r.facts?.length) this.stages.stories?.learnRoutine(r.facts);
    await this.stages.pipeline.push(r.detections);
    let t = Number.NaN;
    if (!Number.isNaN(r.maxTime)) {
      t = Math.min(r.maxTime, Date.now() + FUTURE_SKEW_MS);
      if (t > this.seen) this.seen = t;
    }
    const w = upTo === undefined ? this.seen : Math.min(this.seen, upTo);
    if (w > this.mark) this.mark = w;
    if (this.mark !== -Infinity) await this.stages.pipeline.advance(this.mark - this.o.allowedLatenessMs);
    this.writeStories(false);
    return t;
  }

  /** Input went quiet: `detections` (a flush's) through, everything held released, stories written. */
  async quiet(detections: readonly DetectionRecord[] = []): Promise<void> {
    await this.stages.pipeline.push(detections);
    if (this.seen !== -Infinity) await this.stages.pipeline.advance(this.pastSeen());
    this.writeStories(true);
  }

  /** Stopping: everything held released and written. */
  async drain(): Promise<void> {
    await this.stages.pipeline.advance(this.seen === -Infinity ? 0 : this.pastSeen());
    this.writeStories(true);
  }

  /**
   * A watermark just past the newest event time seen: the reorder stage releases what is older
   * than its watermark, so advancing to `seen` itself would keep the newest detections (those at
   * exactly `seen`, e.g. the one completing a correlation) held until later events arrive.
   * Event times are whole milliseconds (`Date.parse`).
   */
  private pastSeen(): number {
    return this.seen + 1;
  }

  /** The stories' baselines as stored (`baselines` under BASELINE_NAME), undefined without stories. */
  exportBaseline(): string | undefined {
    const stories = this.stages.stories;
    return stories ? JSON.stringify(stories.exportBaseline()) : undefined;
  }

  /** Store the baselines (in the caller's transaction). */
  saveBaseline(json: string): void {
    this.o.db.db
      .prepare('INSERT INTO baselines (name, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at')
      .run(BASELINE_NAME, json, new Date().toISOString());
  }

  stats(): Record<string, Record<string, number>> {
    return { ...this.stages.pipeline.stats(), 'story-writes': { ...this.liveStories.counters, pending: this.liveStories.pendingComponents } };
  }

  /**
   * Alert and story changes since the last call → `onAlerts`, `onStories` (the live feed). Call it
   * once the batch's transaction is committed (and call it even without listeners: the changes are
   * kept until taken).
   */
  published(): void {
    const changes = [...this.alerts.takeChanges(), ...this.correlationAlerts.takeChanges()];
    if (changes.length) this.o.onAlerts?.(changes);
    const stories = this.liveStories.takeChanges();
    if (stories.length) this.o.onStories?.(stories);
  }

  /** Stories that changed → the database (at most every `storyFlushMs` while input flows). */
  private writeStories(now: boolean): void {
    const stories = this.stages.stories;
    if (!stories) return;
    if (!now && Date.now() - this.storiesWrittenAt < LIMITS.serve.storyFlushMs) return;
    this.storiesWrittenAt = Date.now();
    this.liveStories.flush(stories);
  }
}
