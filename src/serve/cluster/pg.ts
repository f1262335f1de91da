/**
 * PostgreSQL for a scaled-out `serve`: alerts, stories, triage, users, the audit trail, rules and
 * notifications in the same tables as the embedded server's SQLite state database
 * (../store/db.ts), plus the correlate node's progress. Column names and meanings are the same so
 * a row means one thing wherever it lives; what SQLite keys by a long text (an alert's key, a
 * detection's identity, a notification's payload) is unique here by its hash, since a B-tree
 * entry has a size limit and those texts come from events.
 *
 * PostgreSQL's text cannot hold U+0000, which Firebreak's keys use as a separator (and an event
 * may carry): every string crossing to PostgreSQL has U+0000 and U+0001 written as U+0001 '0' and
 * U+0001 '1' (`toPg`), and back (`fromPg`).
 *
 * Fencing: `correlator.epoch` is the lease epoch of the node allowed to write pipeline state. A
 * node taking over raises it; every write of the pipeline locks the row and checks it, so a node
 * that lost its lease without knowing (a long pause) cannot overwrite its successor's work.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { FirebreakError } from '../../core/errors.js';
import type { Sql } from '../store/sql.js';
import type { PostgresConfig } from './config.js';

/** The schema, by version; each step runs once, in order, in a transaction. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE alerts (
    id BIGINT PRIMARY KEY,
    key TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    rule_id TEXT,
    rule_title TEXT NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    host TEXT,
    users TEXT NOT NULL DEFAULT '[]',
    tactics TEXT NOT NULL DEFAULT '[]',
    techniques TEXT NOT NULL DEFAULT '[]',
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    suppressed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'new',
    resolution TEXT,
    assignee TEXT,
    story_id TEXT,
    detection TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  -- A redelivered detection can never make a second alert: the key holds its identity.
  CREATE UNIQUE INDEX alerts_key ON alerts (md5(key));
  CREATE INDEX alerts_last_seen ON alerts (last_seen DESC);
  CREATE INDEX alerts_host ON alerts (host);
  CREATE INDEX alerts_rule ON alerts (rule_key, host);
  CREATE INDEX alerts_story ON alerts (story_id);
  CREATE INDEX alerts_status ON alerts (status);
  CREATE INDEX alerts_updated ON alerts (updated_at);

  -- Detections applied (identity → alert); seq: the events message whose processing wrote it.
  CREATE TABLE applied (id_hash TEXT PRIMARY KEY, identity TEXT NOT NULL, alert_id BIGINT NOT NULL, event_time TEXT, seq BIGINT NOT NULL);
  CREATE INDEX applied_seq ON applied (seq);

  CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    merged_into TEXT,
    score INTEGER NOT NULL,
    level TEXT NOT NULL,
    title TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    hosts INTEGER NOT NULL,
    patient_zero TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    resolution TEXT,
    assignee TEXT,
    story TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    escalated_at TEXT
  );
  CREATE INDEX stories_last_seen ON stories (last_seen DESC);
  CREATE INDEX stories_updated ON stories (updated_at);

  CREATE TABLE story_splits (alert_id BIGINT PRIMARY KEY, story_id TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL);
  CREATE INDEX story_splits_story ON story_splits (story_id);

  CREATE TABLE comments (id BIGSERIAL PRIMARY KEY, target_kind TEXT NOT NULL, target_id TEXT NOT NULL, author TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE INDEX comments_target ON comments (target_kind, target_id);

  CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL, created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE sessions (id TEXT PRIMARY KEY, "user" TEXT NOT NULL, csrf TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
  CREATE TABLE api_keys (id TEXT PRIMARY KEY, hash TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE ingest_tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, source TEXT NOT NULL, protocols TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
  CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target_kind TEXT, target_id TEXT, detail TEXT NOT NULL DEFAULT '{}');
  CREATE INDEX audit_target ON audit (target_kind, target_id);
  CREATE TABLE rule_state (rule_key TEXT PRIMARY KEY, enabled INTEGER NOT NULL, updated_by TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE uploaded_rules (id TEXT PRIMARY KEY, file_name TEXT NOT NULL, yaml TEXT NOT NULL, uploaded_by TEXT NOT NULL, uploaded_at TEXT NOT NULL);

  CREATE TABLE outbox (
    id BIGINT PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    story_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    created_at TEXT,
    attempted_at TEXT,
    failed_at TEXT
  );
  CREATE UNIQUE INDEX outbox_once ON outbox (channel, kind, story_id, md5(payload));
  CREATE UNIQUE INDEX outbox_created_once ON outbox (channel, story_id) WHERE kind = 'story-created';

  CREATE TABLE baselines (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);

  -- The correlate node's progress: events messages below next_seq are applied; state is rebuilt
  -- from replay_seq on, reading the detections stream from replay_dseq.
  CREATE TABLE correlator (
    name TEXT PRIMARY KEY,
    epoch BIGINT NOT NULL,
    node TEXT NOT NULL,
    next_seq BIGINT NOT NULL,
    replay_seq BIGINT NOT NULL,
    replay_dseq BIGINT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  `
  -- What nodes follow without a restart (rules, ingest tokens): each change raises its revision in
  -- the transaction that makes it, and sends a notice on its channel (./watch.ts).
  CREATE TABLE revisions (name TEXT PRIMARY KEY, revision BIGINT NOT NULL);
  -- Each node's counters, written every few seconds (./health.ts); reported_at is PostgreSQL's
  -- clock, so staleness is judged without trusting the nodes' clocks.
  CREATE TABLE node_health (node TEXT PRIMARY KEY, roles TEXT NOT NULL, started_at TEXT NOT NULL, reported_at TIMESTAMPTZ NOT NULL, report TEXT NOT NULL);
  `,
];

/** Serialises schema changes among nodes starting at once. */
const MIGRATION_LOCK = 0x46425345; // 'FBSE'

