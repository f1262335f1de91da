/**
 * The live feed of a cluster's api nodes, fed from PostgreSQL with LISTEN/NOTIFY. The correlate
 * node's mirror sends, in the transaction that writes a batch, a notice naming the alerts and
 * stories it created or changed (`changeNotices`); an api node's triage sends one for what it
 * changed. PostgreSQL delivers a notice when its transaction commits, in commit order, to every
 * listening connection, so each api node reads those rows and publishes them on its own
 * `LiveHub` (the embedded server's feed: resume by Last-Event-ID, caps, heartbeats).
 *
 * Chosen over polling a column: a notice arrives at commit (no polling delay or load), carries
 * exactly what changed, and costs nothing while nothing happens. What it does not give: notices
 * sent while an api node's listening connection is down are not replayed; the node reconnects
 * (every second, then less often) and says so in its log. The lists themselves are always read
 * from PostgreSQL, so a reload shows everything.
 */
import type pg from 'pg';
import { LIMITS } from '../../core/limits.js';
import type { LiveEvent, LiveEventType, LiveFeed } from '../api/deps.js';
import { alertSummary, getAlertRow, getStoryRow, storySummary } from '../api/items.js';
import type { LiveHub } from '../api/live.js';
import type { Sql } from '../store/sql.js';
import { fromPg, toPg } from './pg.js';

export const LIVE_CHANNEL = 'firebreak_live';

/** What one notice says: the node that sent it, and the alerts and stories changed ([id, 1 if created]). */
interface Notice {
  n: string;
  a: [number, 0 | 1][];
  s: [string, 0 | 1][];
}

/** The notices announcing these changes, each within PostgreSQL's payload limit. Story ids as stored (`toPg`). */
export function changeNotices(node: string, alerts: readonly { id: number; created: boolean }[], stories: readonly { id: string; created: boolean }[]): string[] {
  const out: string[] = [];
  let cur: Notice = { n: node, a: [], s: [] };
  let bytes = 64 + Buffer.byteLength(node);
  const flush = () => {
    if (cur.a.length || cur.s.length) out.push(JSON.stringify(cur));
    cur = { n: node, a: [], s: [] };
    bytes = 64 + Buffer.byteLength(node);
  };
  const add = (size: number, put: () => void) => {
    if (bytes + size > LIMITS.cluster.liveNoticeBytes) flush();
    put();
    bytes += size;
  };
  for (const a of alerts) add(24, () => cur.a.push([a.id, a.created ? 1 : 0]));
  // A story id longer than a notice can carry is not announced (ids are short: `st-` and a hash).
  for (const s of stories)
    if (Buffer.byteLength(JSON.stringify(s.id)) < LIMITS.cluster.liveNoticeBytes / 2) add(Buffer.byteLength(JSON.stringify(s.id)) + 8, () => cur.s.push([s.id, s.created ? 1 : 0]));
  flush();
  return out;
}

/** A notice as sent, or null when it is not one (anything may NOTIFY on a channel). */
function readNotice(payload: string | undefined): Notice | null {
  try {
    const v = JSON.parse(payload ?? '') as Partial<Notice>;
    if (typeof v.n !== 'string' || !Array.isArray(v.a) || !Array.isArray(v.s)) return null;
    const a = v.a.filter((x): x is [number, 0 | 1] => Array.isArray(x) && Number.isSafeInteger(x[0]));
    const s = v.s.filter((x): x is [string, 0 | 1] => Array.isArray(x) && typeof x[0] === 'string');
    return { n: v.n, a, s };
  } catch {
    return null;
  }
}

export interface PgLiveOptions {
  /** A new connection of its own for LISTEN (ClusterDb.client). */
  connect: () => pg.Client;
  /** Where the rows are read. */
  sql: Sql;
  /** Sends a notice (outside any transaction: the API's triage has committed when it announces). */
  notify: (payload: string) => Promise<unknown>;
  hub: LiveHub;
  node: string;
  log: (level: 'info' | 'warn', m: string) => void;
}

