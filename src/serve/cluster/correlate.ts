/**
 * The correlate node: correlations, stories and alerts for the whole cluster, with the embedded
 * server's stages (../live-stages.ts) fed the detect nodes' results in events-stream order
 * (./sequencer.ts). One node is active at a time, the holder of the lease (./lease.ts); others
 * wait as standbys and take over when it is gone.
 *
 * Taking over: raise the epoch in PostgreSQL (fencing the previous holder out), build the working
 * copy from PostgreSQL (./hydrate.ts), then read the detections stream from the replay point and
 * apply results from the replay sequence on: the results before the last committed one only
 * rebuild correlation and story state (their alerts are recognised as applied, their stories are
 * upserts), exactly as the embedded server replays its log after a restart. After each batch the
 * working copy's changes go to PostgreSQL with the progress in one transaction (./mirror.ts), and
 * the detections stream is purged below what a successor would need.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DeliverPolicy, type Consumer, type NatsConnection } from 'nats';
import { LIMITS } from '../../core/limits.js';
import type { DetectionPlan } from '../../pipeline/plan.js';
import type { ServeConfig } from '../config.js';
import type { IngestLog } from '../ingest/context.js';
import { LiveStages, type MatchedBatch } from '../live-stages.js';
import { Notifier } from '../notify/index.js';
import { StateDb } from '../store/db.js';
import type { NatsConfig } from './config.js';
import { hydrate } from './hydrate.js';
import { Lease } from './lease.js';
import { readResultPart } from './messages.js';
import { acknowledge, collect, installMirror, writeBatch } from './mirror.js';
import { leaseBucket, streamNames } from './nats.js';
import { FencedError, type ClusterDb, type Progress } from './pg.js';
import { Sequencer, type Ready } from './sequencer.js';

export interface CorrelateNodeOptions {
  nc: NatsConnection;
  cfg: NatsConfig;
  cdb: ClusterDb;
  node: string;
  config: ServeConfig;
  plan: DetectionPlan;
  log: IngestLog;
}

export interface CorrelateStats {
  state: 'standby' | 'active' | 'stopped';
  epoch: number;
  takeovers: number;
  results: number;
  records: number;
  events: number;
  detections: number;
  errors: number;
  /** Results applied again after a takeover to rebuild state (their effects were already stored). */
  replayed: number;
  commits: number;
  commitRetries: number;
  rewinds: number;
  /** Results given up on (their events message was acknowledged but the result is gone from the stream). */
  lost: number;
  cursor: number;
  held: number;
  watermark: string | null;
  lagMs: number | null;
}

/** The stories' baselines are written with the progress at most this often (and at stop). */
const BASELINE_SAVE_MS = 60_000;
/** The detections stream is purged below the replay point at most this often. */
const PURGE_MS = 10_000;
/** A result missing this long with later ones held is looked for in the events stream. */
const GAP_CHECK_MS = 5_000;

export class CorrelateNode {
  private readonly lease: Promise<Lease>;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private current: Active | undefined;
  readonly stats: CorrelateStats = {
    state: 'standby',
    epoch: 0,
    takeovers: 0,
    results: 0,
    records: 0,
    events: 0,
    detections: 0,
    errors: 0,
    replayed: 0,
    commits: 0,
    commitRetries: 0,
    rewinds: 0,
    lost: 0,
    cursor: 0,
    held: 0,
    watermark: null,
    lagMs: null,
  };

  constructor(private readonly o: CorrelateNodeOptions) {
    this.lease = leaseBucket(o.nc, o.cfg).then((kv) => new Lease(kv, 'correlate', o.node, o.cfg.leaseMs));
  }

  /** Start: wait for the lease, then work while holding it (standby again if it is lost). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.run();
  }

  /**
   * The rules changed (./rules.ts): the alert stage learns which rules only feed correlations, as
   * the embedded server's does; a later takeover builds its stages with this plan.
   */
  setPlan(plan: DetectionPlan): void {
    this.o.plan = plan;
    this.current?.live?.setFeederKeys(plan.feederKeys);
  }

  /** The stages of the active node (undefined on a standby). */
  get live(): LiveStages | undefined {
    return this.current?.live;
  }

