/**
 * What the API needs from the rest of the server, as interfaces: the state database (alerts,
 * stories, triage, users, audit), the event store, the rule catalogue, the live feed and the
 * health counters. The server wires the real implementations; tests wire small fakes.
 */
import type { Level, LogSource, SigmaCorrelation, SigmaRule } from '../../sigma/model.js';
import type { IngestProtocol } from '../record.js';
import type { IngestTokens } from './auth/ingest-tokens.js';
import type { StateDb } from '../store/db.js';
import type { Sql } from '../store/sql.js';
import type { EventStore } from '../store/types.js';

/** One rule as the console lists it. */
export interface CatalogRule {
  /**
   * The rule's identity: `ruleKey(rule)` of src/detections/convert.ts (file, id and title), the
   * same value the pipeline writes into `alerts.rule_key`, so detection counts join on it.
   */
  key: string;
  id: string | null;
  title: string;
  level: Level;
  status: string | null;
  kind: 'sigma' | 'correlation';
  tags: string[];
  description: string | null;
  logsource: LogSource | null;
  /** Where the rule came from: the bundled set (a file path under data/) or an upload (its file name). */
  file: string;
  origin: 'bundled' | 'uploaded';
  enabled: boolean;
}

/** A rule file an analyst uploads (already linted by the API: it parsed without errors). */
export interface RuleUpload {
  fileName: string;
  yaml: string;
}

/**
 * The rules the server runs, and the analyst's changes to them. `StateRuleCatalog`
 * (./rules/catalog.ts) keeps them in the state database's `rule_state` and `uploaded_rules`; the
 * pipeline learns of a change through its `onChange` callback and re-plans.
 */
export interface RuleCatalog {
  /** Every loaded rule (bundled and uploaded), enabled or not. */
  list(): readonly CatalogRule[];
  /** Enable or disable one rule (by key); resolves once the change is stored. */
  setEnabled(key: string, enabled: boolean, actor: string): Promise<CatalogRule>;
  /** Store an uploaded rule file (disabled until enabled) and return its rules. */
  upload(file: RuleUpload, actor: string): Promise<CatalogRule[]>;
  /** Rule ids and names already taken, so an upload cannot reuse one. */
  hasRuleId(id: string): boolean;
  /** The parsed rule behind a key, to test it against stored events (undefined: not available). */
  document(key: string): SigmaRule | SigmaCorrelation | undefined;
}

/** What changed, as the live feed tells the console. */
export type LiveEventType = 'alert.created' | 'alert.updated' | 'story.created' | 'story.updated';

export interface LiveEvent {
  /** `<epoch>-<sequence>`: the epoch changes at every start, so a stale Last-Event-ID is recognised. */
  id: string;
  type: LiveEventType;
  /** Wall-clock time of the change (ISO). */
  at: string;
  /** The item's id and, when the publisher has it, its summary as the list endpoints return it. */
  data: { id: string; summary?: unknown };
}

/**
 * Alert and story changes as they happen. The pipeline and the API's triage both publish; each
 * `/api/stream` connection subscribes. `LiveHub` (./live.ts) is the implementation: a bounded
 * ring buffer for Last-Event-ID resume.
 */
export interface LiveFeed {
  publish(type: LiveEventType, data: LiveEvent['data']): LiveEvent;
  /**
   * Events after `lastId`, oldest first; `null` when `lastId` is older than the buffer holds or from
   * another epoch (the client must reload instead of resuming).
   */
  since(lastId: string): LiveEvent[] | null;
  /** Calls `fn` for each event published from now on; returns the unsubscribe function. */
  subscribe(fn: (e: LiveEvent) => void): () => void;
}

/** Cumulative counters of one ingest source (a token's or a syslog listener's source name). */
export interface SourceCounters {
  source: string;
  protocol: IngestProtocol;
  /** Records accepted (durable in the log). */
  accepted: number;
  /** Records refused (bad documents, over limits). */
  rejected: number;
  /** Bytes of the records accepted. */
  bytes: number;
  /** Arrival time of the last accepted record (ISO), null when none yet. */
  lastAt: string | null;
}

/** A point-in-time reading of the running server (everything cumulative since start). */
export interface HealthSnapshot {
  /** When the server started (ISO). */
  startedAt: string;
  sources: SourceCounters[];
  /** Requests refused per protocol (authentication, back-pressure, errors). */
  refused: Partial<Record<IngestProtocol, { auth: number; busy: number; errors: number }>>;
  /** The write-ahead log: what was appended but not yet processed, and its size on disk. */
  wal: { lagRecords: number; lagBytes: number; diskBytes: number };
  /** True while ingest refuses data (back-pressure). */
  backpressure: boolean;
  pipeline: {
    eventsProcessed: number;
    detections: number;
    /** Detections folded into an existing alert (suppression). */
    suppressed: number;
    /** Events or detections that arrived behind the watermark. */
    late: number;
    /** The event-time watermark (ISO), null before the first event. */
    watermark: string | null;
    /** Arrival-to-processed delay of the last batch, ms (null before the first). */
    lagMs: number | null;
  };
  /** What was dropped, by reason (UDP datagrams while busy, state bounds…): never silent. */
  drops: Record<string, number>;
  /** A cluster's api node: every node's last report (../cluster/health.ts); absent in the embedded server. */
  nodes?: ClusterNodeHealth[];
}

/** What a node reports. */
export interface NodeReport {
  sources: HealthSnapshot['sources'];
  refused: HealthSnapshot['refused'];
  backpressure: boolean;
  /** The active correlate node's pipeline (null elsewhere, and on a standby). */
  pipeline: HealthSnapshot['pipeline'] | null;
  drops: Record<string, number>;
  /** Detect node counters (messages, records, events, detections, errors, redelivered…). */
  detect: Record<string, number> | null;
  /** Correlate node: its state (active, standby) and counters. */
  correlate: Record<string, string | number | null> | null;
  rules: { revision: number; running: number; error: string | null } | null;
  ingestTokens: { revision: number; active: number } | null;
}

/** One node as an api node shows it. */
export interface ClusterNodeHealth {
  node: string;
  roles: string[];
  startedAt: string;
  reportedAt: string;
  /** Seconds since its last report, by PostgreSQL's clock. */
  ageSeconds: number;
  /** No report for `healthStaleReports` intervals: stopped, or cut off from PostgreSQL. */
  stale: boolean;
  report: NodeReport;
}

/** The running server's counters. */
export interface HealthSource {
  snapshot(): HealthSnapshot | Promise<HealthSnapshot>;
}

/** Messages the API logs about itself (never request bodies or credentials). */
export type ApiLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** Everything `registerApi` needs. */
export interface ApiDeps {
  /** The state database: the embedded server's SQLite (as it is, or behind the seam), or PostgreSQL's `PgSql` (the api role). */
  db: StateDb | Sql;
  events: EventStore;
  rules: RuleCatalog;
  live: LiveFeed;
  health: HealthSource;
  log?: ApiLog;
  /**
   * Ingest tokens made through the API, wired to the listeners (default with a SQLite `StateDb`:
   * stored, told to nobody, none from a configuration; a cluster's api node passes its own, over
   * PostgreSQL). Null: not available here: the routes say so.
   */
  ingestTokens?: IngestTokens | null;
}
