/**
 * Following a change made on another node without a restart: the rules an analyst enabled,
 * disabled or uploaded on an api node, the ingest tokens an admin made or revoked. A change raises
 * its revision in PostgreSQL (`revisions`) in the transaction that makes it and sends a notice
 * `{"v":1,"revision":N,"node":…}` on its channel (`bumpRevision` in ./pg.ts), delivered at commit.
 *
 * A follower LISTENs on the channel; a notice with a revision beyond the one applied makes it read
 * the current state and apply it (`apply`, which reads the revision before the state, so what it
 * applies is at least that revision). It also applies after every (re)connection, since notices
 * sent while it was away are not replayed, and compares the stored revision every
 * `revisionPollMs`, in case the listening connection died without a word. Applying is
 * idempotent and never runs twice at once; changes arriving meanwhile are applied once after.
 * A notice that is not one of ours is logged and ignored (anyone with access may NOTIFY).
 */
import type pg from 'pg';
import { LIMITS } from '../../core/limits.js';
import { SerialTask } from '../../core/serial.js';

export interface FollowerOptions {
  /** What is followed, for messages: 'rules', 'ingest tokens'. */
  what: string;
  channel: string;
  /** A new connection of its own for LISTEN (ClusterDb.client). */
  connect: () => pg.Client;
  /** The stored revision (one cheap query). */
  revision: () => Promise<number>;
  /** Reads the current state and applies it; resolves with the revision it applied. */
  apply: () => Promise<number>;
  log: (level: 'info' | 'warn' | 'error', m: string) => void;
  /** Default LIMITS.cluster.revisionPollMs. */
  pollMs?: number;
}

/** The revision a notice announces, or a reason it is not a notice of ours. */
export function readRevisionNotice(payload: string | undefined): number | string {
  if (payload === undefined || payload.length > LIMITS.cluster.revisionNoticeBytes) return `a payload of ${payload?.length ?? 0} characters`;
  try {
    const v = JSON.parse(payload) as { v?: unknown; revision?: unknown };
    if (v === null || typeof v !== 'object' || v.v !== 1) return 'not a version 1 notice';
    if (typeof v.revision !== 'number' || !Number.isSafeInteger(v.revision) || v.revision < 1) return 'no revision in it';
    return v.revision;
  } catch {
    return 'not JSON';
  }
}

export class RevisionFollower {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly syncs = new SerialTask(
    () => this.applyStored(),
    () => this.stopped,
  );
  /** The revision applied last (-1: nothing yet). */
  applied = -1;
  /** Notices ignored as not ours (for tests and health). */
  ignored = 0;

  constructor(private readonly o: FollowerOptions) {}

  /** Starts listening (then applies what is stored); resolves once the first LISTEN is in place. */
  async start(applied: number): Promise<void> {
    this.applied = applied;
    await this.listen();
    this.sync();
    const poll = () => {
      this.pollTimer = setTimeout(() => {
        this.o
          .revision()
          .then((r) => {
            if (r > this.applied) {
              this.o.log('warn', `${this.o.what}: revision ${r} is stored but no notice of it arrived (this node has ${this.applied}); applying it`);
              this.sync();
            }
          })
          .catch((e: unknown) => this.o.log('warn', `${this.o.what}: reading the stored revision failed: ${(e as Error).message}`))
          .finally(() => {
            if (!this.stopped) poll();
          });
      }, this.o.pollMs ?? LIMITS.cluster.revisionPollMs);
      this.pollTimer.unref();
    };
    poll();
  }

  private async listen(): Promise<void> {
    const c = this.o.connect();
    c.on('notification', (m) => {
      if (m.channel !== this.o.channel) return;
      const r = readRevisionNotice(m.payload);
      if (typeof r === 'string') {
        this.ignored++;
        this.o.log('warn', `${this.o.what}: a notice on ${this.o.channel} that is not Firebreak's was ignored (${r})`);
      } else if (r > this.applied) this.sync();
    });
    const lost = (why: string) => {
      if (this.client !== c) return;
      this.client = undefined;
      void c.end().catch(() => undefined);
      if (this.stopped) return;
      this.o.log('warn', `${this.o.what}: the PostgreSQL connection it listens on was lost (${why}); reconnecting`);
      this.retry();
    };
    c.on('error', (e) => lost(e.message));
    c.on('end', () => lost('closed'));
    this.client = c;
    await c.connect();
    await c.query(`LISTEN ${this.o.channel}`);
    this.retryMs = 1000;
  }

  private retry(): void {
    this.retryTimer = setTimeout(() => {
      this.listen()
        .then(() => {
          this.o.log('info', `${this.o.what}: listening to PostgreSQL again`);
          // Notices sent meanwhile are gone: read what is stored now.
          this.sync();
        })
        .catch(() => {
          this.client = undefined;
          this.retryMs = Math.min(this.retryMs * 2, 30_000);
          if (!this.stopped) this.retry();
        });
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /** Applies what is stored (once more after the current run, when one is running). */
  sync(): void {
    this.syncs.run();
  }

  private async applyStored(): Promise<void> {
    try {
      this.applied = await this.o.apply();
    } catch (e) {
      this.o.log('error', `${this.o.what}: applying the stored changes failed: ${(e as Error).message}; trying again at the next notice or check`);
    }
  }

  /** Resolves once no application is running (tests, stop). */
  async settled(): Promise<void> {
    await this.syncs.settled();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pollTimer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    await this.settled();
  }
}
