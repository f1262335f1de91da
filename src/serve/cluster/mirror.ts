/**
 * The correlate node runs the embedded server's stages unchanged (../live-stages.ts), over a
 * working copy of the state in a local SQLite file; PostgreSQL is the truth. Triggers on the
 * working copy queue every row the stages write (alerts, applied detections, stories, the
 * notification outbox, baselines); after each batch the queue is written to PostgreSQL in one
 * transaction with the node's progress, fenced by its lease epoch. A row is upserted by its key,
 * so writing it twice changes nothing; the columns analysts change (status, assignee, resolution,
 * an alert split out of its story, a merge they made) are never overwritten by the pipeline.
 *
 * A queue entry carries a version, bumped by every write of its row: once PostgreSQL has a row,
 * the entry is removed only if the row was not written again meanwhile (the notifier writes the
 * outbox between batches).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { LIMITS } from '../../core/limits.js';
import type { StateDb } from '../store/db.js';
import { changeNotices, LIVE_CHANNEL } from './live-pg.js';
import { ClusterDb, rowToPg, type Progress } from './pg.js';

const TABLES = ['alerts', 'applied', 'stories', 'outbox', 'baselines'] as const;
type Table = (typeof TABLES)[number];
const KEY: Record<Table, string> = { alerts: 'id', applied: 'identity', stories: 'id', outbox: 'id', baselines: 'name' };

/** Installs the queue and its triggers in a working copy (after it was filled from PostgreSQL). */
export function installMirror(db: StateDb): void {
  const triggers = TABLES.flatMap((t) =>
    (t === 'applied' ? ['INSERT'] : ['INSERT', 'UPDATE']).map(
      (op) =>
        `CREATE TRIGGER IF NOT EXISTS mirror_${t}_${op.toLowerCase()} AFTER ${op} ON ${t} BEGIN
           INSERT INTO mirror_queue (tbl, key) VALUES ('${t}', NEW.${KEY[t]}) ON CONFLICT (tbl, key) DO UPDATE SET v = v + 1;
         END;`,
    ),
  );
  db.db.exec(`CREATE TABLE IF NOT EXISTS mirror_queue (tbl TEXT NOT NULL, key TEXT NOT NULL, v INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
    ${triggers.join('\n')}`);
}

/** What one write to PostgreSQL carries: the queued rows as they are now, and the progress they bring. */
export interface MirrorBatch {
  queued: { tbl: Table; key: string; v: number }[];
  rows: Record<Table, Record<string, unknown>[]>;
  progress: Omit<Progress, 'epoch' | 'node'>;
}

/** Rows queued now (read in one go: a consistent picture of the working copy). */
export function collect(db: StateDb, progress: MirrorBatch['progress'], seqTag: number): MirrorBatch {
  const queued = db.db.prepare('SELECT tbl, key, v FROM mirror_queue').all() as MirrorBatch['queued'];
  const rows = Object.fromEntries(TABLES.map((t) => [t, [] as Record<string, unknown>[]])) as MirrorBatch['rows'];
  for (const t of TABLES) {
    const keys = queued.filter((q) => q.tbl === t).map((q) => q.key);
    for (let i = 0; i < keys.length; i += 5000) {
      const got = db.db.prepare(`SELECT * FROM ${t} WHERE ${KEY[t]} IN (SELECT value FROM json_each(?))`).all(JSON.stringify(keys.slice(i, i + 5000))) as Record<string, unknown>[];
      // The highest events message applied so far: at or after the one that made each detection (what hydration selects on).
      if (t === 'applied') for (const r of got) Object.assign(r, { seq: seqTag, id_hash: hashOf(String(r.identity)) });
      for (const r of got) rows[t].push(rowToPg(r));
    }
  }
  return { queued, rows, progress };
}

export const hashOf = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The queue entries PostgreSQL now has (unless their row was written again since `collect`). */
export function acknowledge(db: StateDb, b: MirrorBatch): void {
  const del = db.db.prepare('DELETE FROM mirror_queue WHERE tbl = ? AND key = ? AND v = ?');
  db.tx(() => {
    for (const q of b.queued) del.run(q.tbl, q.key, q.v);
  });
}

