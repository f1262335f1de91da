/**
 * The notification outbox in the state database (the `outbox` table of ../store/db.ts): rows are
 * written by `enqueue` in the transaction of the batch that made the story, and moved along by the
 * notifier (pending → sent, or retried until given up as failed). A row is pending while both
 * `sent_at` and `failed_at` are null. SQL text never contains a value.
 */
import type { Statement } from 'better-sqlite3';
import type { StateDb } from '../store/db.js';
import type { ChannelConfig, NotificationsConfig } from './config.js';
import { levelRank, noticeOf, type NotifyEvent, type StoryNotice } from './message.js';

export interface OutboxRow {
  id: number;
  channel: string;
  kind: string;
  story_id: string;
  payload: string;
  attempts: number;
  next_at: string;
  last_error: string | null;
  sent_at: string | null;
  created_at: string | null;
  attempted_at: string | null;
  failed_at: string | null;
}

/** Per-channel totals as the table holds them. */
export interface ChannelCounts {
  channel: string;
  sent: number;
  failed: number;
  pending: number;
  retrying: number;
  lastSuccessAt: string | null;
  lastFailedAt: string | null;
  oldestPendingAt: string | null;
  lastError: { at: string; message: string; storyId: string } | null;
}

const PENDING = 'sent_at IS NULL AND failed_at IS NULL';

/** Whether `channel` wants to hear about `notice`. */
export function wants(channel: ChannelConfig, notice: Pick<StoryNotice, 'kind' | 'score' | 'level'>): boolean {
  if (!channel.events.includes(notice.kind)) return false;
  if (notice.score < channel.minScore) return false;
  return channel.minLevel === null || levelRank(notice.level) >= levelRank(channel.minLevel);
}

/**
 * Queues `event` for every channel that wants it, in the caller's transaction (or its own).
 * Returns the channels a row was newly written for: a replayed event writes none.
 */
export function enqueue(db: StateDb, config: NotificationsConfig, event: NotifyEvent, now: Date = new Date()): string[] {
  if (!config.channels.length) return [];
  const notice = noticeOf(event);
  const payload = JSON.stringify(notice);
  const at = now.toISOString();
  const insert = db.db.prepare(`INSERT INTO outbox (channel, kind, story_id, payload, attempts, next_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING`);
  return db.tx(() => {
    const queued: string[] = [];
    for (const ch of config.channels) {
      if (!wants(ch, notice)) continue;
      if (insert.run(ch.name, notice.kind, notice.storyId, payload, at, at).changes) queued.push(ch.name);
    }
    return queued;
  });
}

/** The notifier's queries over the outbox, prepared once. */
export class Outbox {
  private readonly q: Record<'due' | 'nextAfter' | 'sent' | 'retry' | 'failed' | 'counts' | 'errors', Statement>;

  constructor(private readonly db: StateDb) {
    const d = db.db;
    this.q = {
      due: d.prepare(`SELECT * FROM outbox WHERE channel = ? AND ${PENDING} AND next_at <= ? ORDER BY next_at, id LIMIT ?`),
      nextAfter: d.prepare(`SELECT MIN(next_at) AS at FROM outbox WHERE ${PENDING} AND next_at > ?`),
      sent: d.prepare(`UPDATE outbox SET sent_at = ?, attempted_at = ?, attempts = attempts + 1 WHERE id = ?`),
      retry: d.prepare(`UPDATE outbox SET attempted_at = ?, next_at = ?, last_error = ?, attempts = attempts + 1 WHERE id = ?`),
      failed: d.prepare(`UPDATE outbox SET failed_at = ?, attempted_at = COALESCE(?, attempted_at), last_error = ?, attempts = attempts + ? WHERE id = ?`),
      counts: d.prepare(
        `SELECT channel,
           SUM(sent_at IS NOT NULL) AS sent,
           SUM(failed_at IS NOT NULL) AS failed,
           SUM(${PENDING}) AS pending,
           SUM(${PENDING} AND attempts > 0) AS retrying,
           MAX(sent_at) AS lastSuccessAt,
           MAX(failed_at) AS lastFailedAt,
           MIN(CASE WHEN ${PENDING} THEN COALESCE(created_at, next_at) END) AS oldestPendingAt
         FROM outbox GROUP BY channel ORDER BY channel`,
      ),
      // The latest error not resolved by a success (SQLite takes the bare columns from the MAX row).
      errors: d.prepare(
        `SELECT channel, last_error AS message, story_id AS storyId, MAX(COALESCE(attempted_at, failed_at)) AS at FROM outbox WHERE last_error IS NOT NULL AND sent_at IS NULL GROUP BY channel`,
      ),
    };
  }

  /** Pending rows of `channel` due at `now`, oldest first. */
  due(channel: string, now: string, limit: number): OutboxRow[] {
    return this.q.due.all(channel, now, limit) as OutboxRow[];
  }

  /** When the next pending row after `now` falls due. */
  nextAfter(now: string): string | undefined {
    return (this.q.nextAfter.get(now) as { at: string | null }).at ?? undefined;
  }

  markSent(id: number, at: string): void {
    this.q.sent.run(at, at, id);
  }

  markRetry(id: number, at: string, nextAt: string, error: string): void {
    this.q.retry.run(at, nextAt, error, id);
  }

  /** Gives a row up; `attempted` says whether this follows an attempt (counted) or not. */
  markFailed(id: number, at: string, error: string, attempted = true): void {
    this.q.failed.run(at, attempted ? at : null, error, attempted ? 1 : 0, id);
  }

  /** Gives up every pending row whose channel is not in `names`; returns how many. */
  failOrphans(names: readonly string[], at: string): number {
    const notIn = names.length ? ` AND channel NOT IN (${names.map(() => '?').join(', ')})` : '';
    return this.db.db.prepare(`UPDATE outbox SET failed_at = ?, last_error = 'the channel is no longer in the configuration' WHERE ${PENDING}${notIn}`).run(at, ...names).changes;
  }

  /** Puts failed rows (of one channel, or all) back to pending, due now, with a fresh age. */
  retryFailed(at: string, channel?: string): number {
    const where = channel === undefined ? '' : ' AND channel = ?';
    return this.db.db
      .prepare(`UPDATE outbox SET failed_at = NULL, attempts = 0, next_at = ?, created_at = ? WHERE failed_at IS NOT NULL AND sent_at IS NULL${where}`)
      .run(at, at, ...(channel === undefined ? [] : [channel])).changes;
  }

  /** Totals per channel that has rows. */
  counts(): ChannelCounts[] {
    const errors = new Map((this.q.errors.all() as { channel: string; message: string; storyId: string; at: string | null }[]).map((e) => [e.channel, e]));
    return (this.q.counts.all() as Omit<ChannelCounts, 'lastError'>[]).map((c) => {
      const e = errors.get(c.channel);
      return { ...c, lastError: e ? { at: e.at ?? '', message: e.message, storyId: e.storyId } : null };
    });
  }

  /** One row by id (tests and the API). */
  get(id: number): OutboxRow | undefined {
    return this.db.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow | undefined;
  }
}
