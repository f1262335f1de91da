/**
 * Health (ingest rates per source, lag, drops, storage, notification failures), `/metrics` in the
 * Prometheus text format (prom-client, on a registry of its own), and the audit trail.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AuditRow } from '../../store/db.js';
import type { ApiContext } from '../context.js';
import type { HealthSnapshot } from '../deps.js';
import { auditEntry } from '../items.js';
import { API_LIMITS } from '../limits.js';
import { ref } from '../schemas.js';

export { RateSampler } from '../rates.js';

interface NotificationHealth {
  channel: string;
  sent: number;
  pending: number;
  failing: number;
  lastError: string | null;
  nextRetryAt: string | null;
}

async function notifications(ctx: ApiContext): Promise<NotificationHealth[]> {
  const n = (cond: string) => `sum(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;
  const rows = await ctx.db.all<{ channel: string; sent: number; pending: number; failing: number; next_retry: string | null }>(
    `SELECT channel,
            ${n('sent_at IS NOT NULL')} AS sent,
            ${n('sent_at IS NULL')} AS pending,
            ${n('sent_at IS NULL AND attempts > 0')} AS failing,
            min(CASE WHEN sent_at IS NULL AND attempts > 0 THEN next_at END) AS next_retry
     FROM outbox GROUP BY channel ORDER BY channel`,
  );
  const out: NotificationHealth[] = [];
  for (const r of rows) {
    const last = await ctx.db.get<{ last_error: string }>('SELECT last_error FROM outbox WHERE channel = ? AND sent_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1', r.channel);
    out.push({ channel: r.channel, sent: r.sent, pending: r.pending, failing: r.failing, lastError: last?.last_error ?? null, nextRetryAt: r.next_retry });
  }
  return out;
}

/** What the stores hold; the event store's own health (restarts, field names it could not catalogue), or why it could not say. */
async function storage(ctx: ApiContext) {
  const stateBytes = await ctx.db.sizeBytes();
  try {
    const u = await ctx.events.usage();
    return {
      eventBytes: u.bytes,
      eventDays: u.days.length,
      events: u.events,
      stateBytes,
      eventStoreRestarts: u.restarts,
      fieldNames: u.fieldNames,
      fieldNamesDropped: u.fieldNamesDropped,
      eventStoreError: null,
    };
  } catch (e) {
    ctx.log('warn', `event store usage failed: ${(e as Error).message}`);
    return { eventBytes: 0, eventDays: 0, events: 0, stateBytes, eventStoreRestarts: 0, fieldNames: 0, fieldNamesDropped: 0, eventStoreError: (e as Error).message };
  }
}