/** Rows whose upsert leaves the analysts' columns as PostgreSQL has them. */
const UPSERT: Record<Exclude<Table, 'outbox'>, string> = {
  alerts: `INSERT INTO alerts SELECT * FROM json_populate_recordset(NULL::alerts, $1::json)
    ON CONFLICT (id) DO UPDATE SET count = excluded.count, suppressed = excluded.suppressed, first_seen = excluded.first_seen,
      last_seen = excluded.last_seen, users = excluded.users, updated_at = excluded.updated_at,
      story_id = CASE WHEN EXISTS (SELECT 1 FROM story_splits s WHERE s.alert_id = alerts.id) THEN alerts.story_id ELSE excluded.story_id END`,
  applied: `INSERT INTO applied SELECT * FROM json_populate_recordset(NULL::applied, $1::json) ON CONFLICT (id_hash) DO NOTHING`,
  stories: `INSERT INTO stories SELECT * FROM json_populate_recordset(NULL::stories, $1::json)
    ON CONFLICT (id) DO UPDATE SET score = excluded.score, level = excluded.level, title = excluded.title, first_seen = excluded.first_seen,
      last_seen = excluded.last_seen, hosts = excluded.hosts, patient_zero = excluded.patient_zero, story = excluded.story,
      updated_at = excluded.updated_at, escalated_at = coalesce(excluded.escalated_at, stories.escalated_at),
      merged_into = coalesce(stories.merged_into, excluded.merged_into)`,
  baselines: `INSERT INTO baselines SELECT * FROM json_populate_recordset(NULL::baselines, $1::json)
    ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
};

/** Writes a batch and the progress in one transaction, fenced by `epoch`. */
export async function writeBatch(cdb: ClusterDb, epoch: number, b: MirrorBatch, node = ''): Promise<void> {
  await cdb.tx(async (c) => {
    await ClusterDb.fence(c, epoch);
    const changed = { alerts: [] as { id: number; created: boolean }[], stories: [] as { id: string; created: boolean }[] };
    for (const t of ['alerts', 'applied', 'stories', 'baselines'] as const) {
      const returned = await chunked(c, UPSERT[t] + (t === 'alerts' || t === 'stories' ? CHANGED : ''), b.rows[t]);
      if (t === 'alerts') for (const r of returned) changed.alerts.push({ id: Number(r.id), created: r.created === true });
      if (t === 'stories') for (const r of returned) changed.stories.push({ id: String(r.id), created: r.created === true });
    }
    // The api nodes' live feed: delivered when this transaction commits (./live-pg.ts).
    for (const p of changeNotices(node, changed.alerts, changed.stories)) await c.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, p]);
    // A notification is new (insert, unless the same one is there) or a delivery update.
    await chunked(c, 'INSERT INTO outbox SELECT * FROM json_populate_recordset(NULL::outbox, $1::json) ON CONFLICT DO NOTHING', b.rows.outbox);
    await chunked(
      c,
      `UPDATE outbox o SET attempts = r.attempts, next_at = r.next_at, last_error = r.last_error, sent_at = r.sent_at, attempted_at = r.attempted_at, failed_at = r.failed_at
       FROM json_populate_recordset(NULL::outbox, $1::json) r WHERE o.id = r.id`,
      b.rows.outbox,
    );
    const p = b.progress;
    await c.query("UPDATE correlator SET next_seq = $1, replay_seq = $2, replay_dseq = $3, updated_at = $4 WHERE name = 'correlate' AND epoch = $5", [
      p.nextSeq,
      p.replaySeq,
      p.replayDseq,
      new Date().toISOString(),
      epoch,
    ]);
  });
}

/** What an upsert of alerts or stories returns: each row's id and whether it was new (no earlier version: xmax 0). */
const CHANGED = ' RETURNING id, (xmax = 0) AS created';

async function chunked(c: pg.PoolClient, sql: string, rows: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const n = LIMITS.cluster.mirrorChunkRows;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < rows.length; i += n) out.push(...(await c.query<Record<string, unknown>>(sql, [JSON.stringify(rows.slice(i, i + n))])).rows);
  return out;
}
