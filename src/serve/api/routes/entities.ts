/**
 * Hosts and accounts: a page of facts each. Alerts and stories come from the state database; the
 * first and last time the name appears in any stored event, and logons the rules did not flag,
 * come from the event store through its field filter (only for names the filter can express).
 */
import type { FastifyInstance } from 'fastify';
import type { Story } from '../../../stories/model.js';
import type { AlertRow, StoryRow } from '../../store/db.js';
import type { QueryResult } from '../../store/types.js';
import type { ApiContext } from '../context.js';
import { accountParams, ACCOUNT_MATCH, alertSummary, levelRank, parseJson, STORY_HAS_ACCOUNT, STORY_HAS_HOST, storySummary, type StorySummary } from '../items.js';
import type { Sql } from '../../store/sql.js';
import { API_LIMITS } from '../limits.js';
import { ref } from '../schemas.js';

/** Fields of logon-type events that name where a logon came from (Windows 4624/4625, ECS/Sysmon/Linux shapes). */
const SOURCE_IP_FIELDS = ['IpAddress', 'SourceAddress', 'SourceIp', 'src_ip', 'source.ip', 'addr', 'rhost'];
const SOURCE_HOST_FIELDS = ['WorkstationName', 'SourceHostname', 'SourceWorkstation', 'ClientName'];
const LOGON_EVENTS = 'EventID=4624';
/** Values the simple field filter can carry as they are (no spaces, wildcards or quotes to escape). */
const FILTERABLE = /^[A-Za-z0-9._$@-]{1,255}$/;
/** Logon events read from the event store per page. */
const LOGON_SAMPLE = 1000;
/** Alerts read for a page's facts (the most recent). */
const ALERTS_SAMPLE = 2000;

const PLACEHOLDER_VALUES = new Set(['-', '', '::1', '127.0.0.1', 'localhost', 'null', 'n/a']);

interface Tally {
  count: number;
  lastAt: string | null;
}

/**
 * Accounts named by alerts (`CORP\alice`, as the detections wrote them) and by logon events
 * (`TargetUserName` and `TargetDomainName` apart, in whatever case the log used) counted as the
 * API matches accounts (`ACCOUNT_MATCH`): by the name after any `DOMAIN\`, in any case; shown
 * as first named (alerts come first).
 */
function bumpAccount(m: Map<string, Tally & { name: string }>, name: string, at: string | null, n = 1): void {
  const key = name.slice(name.lastIndexOf('\\') + 1).toLowerCase();
  const t = m.get(key);
  if (!t) m.set(key, { name, count: n, lastAt: at });
  else bump(m, key, at, n);
}

/** The account a logon event names, with its domain when the event gives one apart. */
function logonAccount(user: string, domain: string | null): string {
  return domain && !user.includes('\\') && !user.includes('@') && !PLACEHOLDER_VALUES.has(domain.toLowerCase()) ? `${domain}\\${user}` : user;
}

function bump<K>(m: Map<K, Tally>, k: K, at: string | null, n = 1): void {
  const t = m.get(k);
  if (!t) m.set(k, { count: n, lastAt: at });
  else {
    t.count += n;
    if (at && (!t.lastAt || at > t.lastAt)) t.lastAt = at;
  }
}

/** A field of one result row, by column name or inside a `fields` object column (the store decides its columns). */
function rowField(res: QueryResult, row: unknown[], names: readonly string[]): string | null {
  const lower = res.columns.map((c) => c.name.toLowerCase());
  for (const n of names) {
    const i = lower.indexOf(n.toLowerCase());
    if (i >= 0 && row[i] != null && row[i] !== '') return typeof row[i] === 'string' ? row[i] : JSON.stringify(row[i]);
  }
  const fi = lower.indexOf('fields');
  if (fi >= 0) {
    const raw = row[fi];
    const obj = typeof raw === 'string' ? parseJson<unknown>(raw, null) : raw;
    if (obj && typeof obj === 'object') {
      for (const n of names) {
        const v = (obj as Record<string, unknown>)[n];
        if (v != null && v !== '' && (typeof v === 'string' || typeof v === 'number')) return String(v);
      }
    }
  }
  return null;
}

function timeOf(res: QueryResult, row: unknown[]): string | null {
  return rowField(res, row, ['timestamp', 'TimeCreated_SystemTime', '@timestamp']);
}

