/**
 * The live pipeline of `firebreak serve`: the write-ahead log is read from where the server last
 * left it, records are decoded and matched on a pool of worker threads (./detect-worker.ts), every
 * event goes to the event store, and the detections go through the same stages `hunt` runs
 * (src/pipeline/plan.ts): correlation, counts, stories, behind a reorder stage that turns
 * arrival order into event-time order within an allowed lateness. Single-event alerts are written
 * before that wait, so they appear within a second.
 *
 * Crash safety (docs/serve.md): every write is idempotent (events by log offset, alerts and
 * folded detections by detection identity, stories by id, notifications by a unique key), and
 * the state database records the offset processed. The log keeps the records of the last
 * `replayMs` of event time: after a restart they are read again to rebuild the correlation and
 * story state, their effects already being on disk.
 */
import { LIMITS } from '../core/limits.js';
import type { Stage } from '../detections/stage.js';
import type { DetectionPlan, DetectionStages } from '../pipeline/plan.js';
import type { AlertChange, SuppressionConfig } from './alerts.js';
import { DetectPool } from './detect-pool.js';
import type { DetectResult } from './detect-worker.js';
import { LiveStages } from './live-stages.js';
import type { StateDb } from './store/db.js';
import type { EventStore } from './store/types.js';
import type { WalEntry, WriteAheadLog } from './wal/wal.js';
import type { NotifyEvent } from './notify/message.js';
import type { StoryChange } from './stories.js';

export interface ProcessorOptions {
  wal: WriteAheadLog;
  db: StateDb;
  events?: EventStore;
  plan: DetectionPlan;
  /** Detection worker threads (default: the machine's cores). */
  threads?: number;
  suppression: SuppressionConfig;
  /** How late (ms of event time) a detection may arrive and still be put in order. */
  allowedLatenessMs: number;
  /** With no new record for this long, held detections and pending audit events are released. */
  idleFlushMs: number;
  /** Event time kept in the log to rebuild state after a restart. */
  replayMs: number;
  /** Records read per batch. */
  batchRecords?: number;
  /** Linux syslog time zone for time stamps without one. */
  timeZone?: string;
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
  /** Called after every batch is fully processed. */
  onBatch?: () => void;
  /** Problems of the processor's own state (e.g. stored baselines it could not use). */
  onWarning?: (message: string) => void;
  /** Record-level problems (bad records), for health. */
  onErrors?: (errors: DetectResult['errors']) => void;
}

export interface ProcessorStats {
  records: number;
  events: number;
  detections: number;
  batches: number;
  errors: number;
  processedOffset: number;
  replayFrom: number;
  watermark: string | null;
  /** Records read again after a restart to rebuild state. */
  replayed: number;
  /** Events released by an idle flush (late audit joins) that the event store could not take (counted, still detected). */
  flushedNotStored: number;
  stages: Record<string, Record<string, number>>;
}

/** The stories' baselines are written with the processed offset at most this often (and at stop). */
const BASELINE_SAVE_MS = 60_000;

export class Processor {
  private pool: DetectPool;
  /** Rules to switch to once the batches in flight are done (an analyst enabled or disabled a rule). */
  private nextPlan: DetectionPlan | undefined;
  private rulesChanged: (() => void)[] = [];
  /** Alerts, reorder, correlation, stories: everything after matching (./live-stages.ts). */
  readonly live: LiveStages;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private reader: ReturnType<WriteAheadLog['reader']> | undefined;
  private processed: number;
  private replayFrom: number;
  private readonly resumeAt: number;
  private readonly horizon: { offset: number; maxTime: number }[] = [];
  private readonly s = { records: 0, events: 0, detections: 0, batches: 0, errors: 0, replayed: 0, flushedNotStored: 0 };
  private stopping = false;
  private lastLagMs: number | null = null;
  private baselinesSavedAt = 0;
  private failure: Error | undefined;