  private async run(): Promise<void> {
    const lease = await this.lease;
    while (this.running) {
      let epoch = 0;
      try {
        epoch = await lease.acquire();
      } catch (e) {
        this.o.log('warn', `correlate: the lease bucket is not answering (${(e as Error).message})`);
      }
      if (epoch) {
        try {
          await this.active(lease, epoch);
        } catch (e) {
          this.o.log(e instanceof FencedError ? 'warn' : 'error', `correlate: ${(e as Error).message}; standing by`);
          // Not at once: what failed (PostgreSQL at takeover, say) needs a moment.
          if (this.running) await new Promise((r) => setTimeout(r, this.o.cfg.leaseMs / 3));
        }
        this.stats.state = this.running ? 'standby' : 'stopped';
        continue;
      }
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, this.o.cfg.leaseMs / 3);
      });
    }
    this.stats.state = 'stopped';
  }

  private async active(lease: Lease, epoch: number): Promise<void> {
    const o = this.o;
    const progress = await o.cdb.takeOver(epoch, o.node);
    if (!progress) {
      await lease.release();
      return;
    }
    this.stats.state = 'active';
    this.stats.epoch = epoch;
    this.stats.takeovers++;
    o.log('info', `correlate: ${o.node} is the active correlate node (epoch ${epoch}); continuing after events message ${progress.nextSeq - 1}`);
    const a = new Active(this, lease, progress);
    this.current = a;
    const renew = setInterval(() => {
      void lease.renew().then((ok) => {
        if (!ok) a.lose('the lease was lost (another node took over, or it could not be renewed in time)');
      });
    }, o.cfg.leaseMs / 3);
    try {
      await a.run();
    } finally {
      clearInterval(renew);
      this.current = undefined;
      await a.close();
      // Stopping or failing: a standby may take over at once. A lost lease is not ours to give.
      if (!a.lost) await lease.release();
    }
  }

  /** Graceful stop: the active node drains and commits, then gives the lease up for a standby. */
  async stop(): Promise<void> {
    this.running = false;
    this.current?.stop();
    this.wake?.();
    await this.loopDone;
  }

  /** @internal */
  get opts(): CorrelateNodeOptions {
    return this.o;
  }
}

/** One term as the active node: from takeover to stop or lost lease. */
class Active {
  readonly db: StateDb;
  /** The stages, once the working copy is built. */
  live: LiveStages | undefined;
  private notifier: Notifier | undefined;
  private readonly seq: Sequencer;
  private readonly names;
  private readonly resumeAt: number;
  private readonly horizon: { seq: number; maxTime: number; dseq: number }[] = [];
  /** Per partition: its latest event time and the last events message that moved it. */
  private readonly partitions = new Map<number, { time: number; seq: number }>();
  private stopping = false;
  lost: string | undefined;
  private readPos: number;
  private replaySeq: number;
  private baselineSavedAt = 0;
  private purgedAt = 0;
  private gapSince = 0;
  private caughtUp = false;
  /** Messages the stream held beyond the last one read (its delivery info): how many to ask for next. */
  private pending = 0;
  private consumer: Consumer | undefined;

