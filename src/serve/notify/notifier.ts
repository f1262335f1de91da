/**
 * Delivers the outbox in the background: due rows are sent with bounded concurrency (in total and
 * per channel) and a timeout per attempt; a failure is retried with exponential backoff and
 * jitter until the attempts or the age run out, then the row is marked failed. Every outcome is
 * written to the outbox, so `health()` and the metrics are the table's own counts and survive a
 * restart. Nothing here blocks the pipeline: `enqueue` is one INSERT per channel in the caller's
 * transaction, and delivery runs on timers and sockets.
 *
 * Delivery is at least once: a row is marked sent only after the receiver said yes, so a crash
 * between the two sends it again at restart (webhook receivers can drop repeats by the
 * `X-Firebreak-Delivery` id; e-mails keep their Message-ID). `stop()` lets in-flight sends finish
 * within a grace period and aborts the rest, which stay pending: nothing is lost.
 */
import type { StateDb } from '../store/db.js';
import type { ChannelConfig, ChannelKind, NotificationsConfig, RetryPolicy } from './config.js';
import { NOTIFY_LIMITS } from './limits.js';
import { parseNotice, type NotifyEvent } from './message.js';
import { enqueue, Outbox, type OutboxRow } from './outbox.js';
import { createSender, describeError, type Outcome, type Sender } from './senders.js';

export interface ChannelHealth {
  name: string;
  /** null for rows of a channel no longer configured. */
  kind: ChannelKind | null;
  sent: number;
  /** Given up (attempts or age exhausted, or a refusal that retrying cannot change). */
  failed: number;
  /** Waiting for delivery (first try or a retry), in flight included. */
  pending: number;
  /** Pending rows that have failed at least once. */
  retrying: number;
  inFlight: number;
  lastSuccessAt: string | null;
  /** The latest error not resolved by a later success of that notification. */
  lastError: { at: string; message: string; storyId: string } | null;
  oldestPendingAt: string | null;
  /** False while a notification is being retried, or when the latest failure is newer than the latest success. */
  ok: boolean;
}

export interface NotifyHealth {
  ok: boolean;
  running: boolean;
  channels: ChannelHealth[];
}

export interface NotifierOptions {
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Source of jitter (tests make it fixed). */
  random?: () => number;
}

/** The delay before retry number `attempt` (1 = the first retry): doubling, capped, with jitter. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>, random: () => number = Math.random, retryAfterMs?: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 40));
  // "Equal jitter": between half and all of the step, so retries of many rows spread out but
  // never come sooner than half the intended wait.
  const jittered = exp / 2 + random() * (exp / 2);
  // A receiver's Retry-After is honoured up to the longest delay we would wait anyway.
  return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, policy.maxDelayMs)));
}

interface ChannelState {
  config: ChannelConfig;
  sender: Sender;
  inFlight: Map<number, AbortController>;
}

type State = 'idle' | 'running' | 'stopping' | 'closed';

/** Queues notifications and delivers them (see the module comment). */
export class Notifier {
  private readonly outbox: Outbox;
  private readonly channels = new Map<string, ChannelState>();
  private readonly running = new Set<Promise<void>>();
  private readonly log: NonNullable<NotifierOptions['log']>;
  private readonly random: () => number;
  private state: State = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private kicked = false;
  private rotate = 0;

  constructor(
    private readonly db: StateDb,
    readonly config: NotificationsConfig,
    opts: NotifierOptions = {},
  ) {
    this.outbox = new Outbox(db);
    this.log = opts.log ?? (() => undefined);
    this.random = opts.random ?? Math.random;
    for (const c of config.channels) this.channels.set(c.name, { config: c, sender: createSender(c, config.perChannelConcurrency), inFlight: new Map() });
  }

  /**
   * Queues `event` for every channel that wants it, inside the caller's transaction (so it is
   * queued exactly when the batch that made the story commits); replaying it writes nothing.
   * Returns the channels newly queued. Delivery starts once the caller's work yields.
   */
  enqueue(event: NotifyEvent): string[] {
    const queued = enqueue(this.db, this.config, event);
    if (queued.length) this.kick();
    return queued;
  }

