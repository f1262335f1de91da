/**
 * Alerts and stories as the API returns them, read from the state database: list queries with
 * filters (every value bound as a parameter, never spliced into SQL), sorting and pagination,
 * one item with its comments and audit trail, and counts since a time. Written once for SQLite
 * and PostgreSQL (../store/sql.ts).
 */
import { createHash } from 'node:crypto';
import { LEVELS, type Level } from '../../sigma/model.js';
import type { AlertRow, AlertStatus, AuditRow, Resolution, StoryRow } from '../store/db.js';
import { marks, type Dialect, type Sql } from '../store/sql.js';
import type { Story } from '../../stories/model.js';

/** The short, URL-safe handle of a rule key (keys hold file paths and NUL separators). */
export function ruleRef(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export interface AlertSummary {
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
  status: AlertStatus;
  resolution: Resolution | null;
  assignee: string | null;
  storyId: string | null;
  createdAt: string;
  updatedAt: string;
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
  status: AlertStatus;
  resolution: Resolution | null;
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
  escalatedAt: string | null;
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

export type ItemKind = 'alert' | 'story';

/** Parses a JSON column written by the pipeline; a damaged value reads as `fallback` rather than failing the page. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

const strings = (text: string): string[] => {
  const v = parseJson<unknown>(text, []);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

export function alertSummary(r: AlertRow): AlertSummary {
  return {
    id: r.id,
    ruleKey: r.rule_key,
    ruleRef: ruleRef(r.rule_key),
    ruleId: r.rule_id,
    ruleTitle: r.rule_title,
    kind: r.kind,
    level: r.level,
    host: r.host,
    users: strings(r.users),
    tactics: strings(r.tactics),
    techniques: strings(r.techniques),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    count: r.count,
    suppressed: r.suppressed,
    status: r.status,
    resolution: r.resolution,
    assignee: r.assignee,
    storyId: r.story_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Severity rank of a level (unknown levels rank lowest). */
export function levelRank(level: string): number {
  return LEVELS.indexOf(level as Level);
}

const LEVEL_RANK_SQL = (col: string): string => `(CASE ${col} ${LEVELS.map((l, i) => `WHEN '${l}' THEN ${i}`).join(' ')} ELSE -1 END)`;

/** `%text%` for LIKE with the user's own `%`, `_` and `\` taken literally. */
function likeText(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

interface CommonFilters {
  level?: string[];
  minLevel?: string;
  status?: string[];
  host?: string;
  user?: string;
  rule?: string;
  tactic?: string;
  technique?: string;
  from?: string;
  to?: string;
  q?: string;
  assignee?: string;
  sort?: 'newest' | 'oldest' | 'severity';
  limit?: number;
  offset?: number;
}

export interface AlertFilters extends CommonFilters {
  story?: string;
  ungrouped?: boolean;
}

export interface StoryFilters extends CommonFilters {
  includeMerged?: boolean;
}

/**
 * An account matches its own name, `DOMAIN\name`, or the bare name after the backslash
 * (case-insensitive). Parameters: `accountParams(name)`.
 */
export const ACCOUNT_MATCH = (d: Dialect, col: string): string => `(lower(${col}) = lower(?) OR ${d.suffix(`lower(${col})`, 'CAST(? AS INTEGER)')} = '\\' || lower(?))`;

/** The values `ACCOUNT_MATCH` binds: the name, the length of `\name` (in characters), the name. */
export function accountParams(name: string): unknown[] {
  return [name, [...name].length + 1, name];
}

class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  add(sql: string, ...params: unknown[]): void {
    this.clauses.push(sql);
    this.params.push(...params);
  }
  in(col: string, values: readonly string[] | undefined): void {
    if (values?.length) this.add(`${col} IN (${values.map(() => '?').join(', ')})`, ...values);
  }
  get sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

function commonFilters(w: Where, f: CommonFilters, a: string): void {
  w.in(`${a}.level`, f.level);
  if (f.minLevel) w.add(`${LEVEL_RANK_SQL(`${a}.level`)} >= ?`, levelRank(f.minLevel));
  w.in(`${a}.status`, f.status);
  if (f.from) w.add(`${a}.last_seen >= ?`, f.from);
  if (f.to) w.add(`${a}.first_seen <= ?`, f.to);
  if (f.assignee) w.add(`${a}.assignee = ?`, f.assignee);
}

/** The alerts list. */
export async function listAlerts(db: Sql, f: AlertFilters): Promise<Page<AlertSummary>> {
  const d = db.dialect;
  const w = new Where();
  commonFilters(w, f, 'a');
  if (f.host) w.add('lower(a.host) = lower(?)', f.host);
  if (f.user) w.add(`EXISTS (SELECT 1 FROM ${d.jsonStrings('a.users', 'u')} WHERE ${ACCOUNT_MATCH(d, 'u.value')})`, ...accountParams(f.user));
  if (f.rule) w.add('(a.rule_id = ? OR a.rule_key = ? OR a.rule_title = ?)', f.rule, f.rule, f.rule);
  if (f.tactic) w.add(`EXISTS (SELECT 1 FROM ${d.jsonStrings('a.tactics', 't')} WHERE t.value = ?)`, f.tactic);
  if (f.technique) {
    const t = f.technique.toUpperCase();
    w.add(`EXISTS (SELECT 1 FROM ${d.jsonStrings('a.techniques', 't')} WHERE t.value = ? OR t.value LIKE ?)`, t, `${t}.%`);
  }
  if (f.story) w.add('a.story_id = ?', f.story);
  if (f.ungrouped) w.add('a.story_id IS NULL');
  if (f.q) {
    const t = likeText(f.q);
    const l = d.like;
    w.add(`(a.rule_title ${l} ? ESCAPE '\\' OR a.host ${l} ? ESCAPE '\\' OR a.users ${l} ? ESCAPE '\\' OR a.rule_id ${l} ? ESCAPE '\\')`, t, t, t, t);
  }
  const order = f.sort === 'severity' ? `${LEVEL_RANK_SQL('a.level')} DESC, a.last_seen DESC, a.id DESC` : f.sort === 'oldest' ? 'a.last_seen ASC, a.id ASC' : 'a.last_seen DESC, a.id DESC';
  const limit = f.limit ?? 50;
  const offset = f.offset ?? 0;
  const total = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM alerts a ${w.sql}`, ...w.params))!.n;
  const rows = await db.all<AlertRow>(`SELECT a.* FROM alerts a ${w.sql} ORDER BY ${order} LIMIT ? OFFSET ?`, ...w.params, limit, offset);
  return { items: rows.map(alertSummary), total, limit, offset };
}

/** Alerts whose rule key has this short handle (the list filter `rule` also accepts a ruleRef). */
export async function ruleKeyOfRef(db: Sql, ref: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{16}$/.test(ref)) return undefined;
  for (const r of await db.all<{ rule_key: string }>('SELECT DISTINCT rule_key FROM alerts')) if (ruleRef(r.rule_key) === ref) return r.rule_key;
  return undefined;
}

export function getAlertRow(db: Sql, id: number): Promise<AlertRow | undefined> {
  return db.get<AlertRow>('SELECT * FROM alerts WHERE id = ?', id);
}

export function getStoryRow(db: Sql, id: string): Promise<StoryRow | undefined> {
  return db.get<StoryRow>('SELECT * FROM stories WHERE id = ?', id);
}

function storyJson(r: StoryRow): Story | null {
  const s = parseJson<Story | null>(r.story, null);
  return s && typeof s === 'object' ? s : null;
}

export async function storySummary(db: Sql, r: StoryRow): Promise<StorySummary> {
  const s = storyJson(r);
  const mergedFrom = (await db.all<{ id: string }>('SELECT id FROM stories WHERE merged_into = ? ORDER BY id', r.id)).map((x) => x.id);
  const ids = [r.id, ...mergedFrom];
  const alerts = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM alerts WHERE story_id IN (${marks(ids)})`, ...ids))!.n;
  return {
    id: r.id,
    mergedInto: r.merged_into,
    mergedFrom,
    score: r.score,
    level: r.level,
    title: r.title,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    hosts: r.hosts,
    patientZero: r.patient_zero,
    tactics: Array.isArray(s?.tactics) ? s.tactics.map((t) => t.short) : [],
    accounts: Array.isArray(s?.accounts) ? s.accounts.length : 0,
    alerts,
    status: r.status,
    resolution: r.resolution,
    assignee: r.assignee,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    escalatedAt: r.escalated_at,
  };
}

/** Stories (not merged into another) whose hosts include `host` (case-insensitive): a WHERE clause on `s`, one parameter. */
export const STORY_HAS_HOST = (d: Dialect): string => `EXISTS (SELECT 1 FROM ${d.jsonObjects('s.story', 'h', 'hosts')} WHERE lower(${d.jsonField('h.value', 'computer')}) = lower(?))`;

/** Stories whose accounts match an account (`accountParams`): a WHERE clause on `s`. */
export const STORY_HAS_ACCOUNT = (d: Dialect): string => `EXISTS (SELECT 1 FROM ${d.jsonStrings('s.story', 'u', 'accounts')} WHERE ${ACCOUNT_MATCH(d, 'u.value')})`;

/** The stories list (stories merged into another are left out unless asked for). */
export async function listStories(db: Sql, f: StoryFilters): Promise<Page<StorySummary>> {
  const d = db.dialect;
  const w = new Where();
  commonFilters(w, f, 's');
  if (!f.includeMerged) w.add('s.merged_into IS NULL');
  if (f.host) w.add(STORY_HAS_HOST(d), f.host);
  if (f.user) w.add(STORY_HAS_ACCOUNT(d), ...accountParams(f.user));
  if (f.rule) w.add('EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = s.id AND (a.rule_id = ? OR a.rule_key = ? OR a.rule_title = ?))', f.rule, f.rule, f.rule);
  if (f.tactic) w.add(`EXISTS (SELECT 1 FROM ${d.jsonObjects('s.story', 't', 'tactics')} WHERE ${d.jsonField('t.value', 'short')} = ?)`, f.tactic);
  if (f.technique) {
    const t = f.technique.toUpperCase();
    w.add(`EXISTS (SELECT 1 FROM ${d.jsonStrings('s.story', 't', 'techniques')} WHERE t.value = ? OR t.value LIKE ?)`, t, `${t}.%`);
  }
  if (f.q) {
    const t = likeText(f.q);
    const l = d.like;
    w.add(`(s.title ${l} ? ESCAPE '\\' OR s.patient_zero ${l} ? ESCAPE '\\' OR ${d.jsonField('s.story', 'narrative')} ${l} ? ESCAPE '\\')`, t, t, t);
  }
  const order = f.sort === 'severity' ? 's.score DESC, s.last_seen DESC, s.id' : f.sort === 'oldest' ? 's.last_seen ASC, s.id' : 's.last_seen DESC, s.id';
  const limit = f.limit ?? 50;
  const offset = f.offset ?? 0;
  const total = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM stories s ${w.sql}`, ...w.params))!.n;
  const rows = await db.all<StoryRow>(`SELECT s.* FROM stories s ${w.sql} ORDER BY ${order} LIMIT ? OFFSET ?`, ...w.params, limit, offset);
  const items: StorySummary[] = [];
  for (const r of rows) items.push(await storySummary(db, r));
  return { items, total, limit, offset };
}

export async function comments(db: Sql, kind: ItemKind, id: string): Promise<Comment[]> {
  const rows = await db.all<{ id: number; author: string; body: string; created_at: string }>(
    'SELECT id, author, body, created_at FROM comments WHERE target_kind = ? AND target_id = ? ORDER BY id',
    kind,
    id,
  );
  return rows.map((c) => ({ id: c.id, author: c.author, body: c.body, createdAt: c.created_at }));
}

export function auditEntry(r: AuditRow): AuditEntry {
  const d = parseJson<unknown>(r.detail, {});
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    targetKind: r.target_kind,
    targetId: r.target_id,
    detail: d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {},
  };
}

export async function auditTrail(db: Sql, kind: string, id: string): Promise<AuditEntry[]> {
  return (await db.all<AuditRow>('SELECT * FROM audit WHERE target_kind = ? AND target_id = ? ORDER BY id', kind, id)).map(auditEntry);
}

type Counted = { created: number; updated: number; byLevel: Record<string, number> };

/** What arrived (created) and changed (updated) since a time: the console's "new since you last looked". */
export async function countsSince(db: Sql, since: string): Promise<{ since: string; alerts: Counted; stories: Counted }> {
  const one = async (table: 'alerts' | 'stories', extra: string): Promise<Counted> => {
    const created = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE created_at > ? ${extra}`, since))!.n;
    const updated = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE updated_at > ? AND created_at <= ? ${extra}`, since, since))!.n;
    const byLevel: Record<string, number> = {};
    for (const r of await db.all<{ level: string; n: number }>(`SELECT level, count(*) AS n FROM ${table} WHERE created_at > ? ${extra} GROUP BY level`, since)) byLevel[r.level] = r.n;
    return { created, updated, byLevel };
  };
  return { since, alerts: await one('alerts', ''), stories: await one('stories', 'AND merged_into IS NULL') };
}