  constructor(private readonly o: ProcessorOptions) {
    this.live = new LiveStages({
      db: o.db,
      plan: o.plan,
      suppression: o.suppression,
      allowedLatenessMs: o.allowedLatenessMs,
      after: o.after,
      onAlerts: o.onAlerts,
      onStories: o.onStories,
      notify: o.notify,
      publicUrl: o.publicUrl,
      onWarning: o.onWarning,
    });
    this.processed = Number(o.db.getMeta('processed') ?? o.wal.committed);
    this.replayFrom = Math.min(this.processed, Number(o.db.getMeta('replay_from') ?? o.wal.committed));
    this.replayFrom = Math.max(this.replayFrom, o.wal.firstOffset);
    this.resumeAt = this.processed;
    this.pool = this.makePool(o.plan);
  }

  get stages(): DetectionStages {
    return this.live.stages;
  }
  get alerts(): LiveStages['alerts'] {
    return this.live.alerts;
  }
  get correlationAlerts(): LiveStages['correlationAlerts'] {
    return this.live.correlationAlerts;
  }
  get liveStories(): LiveStages['liveStories'] {
    return this.live.liveStories;
  }

  private makePool(plan: DetectionPlan): DetectPool {
    return new DetectPool(plan, { threads: this.o.threads, storeEvents: !!this.o.events, timeZone: this.o.timeZone });
  }

  /**
   * Run another rule set (enabled/disabled or uploaded rules). Batches in flight finish on the old
   * rules; the workers' pending audit records are flushed; then the new workers take over.
   * Correlations, stories and alerts keep their state. Resolves once the switch is done.
   */
  setRules(plan: DetectionPlan): Promise<void> {
    this.nextPlan = plan;
    return new Promise((resolve) => this.rulesChanged.push(resolve));
  }

  private async switchRules(): Promise<void> {
    const plan = this.nextPlan!;
    this.nextPlan = undefined;
    await this.idle();
    const old = this.pool;
    this.pool = this.makePool(plan);
    this.live.setFeederKeys(plan.feederKeys);
    this.pool.warm();
    await old.close().catch(() => undefined);
    for (const r of this.rulesChanged.splice(0)) r();
  }