  /** Starts delivering (rows left by a previous run first). Rows of channels no longer configured are given up. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    const orphans = this.outbox.failOrphans([...this.channels.keys()], new Date().toISOString());
    if (orphans) this.log('warn', `notifications: ${orphans} pending notification(s) of channels no longer configured were marked failed`);
    this.pump();
  }

  /** Looks at the outbox soon (after the current synchronous work, so after the caller's commit). */
  kick(): void {
    if (this.state !== 'running' || this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.pump();
    });
  }

  /** Puts failed notifications (of one channel, or all) back in the queue; returns how many. */
  retryFailed(channel?: string): number {
    const n = this.outbox.retryFailed(new Date().toISOString(), channel);
    if (n) this.kick();
    return n;
  }

  /** Per-channel counts and the latest error and success, for the health API and metrics. */
  health(): NotifyHealth {
    const byName = new Map(this.outbox.counts().map((c) => [c.channel, c]));
    const names = [...this.channels.keys(), ...[...byName.keys()].filter((n) => !this.channels.has(n)).sort()];
    const channels = names.map((name): ChannelHealth => {
      const c = byName.get(name);
      const st = this.channels.get(name);
      const lastSuccessAt = c?.lastSuccessAt ?? null;
      const lastFailedAt = c?.lastFailedAt ?? null;
      const retrying = c?.retrying ?? 0;
      return {
        name,
        kind: st?.config.kind ?? null,
        sent: c?.sent ?? 0,
        failed: c?.failed ?? 0,
        pending: c?.pending ?? 0,
        retrying,
        inFlight: st?.inFlight.size ?? 0,
        lastSuccessAt,
        lastError: c?.lastError ?? null,
        oldestPendingAt: c?.oldestPendingAt ?? null,
        ok: retrying === 0 && (lastFailedAt === null || (lastSuccessAt !== null && lastSuccessAt > lastFailedAt)),
      };
    });
    return { ok: channels.every((c) => c.ok), running: this.state === 'running', channels };
  }

  /**
   * Stops delivering: nothing new starts; in-flight sends get `graceMs` to finish, then are
   * aborted and left pending (the next start sends them). The database is not touched after this
   * resolves.
   */
  async stop(graceMs: number = NOTIFY_LIMITS.stopGraceMs): Promise<void> {
    if (this.state === 'closed') return;
    const wasIdle = this.state === 'idle';
    this.state = 'stopping';
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!wasIdle) {
      const all = Promise.allSettled([...this.running]);
      await raceTimeout(all, graceMs);
      for (const ch of this.channels.values()) for (const c of ch.inFlight.values()) c.abort(new Error('the server is shutting down'));
      // Aborted sends settle at once; a sender that ignored its signal is not waited for long.
      await raceTimeout(all, 1000);
    }
    this.state = 'closed';
    for (const ch of this.channels.values()) ch.sender.close();
  }

  private pump(): void {
    if (this.state !== 'running') return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    let wake: number = NOTIFY_LIMITS.idleWakeMs;
    try {
      const list = [...this.channels.values()];
      // Start with a different channel each time so one busy channel cannot take every slot first.
      this.rotate = (this.rotate + 1) % Math.max(1, list.length);
      for (let i = 0; i < list.length; i++) {
        const ch = list[(i + this.rotate) % list.length]!;
        const free = Math.min(this.config.perChannelConcurrency - ch.inFlight.size, this.config.concurrency - this.inFlightTotal());
        if (free <= 0) continue;
        let started = 0;
        for (const row of this.outbox.due(ch.config.name, nowIso, free + ch.inFlight.size)) {
          if (started >= free) break;
          if (ch.inFlight.has(row.id)) continue;
          this.deliver(ch, row);
          started++;
        }
      }
      const next = this.outbox.nextAfter(nowIso);
      if (next !== undefined) wake = Math.min(wake, Math.max(0, Date.parse(next) - now));
    } catch (e) {
      // The database is unavailable for now: say so and look again later.
      this.log('error', `notifications: cannot read the outbox: ${describeError(e)}`);
    }
    this.timer = setTimeout(() => this.pump(), wake);
    this.timer.unref();
  }

  private inFlightTotal(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.inFlight.size;
    return n;
  }

  private deliver(ch: ChannelState, row: OutboxRow): void {
    const ctrl = new AbortController();
    ch.inFlight.set(row.id, ctrl);
    const timeout = AbortSignal.timeout(ch.config.timeoutMs);
    const p = (async () => {
      let outcome: Outcome;
      try {
        const notice = parseNotice(row.payload);
        outcome = await ch.sender.send(notice, { deliveryId: String(row.id), queuedAt: row.created_at ?? row.next_at }, AbortSignal.any([ctrl.signal, timeout]));
      } catch (e) {
        // Only a stored row we cannot read throws here: retrying would not change it.
        outcome = { ok: false, permanent: true, error: describeError(e) };
      } finally {
        ch.inFlight.delete(row.id);
      }
      if (this.state === 'closed') return;
      if (!outcome.ok && ctrl.signal.aborted) return; // shut down mid-send: left pending, not counted
      if (!outcome.ok && timeout.aborted) outcome = { ok: false, permanent: false, error: `timed out after ${ch.config.timeoutMs} ms (${outcome.error})` };
      this.record(ch, row, outcome);
    })()
      .catch((e: unknown) => this.log('error', `notifications: recording a delivery to ${ch.config.name} failed: ${describeError(e)}`))
      .finally(() => {
        this.running.delete(p);
        this.kick();
      });
    this.running.add(p);
  }

  private record(ch: ChannelState, row: OutboxRow, outcome: Outcome): void {
    const now = Date.now();
    const at = new Date(now).toISOString();
    const what = `notification ${row.id} (${row.kind}, story ${row.story_id}) to ${ch.config.name}`;
    if (outcome.ok) {
      this.outbox.markSent(row.id, at);
      return;
    }
    const attempts = row.attempts + 1;
    const policy = this.config.retry;
    const age = now - Date.parse(row.created_at ?? row.next_at);
    if (outcome.permanent) {
      this.outbox.markFailed(row.id, at, outcome.error);
      this.log('error', `${what} refused, not retried: ${outcome.error}`);
    } else if (attempts >= policy.maxAttempts || age >= policy.maxAgeMs) {
      const why = attempts >= policy.maxAttempts ? `${attempts} attempts` : `${attempts} attempts over ${Math.round(age / 60_000)} min`;
      this.outbox.markFailed(row.id, at, `${outcome.error} (gave up after ${why})`);
      this.log('error', `${what} failed; gave up after ${why}: ${outcome.error}`);
    } else {
      const delay = backoffDelay(attempts, policy, this.random, outcome.retryAfterMs);
      this.outbox.markRetry(row.id, at, new Date(now + delay).toISOString(), outcome.error);
      this.log('warn', `${what} failed (attempt ${attempts}), retrying in ${delay < 10_000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}: ${outcome.error}`);
    }
  }
}

async function raceTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

/** Prometheus text exposition of the notification counts (one series per channel). */
export function notifyMetrics(h: NotifyHealth): string {
  const label = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const series: [string, string, string, (c: ChannelHealth) => number | null][] = [
    ['firebreak_notifications_sent_total', 'counter', 'Notifications delivered.', (c) => c.sent],
    ['firebreak_notifications_failed', 'gauge', 'Notifications given up (until retried by an operator).', (c) => c.failed],
    ['firebreak_notifications_pending', 'gauge', 'Notifications waiting for delivery.', (c) => c.pending],
    ['firebreak_notifications_retrying', 'gauge', 'Pending notifications that failed at least once.', (c) => c.retrying],
    ['firebreak_notifications_last_success_timestamp_seconds', 'gauge', 'Time of the latest delivery.', (c) => (c.lastSuccessAt ? Date.parse(c.lastSuccessAt) / 1000 : null)],
  ];
  const out: string[] = [];
  for (const [name, type, help, value] of series) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const c of h.channels) {
      const v = value(c);
      if (v !== null) out.push(`${name}{channel="${label(c.name)}",kind="${c.kind ?? 'unconfigured'}"} ${v}`);
    }
  }
  return out.join('\n') + '\n';
}
