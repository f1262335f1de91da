/**
 * The API's response shapes, as the OpenAPI document at /api/openapi.json names them
 * (src/serve/api/schemas.ts). test/serve/console-types.test.ts checks that every interface here
 * lists the same properties as the schema of the same name.
 */
export type Level = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export type Status = 'new' | 'acknowledged' | 'in_progress' | 'closed';
export type Resolution = 'true_positive' | 'benign' | 'false_positive';
export type Role = 'admin' | 'analyst' | 'read-only';

export interface Session {
  user: string;
  role: Role;
  via: 'session' | 'api-key';
  csrfToken: string | null;
  expiresAt: string | null;
}

export interface Alert {
  id: number;
  ruleKey: string;
  ruleRef: string;
  ruleId: string | null;
  ruleTitle: string;
  kind: 'sigma' | 'correlation';
  level: string;
  host: string | null;
  users: string[];
  tactics: string[];
  techniques: string[];
  firstSeen: string;
  lastSeen: string;
  count: number;
  suppressed: number;
  status: Status;
  resolution: Resolution | null;
  assignee: string | null;
  storyId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Detection {
  timestamp?: string | null;
  computer?: string | null;
  channel?: string | null;
  provider?: string | null;
  eventId?: number | null;
  recordId?: number | null;
  level?: string;
  rule?: { id?: string | null; title?: string; level?: string; tags?: string[]; kind?: string };
  matched?: Record<string, string>;
  event?: Record<string, unknown>;
}

export interface Comment {
  id: number;
  author: string;
  body: string;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetKind: string | null;
  targetId: string | null;
  detail: Record<string, unknown>;
}

export interface AlertDetail extends Alert {
  detection: Detection;
  comments: Comment[];
  audit: AuditEntry[];
}

export interface StorySummary {
  id: string;
  mergedInto: string | null;
  mergedFrom: string[];
  score: number;
  level: string;
  title: string;
  firstSeen: string;
  lastSeen: string;
  hosts: number;
  patientZero: string | null;
  tactics: string[];
  accounts: number;
  alerts: number;
  status: Status;
  resolution: Resolution | null;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
  escalatedAt: string | null;
}

export interface TechniqueRef {
  id: string | null;
  name: string;
}

export interface Story {
  id: string;
  score: number;
  /** Why this is a story (what earned it its place). */
  earned: string;
  firstSeen: string;
  lastSeen: string;
  hosts: { computer: string; firstTouched: string; detections: number; maxLevel: Level | null; addresses: string[]; firstSuspicious?: { at: string; title: string } }[];
  patientZero: { computer: string; why: string; entry?: { from: string; at: string; technique: TechniqueRef } } | null;
  spread: {
    from: string;
    fromKind: 'host' | 'ip';
    to: string;
    at: string;
    technique: TechniqueRef;
    techniques: TechniqueRef[];
    detections: { id: string | null; title: string }[];
    evidence: string;
  }[];
  /** Movement into its hosts without evidence, or routine: shown as context, not spread. */
  context: { from: string; fromKind: 'host' | 'ip'; to: string; at: string; technique: TechniqueRef; why: string }[];
  /** Routine activity on its hosts, left out of it, with the reason. */
  routine: { why: string; detections: number }[];
  accounts: string[];
  sourceIps: string[];
  tactics: { id: string; short: string; name: string; first: { at: string; computer: string | null; title: string; significant: boolean } }[];
  techniques: string[];
  levels: Record<string, number>;
  detections: number;
  correlations: number;
  topRules: { id: string | null; title: string; level: Level; count: number }[];
  narrative: string;
  timeline: { timestamp: string; computer: string | null; title: string; ruleId: string | null; level: Level; kind: 'sigma' | 'correlation'; eventId: number | null; recordId: number | null }[];
  omitted: { timeline: number; hosts: number; accounts: number; sourceIps: number; spread: number; rules: number };
}

export interface StoryDetail extends Omit<StorySummary, 'alerts'> {
  story: Story | null;
  splitAlerts: number[];
  alerts: Page<Alert>;
  comments: Comment[];
  audit: AuditEntry[];
}

export interface Counts {
  since: string;
  alerts: { created: number; updated: number; byLevel: Record<string, number> };
  stories: { created: number; updated: number; byLevel: Record<string, number> };
}

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
}

export interface Histogram {
  from: string;
  to: string;
  bucketMs: number;
  counts: number[];
}

