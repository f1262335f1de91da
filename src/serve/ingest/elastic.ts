/**
 * The Elasticsearch facade: enough of Elasticsearch's REST API that Beats, Elastic Agent, Logstash,
 * Fluent Bit, Vector and rsyslog's omelasticsearch send to Firebreak unmodified. `GET /` names a
 * high 8.x version (Beats refuse an older server), every answer carries `X-Elastic-Product`, the
 * licence is active, setup calls (templates, ILM, pipelines, data streams, nodes, health) answer
 * 200, and `_bulk` stores `create`/`index` documents and answers per item, in request order, only
 * after the log has them on disk.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LIMITS } from '../../core/limits.js';
import type { ElasticListenerConfig } from '../config.js';
import type { IngestMeta, IngestRecord } from '../record.js';
import { bodyChunks, splitLines, strictUtf8, type BodyLease } from './body.js';
import { IngestError, PartialAppendError, type AppendResult, type IngestContext } from './context.js';
import { filterPath } from './filter-path.js';
import { closeAfter, remoteOf, withLease } from './http.js';

type Query = Record<string, string | undefined>;

/** An Elasticsearch-shaped error body. */
function esError(status: number, type: string, reason: string): { error: { root_cause: { type: string; reason: string }[]; type: string; reason: string }; status: number } {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

/** Parses the credentials Beats, Agent, Logstash and the clients send; returns the secret or null. */
export function elasticSecret(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const sp = authorization.indexOf(' ');
  if (sp < 0) return null;
  const scheme = authorization.slice(0, sp).toLowerCase();
  const value = authorization.slice(sp + 1).trim();
  if (scheme === 'bearer') return value;
  if (scheme === 'basic' || scheme === 'apikey') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Basic: user:password, the password is the token. ApiKey: id:key, the key is the token.
    return colon >= 0 ? decoded.slice(colon + 1) : scheme === 'apikey' ? value : null;
  }
  return null;
}

interface BulkItem {
  action: 'create' | 'index' | 'update' | 'delete';
  index: string;
  status: number;
  id?: string;
  error?: { type: string; reason: string };
  /** Position in `records` when accepted. */
  record?: number;
  /** The log offset it was stored at. */
  seqNo?: number;
}

