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
import { ReplayHorizon } from './replay-horizon.js';
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

/**
 * The log's commit point (which lets fully consumed segments be deleted) moves at most this often:
 * writing it costs two fsyncs, which would compete with the appends shippers wait for. A restart
 * reads the replay point from the state database, which is written with every batch.
 */
const LOG_COMMIT_MS = 1_000;

export class Processor {
  private pool: DetectPool;
  /** Rules to switch to once the batches in flight are done (an analyst enabled or disabled a rule). */
  private nextPlan: { plan: DetectionPlan; pool: DetectPool } | undefined;
  /** Rules whose workers are still compiling (they take over once ready). */
  private preparing: { plan: DetectionPlan; pool: DetectPool } | undefined;
  /** Ends the loop's wait for input early (new rules are ready). */
  private wake: (() => void) | undefined;
  private rulesChanged: (() => void)[] = [];
  /** Alerts, reorder, correlation, stories: everything after matching (./live-stages.ts). */
  readonly live: LiveStages;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private reader: ReturnType<WriteAheadLog['reader']> | undefined;
  private processed: number;
  private replayFrom: number;
  private readonly resumeAt: number;
  private readonly horizon = new ReplayHorizon();
  private readonly s = { records: 0, events: 0, detections: 0, batches: 0, errors: 0, replayed: 0, flushedNotStored: 0 };
  private lastLagMs: number | null = null;
  private baselinesSavedAt = 0;
  private logCommittedAt = 0;
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
   * Run another rule set (enabled/disabled or uploaded rules). New workers compile the rules while
   * the current ones go on matching; once they are ready, the batches in flight finish on the old
   * rules, the old workers' pending audit records are flushed, and the new workers take over.
   * Correlations, stories and alerts keep their state. Resolves once the switch is done (or, when
   * the new workers cannot start, once that is reported and the old rules kept running).
   */
  setRules(plan: DetectionPlan): Promise<void> {
    const done = new Promise<void>((resolve) => this.rulesChanged.push(resolve));
    const pool = this.makePool(plan);
    // A newer change replaces one still compiling.
    const superseded = this.preparing;
    this.preparing = { plan, pool };
    if (superseded) void superseded.pool.close().catch(() => undefined);
    if (!this.running) {
      // Not started (or stopped): nothing is in flight, the new workers simply replace the old.
      this.preparing = undefined;
      const old = this.pool;
      this.pool = pool;
      this.live.setFeederKeys(plan.feederKeys);
      void old.close().catch(() => undefined);
      for (const r of this.rulesChanged.splice(0)) r();
      return done;
    }
    pool.ready().then(
      () => {
        if (this.preparing?.pool !== pool) return;
        this.preparing = undefined;
        this.nextPlan = { plan, pool };
        this.wake?.();
      },
      (e: unknown) => {
        if (this.preparing?.pool !== pool) return;
        this.preparing = undefined;
        this.o.onWarning?.(`the changed rules could not be started, the previous ones keep running: ${(e as Error).message}`);
        void pool.close().catch(() => undefined);
        for (const r of this.rulesChanged.splice(0)) r();
      },
    );
    return done;
  }

  private async switchRules(): Promise<void> {
    const { plan, pool } = this.nextPlan!;
    this.nextPlan = undefined;
    await this.idle();
    const old = this.pool;
    this.pool = pool;
    this.live.setFeederKeys(plan.feederKeys);
    await old.close().catch(() => undefined);
    for (const r of this.rulesChanged.splice(0)) r();
  }

