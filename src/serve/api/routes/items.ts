/**
 * Alerts and stories: lists, one item with its comments and audit trail, counts since a time, and
 * triage (acknowledge, assign, status with resolution, comment; merge stories, split an alert out
 * of a story). Every triage action writes the audit trail and tells the live feed.
 */
import type { FastifyInstance } from 'fastify';
import { LEVELS } from '../../../sigma/model.js';
import type { Story } from '../../../stories/model.js';
import { ALERT_STATUSES, now, RESOLUTIONS, type AlertRow, type AlertStatus, type Resolution, type StoryRow } from '../../store/db.js';
import { auditRow, marks, type Sql } from '../../store/sql.js';
import { principal } from '../auth/hooks.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import {
  alertSummary,
  auditTrail,
  comments,
  countsSince,
  getAlertRow,
  getStoryRow,
  listAlerts,
  listStories,
  parseJson,
  ruleKeyOfRef,
  storySummary,
  type AlertFilters,
  type AlertSummary,
  type ItemKind,
  type StoryFilters,
  type StorySummary,
} from '../items.js';
import { API_LIMITS } from '../limits.js';
import { ref } from '../schemas.js';
import { isStory, mergeStory, withoutSplits, type SplitAlert } from '../story-view.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const iso = { type: 'string', format: 'date-time' } as const;

const LIST_PROPS = {
  level: { type: 'array', items: { type: 'string', enum: LEVELS }, maxItems: LEVELS.length, description: 'Any of these levels (repeat the parameter)' },
  minLevel: { type: 'string', enum: LEVELS, description: 'This level or more severe' },
  status: { type: 'array', items: { type: 'string', enum: ALERT_STATUSES }, maxItems: ALERT_STATUSES.length },
  host: text(API_LIMITS.paramMaxChars),
  user: { ...text(API_LIMITS.paramMaxChars), description: 'An account: `name` or `DOMAIN\\name` (case-insensitive)' },
  rule: { ...text(API_LIMITS.paramMaxChars), description: 'A rule id, key, title or ref' },
  tactic: { ...text(64), description: 'ATT&CK tactic short name (`lateral-movement`)' },
  technique: { ...text(16), pattern: '^[Tt]\\d{4}(\\.\\d{3})?$', description: 'ATT&CK technique (`T1021` also matches its sub-techniques)' },
  from: { ...iso, description: 'Items active at or after this time (last seen ≥ from)' },
  to: { ...iso, description: 'Items active at or before this time (first seen ≤ to)' },
  // No U+0000: SQLite's LIKE would end the pattern there (matching far more than asked).
  q: { ...text(200), pattern: '^[^\\u0000]*$', description: 'Text in the title, host, accounts or rule id' },
  assignee: text(64),
  sort: { type: 'string', enum: ['newest', 'oldest', 'severity'], default: 'newest' },
  limit: { type: 'integer', minimum: 1, maximum: API_LIMITS.pageMax, default: 50 },
  offset: { type: 'integer', minimum: 0, maximum: API_LIMITS.offsetMax, default: 0 },
} as const;

const alertId = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 } } } as const;
const storyId = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

const isoOf = (v: string | undefined): string | undefined => (v === undefined ? undefined : new Date(v).toISOString());

type TriageBody = { status: AlertStatus; resolution?: Resolution; cascade?: boolean };