/** Registers the facade's routes on a listener's app. */
export function registerElastic(app: FastifyInstance, ctx: IngestContext, cfg: ElasticListenerConfig): void {
  const counters = ctx.stats.byProtocol.elastic;
  const clusterUuid = randomUUID();

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-elastic-product', 'Elasticsearch');
    return payload;
  });

  const send = (req: FastifyRequest, reply: FastifyReply, status: number, body: unknown) => {
    const q = req.query as Query;
    const out = q.filter_path ? filterPath(body, q.filter_path) : body;
    void reply
      .code(status)
      .type('application/json; charset=UTF-8')
      .send(q.pretty !== undefined ? JSON.stringify(out, null, 2) + '\n' : JSON.stringify(out));
    return reply;
  };

  // Every request needs a token, as on a secured cluster.
  app.addHook('onRequest', async (req, reply) => {
    counters.requests++;
    const source = ctx.tokens.source('elastic', elasticSecret(req.headers.authorization));
    if (!source) {
      counters.refusedAuth++;
      closeAfter(reply);
      void reply.header('www-authenticate', 'Basic realm="security", charset="UTF-8"').header('www-authenticate', 'ApiKey');
      const what = req.headers.authorization ? 'unable to authenticate with the provided credentials' : 'missing authentication credentials';
      return send(req, reply, 401, esError(401, 'security_exception', `${what} for REST request [${req.url.split('?')[0]}]`));
    }
    (req as FastifyRequest & { source?: string }).source = source;
  });
  const sourceOf = (req: FastifyRequest) => (req as FastifyRequest & { source: string }).source;

  app.get('/', async (req, reply) =>
    send(req, reply, 200, {
      name: 'firebreak',
      cluster_name: cfg.clusterName,
      cluster_uuid: clusterUuid,
      version: {
        number: cfg.version,
        build_flavor: 'default',
        build_type: 'docker',
        build_hash: 'firebreak',
        build_date: '2025-01-01T00:00:00.000Z',
        build_snapshot: false,
        lucene_version: '9.12.0',
        minimum_wire_compatibility_version: '7.17.0',
        minimum_index_compatibility_version: '7.0.0',
      },
      tagline: 'You Know, for Search',
    }),
  );
  const license = {
    status: 'active',
    uid: clusterUuid,
    type: 'basic',
    issue_date: '2025-01-01T00:00:00.000Z',
    issue_date_in_millis: 1735689600000,
    max_nodes: 1000,
    max_resource_units: null,
    issued_to: cfg.clusterName,
    issuer: 'elasticsearch',
    start_date_in_millis: -1,
  };
  app.get('/_license', async (req, reply) => send(req, reply, 200, { license }));
  app.get('/_xpack', async (req, reply) =>
    send(req, reply, 200, { build: { hash: 'firebreak', date: '2025-01-01T00:00:00.000Z' }, license: { uid: clusterUuid, type: 'basic', mode: 'basic', status: 'active' }, features: {} }),
  );
  const health = () => ({
    cluster_name: cfg.clusterName,
    status: ctx.gate.closed ? 'yellow' : 'green',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: 1,
    active_shards: 1,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: 0,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: 100.0,
  });
  app.get('/_cluster/health', async (req, reply) => send(req, reply, 200, health()));
  app.get('/_cluster/health/*', async (req, reply) => send(req, reply, 200, health()));
  const catHealth = async (req: FastifyRequest, reply: FastifyReply) => {
    const h = health();
    const q = req.query as Query;
    if (q.format === 'json')
      return send(req, reply, 200, [{ epoch: String(Math.floor(Date.now() / 1000)), cluster: h.cluster_name, status: h.status, 'node.total': '1', 'node.data': '1', shards: '1', pri: '1' }]);
    return reply.type('text/plain; charset=UTF-8').send(`${Math.floor(Date.now() / 1000)} ${new Date().toISOString().slice(11, 19)} ${h.cluster_name} ${h.status} 1 1 1 1 0 0 0 0 - 100.0%\n`);
  };
  app.get('/_cat/health', catHealth);
  const nodes = async (req: FastifyRequest, reply: FastifyReply) =>
    send(req, reply, 200, {
      _nodes: { total: 1, successful: 1, failed: 0 },
      cluster_name: cfg.clusterName,
      nodes: {
        firebreak: { name: 'firebreak', version: cfg.version, roles: ['data', 'ingest', 'master'], ingest: { processors: [] }, http: { publish_address: `${cfg.listen.host}:${cfg.listen.port}` } },
      },
    });
  app.get('/_nodes', nodes);
  app.get('/_nodes/*', nodes);

  const bulk = async (req: FastifyRequest<{ Params: { index?: string } }>, reply: FastifyReply) => {
    try {
      return await withLease(ctx, async (lease) => {
        const result = await handleBulk(ctx, req, lease, req.params.index, sourceOf(req));
        return send(req, reply, 200, result);
      });
    } catch (e) {
      return bulkError(req, reply, e);
    }
  };
  const bulkError = (req: FastifyRequest, reply: FastifyReply, e: unknown) => {
    if (e instanceof IngestError) {
      if (e.status === 429) {
        counters.refusedBusy++;
        reply.header('retry-after', String(ctx.gate.retryAfterSeconds));
      } else counters.errors++;
      closeAfter(reply);
      const type =
        e.status === 429 ? 'es_rejected_execution_exception' : e.status === 413 ? 'content_too_long_exception' : e.status === 503 ? 'unavailable_shards_exception' : 'illegal_argument_exception';
      return send(req, reply, e.status, esError(e.status, type, e.message));
    }
    counters.errors++;
    ctx.log('error', `elastic: ${(e as Error).stack ?? String(e)}`);
    return send(req, reply, 500, esError(500, 'exception', 'internal error while storing the request'));
  };
  app.post('/_bulk', bulk);
  app.put('/_bulk', bulk);
  app.post('/:index/_bulk', bulk);
  app.put('/:index/_bulk', bulk);

  // Single documents (omelasticsearch without bulk mode, curl): one-item bulks.
  const single = async (req: FastifyRequest<{ Params: { index: string; id?: string } }>, reply: FastifyReply, op: 'create' | 'index') => {
    try {
      return await withLease(ctx, async (lease) => {
        const items = await storeDocs(ctx, req, lease, sourceOf(req), (line) => [{ op, index: req.params.index, id: req.params.id, doc: line }]);
        const it = items[0];
        if (!it) throw new IngestError(400, 'no-doc', 'request body is required');
        if (it.error) return send(req, reply, it.status, esError(it.status, it.error.type, it.error.reason));
        return send(req, reply, 201, itemBody(it));
      });
    } catch (e) {
      return bulkError(req, reply, e);
    }
  };
  app.post('/:index/_doc', async (req: FastifyRequest<{ Params: { index: string } }>, reply) => single(req, reply, 'index'));
  app.put('/:index/_doc/:id', async (req: FastifyRequest<{ Params: { index: string; id: string } }>, reply) => single(req, reply, 'index'));
  app.post('/:index/_doc/:id', async (req: FastifyRequest<{ Params: { index: string; id: string } }>, reply) => single(req, reply, 'index'));
  app.put('/:index/_create/:id', async (req: FastifyRequest<{ Params: { index: string; id: string } }>, reply) => single(req, reply, 'create'));
  app.post('/:index/_create/:id', async (req: FastifyRequest<{ Params: { index: string; id: string } }>, reply) => single(req, reply, 'create'));

  // Setup calls at start-up (index templates, ILM policies, ingest pipelines, data streams,
  // aliases, index creation, security checks): accepted and ignored — Firebreak keeps no indices.
  app.setNotFoundHandler(async (req, reply) => {
    closeAfter(reply);
    if (req.method === 'GET' || req.method === 'HEAD') return send(req, reply, 200, {});
    return send(req, reply, 200, { acknowledged: true });
  });
}

