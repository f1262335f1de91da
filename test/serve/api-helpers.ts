/**
 * Shared helpers for the API tests: the API on loopback over a fresh state database, an in-memory
 * event store that follows the `EventStore` contract, a fake health source, seeded alerts and
 * stories, and a client that keeps its session cookie and sends the CSRF token and Origin as the
 * console does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirebreakError } from '../../src/core/errors.js';
import { ruleKey } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { startApi, type ApiHandle, type ApiOptions } from '../../src/serve/api/index.js';
import type { HealthSnapshot } from '../../src/serve/api/deps.js';
import { Passwords } from '../../src/serve/api/auth/passwords.js';
import { Credentials } from '../../src/serve/api/auth/credentials.js';
import type { IngestTokens } from '../../src/serve/api/auth/ingest-tokens.js';
import { LiveHub } from '../../src/serve/api/live.js';
import { StateRuleCatalog } from '../../src/serve/api/rules/catalog.js';
import type { ApiConfig } from '../../src/serve/config.js';
import { now, StateDb, type Role } from '../../src/serve/store/db.js';
import type { EventStore, FilterQuery, Histogram, QueryResult, SqlOptions, StoredEvent, StoreUsage } from '../../src/serve/store/types.js';
import { parseRuleText } from '../../src/sigma/collection.js';
import type { Story } from '../../src/stories/model.js';

/** Cheap scrypt for tests (stored hashes carry their parameters; production uses N=2^17). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
export const PASSWORD = 'correct horse battery';

/** A field filter term: `field=value`, `*` wildcards, case-insensitive (the contract in store/types.ts). */
function termMatches(ev: StoredEvent, term: string): boolean {
  const i = term.indexOf('=');
  if (i < 1) throw new FirebreakError('filter-syntax', `'${term}' is not field=value`);
  const field = term.slice(0, i);
  const want = term.slice(i + 1);
  const v = ev.fields[field] ?? (field === 'Computer' ? ev.computer : undefined);
  if (v === undefined || v === null) return false;
  const re = new RegExp(`^${want.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return (Array.isArray(v) ? v : [v]).some((x) => re.test(String(x)));
}

/** An in-memory `EventStore` (sql() is a stand-in: it records the call and answers or refuses). */
export class MemoryEventStore implements EventStore {
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** What `usage()` reports on top of the events held, or the error it throws (a store that is down). */
  usageOverride: Partial<StoreUsage> | Error = {};
  constructor(readonly events: StoredEvent[] = []) {}

  private matching(q: FilterQuery): StoredEvent[] {
    const terms = q.filter.split(/\s+/).filter(Boolean);
    return this.events.filter((e) => (!q.from || (e.timestamp ?? '') >= q.from) && (!q.to || (e.timestamp ?? '') <= q.to) && terms.every((t) => termMatches(e, t)));
  }
  private result(evs: StoredEvent[], limit: number): QueryResult {
    return {
      columns: [
        { name: 'timestamp', type: 'TIMESTAMP' },
        { name: 'computer', type: 'VARCHAR' },
        { name: 'eventId', type: 'INTEGER' },
        { name: 'fields', type: 'JSON' },
      ],
      rows: evs.slice(0, limit).map((e) => [e.timestamp, e.computer, e.eventId, e.fields]),
      truncated: evs.length > limit,
      elapsedMs: 1,
    };
  }
  async append(events: readonly StoredEvent[]): Promise<void> {
    this.events.push(...events);
  }
  async maxOffset(): Promise<number> {
    return this.events.length - 1;
  }
  async sql(sql: string, opts?: SqlOptions): Promise<QueryResult> {
    this.calls.push({ method: 'sql', args: [sql, opts] });
    if (/\b(attach|copy|install|load)\b/i.test(sql)) throw new FirebreakError('sql-forbidden', 'only read-only queries over the events view are allowed');
    if (/syntax/i.test(sql)) throw new FirebreakError('sql-syntax', 'Parser Error: syntax error at or near "syntax"');
    if (/crash/i.test(sql)) throw new Error('internal store failure /var/lib/secret/path');
    const rows = this.events.map((e): unknown[] => [e.computer, e.fields.CommandLine ?? null]);
    const max = opts?.maxRows ?? 1000;
    return {
      columns: [
        { name: 'computer', type: 'VARCHAR' },
        { name: 'CommandLine', type: 'VARCHAR' },
      ],
      rows: rows.slice(0, max),
      truncated: rows.length > max,
      elapsedMs: 2,
    };
  }
  async filter(q: FilterQuery): Promise<QueryResult> {
    this.calls.push({ method: 'filter', args: [q] });
    return this.result(this.matching(q), q.limit ?? 1000);
  }
  async histogram(q: FilterQuery, buckets: number): Promise<Histogram> {
    this.calls.push({ method: 'histogram', args: [q, buckets] });
    const evs = this.matching(q).filter((e) => e.timestamp);
    const times = this.events.map((e) => Date.parse(e.timestamp ?? '')).filter(Number.isFinite);
    const from = q.from ? Date.parse(q.from) : Math.min(...times, Date.now());
    const to = q.to ? Date.parse(q.to) : Math.max(...times, from) + 1;
    const bucketMs = Math.max(1, Math.ceil((to - from) / buckets));
    const counts = new Array<number>(buckets).fill(0);
    for (const e of evs) {
      const i = Math.min(buckets - 1, Math.floor((Date.parse(e.timestamp!) - from) / bucketMs));
      if (i >= 0) counts[i]!++;
    }
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucketMs, counts };
  }
  async fieldNames(prefix?: string, limit = 50): Promise<string[]> {
    const names = new Set<string>();
    for (const e of this.events) for (const k of Object.keys(e.fields)) if (!prefix || k.toLowerCase().startsWith(prefix.toLowerCase())) names.add(k);
    return [...names].sort().slice(0, limit);
  }
  async scan(from: string, to: string, onBatch: (events: StoredEvent[]) => void | Promise<void>, maxEvents = Infinity): Promise<number> {
    const evs = this.events.filter((e) => e.timestamp && e.timestamp >= from && e.timestamp <= to).slice(0, maxEvents);
    for (let i = 0; i < evs.length; i += 2) await onBatch(evs.slice(i, i + 2));
    return evs.length;
  }
  async retain(): Promise<string[]> {
    return [];
  }
  async usage(): Promise<StoreUsage> {
    if (this.usageOverride instanceof Error) throw this.usageOverride;
    return { bytes: 4096, days: ['2026-01-01'], events: this.events.length, fieldNames: 0, fieldNamesDropped: 0, restarts: 0, ...this.usageOverride };
  }
  async close(): Promise<void> {}
}

export class FakeHealth {
  snap: HealthSnapshot = {
    startedAt: '2026-01-01T00:00:00.000Z',
    sources: [
      { source: 'winlogbeat-dcs', protocol: 'elastic', accepted: 1200, rejected: 3, bytes: 900_000, lastAt: '2026-01-01T00:10:00.000Z' },
      { source: 'net "devices"\nx', protocol: 'syslog', accepted: 50, rejected: 0, bytes: 5000, lastAt: null },
    ],
    refused: { elastic: { auth: 2, busy: 1, errors: 0 } },
    wal: { lagRecords: 17, lagBytes: 4096, diskBytes: 1 << 20 },
    backpressure: false,
    pipeline: { eventsProcessed: 1250, detections: 40, suppressed: 31, late: 2, watermark: '2026-01-01T00:09:00.000Z', lagMs: 250 },
    drops: { 'syslog-udp-busy': 4 },
  };
  snapshot(): HealthSnapshot {
    return this.snap;
  }
}

export const RULE_YAML = `title: Suspicious Whoami
id: 11111111-2222-3333-4444-555555555555
status: test
level: high
tags:
  - attack.discovery
  - attack.t1033
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
`;

export const CORRELATION_TARGET_YAML = `title: Remote Logon
id: 22222222-2222-3333-4444-555555555555
level: medium
tags:
  - attack.lateral-movement
  - attack.t1021.002
  - attack.t1078
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
    LogonType: 3
  condition: selection
`;

export interface Api {
  handle: ApiHandle;
  base: string;
  db: StateDb;
  store: MemoryEventStore;
  health: FakeHealth;
  live: LiveHub;
  catalog: StateRuleCatalog;
  creds: Credentials;
  dir: string;
  logs: string[];
  close(): Promise<void>;
}

/** Starts the API on 127.0.0.1 (a free port) over a new state database in a temporary folder. */
export async function startTestApi(opts: { config?: Partial<ApiConfig>; api?: ApiOptions; events?: StoredEvent[]; ingestTokens?: (db: StateDb) => IngestTokens } = {}): Promise<Api> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-api-'));
  const db = new StateDb(join(dir, 'state.db'));
  const store = new MemoryEventStore(opts.events ?? []);
  const health = new FakeHealth();
  const live = new LiveHub(16);
  const bundled = parseRuleText(RULE_YAML + '---\n' + CORRELATION_TARGET_YAML, 'bundled/test.yml');
  if (bundled.errors[0]) throw new Error(bundled.errors[0].message);
  const catalog = new StateRuleCatalog(db, bundled);
  const logs: string[] = [];
  const cfg: ApiConfig = { listen: { host: '127.0.0.1', port: 0 }, sessionHours: 12, maxStreams: 64, ...opts.config };
  const handle = await startApi(
    cfg,
    { db, events: store, rules: catalog, live, health, log: (l, m) => logs.push(`${l}: ${m}`), ...(opts.ingestTokens ? { ingestTokens: opts.ingestTokens(db) } : {}) },
    { scrypt: TEST_SCRYPT, consoleDir: false, ...opts.api },
  );
  const base = `http://127.0.0.1:${handle.address.port}`;
  return {
    handle,
    base,
    db,
    store,
    health,
    live,
    catalog,
    creds: new Credentials(db, new Passwords(TEST_SCRYPT)),
    dir,
    logs,
    async close() {
      await handle.close();
      db.close();
    },
  };
}

export async function addUser(api: Api, name: string, role: Role, password = PASSWORD): Promise<void> {
  await api.creds.addUser(name, role, password);
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- a response body, read by the tests
}

/** A console-like client: keeps the session cookie, sends Origin and the CSRF token on changes. */
export class Client {
  cookie: string | null = null;
  csrf: string | null = null;
  bearer: string | null = null;
  origin: string | null;

  constructor(readonly base: string) {
    this.origin = base;
  }

  async req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
    if (this.cookie) h.cookie = this.cookie;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    if (method !== 'GET' && method !== 'HEAD') {
      if (this.origin && h.origin === undefined) h.origin = this.origin;
      if (this.csrf && h['x-csrf-token'] === undefined) h['x-csrf-token'] = this.csrf;
    }
    const r = await fetch(this.base + path, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await r.text();
    const setCookie = r.headers.get('set-cookie');
    if (setCookie) {
      const m = /^([^=]+)=([^;]*)/.exec(setCookie);
      if (m) this.cookie = m[2] ? `${m[1]}=${m[2]}` : null;
    }
    let json: unknown = undefined;
    if ((r.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(text);
    return { status: r.status, headers: r.headers, text, json };
  }
  get(path: string, headers?: Record<string, string>): Promise<Res> {
    return this.req('GET', path, undefined, headers);
  }
  post(path: string, body: unknown = {}, headers?: Record<string, string>): Promise<Res> {
    return this.req('POST', path, body, headers);
  }
  async login(user: string, password = PASSWORD): Promise<Res> {
    const r = await this.post('/api/auth/login', { user, password });
    if (r.status === 200) this.csrf = r.json.csrfToken;
    return r;
  }
}

/** A client logged in as a new user of `role`. */
export async function loggedIn(api: Api, name: string, role: Role): Promise<Client> {
  if (!(await api.creds.getUser(name))) await addUser(api, name, role);
  const c = new Client(api.base);
  const r = await c.login(name);
  if (r.status !== 200) throw new Error(`login as ${name} failed: ${r.status} ${r.text}`);
  return c;
}

export function detection(over: Partial<DetectionRecord> & { title?: string; host?: string; at?: string; event?: Record<string, string | number> } = {}): DetectionRecord {
  const at = over.at ?? '2026-01-01T00:00:00.000Z';
  const host = over.host ?? 'ws01.corp.example';
  return {
    timestamp: at,
    computer: host,
    channel: 'Security',
    provider: 'Microsoft-Windows-Security-Auditing',
    eventId: 4624,
    recordId: 1,
    level: 'high',
    rule: { id: null, title: over.title ?? 'Rule', level: 'high', status: 'test', tags: [], file: 'bundled/test.yml', kind: 'sigma' },
    matched: { EventID: '4624' },
    sourceFile: 'store:test',
    event: { EventID: 4624, Computer: host, ...(over.event ?? {}) },
  };
}

let alertSeq = 0;

/** Inserts an alert as the pipeline would. */
export function seedAlert(
  db: StateDb,
  a: {
    title?: string;
    ruleId?: string | null;
    level?: string;
    host?: string | null;
    users?: string[];
    tactics?: string[];
    techniques?: string[];
    firstSeen?: string;
    lastSeen?: string;
    storyId?: string | null;
    count?: number;
    createdAt?: string;
    event?: Record<string, string | number>;
    file?: string;
  } = {},
): number {
  const title = a.title ?? 'Suspicious Whoami';
  const ruleId = a.ruleId === undefined ? '11111111-2222-3333-4444-555555555555' : a.ruleId;
  const key = ruleKey({ file: a.file ?? 'bundled/test.yml', id: ruleId, title });
  const first = a.firstSeen ?? '2026-01-01T00:00:00.000Z';
  const t = a.createdAt ?? now();
  const r = db.db
    .prepare(
      `INSERT INTO alerts (key, rule_key, rule_id, rule_title, kind, level, host, users, tactics, techniques, first_seen, last_seen, count, story_id, detection, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'sigma', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      `k${++alertSeq}-${Math.random()}`,
      key,
      ruleId,
      title,
      a.level ?? 'high',
      a.host === undefined ? 'ws01.corp.example' : a.host,
      JSON.stringify(a.users ?? []),
      JSON.stringify(a.tactics ?? []),
      JSON.stringify(a.techniques ?? []),
      first,
      a.lastSeen ?? first,
      a.count ?? 1,
      a.storyId ?? null,
      JSON.stringify(detection({ title, host: a.host ?? 'ws01.corp.example', at: first, event: a.event ?? {} })),
      t,
      t,
    );
  return Number(r.lastInsertRowid);
}

export function makeStory(
  id: string,
  o: {
    hosts?: string[];
    accounts?: string[];
    first?: string;
    last?: string;
    score?: number;
    title?: string;
    spread?: [string, string, string][];
    timeline?: { at: string; host: string; title: string }[];
  } = {},
): Story {
  const hosts = o.hosts ?? ['ws01.corp.example'];
  const first = o.first ?? '2026-01-01T00:00:00.000Z';
  return {
    id,
    score: o.score ?? 50,
    firstSeen: first,
    lastSeen: o.last ?? first,
    hosts: hosts.map((h) => ({ computer: h, firstTouched: first, detections: 1, maxLevel: 'high', addresses: [] })),
    patientZero: { computer: hosts[0]!, why: 'its detections come first' },
    spread: (o.spread ?? []).map(([from, to, at]) => ({
      from,
      fromKind: 'host',
      to,
      at,
      technique: { id: 'T1021.002', name: 'SMB/Windows Admin Shares' },
      techniques: [],
      detections: [],
      evidence: 'pass-the-hash logon (NTLM without a session key)',
    })),
    context: [],
    routine: [],
    earned: 'a high detection',
    accounts: o.accounts ?? ['CORP\\alice'],
    sourceIps: [],
    tactics: [{ id: 'TA0008', short: 'lateral-movement', name: 'Lateral Movement', first: { at: first, computer: hosts[0]!, title: 'Remote Logon', significant: true } }],
    techniques: ['T1021.002'],
    levels: { informational: 0, low: 0, medium: 0, high: 1, critical: 0 },
    detections: (o.timeline ?? []).length || 1,
    correlations: 0,
    topRules: [{ id: null, title: 'Remote Logon', level: 'high', count: 1 }],
    narrative: `Story ${id}`,
    timeline: (o.timeline ?? [{ at: first, host: hosts[0]!, title: 'Remote Logon' }]).map((t) => ({
      timestamp: t.at,
      computer: t.host,
      title: t.title,
      ruleId: null,
      level: 'high',
      kind: 'sigma',
      eventId: 4624,
      recordId: 1,
    })),
    omitted: { timeline: 0, hosts: 0, accounts: 0, sourceIps: 0, spread: 0, rules: 0, context: 0 },
  };
}

export function seedStory(db: StateDb, story: Story, o: { level?: string; createdAt?: string; title?: string } = {}): void {
  const t = o.createdAt ?? now();
  db.db
    .prepare(
      `INSERT INTO stories (id, score, level, title, first_seen, last_seen, hosts, patient_zero, story, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      story.id,
      story.score,
      o.level ?? 'high',
      o.title ?? `Story ${story.id}`,
      story.firstSeen,
      story.lastSeen,
      story.hosts.length,
      story.patientZero?.computer ?? null,
      JSON.stringify(story),
      t,
      t,
    );
}