  constructor(
    private readonly node: CorrelateNode,
    private readonly lease: Lease,
    private readonly progress: Progress,
  ) {
    const o = node.opts;
    this.names = streamNames(o.cfg);
    const dir = join(o.config.data, 'correlate');
    // The working copy is rebuilt at every takeover: PostgreSQL is the truth.
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(dir, f), { force: true });
    this.db = new StateDb(join(dir, 'state.db'));
    this.resumeAt = progress.nextSeq;
    this.replaySeq = progress.replaySeq;
    this.readPos = Math.max(1, progress.replayDseq);
    this.seq = new Sequencer(progress.replaySeq);
  }

  /** The working copy from PostgreSQL, then the stages over it (their baselines came with it). */
  private async build(): Promise<LiveStages> {
    const o = this.node.opts;
    const counts = await hydrate(o.cdb, this.db, this.progress);
    if (counts.alertsLeftOut || counts.storiesLeftOut) {
      o.log('warn', `correlate: ${counts.alertsLeftOut} open alerts and ${counts.storiesLeftOut} stories beyond the working copy's bounds were not restored`);
    }
    installMirror(this.db);
    this.notifier = o.config.notifications.channels.length ? new Notifier(this.db, o.config.notifications, { log: o.log }) : undefined;
    const n = this.notifier;
    this.live = new LiveStages({
      db: this.db,
      plan: o.plan,
      suppression: o.config.suppression,
      allowedLatenessMs: o.config.processing.allowedLatenessMs,
      notify: n ? (e) => void n.enqueue(e) : undefined,
      publicUrl: o.config.api?.publicUrl,
      onWarning: (m) => o.log('warn', `correlate: ${m}`),
    });
    this.notifier?.start();
    return this.live;
  }

  lose(why: string): void {
    this.lost ??= why;
  }

  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    const o = this.node.opts;
    const live = await this.build();
    let lastResultAt = Date.now();
    let flushed = true;
    const idleMs = o.config.processing.idleFlushMs;
    while (!this.stopping && !this.lost) {
      let got = false;
      try {
        got = await this.fetch(Math.min(idleMs, 1000));
      } catch (e) {
        // A stream leader changing, a reconnect: read again from where this node is.
        o.log('warn', `correlate: reading ${this.names.detections}: ${(e as Error).message}; trying again`);
        this.consumer = undefined;
        await new Promise((r) => setTimeout(r, 500));
      }
      const ready = this.seq.take();
      if (ready.length) {
        await this.apply(live, ready);
        lastResultAt = Date.now();
        flushed = false;
      } else if (!flushed && Date.now() - lastResultAt >= idleMs) {
        await this.db.batch(() => live.quiet());
        live.published();
        flushed = true;
      }
      if (this.lost) break;
      await this.commit(live);
      if (this.seq.dropped !== undefined && (this.seq.size === 0 || !got)) this.rewind();
      await this.checkGap(ready.length > 0).catch((e: unknown) => o.log('warn', `correlate: checking for lost results: ${(e as Error).message}`));
    }
    if (this.lost) throw new Error(this.lost);
    await this.db.batch(() => live.drain());
    live.published();
    this.baselineSavedAt = 0;
    await this.commit(live);
  }

  /** Reads what is there (waiting up to `waitMs`) into the sequencer; false when nothing came. */
  private async fetch(waitMs: number): Promise<boolean> {
    const js = this.node.opts.nc.jetstream();
    this.consumer ??= await js.consumers.get(this.names.detections, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.readPos });
    // A fetch returns once it has all it asked for, or at its expiry (a second at least). Asking
    // for what the stream is known to hold (or for one message when it held nothing more) makes it
    // return as soon as that is there, instead of waiting out the second for a full batch.
    const want = Math.max(1, Math.min(1000, this.pending));
    const msgs = await this.consumer.fetch({ max_messages: want, expires: Math.max(1000, waitMs) });
    let any = false;
    for await (const m of msgs) {
      any = true;
      this.readPos = m.seq + 1;
      this.caughtUp = m.info.pending === 0;
      this.pending = m.info.pending;
      const p = readResultPart(m.data);
      if ('error' in p) {
        if (p.seq !== undefined) this.seq.broken(p.seq, p.error, m.seq);
        else this.node.opts.log('warn', `correlate: detections stream message ${m.seq}: ${p.error}`);
        continue;
      }
      this.seq.add(p, m.seq, m.data.length);
    }
    if (!any) {
      this.caughtUp = true;
      this.pending = 0;
    }
    return any;
  }

  /** Results dropped for lack of room are read again from where the first of them was. */
  private rewind(): void {
    this.readPos = Math.min(this.readPos, this.seq.dropped!);
    this.seq.dropped = undefined;
    this.consumer = undefined;
    this.node.stats.rewinds++;
  }

  /**
   * The result at the cursor has not come while later ones wait. If its events message is no
   * longer in the events stream (acknowledged, so its result was published) and the whole
   * detections stream has been read, the result is gone (purged by hand, say): it is skipped,
   * counted and reported, rather than the cluster waiting for ever.
   */
  private async checkGap(moved: boolean): Promise<void> {
    if (moved || !this.seq.size) {
      this.gapSince = 0;
      return;
    }
    if (!this.gapSince) this.gapSince = Date.now();
    if (Date.now() - this.gapSince < GAP_CHECK_MS || !this.caughtUp) return;
    this.gapSince = Date.now();
    const jsm = await this.node.opts.nc.jetstreamManager();
    const events = (await jsm.streams.info(this.names.events)).state;
    const gone = events.messages === 0 ? events.last_seq + 1 : events.first_seq;
    while (this.seq.cursor < gone && !this.seq.take(1).length && this.seq.size) {
      this.node.opts.log('warn', `correlate: the result of events message ${this.seq.cursor} is not in ${this.names.detections} although the message was processed; going on without it`);
      this.node.stats.lost++;
      this.seq.skip();
    }
  }

  /** Complete results in order, applied in batches of about `batchRecords` records. */
  private async apply(live: LiveStages, ready: Ready[]): Promise<void> {
    const s = this.node.stats;
    for (let i = 0; i < ready.length;) {
      const group: Ready[] = [];
      let records = 0;
      while (i < ready.length && (records < LIMITS.serve.batchRecords || !group.length)) {
        records += ready[i]!.result.records;
        group.push(ready[i++]!);
      }
      const batch: MatchedBatch & { facts: NonNullable<MatchedBatch['facts']> } = { detections: [], claims: [], facts: [], maxTime: Number.NaN };
      let receivedAt: number | null = null;
      for (const { result: r } of group) {
        for (const d of r.detections) batch.detections.push(d);
        for (const c of r.claims) batch.claims.push(c);
        for (const f of r.facts) batch.facts.push(f);
        if (r.maxTime !== null && !(r.maxTime <= batch.maxTime)) batch.maxTime = r.maxTime;
        if (r.maxTime !== null && r.partition >= 0) {
          const p = this.partitions.get(r.partition);
          this.partitions.set(r.partition, { time: Math.max(p?.time ?? -Infinity, r.maxTime), seq: r.seq });
        }
        if (r.receivedAt !== null && (receivedAt === null || r.receivedAt > receivedAt)) receivedAt = r.receivedAt;
        s.results++;
        s.records += r.records;
        s.events += r.eventCount;
        s.detections += r.detections.length;
        s.errors += r.errors.length;
        if (r.seq < this.resumeAt) s.replayed++;
        if (r.errors.length) for (const e of r.errors.slice(0, 3)) this.node.opts.log('warn', `events message ${r.seq}: ${e.message}`);
      }
      // One transaction for the batch's working-copy writes (one fsync, as in the embedded server).
      const t = await this.db.batch(() => live.apply(batch, this.progressTime(group[group.length - 1]!.result.seq)));
      live.published();
      const last = this.horizon[this.horizon.length - 1];
      const maxTime = Number.isNaN(t) ? (last?.maxTime ?? -Infinity) : t;
      this.horizon.push({ seq: group[0]!.result.seq, maxTime, dseq: Math.min(...group.map((g) => g.dseq)) });
      if (receivedAt !== null) s.lagMs = Math.max(0, Date.now() - receivedAt);
    }
  }

  /**
   * How far event time has come everywhere: the least advanced partition among those that sent
   * in the last few messages. An ingest request's records go out grouped by partition, one host
   * after another; the watermark must not run ahead to the first host's latest time while the
   * others' older events of the same request are still coming (they would all be late). Derived
   * from the stream alone, so a replay after a takeover moves it exactly as the first run did.
   */
  private progressTime(seq: number): number | undefined {
    const quiet = LIMITS.cluster.partitionQuietMessages * this.node.opts.cfg.partitions;
    let low = Infinity;
    for (const p of this.partitions.values()) if (p.seq >= seq - quiet) low = Math.min(low, p.time);
    return low === Infinity ? undefined : low;
  }

  /** The working copy's changes and the progress to PostgreSQL (retried until stored or the lease is lost). */
  private async commit(live: LiveStages): Promise<void> {
    const o = this.node.opts;
    const keepFrom = live.maxSeen - o.config.processing.replayMs;
    while (this.horizon.length > 1 && this.horizon[1]!.maxTime < keepFrom) this.horizon.shift();
    this.replaySeq = Math.max(this.replaySeq, Math.min(this.seq.cursor, this.horizon[0]?.seq ?? this.seq.cursor));
    let low = Math.min(this.readPos, this.seq.lowDseq(), this.seq.dropped ?? Infinity);
    for (const h of this.horizon) if (h.seq >= this.replaySeq) low = Math.min(low, h.dseq);
    if (Date.now() - this.baselineSavedAt >= BASELINE_SAVE_MS) {
      const b = live.exportBaseline();
      if (b !== undefined) this.db.tx(() => live.saveBaseline(b));
      this.baselineSavedAt = Date.now();
    }
    const s = this.node.stats;
    s.cursor = this.seq.cursor;
    s.held = this.seq.size;
    s.watermark = live.watermark;
    const p = { nextSeq: Math.max(this.seq.cursor, this.resumeAt), replaySeq: this.replaySeq, replayDseq: low };
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      if (this.lost) return;
      const batch = collect(this.db, p, this.seq.cursor - 1);
      if (!batch.queued.length && p.nextSeq === this.progress.nextSeq && p.replaySeq === this.progress.replaySeq && p.replayDseq === this.progress.replayDseq) return;
      try {
        if (!this.lease.held) throw new FencedError(this.lease.epoch, -1);
        await writeBatch(o.cdb, this.lease.epoch, batch, o.node);
        acknowledge(this.db, batch);
        Object.assign(this.progress, p);
        s.commits++;
        break;
      } catch (e) {
        if (e instanceof FencedError) {
          this.lose(e.message);
          return;
        }
        s.commitRetries++;
        if (s.commitRetries % 10 === 1) o.log('warn', `correlate: writing to PostgreSQL: ${(e as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (Date.now() - this.purgedAt >= PURGE_MS && p.replayDseq > 1) {
      this.purgedAt = Date.now();
      const jsm = await o.nc.jetstreamManager();
      await jsm.streams.purge(this.names.detections, { seq: p.replayDseq }).catch((e: unknown) => o.log('warn', `correlate: purging ${this.names.detections}: ${(e as Error).message}`));
    }
  }

  async close(): Promise<void> {
    await this.notifier?.stop().catch(() => undefined);
    this.db.close();
  }
}
