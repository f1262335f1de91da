/**
 * Alerts and stories: lists, one item with its comments and audit trail, counts since a time, and
 * triage (acknowledge, assign, status with resolution, comment; merge stories, split an alert out
 * of a story). Every triage action writes the audit trail and tells the live feed.
 */
import type { FastifyInstance } from 'fastify';
import { LEVELS } from '../../../sigma/model.js';
import type { Story } from '../../../stories/model.js';
import { ALERT_STATUSES, now, RESOLUTIONS, type AlertRow, type AlertStatus, type Resolution, type StoryRow } from '../../store/db.js';
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
  type ItemKind,
  type StoryFilters,
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
  q: { ...text(200), description: 'Text in the title, host, accounts or rule id' },
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

  const normalise = <T extends AlertFilters | StoryFilters>(q: T): T => {
    const out = { ...q, from: isoOf(q.from), to: isoOf(q.to) };
    if (q.rule && /^[0-9a-f]{16}$/.test(q.rule)) out.rule = ruleKeyOfRef(db, q.rule) ?? q.rule;
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
    async (req) => listAlerts(db, normalise(req.query)),
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
    async (req) => listStories(db, normalise(req.query)),
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
        const row = load(ctx, kind, req.params.id);
        if (row.status === 'new') {
          update(ctx, kind, row, { status: 'acknowledged' });
          ctx.audit(actor, `${kind}.acknowledge`, { kind, id: row.id }, { from: 'new', to: 'acknowledged' });
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
        const row = load(ctx, kind, req.params.id);
        const to = req.body.assignee;
        if (to !== null) {
          const u = ctx.creds.getUser(to);
          if (!u || u.disabled) throw badRequest('no-such-user', `no active user '${to}' to assign to`);
        }
        if (row.assignee !== to) {
          update(ctx, kind, row, { assignee: to });
          ctx.audit(actor, `${kind}.assign`, { kind, id: row.id }, { from: row.assignee, to });
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
        const row = load(ctx, kind, req.params.id);
        const res = resolution ?? null;
        db.tx(() => {
          if (row.status !== status || row.resolution !== res) {
            update(ctx, kind, row, { status, resolution: res });
            ctx.audit(
              actor,
              `${kind}.status`,
              { kind, id: row.id },
              { from: row.status, to: status, ...(row.resolution ? { fromResolution: row.resolution } : {}), ...(res ? { resolution: res } : {}) },
            );
          }
          if (kind === 'story' && status === 'closed' && req.body.cascade !== false) {
            const open = db.db.prepare("SELECT * FROM alerts WHERE story_id = ? AND status != 'closed'").all(String(row.id)) as AlertRow[];
            for (const a of open) {
              update(ctx, 'alert', a, { status, resolution: res });
              ctx.audit(actor, 'alert.status', { kind: 'alert', id: a.id }, { from: a.status, to: status, resolution: res, via: `story ${row.id}` });
            }
            for (const a of open) announce(ctx, 'alert', a.id);
          }
        });
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
        const row = load(ctx, kind, req.params.id);
        const body = req.body.body;
        if (!body.trim()) throw badRequest('empty-comment', 'the comment is empty');
        const at = now();
        const id = db.tx(() => {
          const r = db.db.prepare('INSERT INTO comments (target_kind, target_id, author, body, created_at) VALUES (?, ?, ?, ?, ?)').run(kind, String(row.id), actor, body, at);
          ctx.audit(actor, `${kind}.comment`, { kind, id: row.id }, { comment: Number(r.lastInsertRowid) });
          return Number(r.lastInsertRowid);
        });
        announce(ctx, kind, row.id);
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
      const from = load(ctx, 'story', req.params.id) as StoryRow;
      const into = load(ctx, 'story', req.body.into) as StoryRow;
      if (from.id === into.id) throw badRequest('same-story', 'a story cannot be merged into itself');
      const t = now();
      db.tx(() => {
        const moved = db.db.prepare('UPDATE alerts SET story_id = ?, updated_at = ? WHERE story_id = ?').run(into.id, t, from.id).changes;
        // Stories already merged into `from` now point at `into` directly (one level to compose when read).
        const repointed = db.db.prepare('UPDATE stories SET merged_into = ?, updated_at = ? WHERE merged_into = ?').run(into.id, t, from.id).changes;
        db.db.prepare('UPDATE stories SET merged_into = ?, updated_at = ? WHERE id = ?').run(into.id, t, from.id);
        db.db.prepare('UPDATE stories SET updated_at = ? WHERE id = ?').run(t, into.id);
        ctx.audit(actor, 'story.merge', { kind: 'story', id: from.id }, { into: into.id, alertsMoved: moved, storiesRepointed: repointed });
        ctx.audit(actor, 'story.merged-in', { kind: 'story', id: into.id }, { from: from.id, alertsMoved: moved });
      });
      announce(ctx, 'story', from.id);
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
      const story = load(ctx, 'story', req.params.id) as StoryRow;
      const alert = getAlertRow(db, req.body.alertId);
      if (!alert) throw notFound(`alert ${req.body.alertId}`);
      const members = [story.id, ...(db.db.prepare('SELECT id FROM stories WHERE merged_into = ?').all(story.id) as { id: string }[]).map((r) => r.id)];
      if (!alert.story_id || !members.includes(alert.story_id)) throw new ApiError(409, 'not-in-story', `alert ${alert.id} is not part of story ${story.id}`);
      const t = now();
      db.tx(() => {
        db.db.prepare('UPDATE alerts SET story_id = NULL, updated_at = ? WHERE id = ?').run(t, alert.id);
        db.db
          .prepare(
            'INSERT INTO story_splits (alert_id, story_id, actor, at) VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET story_id = excluded.story_id, actor = excluded.actor, at = excluded.at',
          )
          .run(alert.id, alert.story_id, actor, t);
        db.db.prepare('UPDATE stories SET updated_at = ? WHERE id = ?').run(t, story.id);
        ctx.audit(actor, 'story.split', { kind: 'story', id: story.id }, { alert: alert.id, rule: alert.rule_title, host: alert.host });
        ctx.audit(actor, 'alert.split', { kind: 'alert', id: alert.id }, { fromStory: alert.story_id });
      });
      announce(ctx, 'story', story.id);
      return announce(ctx, 'alert', alert.id);
    },
  );
}