  /** Start reading the log (from the replay point) in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.pool.warm();
    this.reader = this.o.wal.reader(this.replayFrom);
    this.loopDone = this.loop().catch((e: unknown) => {
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.running = false;
    });
  }

  /** The error that stopped processing, if any (for health). */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Graceful stop: no new reads, batches in flight finish, held detections are released, the
   * processed offset is committed.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.running = false;
    await this.reader?.close();
    await this.loopDone;
    if (!this.failure) {
      await this.live.drain();
      this.o.onBatch?.();
      this.baselinesSavedAt = 0;
      this.commit();
    }
    await this.pool.close().catch(() => undefined);
    for (const r of this.rulesChanged.splice(0)) r();
  }

  /** Arrival-to-processed delay of the newest record of the last batch (ms), null before the first. */
  get lagMs(): number | null {
    return this.lastLagMs;
  }

  stats(): ProcessorStats {
    return {
      ...this.s,
      processedOffset: this.processed,
      replayFrom: this.replayFrom,
      watermark: this.live.watermark,
      stages: this.live.stats(),
    };
  }

  private async loop(): Promise<void> {
    const reader = this.reader!;
    const inflight: { entries: WalEntry[]; result: Promise<DetectResult> }[] = [];
    const depth = 2 * this.pool.threads;
    let pendingRead: Promise<WalEntry[]> | undefined;
    let lastRecordAt = Date.now();
    let flushed = true;
    while (this.running || inflight.length) {
      // Keep the workers fed while the oldest batch is handled.
      if (this.nextPlan && !inflight.length) await this.switchRules();
      while (this.running && inflight.length < depth && !this.nextPlan) {
        pendingRead ??= reader.read(this.o.batchRecords ?? LIMITS.serve.batchRecords, true);
        const timer = cancellableDelay(inflight.length ? 0 : this.o.idleFlushMs);
        const got = await Promise.race([pendingRead, timer.promise]);
        timer.cancel();
        if (got === undefined) break; // nothing new yet
        pendingRead = undefined;
        if (!got.length) {
          this.running = false; // the log or reader closed
          break;
        }
        lastRecordAt = Date.now();
        flushed = false;
        inflight.push({ entries: got, result: this.pool.submit(got) });
      }
      const next = inflight.shift();
      if (next) {
        await this.handle(next.entries, await next.result);
        continue;
      }
      if (!flushed && Date.now() - lastRecordAt >= this.o.idleFlushMs) {
        await this.idle();
        flushed = true;
      }
      if (this.stopping) break;
    }
  }

  private async handle(entries: WalEntry[], r: DetectResult): Promise<void> {
    const first = entries[0]!.offset;
    const end = entries[entries.length - 1]!.offset + 1;
    this.s.batches++;
    this.s.records += entries.length;
    this.s.events += r.eventCount;
    this.s.detections += r.detections.length;
    if (end <= this.resumeAt) this.s.replayed += entries.length;
    if (r.errors.length) {
      this.s.errors += r.errors.length;
      this.o.onErrors?.(r.errors);
    }
    if (this.o.events && r.events.length) await this.o.events.append(r.events);
    const t = await this.live.apply(r);
    if (!Number.isNaN(t)) this.horizon.push({ offset: first, maxTime: t });
    this.o.onBatch?.();
    this.processed = Math.max(this.processed, end);
    this.lastLagMs = Math.max(0, Date.now() - entries[entries.length - 1]!.record.receivedAt);
    this.commit();
  }

  /** Input went quiet: pending audit events out of the workers, held detections through. */
  private async idle(): Promise<void> {
    const r = await this.pool.flush();
    if (r.errors.length) this.o.onErrors?.(r.errors);
    if (this.o.events && r.events.length) await this.storeFlushed(this.o.events, r.events);
    await this.live.quiet(r.detections);
    this.o.onBatch?.();
  }

  /**
   * Events a flush released (audit records joined late) belong to records the store may already
   * hold. They are filed under the last record processed; when the store already has that one
   * (its offsets are how a replay is recognised), they are counted as not stored.
   */
  private async storeFlushed(store: EventStore, events: DetectResult['events']): Promise<void> {
    const at = this.processed - 1;
    if (at < 0 || (await store.maxOffset()) >= at) {
      this.s.flushedNotStored += events.length;
      return;
    }
    await store.append(events.map((e) => ({ ...e, offset: at })));
  }

  /** Record the offset processed and move the log's commit to the start of the replay horizon. */
  private commit(): void {
    const keepFrom = this.live.maxSeen - this.o.replayMs;
    while (this.horizon.length > 1 && this.horizon[1]!.maxTime < keepFrom) this.horizon.shift();
    const replayFrom = Math.min(this.processed, this.horizon[0]?.offset ?? this.processed);
    if (replayFrom > this.replayFrom) this.replayFrom = replayFrom;
    const saveBaselines = this.live.stages.stories !== undefined && Date.now() - this.baselinesSavedAt >= BASELINE_SAVE_MS;
    const baseline = saveBaselines ? this.live.exportBaseline() : undefined;
    this.o.db.tx(() => {
      this.o.db.setMeta('processed', String(this.processed));
      this.o.db.setMeta('replay_from', String(this.replayFrom));
      if (baseline !== undefined) this.live.saveBaseline(baseline);
    });
    if (saveBaselines) this.baselinesSavedAt = Date.now();
    this.o.wal.markProcessed(this.processed);
    if (this.replayFrom > this.o.wal.committed) void this.o.wal.commit(this.replayFrom).catch(() => undefined);
  }
}

function cancellableDelay(ms: number): { promise: Promise<undefined>; cancel(): void } {
  let t: NodeJS.Timeout | undefined;
  const promise = new Promise<undefined>((r) => (t = setTimeout(r, ms, undefined)));
  return { promise, cancel: () => clearTimeout(t) };
}