/** Activity of a field value in the event store: first/last non-empty histogram bucket, and the total. */
async function eventActivity(ctx: ApiContext, filter: string) {
  try {
    const h = await ctx.events.histogram({ filter }, 60);
    const total = h.counts.reduce((a, b) => a + b, 0);
    const firstIdx = h.counts.findIndex((c) => c > 0);
    const lastIdx = h.counts.length - 1 - [...h.counts].reverse().findIndex((c) => c > 0);
    const start = Date.parse(h.from);
    const at = (i: number, end: boolean) => (Number.isFinite(start) ? new Date(start + (i + (end ? 1 : 0)) * h.bucketMs).toISOString() : null);
    return { first: firstIdx >= 0 ? at(firstIdx, false) : null, last: firstIdx >= 0 ? at(lastIdx, true) : null, events: total, histogram: h };
  } catch (e) {
    ctx.log('warn', `event store: histogram for an entity page failed: ${(e as Error).message}`);
    return null;
  }
}

async function logons(ctx: ApiContext, filter: string): Promise<QueryResult | null> {
  try {
    return await ctx.events.filter({ filter, limit: LOGON_SAMPLE });
  } catch (e) {
    ctx.log('warn', `event store: logon filter for an entity page failed: ${(e as Error).message}`);
    return null;
  }
}

function alertFacts(rows: AlertRow[], total: number, open: number) {
  const byLevel: Record<string, number> = {};
  for (const r of rows) byLevel[r.level] = (byLevel[r.level] ?? 0) + 1;
  return { total, open, byLevel, recent: rows.slice(0, 20).map(alertSummary) };
}

function seenOf(rows: AlertRow[], stories: StorySummary[]): { first: string | null; last: string | null } {
  let first: string | null = null;
  let last: string | null = null;
  for (const x of [...rows.map((r) => [r.first_seen, r.last_seen]), ...stories.map((s) => [s.firstSeen, s.lastSeen])]) {
    if (!first || x[0]! < first) first = x[0]!;
    if (!last || x[1]! > last) last = x[1]!;
  }
  return { first, last };
}

const sources = (m: Map<string, Tally & { kind: 'ip' | 'host'; via: 'alert' | 'story' | 'events' }>) =>
  [...m.entries()]
    .map(([k, t]) => ({ source: k.split('\u0000')[1]!, kind: t.kind, via: t.via, count: t.count, lastAt: t.lastAt }))
    .sort((a, b) => b.count - a.count || a.source.localeCompare(b.source));

function addSource(m: Map<string, Tally & { kind: 'ip' | 'host'; via: 'alert' | 'story' | 'events' }>, via: 'alert' | 'story' | 'events', kind: 'ip' | 'host', value: string, at: string | null): void {
  if (PLACEHOLDER_VALUES.has(value.toLowerCase())) return;
  const k = `${via}\u0000${value}`;
  const t = m.get(k);
  if (!t) m.set(k, { count: 1, lastAt: at, kind, via });
  else {
    t.count++;
    if (at && (!t.lastAt || at > t.lastAt)) t.lastAt = at;
  }
}

/** Sources named by an alert's first detection event. */
function detectionSources(r: AlertRow): { kind: 'ip' | 'host'; value: string }[] {
  const d = parseJson<{ event?: Record<string, unknown> }>(r.detection, {});
  const ev = d.event && typeof d.event === 'object' ? d.event : {};
  const out: { kind: 'ip' | 'host'; value: string }[] = [];
  for (const f of SOURCE_IP_FIELDS) if (typeof ev[f] === 'string' && ev[f]) out.push({ kind: 'ip', value: ev[f] });
  for (const f of SOURCE_HOST_FIELDS) if (typeof ev[f] === 'string' && ev[f]) out.push({ kind: 'host', value: ev[f] });
  return out;
}

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 200, pattern: '^[^\\u0000]*$', description: 'Part of the name (no U+0000: it would end a LIKE pattern in SQLite)' },
    limit: { type: 'integer', minimum: 1, maximum: API_LIMITS.pageMax, default: 50 },
    offset: { type: 'integer', minimum: 0, maximum: API_LIMITS.offsetMax, default: 0 },
  },
} as const;
const nameParam = { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: API_LIMITS.paramMaxChars } } } as const;
/** Alerts not closed (a sum both databases compute alike). */
const OPEN = "sum(CASE WHEN status != 'closed' THEN 1 ELSE 0 END)";

async function summaries(db: Sql, rows: StoryRow[]): Promise<StorySummary[]> {
  const out: StorySummary[] = [];
  for (const r of rows) out.push(await storySummary(db, r));
  return out;
}