/** Loads an item for a change (404 if absent; 409 for a story merged into another: act on that one). */
function load(ctx: ApiContext, kind: ItemKind, id: string | number): AlertRow | StoryRow {
  if (kind === 'alert') {
    const r = getAlertRow(ctx.db, Number(id));
    if (!r) throw notFound(`alert ${id}`);
    return r;
  }
  const r = getStoryRow(ctx.db, String(id));
  if (!r) throw notFound(`story ${String(id).slice(0, 200)}`);
  if (r.merged_into) throw new ApiError(409, 'merged', `story ${r.id} was merged into ${r.merged_into}; act on that one`, { mergedInto: r.merged_into });
  return r;
}

function update(ctx: ApiContext, kind: ItemKind, row: AlertRow | StoryRow, set: { status?: AlertStatus; resolution?: Resolution | null; assignee?: string | null }): void {
  const cols = Object.keys(set) as (keyof typeof set)[];
  const table = kind === 'alert' ? 'alerts' : 'stories';
  ctx.db.db.prepare(`UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(', ')}, updated_at = ? WHERE id = ?`).run(...cols.map((c) => set[c] ?? null), now(), row.id);
}

/** Publishes the item's new state to the live feed and returns its summary. */
export function announce(ctx: ApiContext, kind: 'alert', id: number | string, created?: boolean): ReturnType<typeof alertSummary>;
export function announce(ctx: ApiContext, kind: 'story', id: number | string, created?: boolean): ReturnType<typeof storySummary>;
export function announce(ctx: ApiContext, kind: ItemKind, id: number | string, created?: boolean): ReturnType<typeof alertSummary> | ReturnType<typeof storySummary>;
export function announce(ctx: ApiContext, kind: ItemKind, id: number | string, created = false): ReturnType<typeof alertSummary> | ReturnType<typeof storySummary> {
  if (kind === 'alert') {
    const summary = alertSummary(getAlertRow(ctx.db, Number(id))!);
    ctx.live.publish(created ? 'alert.created' : 'alert.updated', { id: String(id), summary });
    return summary;
  }
  const summary = storySummary(ctx.db, getStoryRow(ctx.db, String(id))!);
  ctx.live.publish(created ? 'story.created' : 'story.updated', { id: String(id), summary });
  return summary;
}

function alertDetail(ctx: ApiContext, id: number) {
  const r = getAlertRow(ctx.db, id);
  if (!r) throw notFound(`alert ${id}`);
  const detection = parseJson<unknown>(r.detection, {});
  return {
    ...alertSummary(r),
    detection: detection && typeof detection === 'object' ? detection : {},
    comments: comments(ctx.db, 'alert', String(id)),
    audit: auditTrail(ctx.db, 'alert', String(id)),
  };
}

function storyDetail(ctx: ApiContext, id: string, alertsLimit: number, alertsOffset: number) {
  const r = getStoryRow(ctx.db, id);
  if (!r) throw notFound(`story ${id.slice(0, 200)}`);
  const summary = storySummary(ctx.db, r);
  let story: Story | null = null;
  const own = parseJson<unknown>(r.story, null);
  if (isStory(own)) {
    story = own;
    for (const m of summary.mergedFrom) {
      const other = parseJson<unknown>(getStoryRow(ctx.db, m)?.story ?? null, null);
      if (isStory(other)) story = mergeStory(story, other);
    }
    const ids = [r.id, ...summary.mergedFrom];
    const splits = ctx.db.db
      .prepare(`SELECT a.id, a.rule_title, a.host, a.first_seen, a.last_seen, a.count FROM story_splits s JOIN alerts a ON a.id = s.alert_id WHERE s.story_id IN (${ids.map(() => '?').join(', ')})`)
      .all(...ids) as { id: number; rule_title: string; host: string | null; first_seen: string; last_seen: string; count: number }[];
    story = withoutSplits(
      story,
      splits.map((s): SplitAlert => ({ ruleTitle: s.rule_title, host: s.host, firstSeen: s.first_seen, lastSeen: s.last_seen, count: s.count })),
    );
  }
  const ids = [r.id, ...summary.mergedFrom];
  const splitAlerts = (ctx.db.db.prepare(`SELECT alert_id FROM story_splits WHERE story_id IN (${ids.map(() => '?').join(', ')}) ORDER BY alert_id`).all(...ids) as { alert_id: number }[]).map(
    (x) => x.alert_id,
  );
  const inStory = `story_id IN (${ids.map(() => '?').join(', ')})`;
  const total = (ctx.db.db.prepare(`SELECT count(*) AS n FROM alerts WHERE ${inStory}`).get(...ids) as { n: number }).n;
  const alertRows = ctx.db.db.prepare(`SELECT * FROM alerts WHERE ${inStory} ORDER BY first_seen, id LIMIT ? OFFSET ?`).all(...ids, alertsLimit, alertsOffset) as AlertRow[];
  return {
    ...summary,
    story,
    splitAlerts,
    alerts: { items: alertRows.map(alertSummary), total, limit: alertsLimit, offset: alertsOffset },
    comments: comments(ctx.db, 'story', id),
    audit: auditTrail(ctx.db, 'story', id),
  };
}
