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
import { defaultDomainHandoff } from '../events/domain.js';
import { availableParallelism } from 'node:os';
import { LIMITS } from '../core/limits.js';
import { WorkerPool } from '../core/pool.js';
import { ruleKey } from '../detections/convert.js';
import type { DetectionRecord } from '../detections/record.js';
import type { Stage } from '../detections/stage.js';
import { detectionStages, type DetectionPlan, type DetectionStages } from '../pipeline/plan.js';
import { ReorderStage } from '../pipeline/reorder.js';
import { forWorker } from '../pipeline/select.js';
import { AlertStage, type AlertChange, type SuppressionConfig } from './alerts.js';
import type { DetectInit, DetectResult, DetectTask } from './detect-worker.js';
import type { StateDb } from './store/db.js';
import type { EventStore } from './store/types.js';
import type { WalEntry, WriteAheadLog } from './wal/wal.js';
import type { NotifyEvent } from './notify/message.js';
import { LiveStories, type StoryChange } from './stories.js';
import { BASELINE_NAME } from '../stories/stage.js';

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

/** Event times more than this far in the future (clock skew, hostile input) do not move the watermark. */
const FUTURE_SKEW_MS = 5 * 60_000;

export class Processor {
  private pool: WorkerPool<DetectTask, DetectResult>;
  /** Rules to switch to once the batches in flight are done (an analyst enabled or disabled a rule). */
  private nextPlan: { plan: DetectionPlan; pool: WorkerPool<DetectTask, DetectResult> } | undefined;
  /** Rules whose workers are still compiling (they take over once ready). */
  private preparing: { plan: DetectionPlan; pool: WorkerPool<DetectTask, DetectResult> } | undefined;
  /** Ends the loop's wait for input early (new rules are ready). */
  private wake: (() => void) | undefined;
  private feederKeys: ReadonlySet<string>;
  private rulesChanged: (() => void)[] = [];
  readonly stages: DetectionStages;
  readonly alerts: AlertStage;
  readonly correlationAlerts: AlertStage;
  readonly liveStories: LiveStories;
  private storiesWrittenAt = 0;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private reader: ReturnType<WriteAheadLog['reader']> | undefined;
  private processed: number;
  private replayFrom: number;
  private readonly resumeAt: number;
  private maxSeen = -Infinity;
  private readonly horizon: { offset: number; maxTime: number }[] = [];
  private readonly syslogKeys = new Set<string>();
  private readonly s = { records: 0, events: 0, detections: 0, batches: 0, errors: 0, replayed: 0, flushedNotStored: 0 };
  private lastLagMs: number | null = null;
  private baselinesSavedAt = 0;
  private logCommittedAt = 0;
  private failure: Error | undefined;

  constructor(private readonly o: ProcessorOptions) {
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
      stories: { live: { merged: (into, from) => this.liveStories.merged(into, from) } },
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
    this.processed = Number(o.db.getMeta('processed') ?? o.wal.committed);
    this.replayFrom = Math.min(this.processed, Number(o.db.getMeta('replay_from') ?? o.wal.committed));
    this.replayFrom = Math.max(this.replayFrom, o.wal.firstOffset);
    this.resumeAt = this.processed;
    this.pool = this.makePool(plan);
  }