  /**
   * Start reading the log (from the replay point) in the background. Resolves once the detection
   * workers have compiled their rules (the server takes input only then, so what it acknowledges
   * is matched at once); rejects when they cannot start.
   */
  start(): Promise<void> {
    if (this.running) return this.pool.ready();
    this.running = true;
    const ready = this.pool.ready();
    this.reader = this.o.wal.reader(this.replayFrom);
    this.loopDone = this.loop().catch((e: unknown) => {
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.running = false;
    });
    return ready;
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
    this.running = false;
    await this.reader?.close();
    await this.loopDone;
    if (!this.failure) {
      this.baselinesSavedAt = 0;
      this.logCommittedAt = 0;
      await this.o.db.batch(async () => {
        await this.live.drain();
        this.saveProgress();
      });
      this.committed();
    }
    const unused = [this.preparing?.pool, this.nextPlan?.pool];
    this.preparing = this.nextPlan = undefined;
    for (const p of [this.pool, ...unused]) await p?.close().catch(() => undefined);
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

  /**
   * Two halves: the feeder reads the log and hands each batch to the workers as soon as it is
   * durable (up to `depth` batches in flight), while the handler takes the results in log order
   * through the stages. Neither waits for the other, so a batch is matched while the one before it
   * is still being handled, and a batch arriving while the input is sparse goes to an idle worker
   * at once. The handler alone runs the stages: batches, idle flushes and rule switches, one at a time.
   */
  private async loop(): Promise<void> {
    const reader = this.reader!;
    const inflight: { entries: WalEntry[]; result: Promise<DetectResult> }[] = [];
    const depth = 2 * this.pool.threads;
    let lastRecordAt = Date.now();
    let flushed = true;
    let switching = false;
    let feeding = true;
    let feedError: Error | undefined;
    let wakeHandler: (() => void) | undefined;
    let wakeFeeder: (() => void) | undefined;
    const handlerWakes = () => wakeHandler?.();
    const feederWakes = () => wakeFeeder?.();
    // Rules ready to switch to, or a stop, wake the handler too.
    this.wake = handlerWakes;
    const feeder = async () => {
      while (this.running) {
        if (inflight.length >= depth) {
          await new Promise<void>((r) => (wakeFeeder = r));
          continue;
        }
        const got = await reader.read(this.o.batchRecords ?? LIMITS.serve.batchRecords, true);
        if (!got.length) return; // the log or reader closed
        // New rules take over between batches: nothing goes to the old workers once they are due.
        while ((this.nextPlan || switching) && this.running) await new Promise<void>((r) => (wakeFeeder = r));
        lastRecordAt = Date.now();
        flushed = false;
        inflight.push({ entries: got, result: this.pool.submit(got) });
        handlerWakes();
      }
    };
    const fed = feeder().then(
      () => {
        feeding = false;
        handlerWakes();
      },
      (e: unknown) => {
        feeding = false;
        feedError = e instanceof Error ? e : new Error(String(e));
        handlerWakes();
      },
    );
    try {
      for (;;) {
        if (feedError !== undefined) throw feedError;
        if (this.nextPlan && !inflight.length) {
          switching = true;
          await this.switchRules();
          switching = false;
          feederWakes();
          continue;
        }
        const next = inflight.shift();
        if (next) {
          feederWakes();
          await this.handle(next.entries, await next.result);
          continue;
        }
        if (!feeding) break;
        const quietFor = Date.now() - lastRecordAt;
        if (!flushed && quietFor >= this.o.idleFlushMs) {
          await this.idle();
          flushed = true;
          continue;
        }
        // Wait for a batch, new rules, the end of input, or the idle flush.
        const timer = flushed ? undefined : setTimeout(handlerWakes, this.o.idleFlushMs - quietFor);
        await new Promise<void>((r) => (wakeHandler = r));
        wakeHandler = undefined;
        clearTimeout(timer);
      }
    } finally {
      this.wake = undefined;
      this.running = false;
      feederWakes();
      await reader.close();
      await fed;
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
    // The batch's alerts, stories and progress in one transaction: one fsync, not one per stage.
    await this.o.db.batch(async () => {
      const t = await this.live.apply(r);
      if (!Number.isNaN(t)) this.horizon.note(first, t);
      this.processed = Math.max(this.processed, end);
      this.saveProgress();
    });
    this.lastLagMs = Math.max(0, Date.now() - entries[entries.length - 1]!.record.receivedAt);
    this.committed();
  }

  /** Input went quiet: pending audit events out of the workers, held detections through. */
  private async idle(): Promise<void> {
    const r = await this.pool.flush();
    if (r.errors.length) this.o.onErrors?.(r.errors);
    if (this.o.events && r.events.length) await this.storeFlushed(this.o.events, r.events);
    await this.o.db.batch(() => this.live.quiet(r.detections));
    this.published();
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

  /** Alert and story changes → the live feed, once they are committed. */
  private published(): void {
    this.live.published();
    this.o.onBatch?.();
  }

  /** Record the offset processed and the replay point (in the batch's transaction). */
  private saveProgress(): void {
    const replayFrom = this.horizon.replayFrom(this.live.maxSeen - this.o.replayMs, this.processed);
    if (replayFrom > this.replayFrom) this.replayFrom = replayFrom;
    const saveBaselines = this.live.stages.stories !== undefined && Date.now() - this.baselinesSavedAt >= BASELINE_SAVE_MS;
    this.o.db.tx(() => {
      this.o.db.setMeta('processed', String(this.processed));
      this.o.db.setMeta('replay_from', String(this.replayFrom));
      if (saveBaselines) {
        const baseline = this.live.exportBaseline();
        if (baseline !== undefined) this.live.saveBaseline(baseline);
      }
    });
    if (saveBaselines) this.baselinesSavedAt = Date.now();
  }

  /** After a batch's transaction: the live feed, and the log's commit moved (at most every LOG_COMMIT_MS) to the start of the replay horizon. */
  private committed(): void {
    this.published();
    this.o.wal.markProcessed(this.processed);
    if (this.replayFrom > this.o.wal.committed && Date.now() - this.logCommittedAt >= LOG_COMMIT_MS) {
      this.logCommittedAt = Date.now();
      void this.o.wal.commit(this.replayFrom).catch(() => undefined);
    }
  }
}