/** An api node's live feed: its own triage at once, everyone else's (the correlate node, other api nodes) from PostgreSQL. */
export class PgLiveFeed implements LiveFeed {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 1000;
  private timer: NodeJS.Timeout | undefined;
  private backlog: Notice[] = [];
  private draining = false;
  /** Notices handled (for tests and health). */
  received = 0;

  constructor(private readonly o: PgLiveOptions) {}

  /** Starts listening; resolves once the first LISTEN is in place. */
  async start(): Promise<void> {
    await this.listen();
  }

  private async listen(): Promise<void> {
    const c = this.o.connect();
    c.on('notification', (m) => {
      if (m.channel === LIVE_CHANNEL) this.take(readNotice(m.payload));
    });
    const lost = (why: string) => {
      if (this.client !== c) return;
      this.client = undefined;
      void c.end().catch(() => undefined);
      if (this.stopped) return;
      this.o.log('warn', `live feed: the PostgreSQL connection was lost (${why}); changes until it is back reach the lists, not the live feed; reconnecting`);
      this.retry();
    };
    c.on('error', (e) => lost(e.message));
    c.on('end', () => lost('closed'));
    this.client = c;
    await c.connect();
    await c.query(`LISTEN ${LIVE_CHANNEL}`);
    this.retryMs = 1000;
  }

  private retry(): void {
    this.timer = setTimeout(() => {
      this.listen()
        .then(() => this.o.log('info', 'live feed: listening to PostgreSQL again'))
        .catch(() => {
          this.client = undefined;
          this.retryMs = Math.min(this.retryMs * 2, 30_000);
          if (!this.stopped) this.retry();
        });
    }, this.retryMs);
    this.timer.unref();
  }

  private take(n: Notice | null): void {
    if (!n || n.n === this.o.node) return; // this node's own changes were published when made
    this.backlog.push(n);
    if (this.backlog.length > LIMITS.cluster.liveBacklog) {
      const dropped = this.backlog.length - LIMITS.cluster.liveBacklog;
      this.backlog = this.backlog.slice(dropped);
      this.o.log('warn', `live feed: ${dropped} change notices dropped (PostgreSQL answers slower than changes arrive); the lists are complete`);
    }
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.backlog.length && !this.stopped) {
        const n = this.backlog.shift()!;
        this.received++;
        try {
          await this.publishRows(n);
        } catch (e) {
          this.o.log('warn', `live feed: reading changed rows failed: ${(e as Error).message}`);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async publishRows(n: Notice): Promise<void> {
    const { sql, hub } = this.o;
    for (const [id, created] of n.a) {
      const row = await getAlertRow(sql, id);
      if (row) hub.publish(created ? 'alert.created' : 'alert.updated', { id: String(id), summary: alertSummary(row) });
    }
    for (const [stored, created] of n.s) {
      const id = fromPg(stored);
      const row = await getStoryRow(sql, id);
      if (row) hub.publish(created ? 'story.created' : 'story.updated', { id, summary: await storySummary(sql, row) });
    }
  }

  publish(type: LiveEventType, data: LiveEvent['data']): LiveEvent {
    const e = this.o.hub.publish(type, data);
    const id = data.id;
    const created = type.endsWith('.created');
    const notices = type.startsWith('alert.')
      ? changeNotices(this.o.node, Number.isSafeInteger(Number(id)) ? [{ id: Number(id), created }] : [], [])
      : changeNotices(this.o.node, [], [{ id: toPg(id), created }]);
    for (const p of notices) void this.o.notify(p).catch((err: unknown) => this.o.log('warn', `live feed: telling other api nodes failed: ${(err as Error).message}`));
    return e;
  }

  since(lastId: string): LiveEvent[] | null {
    return this.o.hub.since(lastId);
  }

  subscribe(fn: (e: LiveEvent) => void): () => void {
    return this.o.hub.subscribe(fn);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