function itemBody(it: BulkItem): Record<string, unknown> {
  if (it.error) return { _index: it.index, _id: it.id ?? null, status: it.status, error: { ...it.error, index: it.index } };
  return {
    _index: it.index,
    _id: it.id,
    _version: 1,
    result: 'created',
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: it.seqNo ?? 0,
    _primary_term: 1,
    status: it.status,
  };
}

interface Doc {
  op: BulkItem['action'];
  index: string | undefined;
  id: string | undefined;
  doc: Buffer | null | 'none';
  docLength?: number;
  docLine?: number;
  pipeline?: string;
}

async function handleBulk(
  ctx: IngestContext,
  req: FastifyRequest,
  lease: BodyLease,
  urlIndex: string | undefined,
  source: string,
): Promise<{ took: number; errors: boolean; items: Record<string, unknown>[] }> {
  const t0 = Date.now();
  const items = await storeDocs(ctx, req, lease, source, null, urlIndex);
  return { took: Date.now() - t0, errors: items.some((i) => i.status >= 300), items: items.map((i) => ({ [i.action]: itemBody(i) })) };
}

/**
 * Reads a bulk (or single-document) body, checks each document, appends the good ones in one
 * batch and returns one item per action in request order.
 */
async function storeDocs(ctx: IngestContext, req: FastifyRequest, lease: BodyLease, source: string, singleDoc: ((line: Buffer | null) => Doc[]) | null, urlIndex?: string): Promise<BulkItem[]> {
  if (ctx.gate.check()) throw new IngestError(429, 'busy', `rejected execution: Firebreak's detection is behind (write-ahead log above its high-water mark); retry in ${ctx.gate.retryAfterSeconds}s`);
  const q = req.query as Query;
  const maxDoc = ctx.limits.recordMaxBytes;
  const chunks = bodyChunks(req.raw, ctx.limits, lease);
  const docs: Doc[] = [];
  if (singleDoc) {
    let all: Buffer[] = [];
    let n = 0;
    for await (const c of chunks) {
      n += c.length;
      if (n <= maxDoc) all.push(c);
      else all = [];
    }
    docs.push(...singleDoc(n > maxDoc ? null : Buffer.concat(all)).map((d) => ({ ...d, docLength: n, docLine: 1 })));
  } else {
    let pending: Doc | null = null;
    for await (const line of splitLines(chunks, maxDoc)) {
      if (line.bytes && isBlank(line.bytes)) continue;
      if (pending) {
        pending.doc = line.bytes;
        pending.docLength = line.length;
        pending.docLine = line.lineNo;
        docs.push(pending);
        pending = null;
        continue;
      }
      const action = parseAction(line.bytes, line.lineNo);
      const index = action.meta._index ?? urlIndex;
      const d: Doc = { op: action.op, index, id: action.meta._id, doc: 'none' };
      const pipeline = action.meta.pipeline ?? q.pipeline;
      if (pipeline) d.pipeline = pipeline;
      if (action.op === 'delete') docs.push(d);
      else pending = d;
    }
    if (pending) docs.push({ ...pending, doc: 'none' });
  }
  const receivedAt = Date.now();
  const remote = remoteOf(req.raw);
  const records: IngestRecord[] = [];
  const items: BulkItem[] = docs.map((d, i) => {
    const index = d.index ?? '';
    const base = { action: d.op, index } as const;
    if (!d.index) return { ...base, status: 400, error: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' } };
    if (i >= LIMITS.bulkMaxItems)
      return { ...base, status: 429, error: { type: 'es_rejected_execution_exception', reason: `more than ${LIMITS.bulkMaxItems} items in one request; send the rest again` } };
    if (d.op === 'update' || d.op === 'delete') {
      return {
        ...base,
        status: 400,
        ...(d.id ? { id: d.id } : {}),
        error: { type: 'illegal_argument_exception', reason: `${d.op} is not supported: Firebreak only stores new documents (use create or index)` },
      };
    }
    if (d.doc === 'none') return { ...base, status: 400, error: { type: 'action_request_validation_exception', reason: `Validation Failed: 1: the ${d.op} action has no document line after it;` } };
    if (d.doc === null) {
      return { ...base, status: 400, error: { type: 'document_parsing_exception', reason: `document on line ${d.docLine} is ${d.docLength} bytes; the limit is ${maxDoc} bytes` } };
    }
    const text = strictUtf8(d.doc);
    if (text === null) return { ...base, status: 400, error: { type: 'document_parsing_exception', reason: `document on line ${d.docLine} is not valid UTF-8 (at byte ${firstInvalidUtf8(d.doc)})` } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return { ...base, status: 400, error: { type: 'document_parsing_exception', reason: `failed to parse the document on line ${d.docLine}: ${(e as Error).message}` } };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { ...base, status: 400, error: { type: 'document_parsing_exception', reason: `the document on line ${d.docLine} is not a JSON object` } };
    }
    const meta: IngestMeta = { index, op: d.op, remote };
    if (d.id) meta.id = d.id;
    if (d.pipeline) meta.pipeline = d.pipeline;
    if (req.headers.host) meta.host = req.headers.host;
    records.push({ source, protocol: 'elastic', receivedAt, kind: 'json', body: text.trim(), meta });
    return { ...base, status: 201, record: records.length - 1, ...(d.id ? { id: d.id } : {}) };
  });
  if (records.length) {
    if (ctx.gate.check()) throw new IngestError(429, 'busy', `rejected execution: Firebreak's detection is behind; retry in ${ctx.gate.retryAfterSeconds}s`);
    let stored: AppendResult | undefined;
    let partial: PartialAppendError | undefined;
    try {
      stored = await ctx.append('elastic', records);
    } catch (e) {
      // Some documents durable and some refused (a shared stream at its limits): each answered for itself.
      if (e instanceof PartialAppendError) partial = e;
      else if (e instanceof IngestError) throw e;
      else throw new IngestError(503, 'unavailable', `the write-ahead log refused the documents: ${(e as Error).message}`);
    }
    for (const it of items) {
      if (it.record === undefined) continue;
      const n = stored ? (stored.numbers?.[it.record] ?? stored.first + it.record) : partial!.accepted.get(it.record);
      if (n === undefined) {
        it.status = partial!.status;
        it.error = { type: 'es_rejected_execution_exception', reason: partial!.message };
        delete it.record;
        continue;
      }
      it.seqNo = n;
      it.id ??= `fb-${it.seqNo}`;
    }
  }
  const c = ctx.stats.byProtocol.elastic;
  c.rejected += items.filter((i) => i.record === undefined).length;
  return items;
}

const isBlank = (b: Buffer) => {
  for (const x of b) if (x !== 0x20 && x !== 0x09 && x !== 0x0d) return false;
  return true;
};

function parseAction(bytes: Buffer | null, lineNo: number): { op: BulkItem['action']; meta: { _index?: string; _id?: string; pipeline?: string } } {
  const bad = (why: string) => new IngestError(400, 'bulk-action', `Malformed action/metadata line [${lineNo}], ${why}`);
  if (!bytes) throw bad('the line is longer than any action line can be');
  const text = strictUtf8(bytes);
  if (text === null) throw bad('it is not valid UTF-8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`it is not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('expected START_OBJECT');
  const keys = Object.keys(v);
  const op = keys[0];
  if (keys.length !== 1 || (op !== 'create' && op !== 'index' && op !== 'update' && op !== 'delete')) {
    throw bad(`expected one of [create, delete, index, update] but found [${keys.join(', ')}]`);
  }
  const m = (v as Record<string, unknown>)[op];
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(`expected an object after [${op}]`);
  const meta = m as Record<string, unknown>;
  const str = (k: string) => (typeof meta[k] === 'string' ? meta[k] : typeof meta[k] === 'number' ? String(meta[k]) : undefined);
  const out: { _index?: string; _id?: string; pipeline?: string } = {};
  const index = str('_index');
  const id = str('_id');
  const pipeline = str('pipeline');
  if (index) out._index = index;
  if (id) out._id = id;
  if (pipeline) out.pipeline = pipeline;
  return { op, meta: out };
}

/** Where the first invalid UTF-8 sequence starts (for the message; TextDecoder decides validity). */
function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return b.length;
}