  private makePool(plan: DetectionPlan): WorkerPool<DetectTask, DetectResult> {
    const o = this.o;
    const threads = Math.max(1, o.threads ?? availableParallelism());
    const workerRules = plan.rules.map(forWorker);
    return new WorkerPool<DetectTask, DetectResult>({
      url: new URL('./detect-worker.js', import.meta.url),
      size: threads,
      depth: 2,
      describe: (t) => (t.records.length ? `log records ${t.records[0]!.offset}–${t.records[t.records.length - 1]!.offset}` : 'a flush'),
      workerData: (): DetectInit => ({
        rules: workerRules,
        logsources: plan.logsources,
        slim: plan.slim,
        unexplained: plan.unexplained,
        storeEvents: !!o.events,
        wantClaims: plan.wantStories,
        domain: defaultDomainHandoff(),
        timeZone: o.timeZone,
      }),
    });
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
      this.feederKeys = plan.feederKeys;
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
    this.feederKeys = plan.feederKeys;
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
        await this.stages.pipeline.advance(this.maxSeen === -Infinity ? 0 : this.maxSeen);
        this.writeStories(true);
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
      watermark: this.maxSeen === -Infinity ? null : new Date(this.maxSeen - this.o.allowedLatenessMs).toISOString(),
      stages: { ...this.stages.pipeline.stats(), 'story-writes': { ...this.liveStories.counters } },
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
    const depth = 2 * Math.max(1, this.o.threads ?? availableParallelism());
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
        inflight.push({ entries: got, result: this.submit(got) });
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

  /** One log batch → detection tasks: syslog text of one source on one worker (its stream state), the rest anywhere. */
  private submit(entries: WalEntry[]): Promise<DetectResult> {
    const stateless: WalEntry[] = [];
    const bySource = new Map<string, WalEntry[]>();
    for (const e of entries) {
      if (e.record.protocol === 'syslog' || e.record.kind === 'text' || e.record.body.includes('"_TRANSPORT"')) {
        const list = bySource.get(e.record.source) ?? [];
        list.push(e);
        bySource.set(e.record.source, list);
      } else stateless.push(e);
    }
    const tasks: Promise<DetectResult>[] = [];
    const toTask = (list: WalEntry[]): DetectTask => ({ records: list.map((e) => ({ offset: e.offset, record: e.record })) });
    for (const [source, list] of bySource) {
      this.syslogKeys.add(source);
      tasks.push(this.pool.submit(toTask(list), `syslog:${source}`));
    }
    const n = Math.max(1, this.o.threads ?? availableParallelism());
    const per = Math.max(1, Math.ceil(stateless.length / n));
    for (let i = 0; i < stateless.length; i += per) tasks.push(this.pool.submit(toTask(stateless.slice(i, i + per))));
    return Promise.all(tasks).then(merge);
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
      this.stages.stories?.learn(r.claims);
      if (r.facts?.length) this.stages.stories?.learnRoutine(r.facts);
      await this.stages.pipeline.push(r.detections);
      if (!Number.isNaN(r.maxTime)) {
        const t = Math.min(r.maxTime, Date.now() + FUTURE_SKEW_MS);
        if (t > this.maxSeen) this.maxSeen = t;
        this.horizon.push({ offset: first, maxTime: t });
      }
      if (this.maxSeen !== -Infinity) await this.stages.pipeline.advance(this.maxSeen - this.o.allowedLatenessMs);
      this.writeStories(false);
      this.processed = Math.max(this.processed, end);
      this.saveProgress();
    });
    this.lastLagMs = Math.max(0, Date.now() - entries[entries.length - 1]!.record.receivedAt);
    this.committed();
  }

  /** Input went quiet: pending audit events out of the workers, held detections through. */
  private async idle(): Promise<void> {
    const flushes = [...this.syslogKeys].map((k) => this.pool.submit({ records: [], flush: true }, `syslog:${k}`));
    const r = merge(await Promise.all(flushes));
    if (r.errors.length) this.o.onErrors?.(r.errors);
    if (this.o.events && r.events.length) await this.storeFlushed(this.o.events, r.events);
    await this.o.db.batch(async () => {
      await this.stages.pipeline.push(r.detections);
      if (this.maxSeen !== -Infinity) await this.stages.pipeline.advance(this.maxSeen);
      this.writeStories(true);
    });
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
    const changes = [...this.alerts.takeChanges(), ...this.correlationAlerts.takeChanges()];
    if (changes.length) this.o.onAlerts?.(changes);
    const stories = this.liveStories.takeChanges();
    if (stories.length) this.o.onStories?.(stories);
    this.o.onBatch?.();
  }

  /** Stories that changed → the database (at most every `storyFlushMs` while input flows). */
  private writeStories(now: boolean): void {
    const stories = this.stages.stories;
    if (!stories) return;
    if (!now && Date.now() - this.storiesWrittenAt < LIMITS.serve.storyFlushMs) return;
    this.storiesWrittenAt = Date.now();
    this.liveStories.flush(stories);
  }

  /** Record the offset processed and the replay point (in the batch's transaction). */
  private saveProgress(): void {
    const keepFrom = this.maxSeen - this.o.replayMs;
    while (this.horizon.length > 1 && this.horizon[1]!.maxTime < keepFrom) this.horizon.shift();
    const replayFrom = Math.min(this.processed, this.horizon[0]?.offset ?? this.processed);
    if (replayFrom > this.replayFrom) this.replayFrom = replayFrom;
    const stories = this.stages.stories;
    const saveBaselines = stories !== undefined && Date.now() - this.baselinesSavedAt >= BASELINE_SAVE_MS;
    this.o.db.tx(() => {
      this.o.db.setMeta('processed', String(this.processed));
      this.o.db.setMeta('replay_from', String(this.replayFrom));
      if (saveBaselines) {
        this.o.db.db
          .prepare('INSERT INTO baselines (name, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at')
          .run(BASELINE_NAME, JSON.stringify(stories.exportBaseline()), new Date().toISOString());
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

function merge(results: DetectResult[]): DetectResult {
  if (results.length === 1) return results[0]!;
  const out: DetectResult & { facts: NonNullable<DetectResult['facts']> } = { events: [], detections: [], claims: [], facts: [], errors: [], eventCount: 0, maxTime: Number.NaN };
  for (const r of results) {
    for (const e of r.events) out.events.push(e);
    for (const d of r.detections) out.detections.push(d);
    for (const c of r.claims) out.claims.push(c);
    for (const f of r.facts ?? []) out.facts.push(f);
    for (const e of r.errors) out.errors.push(e);
    out.eventCount += r.eventCount;
    if (!Number.isNaN(r.maxTime) && (Number.isNaN(out.maxTime) || r.maxTime > out.maxTime)) out.maxTime = r.maxTime;
  }
  // In log order, as one worker would have returned them.
  out.events.sort((a, b) => a.offset - b.offset);
  out.detections.sort((a, b) => offsetOf(a) - offsetOf(b));
  return out;
}

function offsetOf(d: DetectionRecord): number {
  const i = d.sourceFile.lastIndexOf('#');
  return i < 0 ? 0 : Number(d.sourceFile.slice(i + 1));
}