/** Where the correlate node is. */
export interface Progress {
  epoch: number;
  node: string;
  nextSeq: number;
  replaySeq: number;
  replayDseq: number;
}

/** A write by a node whose lease was taken over. */
export class FencedError extends FirebreakError {
  constructor(mine: number, theirs: number) {
    super('cluster-fenced', `this correlate node's lease (epoch ${mine}) was taken over (epoch ${theirs}): it stops writing`);
  }
}

export class ClusterDb {
  private constructor(
    readonly pool: pg.Pool,
    private readonly options: pg.ClientConfig,
  ) {}

  /** Connects (the pool reconnects by itself) and brings the schema up to date. */
  static async open(cfg: PostgresConfig, log: (m: string) => void = () => undefined): Promise<ClusterDb> {
    const options: pg.ClientConfig = {
      connectionString: cfg.url,
      ...(cfg.password !== undefined ? { password: cfg.password } : {}),
      ...(cfg.ca ? { ssl: { ca: readFileSync(cfg.ca, 'utf8'), rejectUnauthorized: true } } : {}),
      connectionTimeoutMillis: 10_000,
    };
    const pool = new pg.Pool({ ...options, max: cfg.maxConnections });
    // An idle connection dropped by a restarting server is an event, not a crash of this node.
    pool.on('error', (e) => log(`PostgreSQL connection lost: ${e.message}`));
    const db = new ClusterDb(pool, options);
    try {
      await db.migrate();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new FirebreakError('pg-open', `cannot use PostgreSQL at ${redact(cfg.url)}: ${(e as Error).message}`, { cause: e });
    }
    return db;
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS firebreak_schema (version INTEGER NOT NULL)');
      const r = await c.query<{ version: number }>('SELECT version FROM firebreak_schema');
      let v = r.rows[0]?.version ?? 0;
      if (!r.rows.length) await c.query('INSERT INTO firebreak_schema (version) VALUES (0)');
      if (v > MIGRATIONS.length) throw new Error(`the database was written by a newer Firebreak (schema ${v}, this one knows ${MIGRATIONS.length})`);
      for (; v < MIGRATIONS.length; v++) await c.query(MIGRATIONS[v]!);
      await c.query('UPDATE firebreak_schema SET version = $1', [v]);
    });
  }

  /** Runs `f` in a transaction on one connection. */
  tx<T>(f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, f);
  }

  /**
   * Makes `epoch` the correlate node allowed to write and returns the progress it continues from.
   * Null when a node with a later epoch already took over (this one's lease is stale).
   */
  async takeOver(epoch: number, node: string): Promise<Progress | null> {
    return this.tx(async (c) => {
      const r = await c.query<Row>(
        `INSERT INTO correlator (name, epoch, node, next_seq, replay_seq, replay_dseq, updated_at) VALUES ('correlate', $1, $2, 1, 1, 1, $3)
         ON CONFLICT (name) DO UPDATE SET epoch = excluded.epoch, node = excluded.node, updated_at = excluded.updated_at WHERE correlator.epoch < excluded.epoch
         RETURNING *`,
        [epoch, node, new Date().toISOString()],
      );
      return r.rows[0] ? progress(r.rows[0]) : null;
    });
  }

  /** The progress as stored (for health and tests), or null before any correlate node ran. */
  async progress(): Promise<Progress | null> {
    const r = await this.pool.query<Row>("SELECT * FROM correlator WHERE name = 'correlate'");
    return r.rows[0] ? progress(r.rows[0]) : null;
  }

  /** In a pipeline transaction: lock the progress row and make sure `epoch` still holds it. */
  static async fence(c: pg.PoolClient, epoch: number): Promise<void> {
    const r = await c.query<{ epoch: string }>("SELECT epoch FROM correlator WHERE name = 'correlate' FOR UPDATE");
    const theirs = Number(r.rows[0]?.epoch ?? 0);
    if (theirs !== epoch) throw new FencedError(epoch, theirs);
  }

  /** A connection of its own, outside the pool (LISTEN holds one for good); the caller connects and ends it. */
  client(): pg.Client {
    return new pg.Client(this.options);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

type Row = { epoch: string; node: string; next_seq: string; replay_seq: string; replay_dseq: string };

const progress = (r: Row): Progress => ({ epoch: Number(r.epoch), node: r.node, nextSeq: Number(r.next_seq), replaySeq: Number(r.replay_seq), replayDseq: Number(r.replay_dseq) });

const NUL_OR_SOH = /[\u0000\u0001]/g;
const HAS_NUL_OR_SOH = /[\u0000\u0001]/;
const ESCAPED = /\u0001([01])/g;

/** A string as PostgreSQL can store it (reversibly). */
export function toPg(v: string): string {
  return HAS_NUL_OR_SOH.test(v) ? v.replace(NUL_OR_SOH, (c) => (c === '\u0000' ? '\u00010' : '\u00011')) : v;
}

/** A string as it was before `toPg`. */
export function fromPg(v: string): string {
  return v.includes('\u0001') ? v.replace(ESCAPED, (_, d: string) => (d === '0' ? '\u0000' : '\u0001')) : v;
}

/** A row's strings made storable. */
export function rowToPg(r: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(r)) if (typeof v === 'string') r[k] = toPg(v);
  return r;
}

/**
 * In a transaction: raises the revision of `name` and sends a notice of it on `channel`
 * (delivered when the transaction commits). Resolves with the new revision.
 */
export async function bumpRevision(t: Sql, name: string, channel: string, node: string): Promise<number> {
  const r = await t.get<{ revision: number }>('INSERT INTO revisions (name, revision) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET revision = revisions.revision + 1 RETURNING revision', name);
  const revision = Number(r!.revision);
  await t.run('SELECT pg_notify(?, ?)', channel, JSON.stringify({ v: 1, revision, node }));
  return revision;
}

/** The revision of `name` as stored (0: never changed). */
export async function readRevision(q: Sql, name: string): Promise<number> {
  const r = await q.get<{ revision: number }>('SELECT revision FROM revisions WHERE name = ?', name);
  return Number(r?.revision ?? 0);
}

/** A connection URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unreadable URL)';
  }
}

/** Runs `f` in a transaction on one connection of `pool`: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await f(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}