const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function entityRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx;
  const maxLevel = (levels: string) =>
    levels
      .split(',')
      .sort((a, b) => levelRank(b) - levelRank(a))
      .at(0) ?? '';

  app.get<{ Querystring: { q?: string; limit?: number; offset?: number } }>(
    '/api/hosts',
    { config: { access: 'read' }, schema: { tags: ['entities'], summary: 'Hosts with alerts, most recently active first', querystring: listQuery, response: { 200: ref('EntityList') } } },
    async (req) => {
      const { q, limit = 50, offset = 0 } = req.query;
      const d = db.dialect;
      const where = `WHERE host IS NOT NULL ${q ? `AND host ${d.like} ? ESCAPE '\\'` : ''}`;
      const params = q ? [like(q)] : [];
      const total = (await db.get<{ n: number }>(`SELECT count(DISTINCT lower(host)) AS n FROM alerts ${where}`, ...params))!.n;
      const rows = await db.all<{ name: string; alerts: number; f: string; l: string; levels: string }>(
        `SELECT max(host) AS name, count(*) AS alerts, min(first_seen) AS f, max(last_seen) AS l, ${d.joinDistinct('level')} AS levels FROM alerts ${where} GROUP BY lower(host) ORDER BY l DESC, name LIMIT ? OFFSET ?`,
        ...params,
        limit,
        offset,
      );
      return { items: rows.map((r) => ({ name: r.name, alerts: r.alerts, firstSeen: r.f, lastSeen: r.l, maxLevel: maxLevel(r.levels) })), total, limit, offset };
    },
  );

  app.get<{ Querystring: { q?: string; limit?: number; offset?: number } }>(
    '/api/accounts',
    { config: { access: 'read' }, schema: { tags: ['entities'], summary: 'Accounts named by alerts, most recently active first', querystring: listQuery, response: { 200: ref('EntityList') } } },
    async (req) => {
      const { q, limit = 50, offset = 0 } = req.query;
      const d = db.dialect;
      const where = q ? `WHERE u.value ${d.like} ? ESCAPE '\\'` : '';
      const params = q ? [like(q)] : [];
      const from = `FROM alerts a, ${d.jsonStrings('a.users', 'u')}`;
      const total = (await db.get<{ n: number }>(`SELECT count(DISTINCT lower(u.value)) AS n ${from} ${where}`, ...params))!.n;
      const rows = await db.all<{ name: string; alerts: number; f: string; l: string; levels: string }>(
        `SELECT max(u.value) AS name, count(*) AS alerts, min(a.first_seen) AS f, max(a.last_seen) AS l, ${d.joinDistinct('a.level')} AS levels ${from} ${where} GROUP BY lower(u.value) ORDER BY l DESC, name LIMIT ? OFFSET ?`,
        ...params,
        limit,
        offset,
      );
      return { items: rows.map((r) => ({ name: r.name, alerts: r.alerts, firstSeen: r.f, lastSeen: r.l, maxLevel: maxLevel(r.levels) })), total, limit, offset };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/hosts/:name',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary: 'A host: its alerts, stories, first and last seen, accounts, logon sources and the hosts it reached',
        params: nameParam,
        response: { 200: ref('HostFacts') },
      },
    },
    async (req) => {
      const name = req.params.name;
      const rows = await db.all<AlertRow>('SELECT * FROM alerts WHERE lower(host) = lower(?) ORDER BY last_seen DESC, id DESC LIMIT ?', name, ALERTS_SAMPLE);
      const counts = (await db.get<{ n: number; open: number | null }>(`SELECT count(*) AS n, ${OPEN} AS open FROM alerts WHERE lower(host) = lower(?)`, name))!;
      const storyRows = await db.all<StoryRow>(`SELECT s.* FROM stories s WHERE s.merged_into IS NULL AND ${STORY_HAS_HOST(db.dialect)} ORDER BY s.last_seen DESC LIMIT 100`, name);
      const stories = await summaries(db, storyRows);

      const accounts = new Map<string, Tally & { name: string }>();
      const src = new Map<string, Tally & { kind: 'ip' | 'host'; via: 'alert' | 'story' | 'events' }>();
      for (const r of rows) {
        for (const u of parseJson<unknown[]>(r.users, [])) if (typeof u === 'string') bumpAccount(accounts, u, r.last_seen);
        for (const s of detectionSources(r)) addSource(src, 'alert', s.kind, s.value, r.last_seen);
      }
      const touched = new Map<string, { host: string; via: 'story' | 'events'; at: string | null }>();
      for (const s of storyRows) {
        const story = parseJson<Story | null>(s.story, null);
        for (const e of Array.isArray(story?.spread) ? story.spread : []) {
          if (e.to.toLowerCase() === name.toLowerCase()) addSource(src, 'story', e.fromKind, e.from, e.at);
          if (e.from.toLowerCase() === name.toLowerCase() && !touched.has(e.to.toLowerCase())) touched.set(e.to.toLowerCase(), { host: e.to, via: 'story', at: e.at });
        }
      }
      let events = null;
      if (FILTERABLE.test(name)) {
        events = await eventActivity(ctx, `Computer=${name}`);
        const res = await logons(ctx, `${LOGON_EVENTS} Computer=${name}`);
        if (res)
          for (const row of res.rows) {
            const at = timeOf(res, row);
            const ip = rowField(res, row, SOURCE_IP_FIELDS);
            const ws = rowField(res, row, SOURCE_HOST_FIELDS);
            if (ip) addSource(src, 'events', 'ip', ip, at);
            else if (ws) addSource(src, 'events', 'host', ws, at);
            const user = rowField(res, row, ['TargetUserName']);
            if (user && !user.endsWith('$')) bumpAccount(accounts, logonAccount(user, rowField(res, row, ['TargetDomainName'])), at, 0);
          }
      }
      return {
        name,
        alerts: alertFacts(rows, counts.n, counts.open ?? 0),
        stories,
        seen: seenOf(rows, stories),
        events,
        accounts: [...accounts.values()].map((t) => ({ name: t.name, alerts: t.count })).sort((a, b) => b.alerts - a.alerts || a.name.localeCompare(b.name)),
        logonSources: sources(src),
        touched: [...touched.values()],
      };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/accounts/:name',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary: 'An account: its alerts, stories, first and last seen, logon sources and the hosts it touched',
        params: nameParam,
        response: { 200: ref('AccountFacts') },
      },
    },
    async (req) => {
      const name = req.params.name;
      const bare = name.includes('\\') ? name.slice(name.lastIndexOf('\\') + 1) : name;
      const d = db.dialect;
      // The name as given, or its bare part after a backslash in any domain.
      const match = `EXISTS (SELECT 1 FROM ${d.jsonStrings('a.users', 'u')} WHERE ${ACCOUNT_MATCH(d, 'u.value')})`;
      const p = [name, ...accountParams(bare).slice(1)];
      const rows = await db.all<AlertRow>(`SELECT a.* FROM alerts a WHERE ${match} ORDER BY a.last_seen DESC, a.id DESC LIMIT ?`, ...p, ALERTS_SAMPLE);
      const counts = (await db.get<{ n: number; open: number | null }>(`SELECT count(*) AS n, ${OPEN.replace('status', 'a.status')} AS open FROM alerts a WHERE ${match}`, ...p))!;
      const storyRows = await db.all<StoryRow>(`SELECT s.* FROM stories s WHERE s.merged_into IS NULL AND ${STORY_HAS_ACCOUNT(d)} ORDER BY s.last_seen DESC LIMIT 100`, ...p);
      const stories = await summaries(db, storyRows);
      // By lower-cased name (one host however spelt), shown as first spelt.
      const hosts = new Map<string, Tally & { host: string; via: 'alert' | 'events' }>();
      const src = new Map<string, Tally & { kind: 'ip' | 'host'; via: 'alert' | 'story' | 'events' }>();
      for (const r of rows) {
        if (r.host) {
          const k = `alert\u0000${r.host.toLowerCase()}`;
          const t = hosts.get(k);
          if (!t) hosts.set(k, { host: r.host, count: 1, lastAt: r.last_seen, via: 'alert' });
          else t.count++;
        }
        for (const s of detectionSources(r)) addSource(src, 'alert', s.kind, s.value, r.last_seen);
      }
      let events = null;
      if (FILTERABLE.test(bare)) {
        events = await eventActivity(ctx, `TargetUserName=${bare}`);
        const res = await logons(ctx, `${LOGON_EVENTS} TargetUserName=${bare}`);
        if (res)
          for (const row of res.rows) {
            const at = timeOf(res, row);
            const ip = rowField(res, row, SOURCE_IP_FIELDS);
            const ws = rowField(res, row, SOURCE_HOST_FIELDS);
            if (ip) addSource(src, 'events', 'ip', ip, at);
            else if (ws) addSource(src, 'events', 'host', ws, at);
            const computer = rowField(res, row, ['computer', 'Computer']);
            if (computer) {
              const k = `events\u0000${computer.toLowerCase()}`;
              const t = hosts.get(k);
              if (!t) hosts.set(k, { host: computer, count: 1, lastAt: at, via: 'events' });
              else {
                t.count++;
                if (at && (!t.lastAt || at > t.lastAt)) t.lastAt = at;
              }
            }
          }
      }
      return {
        name,
        alerts: alertFacts(rows, counts.n, counts.open ?? 0),
        stories,
        seen: seenOf(rows, stories),
        events,
        logonSources: sources(src),
        hosts: [...hosts.values()].map((t) => ({ host: t.host, via: t.via, count: t.count, lastAt: t.lastAt })).sort((a, b) => b.count - a.count),
      };
    },
  );
}
