/**
 * Event search, delegated to the event store: the field filter, read-only SQL (sandboxed by the
 * store), field-name autocomplete, a time histogram, and CSV export. A query the store refuses
 * (a `FirebreakError`: syntax, a forbidden statement, a time limit) answers 400 with the store's
 * code and message; anything else is a server fault (500, details in the log only).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { FirebreakError } from '../../../core/errors.js';
import { csvRow } from '../../../output/csv.js';
import type { QueryResult } from '../../store/types.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { API_LIMITS } from '../limits.js';
import { ref } from '../schemas.js';

const iso = { type: 'string', format: 'date-time' } as const;
const filterText = { type: 'string', maxLength: API_LIMITS.queryMaxChars, description: '`field=value` terms, AND-ed; `*` wildcards (e.g. `EventID=4624 TargetUserName=adm*`)' } as const;
const sqlText = { type: 'string', minLength: 1, maxLength: API_LIMITS.queryMaxChars, description: 'Read-only SQL over the `events` view' } as const;

/** Runs a store call; the store's own refusals become 400s with its code and message. */
async function store<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof FirebreakError && !(e instanceof ApiError)) throw new ApiError(400, e.code, e.message);
    throw e;
  }
}

const isoOf = (v: string | undefined): string | undefined => (v === undefined ? undefined : new Date(v).toISOString());

/** A cell as CSV text: objects (lists, nested values) as JSON. csvRow neutralises formula prefixes. */
function cell(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

function streamCsv(reply: FastifyReply, res: QueryResult, fileName: string): FastifyReply {
  function* lines(): Generator<string> {
    yield '\uFEFF' + csvRow(res.columns.map((c) => c.name));
    for (const row of res.rows) yield csvRow(row.map(cell));
  }
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .header('x-firebreak-truncated', String(res.truncated))
    .send(Readable.from(lines(), { objectMode: false }));
}

export function searchRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { events } = ctx;

  app.post<{ Body: { filter: string; from?: string; to?: string; limit?: number } }>(
    '/api/events/search',
    {
      config: { access: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Events matching a field filter in a time range',
        body: {
          type: 'object',
          required: ['filter'],
          additionalProperties: false,
          properties: { filter: filterText, from: iso, to: iso, limit: { type: 'integer', minimum: 1, maximum: API_LIMITS.exportMaxRows } },
        },
        response: { 200: ref('QueryResult') },
      },
    },
    async (req) => {
      const { filter, from, to, limit } = req.body;
      return store(() => events.filter({ filter, from: isoOf(from), to: isoOf(to), ...(limit ? { limit } : {}) }));
    },
  );

  app.post<{ Body: { sql: string; maxRows?: number; timeoutMs?: number } }>(
    '/api/events/sql',
    {
      config: { access: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Read-only SQL over the stored events (time- and row-limited by the store)',
        body: {
          type: 'object',
          required: ['sql'],
          additionalProperties: false,
          properties: { sql: sqlText, maxRows: { type: 'integer', minimum: 1, maximum: API_LIMITS.exportMaxRows }, timeoutMs: { type: 'integer', minimum: 100, maximum: 300_000 } },
        },
        response: { 200: ref('QueryResult') },
      },
    },
    async (req) => {
      const { sql, maxRows, timeoutMs } = req.body;
      return store(() => events.sql(sql, { ...(maxRows ? { maxRows } : {}), ...(timeoutMs ? { timeoutMs } : {}) }));
    },
  );

  app.get<{ Querystring: { prefix?: string; limit?: number } }>(
    '/api/events/fields',
    {
      config: { access: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Field names seen in stored events (autocomplete)',
        querystring: { type: 'object', additionalProperties: false, properties: { prefix: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } } },
        response: { 200: { type: 'object', required: ['fields'], additionalProperties: false, properties: { fields: { type: 'array', items: { type: 'string' } } } } },
      },
    },
    async (req) => ({ fields: await store(() => events.fieldNames(req.query.prefix, req.query.limit ?? 50)) }),
  );

  app.post<{ Body: { filter: string; from?: string; to?: string; buckets?: number } }>(
    '/api/events/histogram',
    {
      config: { access: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Counts of matching events over time',
        body: {
          type: 'object',
          required: ['filter'],
          additionalProperties: false,
          properties: { filter: filterText, from: iso, to: iso, buckets: { type: 'integer', minimum: 1, maximum: API_LIMITS.histogramMaxBuckets, default: 60 } },
        },
        response: { 200: ref('Histogram') },
      },
    },
    async (req) => {
      const { filter, from, to, buckets } = req.body;
      return store(() => events.histogram({ filter, from: isoOf(from), to: isoOf(to) }, buckets ?? 60));
    },
  );

  app.get<{ Querystring: { filter?: string; sql?: string; from?: string; to?: string; maxRows?: number } }>(
    '/api/events/export.csv',
    {
      config: { access: 'read' },
      schema: {
        tags: ['search'],
        summary: 'Export a filter or SQL result as CSV (UTF-8 with BOM; formula-like cells are neutralised)',
        description: 'Give exactly one of `filter` or `sql`. The header X-Firebreak-Truncated tells whether rows were left out by the row cap.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { filter: filterText, sql: sqlText, from: iso, to: iso, maxRows: { type: 'integer', minimum: 1, maximum: API_LIMITS.exportMaxRows } },
        },
        response: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } } },
      },
    },
    async (req, reply) => {
      const { filter, sql, from, to, maxRows } = req.query;
      if ((filter === undefined) === (sql === undefined)) throw new ApiError(400, 'bad-export', 'give exactly one of filter or sql');
      const limit = maxRows ?? API_LIMITS.exportMaxRows;
      const res = await store(() => (sql !== undefined ? events.sql(sql, { maxRows: limit }) : events.filter({ filter: filter!, from: isoOf(from), to: isoOf(to), limit })));
      return streamCsv(reply, res, `firebreak-events-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`);
    },
  );
}
