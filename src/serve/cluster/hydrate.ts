/**
 * A correlate node taking over builds its working copy (a fresh local SQLite state database) from
 * PostgreSQL: exactly what the stages may read while they rebuild their state from the replay
 * point and go on —
 *
 * - every detection applied since the replay point (so a replayed one is recognised, never made
 *   into a second alert), and the alerts they went into;
 * - the newest open alert of each (rule, host), which a new detection may fold into;
 * - the stories (newest first, up to `hydrateStoriesMax`) and the analysts' splits;
 * - the notifications not yet delivered (the notifier goes on with them), the baselines;
 * - the highest alert and notification ids, so new rows continue after them.
 */
import { LIMITS } from '../../core/limits.js';
import type { StateDb } from '../store/db.js';
import { fromPg, type ClusterDb, type Progress } from './pg.js';

export interface HydrateCounts {
  alerts: number;
  applied: number;
  stories: number;
  outbox: number;
  /** Open (rule, host) alerts beyond the bound, not restored (a late detection may start a new alert). */
  alertsLeftOut: number;
  storiesLeftOut: number;
}

/** Columns of a local table (PostgreSQL rows may carry more, e.g. `applied.seq`). */
function columns(db: StateDb, table: string): string[] {
  return (db.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

function insertAll(db: StateDb, table: string, rows: Record<string, unknown>[]): void {
  if (!rows.length) return;
  const cols = columns(db, table);
  const ins = db.db.prepare(`INSERT OR IGNORE INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  db.tx(() => {
    for (const r of rows) ins.run(...cols.map((c) => normalise(r[c])));
  });
}

/** PostgreSQL's BIGINT arrives as a string (SQLite wants the number back for integer keys); strings are unescaped. */
function normalise(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? null;
  return /^-?\d{1,15}$/.test(v) ? Number(v) : fromPg(v);
}

export async function hydrate(cdb: ClusterDb, db: StateDb, p: Progress): Promise<HydrateCounts> {
  const q = <T extends Record<string, unknown>>(sql: string, args: unknown[] = []) => cdb.pool.query<T>(sql, args).then((r) => r.rows);
  const applied = await q('SELECT identity, alert_id, event_time FROM applied WHERE seq >= $1', [p.replaySeq]);
  const maxAlerts = LIMITS.cluster.hydrateAlertsMax;
  const open = await q(`SELECT * FROM (SELECT DISTINCT ON (rule_key, host) * FROM alerts WHERE status != 'closed' ORDER BY rule_key, host, last_seen DESC) o ORDER BY last_seen DESC LIMIT $1`, [
    maxAlerts + 1,
  ]);
  const alertsLeftOut = Math.max(0, open.length - maxAlerts);
  open.length = Math.min(open.length, maxAlerts);
  const referenced = await q('SELECT a.* FROM alerts a WHERE a.id IN (SELECT alert_id FROM applied WHERE seq >= $1)', [p.replaySeq]);
  const top = await q('SELECT * FROM alerts ORDER BY id DESC LIMIT 1');
  const maxStories = LIMITS.cluster.hydrateStoriesMax;
  const stories = await q('SELECT * FROM stories ORDER BY last_seen DESC LIMIT $1', [maxStories + 1]);
  const storiesLeftOut = Math.max(0, stories.length - maxStories);
  stories.length = Math.min(stories.length, maxStories);
  const splits = await q('SELECT * FROM story_splits');
  const outbox = await q("SELECT * FROM outbox WHERE (sent_at IS NULL AND failed_at IS NULL) OR id = (SELECT max(id) FROM outbox) OR kind = 'story-created'");
  const baselines = await q('SELECT * FROM baselines');
  insertAll(db, 'alerts', [...top, ...open, ...referenced]);
  insertAll(db, 'applied', applied);
  insertAll(db, 'stories', stories);
  insertAll(db, 'story_splits', splits);
  insertAll(db, 'outbox', outbox);
  insertAll(db, 'baselines', baselines);
  const alerts = (db.db.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n;
  return { alerts, applied: applied.length, stories: stories.length, outbox: outbox.length, alertsLeftOut, storiesLeftOut };
}