export function healthRoutes(app: FastifyInstance, ctx: ApiContext, liveStreams: () => number): void {
  app.get(
    '/api/health',
    { config: { access: 'read' }, schema: { tags: ['health'], summary: 'Ingest rates per source, lag, drops, storage use, notification failures', response: { 200: ref('Health') } } },
    async () => {
      const s = await ctx.health.snapshot();
      const t = Date.now();
      return {
        startedAt: s.startedAt,
        backpressure: s.backpressure,
        sources: s.sources.map((x) => ({ ...x, ratePerSec: Math.round(ctx.rates.rate(x.protocol, x.source, x.accepted, t) * 100) / 100 })),
        refused: s.refused,
        wal: s.wal,
        pipeline: s.pipeline,
        drops: s.drops,
        storage: await storage(ctx),
        notifications: await notifications(ctx),
        liveStreams: liveStreams(),
        ...(s.nodes ? { nodes: s.nodes } : {}),
      };
    },
  );

  // ---- Prometheus ----
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'firebreak_process_' });
  let snap: HealthSnapshot | null = null;
  const counter = (name: string, help: string, labelNames: string[], values: (s: HealthSnapshot) => [Record<string, string>, number][]) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        if (snap) for (const [labels, v] of values(snap)) this.inc(labels, Math.max(0, v));
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, v] of values()) this.set(labels, v);
      },
    });
  const perSource = (f: (x: HealthSnapshot['sources'][number]) => number) => (s: HealthSnapshot) =>
    s.sources.map((x): [Record<string, string>, number] => [{ source: x.source, protocol: x.protocol }, f(x)]);
  counter(
    'firebreak_ingest_records_total',
    'Records accepted (durable in the write-ahead log), per source',
    ['source', 'protocol'],
    perSource((x) => x.accepted),
  );
  counter(
    'firebreak_ingest_rejected_total',
    'Records refused (bad documents, over limits), per source',
    ['source', 'protocol'],
    perSource((x) => x.rejected),
  );
  counter(
    'firebreak_ingest_bytes_total',
    'Bytes of records accepted, per source',
    ['source', 'protocol'],
    perSource((x) => x.bytes),
  );
  counter('firebreak_ingest_refused_requests_total', 'Ingest requests refused, by protocol and reason', ['protocol', 'reason'], (s) =>
    Object.entries(s.refused).flatMap(([p, r]) => (r ? (['auth', 'busy', 'errors'] as const).map((k): [Record<string, string>, number] => [{ protocol: p, reason: k }, r[k]]) : [])),
  );
  counter('firebreak_pipeline_events_total', 'Events processed by the detection pipeline', [], (s) => [[{}, s.pipeline.eventsProcessed]]);
  counter('firebreak_detections_total', 'Rule detections', [], (s) => [[{}, s.pipeline.detections]]);
  counter('firebreak_detections_suppressed_total', 'Detections folded into an existing alert', [], (s) => [[{}, s.pipeline.suppressed]]);
  counter('firebreak_late_total', 'Events or detections behind the watermark', [], (s) => [[{}, s.pipeline.late]]);
  counter('firebreak_dropped_total', 'What was dropped, by reason', ['reason'], (s) => Object.entries(s.drops).map(([reason, v]): [Record<string, string>, number] => [{ reason }, v]));
  gauge('firebreak_wal_lag_records', 'Records appended to the write-ahead log and not yet processed', [], () => (snap ? [[{}, snap.wal.lagRecords]] : []));
  gauge('firebreak_wal_lag_bytes', 'Bytes appended to the write-ahead log and not yet processed', [], () => (snap ? [[{}, snap.wal.lagBytes]] : []));
  gauge('firebreak_wal_disk_bytes', 'Write-ahead log size on disk', [], () => (snap ? [[{}, snap.wal.diskBytes]] : []));
  gauge('firebreak_pipeline_lag_seconds', 'Arrival-to-processed delay of the last batch', [], () => (snap?.pipeline.lagMs != null ? [[{}, snap.pipeline.lagMs / 1000]] : []));
  gauge('firebreak_backpressure', '1 while ingest refuses data', [], () => (snap ? [[{}, snap.backpressure ? 1 : 0]] : []));
  // Read from the database before each scrape (the gauges' collect() is synchronous).
  let counted: { alerts: { level: string; status: string; n: number }[]; stories: { level: string; status: string; n: number }[]; notifications: NotificationHealth[] } | null = null;
  gauge('firebreak_alerts', 'Alerts, by level and status', ['level', 'status'], () => (counted?.alerts ?? []).map((r) => [{ level: r.level, status: r.status }, r.n]));
  gauge('firebreak_stories', 'Stories (not merged into another), by level and status', ['level', 'status'], () => (counted?.stories ?? []).map((r) => [{ level: r.level, status: r.status }, r.n]));
  gauge('firebreak_notifications_pending', 'Notifications not yet delivered, per channel', ['channel'], () => (counted?.notifications ?? []).map((n) => [{ channel: n.channel }, n.pending]));
  gauge('firebreak_notifications_failing', 'Notifications whose delivery failed at least once and is being retried, per channel', ['channel'], () =>
    (counted?.notifications ?? []).map((n) => [{ channel: n.channel }, n.failing]),
  );
  gauge('firebreak_api_live_streams', 'Open live-feed connections', [], () => [[{}, liveStreams()]]);
  // A cluster's api node: every node's last report (docs/scale-out.md "Health").
  const nodes = () => snap?.nodes ?? [];
  gauge('firebreak_cluster_node_up', '1 while a cluster node reports, 0 once its last report is stale', ['node', 'roles'], () =>
    nodes().map((n) => [{ node: n.node, roles: n.roles.join(',') }, n.stale ? 0 : 1]),
  );
  gauge('firebreak_cluster_node_report_age_seconds', "Seconds since a cluster node's last report", ['node'], () => nodes().map((n) => [{ node: n.node }, n.ageSeconds]));
  counter('firebreak_cluster_node_ingest_records_total', 'Records a cluster ingest node accepted (stored in JetStream), per source', ['node', 'source', 'protocol'], (s) =>
    (s.nodes ?? []).flatMap((n) => n.report.sources.map((x): [Record<string, string>, number] => [{ node: n.node, source: x.source, protocol: x.protocol }, x.accepted])),
  );
  const detectCounter = (name: string, help: string, key: string) =>
    counter(name, help, ['node'], (s) => (s.nodes ?? []).flatMap((n): [Record<string, string>, number][] => (n.report.detect ? [[{ node: n.node }, n.report.detect[key] ?? 0]] : [])));
  detectCounter('firebreak_cluster_detect_messages_total', 'Events messages a cluster detect node matched', 'messages');
  detectCounter('firebreak_cluster_detect_events_total', 'Events a cluster detect node matched', 'events');
  detectCounter('firebreak_cluster_detect_detections_total', 'Detections a cluster detect node found', 'detections');
  detectCounter('firebreak_cluster_detect_redelivered_total', 'Events messages a cluster detect node was handed again (another node had not acknowledged them)', 'redelivered');
  gauge('firebreak_cluster_correlate_active', '1 for the active correlate node, 0 for a standby', ['node'], () =>
    nodes().flatMap((n): [Record<string, string>, number][] => (n.report.correlate ? [[{ node: n.node }, n.report.correlate.state === 'active' ? 1 : 0]] : [])),
  );
  gauge('firebreak_cluster_rules_revision', "The revision of the console's rule changes a cluster node runs", ['node'], () =>
    nodes().flatMap((n): [Record<string, string>, number][] => (n.report.rules ? [[{ node: n.node }, n.report.rules.revision]] : [])),
  );
  let stored: Awaited<ReturnType<typeof storage>> | null = null;
  gauge('firebreak_events_stored', 'Events held in the event store', [], () => (stored ? [[{}, stored.events]] : []));
  gauge('firebreak_storage_bytes', 'Bytes on disk, by store', ['store'], () =>
    stored
      ? [
          [{ store: 'events' }, stored.eventBytes],
          [{ store: 'state' }, stored.stateBytes],
        ]
      : [],
  );
  const storeCounter = (name: string, help: string, value: (u: NonNullable<typeof stored>) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        if (stored) this.inc(Math.max(0, value(stored)));
      },
    });
  storeCounter(
    'firebreak_event_store_restarts_total',
    'Times the event store process was restarted since the server started (a crash, or a query that ignored its interrupt)',
    (u) => u.eventStoreRestarts,
  );
  storeCounter('firebreak_event_store_field_names_dropped_total', 'New field names the event store could not catalogue for autocompletion (its catalogue was full)', (u) => u.fieldNamesDropped);
  gauge('firebreak_event_store_up', '0 while the event store cannot answer', [], () => (stored ? [[{}, stored.eventStoreError === null ? 1 : 0]] : []));

  app.get(
    '/metrics',
    {
      config: { access: 'read' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format 0.0.4); scrape with an API key',
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_req, reply) => {
      snap = await ctx.health.snapshot();
      stored = await storage(ctx);
      counted = {
        alerts: await ctx.db.all('SELECT level, status, count(*) AS n FROM alerts GROUP BY level, status'),
        stories: await ctx.db.all('SELECT level, status, count(*) AS n FROM stories WHERE merged_into IS NULL GROUP BY level, status'),
        notifications: await notifications(ctx),
      };
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );

  app.get<{ Querystring: { actor?: string; action?: string; targetKind?: string; targetId?: string; since?: string; limit?: number; offset?: number } }>(
    '/api/audit',
    {
      config: { access: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            actor: { type: 'string', maxLength: 100 },
            action: { type: 'string', maxLength: 100, description: 'An action (`alert.status`) or a prefix ending in a dot (`rule.`)' },
            targetKind: { type: 'string', maxLength: 20 },
            targetId: { type: 'string', maxLength: 200 },
            since: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: API_LIMITS.pageMax, default: 50 },
            offset: { type: 'integer', minimum: 0, maximum: API_LIMITS.offsetMax, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'total', 'limit', 'offset'],
            additionalProperties: false,
            properties: { items: { type: 'array', items: ref('AuditEntry') }, total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, ...values: unknown[]) => {
        where.push(sql);
        params.push(...values);
      };
      if (q.actor) add('actor = ?', q.actor);
      if (q.action) {
        if (q.action.endsWith('.')) add('substr(action, 1, ?) = ?', q.action.length, q.action);
        else add('action = ?', q.action);
      }
      if (q.targetKind) add('target_kind = ?', q.targetKind);
      if (q.targetId) add('target_id = ?', q.targetId);
      if (q.since) add('at > ?', new Date(q.since).toISOString());
      const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const limit = q.limit ?? 50;
      const offset = q.offset ?? 0;
      const total = (await ctx.db.get<{ n: number }>(`SELECT count(*) AS n FROM audit ${w}`, ...params))!.n;
      const items = (await ctx.db.all<AuditRow>(`SELECT * FROM audit ${w} ORDER BY id DESC LIMIT ? OFFSET ?`, ...params, limit, offset)).map(auditEntry);
      return { items, total, limit, offset };
    },
  );
}
