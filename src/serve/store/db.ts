/**
 * The server's state in one SQLite database (better-sqlite3, WAL journal): alerts, stories and
 * their members, triage (status, assignee, comments), users, sessions, API keys and ingest tokens, the audit
 * trail, rule state, the notification outbox, learned baselines, and the pipeline's progress
 * (the write-ahead-log offset everything here reflects). Writes of one processed batch happen in
 * one transaction with that offset, so after a crash the server knows exactly what it has done.
 *
 * Everything is keyed so replaying a batch is a no-op: an alert by its key (rule, host and
 * suppression bucket), a detection by its identity. SQL text never contains a value.
 */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { FirebreakError } from '../../core/errors.js';

export type AlertStatus = 'new' | 'acknowledged' | 'in_progress' | 'closed';
export type Resolution = 'true_positive' | 'benign' | 'false_positive';
export type Role = 'admin' | 'analyst' | 'read-only';

export const ALERT_STATUSES: readonly AlertStatus[] = ['new', 'acknowledged', 'in_progress', 'closed'];
export const RESOLUTIONS: readonly Resolution[] = ['true_positive', 'benign', 'false_positive'];
export const ROLES: readonly Role[] = ['admin', 'analyst', 'read-only'];

/** The schema, by version; each step runs once, in order, in a transaction. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- One alert: a rule on a host within a suppression window (count = detections folded in).
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    rule_key TEXT NOT NULL,
    rule_id TEXT,
    rule_title TEXT NOT NULL,
    kind TEXT NOT NULL,              -- sigma | correlation
    level TEXT NOT NULL,
    host TEXT,
    users TEXT NOT NULL DEFAULT '[]',   -- JSON array of account names the detections name
    tactics TEXT NOT NULL DEFAULT '[]', -- JSON array of ATT&CK tactic short names
    techniques TEXT NOT NULL DEFAULT '[]',
    first_seen TEXT NOT NULL,        -- event time (ISO) of the first detection
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    suppressed INTEGER NOT NULL DEFAULT 0, -- detections folded in after the first
    status TEXT NOT NULL DEFAULT 'new',
    resolution TEXT,
    assignee TEXT,
    story_id TEXT,
    detection TEXT NOT NULL,         -- JSON of the first detection (event, matched fields)
    created_at TEXT NOT NULL,        -- wall clock
    updated_at TEXT NOT NULL
  );
  CREATE INDEX alerts_last_seen ON alerts (last_seen DESC);
  CREATE INDEX alerts_host ON alerts (host);
  CREATE INDEX alerts_rule ON alerts (rule_key);
  CREATE INDEX alerts_story ON alerts (story_id);
  CREATE INDEX alerts_status ON alerts (status);

  -- Detections already applied (identity → alert), so a replayed detection is never counted twice.
  CREATE TABLE applied (identity TEXT PRIMARY KEY, alert_id INTEGER NOT NULL, event_time TEXT) WITHOUT ROWID;

  CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    merged_into TEXT,                -- set when this story joined another (its id redirects)
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
    story TEXT NOT NULL,             -- JSON of the Story (src/stories/model.ts)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    escalated_at TEXT
  );
  CREATE INDEX stories_last_seen ON stories (last_seen DESC);

  CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    target_kind TEXT NOT NULL,       -- alert | story
    target_id TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX comments_target ON comments (target_kind, target_id);

  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password TEXT NOT NULL,          -- scrypt$N$r$p$salt$hash
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,             -- sha256 of the cookie value
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,             -- public part
    hash TEXT NOT NULL,              -- sha256 of the secret
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX audit_target ON audit (target_kind, target_id);

  -- Rules: enabled state and uploaded rules (the bundled set is on disk).
  CREATE TABLE rule_state (rule_key TEXT PRIMARY KEY, enabled INTEGER NOT NULL, updated_by TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE uploaded_rules (id TEXT PRIMARY KEY, file_name TEXT NOT NULL, yaml TEXT NOT NULL, uploaded_by TEXT NOT NULL, uploaded_at TEXT NOT NULL);

  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,           -- a notification target's name
    kind TEXT NOT NULL,              -- story-created | story-escalated
    story_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    UNIQUE (channel, kind, story_id, payload)
  );

  CREATE TABLE baselines (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);
  `,
  `
  -- Notification delivery (src/serve/notify): when a row was queued (the age limit counts from
  -- it), last tried, and given up; pending rows found by channel and time; a story's creation is
  -- announced once per channel, whatever the payload of a replay.
  ALTER TABLE outbox ADD COLUMN created_at TEXT;
  ALTER TABLE outbox ADD COLUMN attempted_at TEXT;
  ALTER TABLE outbox ADD COLUMN failed_at TEXT;
  CREATE INDEX outbox_pending ON outbox (channel, next_at) WHERE sent_at IS NULL AND failed_at IS NULL;
  CREATE UNIQUE INDEX outbox_created_once ON outbox (channel, story_id) WHERE kind = 'story-created';
  `,
  `
  -- Alerts an analyst split out of a story (API): the pipeline must not put them back into it.
  CREATE TABLE story_splits (
    alert_id INTEGER PRIMARY KEY,
    story_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX story_splits_story ON story_splits (story_id);
  `,
  `
  -- Ingest tokens an admin made through the API (those of the configuration file stay there):
  -- only the SHA-256 of the secret is kept; a revoked token stops admitting data at once.
  CREATE TABLE ingest_tokens (
    id TEXT PRIMARY KEY,             -- public id
    hash TEXT NOT NULL UNIQUE,       -- sha256 of the secret
    source TEXT NOT NULL,
    protocols TEXT NOT NULL,         -- JSON array of protocols
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  `,
];

export interface AlertRow {
  id: number;
  key: string;
  rule_key: string;
  rule_id: string | null;
  rule_title: string;
  kind: 'sigma' | 'correlation';
  level: string;
  host: string | null;
  users: string;
  tactics: string;
  techniques: string;
  first_seen: string;
  last_seen: string;
  count: number;
  suppressed: number;
  status: AlertStatus;
  resolution: Resolution | null;
  assignee: string | null;
  story_id: string | null;
  detection: string;
  created_at: string;
  updated_at: string;
}

export interface StoryRow {
  id: string;
  merged_into: string | null;
  score: number;
  level: string;
  title: string;
  first_seen: string;
  last_seen: string;
  hosts: number;
  patient_zero: string | null;
  status: AlertStatus;
  resolution: Resolution | null;
  assignee: string | null;
  story: string;
  created_at: string;
  updated_at: string;
  escalated_at: string | null;
}

export interface UserRow {
  name: string;
  role: Role;
  password: string;
  created_at: string;
  disabled: number;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target_kind: string | null;
  target_id: string | null;
  detail: string;
}

/** Opens (creating and migrating) the state database. */
export class StateDb {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
    } catch (e) {
      throw new FirebreakError('db-open', `cannot open state database ${path}: ${(e as Error).message}`, { cause: e });
    }
    this.db.pragma('journal_mode = WAL');
    // Durable at each commit: an acknowledged-and-processed batch must survive a power loss.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) throw new FirebreakError('db-version', `${this.path} was written by a newer Firebreak (schema ${version}, this one knows ${MIGRATIONS.length})`);
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Run `f` in one transaction (nested calls join the outer one). */
  tx<T>(f: () => T): T {
    return this.db.transaction(f)();
  }

  /**
   * Run `f`, which may await, in one transaction: the server writes a batch's alerts, stories and
   * progress with one commit (one fsync) instead of one per step. Writes other code makes while
   * `f` awaits join it (`tx` inside becomes a savepoint). On a failure what was written is
   * committed all the same and the error rethrown: everything the processor writes is idempotent,
   * and others' writes must not be lost with it. Inside an open transaction, `f` simply runs.
   */
  async batch<T>(f: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) return f();
    this.db.exec('BEGIN IMMEDIATE');
    try {
      return await f();
    } finally {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    }
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Append to the audit trail. */
  audit(actor: string, action: string, target?: { kind: string; id: string | number }, detail: Record<string, unknown> = {}): void {
    this.db
      .prepare('INSERT INTO audit (at, actor, action, target_kind, target_id, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(now(), actor, action, target?.kind ?? null, target === undefined ? null : String(target.id), JSON.stringify(detail));
  }

  /** Bytes on disk: the database file and its write-ahead log (0 in memory). */
  sizeBytes(): number {
    let n = 0;
    for (const p of [this.path, `${this.path}-wal`, `${this.path}-shm`]) {
      try {
        n += statSync(p).size;
      } catch {
        // absent (an in-memory database, or no WAL file yet)
      }
    }
    return n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export function now(): string {
  return new Date().toISOString();
}