export function itemRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx;

  const normalise = async <T extends AlertFilters | StoryFilters>(q: T): Promise<T> => {
    const out = { ...q, from: isoOf(q.from), to: isoOf(q.to) };
    if (q.rule && /^[0-9a-f]{16}$/.test(q.rule)) out.rule = (await ruleKeyOfRef(db, q.rule)) ?? q.rule;
    return out;
  };

  app.get<{ Querystring: AlertFilters }>(
    '/api/alerts',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, filtered, newest (or most severe) first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...LIST_PROPS, story: text(200), ungrouped: { type: 'boolean', description: 'Only alerts in no story' } } },
        response: { 200: ref('AlertPage') },
      },
    },
    async (req) => listAlerts(db, await normalise(req.query)),
  );

  app.get<{ Params: { id: number } }>(
    '/api/alerts/:id',
    { config: { access: 'read' }, schema: { tags: ['alerts'], summary: 'One alert with its first detection, comments and audit trail', params: alertId, response: { 200: ref('AlertDetail') } } },
    async (req) => alertDetail(ctx, req.params.id),
  );

  app.get<{ Querystring: StoryFilters }>(
    '/api/stories',
    {
      config: { access: 'read' },
      schema: {
        tags: ['stories'],
        summary: 'Stories, filtered, newest (or highest score) first',
        querystring: { type: 'object', additionalProperties: false, properties: { ...LIST_PROPS, includeMerged: { type: 'boolean', default: false } } },
        response: { 200: ref('StoryPage') },
      },
    },
    async (req) => listStories(db, await normalise(req.query)),
  );

  app.get<{ Params: { id: string }; Querystring: { alertsLimit?: number; alertsOffset?: number } }>(
    '/api/stories/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['stories'],
        summary: 'One story (merged stories joined in), its alerts, comments and audit trail',
        params: storyId,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            alertsLimit: { type: 'integer', minimum: 1, maximum: API_LIMITS.pageMax, default: 100 },
            alertsOffset: { type: 'integer', minimum: 0, maximum: API_LIMITS.offsetMax, default: 0 },
          },
        },
        response: { 200: ref('StoryDetail') },
      },
    },
    async (req) => storyDetail(ctx, req.params.id, req.query.alertsLimit ?? 100, req.query.alertsOffset ?? 0),
  );

  app.get<{ Querystring: { since: string } }>(
    '/api/counts',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alerts', 'stories'],
        summary: 'Alerts and stories created or updated since a time ("new since you last looked")',
        querystring: { type: 'object', required: ['since'], additionalProperties: false, properties: { since: iso } },
        response: { 200: ref('Counts') },
      },
    },
    async (req) => countsSince(db, new Date(req.query.since).toISOString()),
  );

  // ---- triage, the same for both kinds ----

  for (const kind of ['alert', 'story'] as const) {
    const base = kind === 'alert' ? '/api/alerts/:id' : '/api/stories/:id';
    const params = kind === 'alert' ? alertId : storyId;
    const tags = [kind === 'alert' ? 'alerts' : 'stories', 'triage'];
    const summaryRef = kind === 'alert' ? ref('Alert') : ref('StorySummary');

    app.post<{ Params: { id: string | number } }>(
      `${base}/acknowledge`,
      { config: { access: 'change' }, schema: { tags, summary: `Acknowledge a new ${kind} (status new → acknowledged)`, params, response: { 200: summaryRef } } },
      async (req) => {
        const actor = principal(req).name;
        const row = await load(ctx, kind, req.params.id);
        if (row.status === 'new') {
          await db.tx(async (t) => {
            await update(t, kind, row, { status: 'acknowledged' });
            await auditRow(t, actor, `${kind}.acknowledge`, { kind, id: row.id }, { from: 'new', to: 'acknowledged' });
          });
        }
        return announce(ctx, kind, row.id);
      },
    );

    app.post<{ Params: { id: string | number }; Body: { assignee: string | null } }>(
      `${base}/assign`,
      {
        config: { access: 'change' },
        schema: {
          tags,
          summary: `Assign a ${kind} to a user (null: unassign)`,
          params,
          body: { type: 'object', required: ['assignee'], additionalProperties: false, properties: { assignee: { type: ['string', 'null'], maxLength: 64 } } },
          response: { 200: summaryRef },
        },
      },
      async (req) => {
        const actor = principal(req).name;
        const row = await load(ctx, kind, req.params.id);
        const to = req.body.assignee;
        if (to !== null) {
          const u = await ctx.creds.getUser(to);
          if (!u || u.disabled) throw badRequest('no-such-user', `no active user '${to}' to assign to`);
        }
        if (row.assignee !== to) {
          await db.tx(async (t) => {
            await update(t, kind, row, { assignee: to });
            await auditRow(t, actor, `${kind}.assign`, { kind, id: row.id }, { from: row.assignee, to });
          });
        }
        return announce(ctx, kind, row.id);
      },
    );

    app.post<{ Params: { id: string | number }; Body: TriageBody }>(
      `${base}/status`,
      {
        config: { access: 'change' },
        schema: {
          tags,
          summary:
            kind === 'alert'
              ? 'Change an alert’s status; closing needs a resolution'
              : 'Change a story’s status; closing needs a resolution and (unless cascade is false) closes its open alerts with it',
          params,
          body: {
            type: 'object',
            required: ['status'],
            additionalProperties: false,
            properties: {
              status: { type: 'string', enum: ALERT_STATUSES },
              resolution: { type: 'string', enum: RESOLUTIONS },
              ...(kind === 'story' ? { cascade: { type: 'boolean', default: true } } : {}),
            },
          },
          response: { 200: summaryRef },
        },
      },
      async (req) => {
        const actor = principal(req).name;
        const { status, resolution } = req.body;
        if (status === 'closed' && !resolution) throw badRequest('resolution-required', 'closing needs a resolution: true_positive, benign or false_positive');
        if (status !== 'closed' && resolution) throw badRequest('resolution-not-allowed', 'a resolution is given only when closing');
        const row = await load(ctx, kind, req.params.id);
        const res = resolution ?? null;
        const cascaded = await db.tx(async (t) => {
          if (row.status !== status || row.resolution !== res) {
            await update(t, kind, row, { status, resolution: res });
            await auditRow(
              t,
              actor,
              `${kind}.status`,
              { kind, id: row.id },
              { from: row.status, to: status, ...(row.resolution ? { fromResolution: row.resolution } : {}), ...(res ? { resolution: res } : {}) },
            );
          }
          if (kind !== 'story' || status !== 'closed' || req.body.cascade === false) return [];
          const open = await t.all<AlertRow>("SELECT * FROM alerts WHERE story_id = ? AND status != 'closed' ORDER BY id", String(row.id));
          for (const a of open) {
            await update(t, 'alert', a, { status, resolution: res });
            await auditRow(t, actor, 'alert.status', { kind: 'alert', id: a.id }, { from: a.status, to: status, resolution: res, via: `story ${row.id}` });
          }
          return open;
        });
        for (const a of cascaded) await announce(ctx, 'alert', a.id);
        return announce(ctx, kind, row.id);
      },
    );

    app.post<{ Params: { id: string | number }; Body: { body: string } }>(
      `${base}/comments`,
      {
        config: { access: 'change' },
        schema: {
          tags,
          summary: `Comment on a ${kind}`,
          params,
          body: { type: 'object', required: ['body'], additionalProperties: false, properties: { body: { type: 'string', minLength: 1, maxLength: API_LIMITS.commentMaxChars } } },
          response: { 201: ref('Comment') },
        },
      },
      async (req, reply) => {
        const actor = principal(req).name;
        const row = await load(ctx, kind, req.params.id);
        const body = req.body.body;
        if (!body.trim()) throw badRequest('empty-comment', 'the comment is empty');
        const at = now();
        const id = await db.tx(async (t) => {
          const commentId = await t.insertId('INSERT INTO comments (target_kind, target_id, author, body, created_at) VALUES (?, ?, ?, ?, ?)', kind, String(row.id), actor, body, at);
          await auditRow(t, actor, `${kind}.comment`, { kind, id: row.id }, { comment: commentId });
          return commentId;
        });
        await announce(ctx, kind, row.id);
        return reply.code(201).send({ id, author: actor, body, createdAt: at });
      },
    );
  }

  app.post<{ Params: { id: string }; Body: { into: string } }>(
    '/api/stories/:id/merge',
    {
      config: { access: 'change' },
      schema: {
        tags: ['stories', 'triage'],
        summary: 'Merge this story into another: its alerts move there and its id redirects (mergedInto)',
        params: storyId,
        body: { type: 'object', required: ['into'], additionalProperties: false, properties: { into: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: { 200: ref('StorySummary') },
      },
    },
    async (req) => {
      const actor = principal(req).name;
      const from = (await load(ctx, 'story', req.params.id)) as StoryRow;
      const into = (await load(ctx, 'story', req.body.into)) as StoryRow;
      if (from.id === into.id) throw badRequest('same-story', 'a story cannot be merged into itself');
      const at = now();
      await db.tx(async (t) => {
        const moved = (await t.run('UPDATE alerts SET story_id = ?, updated_at = ? WHERE story_id = ?', into.id, at, from.id)).changes;
        // Stories already merged into `from` now point at `into` directly (one level to compose when read).
        const repointed = (await t.run('UPDATE stories SET merged_into = ?, updated_at = ? WHERE merged_into = ?', into.id, at, from.id)).changes;
        await t.run('UPDATE stories SET merged_into = ?, updated_at = ? WHERE id = ?', into.id, at, from.id);
        await t.run('UPDATE stories SET updated_at = ? WHERE id = ?', at, into.id);
        await auditRow(t, actor, 'story.merge', { kind: 'story', id: from.id }, { into: into.id, alertsMoved: moved, storiesRepointed: repointed });
        await auditRow(t, actor, 'story.merged-in', { kind: 'story', id: into.id }, { from: from.id, alertsMoved: moved });
      });
      await announce(ctx, 'story', from.id);
      return announce(ctx, 'story', into.id);
    },
  );

  app.post<{ Params: { id: string }; Body: { alertId: number } }>(
    '/api/stories/:id/split',
    {
      config: { access: 'change' },
      schema: {
        tags: ['stories', 'triage'],
        summary: 'Split an alert out of a story: it becomes an alert of its own and the story leaves its detections out',
        params: storyId,
        body: { type: 'object', required: ['alertId'], additionalProperties: false, properties: { alertId: { type: 'integer', minimum: 1 } } },
        response: { 200: ref('Alert') },
      },
    },
    async (req) => {
      const actor = principal(req).name;
      const story = (await load(ctx, 'story', req.params.id)) as StoryRow;
      const alert = await getAlertRow(db, req.body.alertId);
      if (!alert) throw notFound(`alert ${req.body.alertId}`);
      const members = [story.id, ...(await db.all<{ id: string }>('SELECT id FROM stories WHERE merged_into = ?', story.id)).map((r) => r.id)];
      if (!alert.story_id || !members.includes(alert.story_id)) throw new ApiError(409, 'not-in-story', `alert ${alert.id} is not part of story ${story.id}`);
      const at = now();
      await db.tx(async (t) => {
        await t.run('UPDATE alerts SET story_id = NULL, updated_at = ? WHERE id = ?', at, alert.id);
        await t.run(
          'INSERT INTO story_splits (alert_id, story_id, actor, at) VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET story_id = excluded.story_id, actor = excluded.actor, at = excluded.at',
          alert.id,
          alert.story_id,
          actor,
          at,
        );
        await t.run('UPDATE stories SET updated_at = ? WHERE id = ?', at, story.id);
        await auditRow(t, actor, 'story.split', { kind: 'story', id: story.id }, { alert: alert.id, rule: alert.rule_title, host: alert.host });
        await auditRow(t, actor, 'alert.split', { kind: 'alert', id: alert.id }, { fromStory: alert.story_id });
      });
      await announce(ctx, 'story', story.id);
      return announce(ctx, 'alert', alert.id);
    },
  );
}

/** Loads an item for a change (404 if absent; 409 for a story merged into another: act on that one). */
async function load(ctx: ApiContext, kind: ItemKind, id: string | number): Promise<AlertRow | StoryRow> {
  if (kind === 'alert') {
    const r = await getAlertRow(ctx.db, Number(id));
    if (!r) throw notFound(`alert ${id}`);
    return r;
  }
  const r = await getStoryRow(ctx.db, String(id));
  if (!r) throw notFound(`story ${String(id).slice(0, 200)}`);
  if (r.merged_into) throw new ApiError(409, 'merged', `story ${r.id} was merged into ${r.merged_into}; act on that one`, { mergedInto: r.merged_into });
  return r;
}

async function update(q: Sql, kind: ItemKind, row: AlertRow | StoryRow, set: { status?: AlertStatus; resolution?: Resolution | null; assignee?: string | null }): Promise<void> {
  const cols = Object.keys(set) as (keyof typeof set)[];
  const table = kind === 'alert' ? 'alerts' : 'stories';
  await q.run(`UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(', ')}, updated_at = ? WHERE id = ?`, ...cols.map((c) => set[c] ?? null), now(), row.id);
}

/** Publishes the item's new state to the live feed and returns its summary. */
export function announce(ctx: Pick<ApiContext, 'db' | 'live'>, kind: 'alert', id: number | string, created?: boolean): Promise<AlertSummary>;
export function announce(ctx: Pick<ApiContext, 'db' | 'live'>, kind: 'story', id: number | string, created?: boolean): Promise<StorySummary>;
export function announce(ctx: Pick<ApiContext, 'db' | 'live'>, kind: ItemKind, id: number | string, created?: boolean): Promise<AlertSummary | StorySummary>;
export async function announce(ctx: Pick<ApiContext, 'db' | 'live'>, kind: ItemKind, id: number | string, created = false): Promise<AlertSummary | StorySummary> {
  if (kind === 'alert') {
    const summary = alertSummary((await getAlertRow(ctx.db, Number(id)))!);
    ctx.live.publish(created ? 'alert.created' : 'alert.updated', { id: String(id), summary });
    return summary;
  }
  const summary = await storySummary(ctx.db, (await getStoryRow(ctx.db, String(id)))!);
  ctx.live.publish(created ? 'story.created' : 'story.updated', { id: String(id), summary });
  return summary;
}

async function alertDetail(ctx: ApiContext, id: number) {
  const r = await getAlertRow(ctx.db, id);
  if (!r) throw notFound(`alert ${id}`);
  const detection = parseJson<unknown>(r.detection, {});
  return {
    ...alertSummary(r),
    detection: detection && typeof detection === 'object' ? detection : {},
    comments: await comments(ctx.db, 'alert', String(id)),
    audit: await auditTrail(ctx.db, 'alert', String(id)),
  };
}

async function storyDetail(ctx: ApiContext, id: string, alertsLimit: number, alertsOffset: number) {
  const db = ctx.db;
  const r = await getStoryRow(db, id);
  if (!r) throw notFound(`story ${id.slice(0, 200)}`);
  const summary = await storySummary(db, r);
  const ids = [r.id, ...summary.mergedFrom];
  let story: Story | null = null;
  const own = parseJson<unknown>(r.story, null);
  if (isStory(own)) {
    story = own;
    for (const m of summary.mergedFrom) {
      const other = parseJson<unknown>((await getStoryRow(db, m))?.story ?? null, null);
      if (isStory(other)) story = mergeStory(story, other);
    }
    const splits = await db.all<{ id: number; rule_title: string; host: string | null; first_seen: string; last_seen: string; count: number }>(
      `SELECT a.id, a.rule_title, a.host, a.first_seen, a.last_seen, a.count FROM story_splits s JOIN alerts a ON a.id = s.alert_id WHERE s.story_id IN (${marks(ids)})`,
      ...ids,
    );
    story = withoutSplits(
      story,
      splits.map((s): SplitAlert => ({ ruleTitle: s.rule_title, host: s.host, firstSeen: s.first_seen, lastSeen: s.last_seen, count: s.count })),
    );
  }
  const splitAlerts = (await db.all<{ alert_id: number }>(`SELECT alert_id FROM story_splits WHERE story_id IN (${marks(ids)}) ORDER BY alert_id`, ...ids)).map((x) => x.alert_id);
  const inStory = `story_id IN (${marks(ids)})`;
  const total = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM alerts WHERE ${inStory}`, ...ids))!.n;
  const alertRows = await db.all<AlertRow>(`SELECT * FROM alerts WHERE ${inStory} ORDER BY first_seen, id LIMIT ? OFFSET ?`, ...ids, alertsLimit, alertsOffset);
  return {
    ...summary,
    story,
    splitAlerts,
    alerts: { items: alertRows.map(alertSummary), total, limit: alertsLimit, offset: alertsOffset },
    comments: await comments(db, 'story', id),
    audit: await auditTrail(db, 'story', id),
  };
}