export interface Rule {
  ref: string;
  key: string;
  id: string | null;
  title: string;
  level: Level;
  status: string | null;
  kind: 'sigma' | 'correlation';
  tags: string[];
  tactics: string[];
  techniques: string[];
  description: string | null;
  logsource: Record<string, string> | null;
  file: string;
  origin: 'bundled' | 'uploaded';
  enabled: boolean;
  alerts: number;
  detections: number;
  lastSeen: string | null;
}

export interface LintError {
  code: string;
  message: string;
  line: number;
  column: number;
}

export interface RuleTestResult {
  rules: { id: string | null; title: string; level: Level }[];
  from: string;
  to: string;
  scanned: number;
  matched: number;
  truncated: boolean;
  byHost: { host: string | null; count: number }[];
  matches: Detection[];
  notTested: { title: string; reason: string }[];
}

export interface Coverage {
  rulesEnabled: number;
  tactics: { id: string; short: string; name: string; techniques: { id: string; name: string; rules: number; alerts: number }[] }[];
  untagged: number;
}

export interface Health {
  startedAt: string;
  backpressure: boolean;
  sources: { source: string; protocol: string; accepted: number; rejected: number; bytes: number; lastAt: string | null; ratePerSec: number }[];
  refused: Record<string, { auth: number; busy: number; errors: number }>;
  wal: { lagRecords: number; lagBytes: number; diskBytes: number };
  pipeline: { eventsProcessed: number; detections: number; suppressed: number; late: number; watermark: string | null; lagMs: number | null };
  drops: Record<string, number>;
  storage: {
    eventBytes: number;
    eventDays: number;
    events: number;
    stateBytes: number;
    /** Times the event store process was restarted since the server started. */
    eventStoreRestarts: number;
    /** Field names catalogued for autocompletion, and new ones left out because the catalogue was full. */
    fieldNames: number;
    fieldNamesDropped: number;
    /** Why the event store could not report (it is down), or null. */
    eventStoreError: string | null;
  };
  notifications: { channel: string; sent: number; pending: number; failing: number; lastError: string | null; nextRetryAt: string | null }[];
  liveStreams: number;
  /** A cluster's api node: every node's last report (absent on the embedded server). */
  nodes?: ClusterNodeRow[];
}

/** One node of a cluster as its last report shows it (docs/scale-out.md, Health). */
export interface ClusterNodeRow {
  node: string;
  roles: string[];
  startedAt: string;
  reportedAt: string;
  ageSeconds: number;
  /** No report for a few intervals: stopped, or cut off from PostgreSQL. */
  stale: boolean;
  report: {
    sources: { source: string; accepted: number }[];
    backpressure: boolean;
    detect: Record<string, number> | null;
    correlate: Record<string, string | number | null> | null;
    rules: { revision: number; running: number; error: string | null } | null;
    ingestTokens: { revision: number; active: number } | null;
  };
}

export interface User {
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  revoked: boolean;
}

export type IngestProtocol = 'elastic' | 'otlp' | 'hec';

export interface IngestToken {
  id: string | null;
  source: string;
  protocols: IngestProtocol[];
  origin: 'config' | 'api';
  createdBy: string | null;
  createdAt: string | null;
  revoked: boolean;
  revokedAt: string | null;
}

export interface LogonSource {
  source: string;
  kind: 'ip' | 'host';
  via: 'alert' | 'story' | 'events';
  count: number;
  lastAt: string | null;
}

interface EntityAlerts {
  total: number;
  open: number;
  byLevel: Record<string, number>;
  recent: Alert[];
}

type EventActivity = { first: string | null; last: string | null; events: number; histogram: Histogram } | null;

export interface HostFacts {
  name: string;
  alerts: EntityAlerts;
  stories: StorySummary[];
  seen: { first: string | null; last: string | null };
  events: EventActivity;
  accounts: { name: string; alerts: number }[];
  logonSources: LogonSource[];
  touched: { host: string; via: 'story' | 'events'; at: string | null }[];
}

export interface AccountFacts {
  name: string;
  alerts: EntityAlerts;
  stories: StorySummary[];
  seen: { first: string | null; last: string | null };
  events: EventActivity;
  logonSources: LogonSource[];
  hosts: { host: string; via: 'alert' | 'events'; count: number; lastAt: string | null }[];
}

export interface LiveEvent {
  id: string;
  type: 'alert.created' | 'alert.updated' | 'story.created' | 'story.updated';
  at: string;
  data: { id: string; summary?: unknown };
}
