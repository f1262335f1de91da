/**
 * Splunk HTTP Event Collector: `/services/collector[/event][/1.0]` (concatenated JSON event
 * objects), `/services/collector/raw[/1.0]` (text, one event per line), `/services/collector/health`,
 * `Authorization: Splunk <token>`, and Splunk's answer bodies (`{"text":…,"code":…}`) and statuses.
 *
 * A request is all or nothing: when one event is invalid the answer names it
 * (`invalid-event-number`) and none of the request is stored, so a client that fixes and resends it
 * does not duplicate the events before the bad one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RecordError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { splitJson } from '../../readers/json.js';
import type { IngestMeta, IngestRecord } from '../record.js';
import { readBody, strictUtf8 } from './body.js';
import { IngestError, type IngestContext } from './context.js';
import { closeAfter, remoteOf, withLease } from './http.js';

/** Splunk's HEC status codes and their HTTP statuses. */
export const HEC = {
  success: { code: 0, status: 200, text: 'Success' },
  tokenRequired: { code: 2, status: 401, text: 'Token is required' },
  invalidAuthorization: { code: 3, status: 401, text: 'Invalid authorization' },
  invalidToken: { code: 4, status: 403, text: 'Invalid token' },
  noData: { code: 5, status: 400, text: 'No data' },
  invalidFormat: { code: 6, status: 400, text: 'Invalid data format' },
  internal: { code: 8, status: 500, text: 'Internal server error' },
  busy: { code: 9, status: 503, text: 'Server is busy' },
  eventRequired: { code: 12, status: 400, text: 'Event field is required' },
  eventBlank: { code: 13, status: 400, text: 'Event field cannot be blank' },
  ackDisabled: { code: 14, status: 400, text: 'ACK is disabled' },
  indexedFields: { code: 15, status: 400, text: 'Error in handling indexed fields' },
  healthy: { code: 17, status: 200, text: 'HEC is healthy' },
  unhealthy: { code: 18, status: 503, text: 'HEC is unhealthy, queues are full' },
} as const;
type HecStatus = (typeof HEC)[keyof typeof HEC];

/** The token from `Authorization: Splunk <token>` (or Basic with the token as password). */
export function hecSecret(authorization: string | undefined): { secret: string | null; malformed: boolean } {
  if (!authorization) return { secret: null, malformed: false };
  const m = /^(\S+)\s+(.+)$/.exec(authorization.trim());
  if (!m) return { secret: null, malformed: true };
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'splunk') return { secret: m[2]!.trim(), malformed: false };
  if (scheme === 'basic') {
    const d = Buffer.from(m[2]!, 'base64').toString('utf8');
    const c = d.indexOf(':');
    return c >= 0 ? { secret: d.slice(c + 1), malformed: false } : { secret: null, malformed: true };
  }
  return { secret: null, malformed: true };
}

class HecFailure extends Error {
  constructor(
    readonly s: HecStatus,
    readonly detail?: string,
    readonly eventNumber?: number,
  ) {
    super(s.text);
  }
}

export function registerHec(app: FastifyInstance, ctx: IngestContext): void {
  const counters = ctx.stats.byProtocol.hec;

  const answer = (reply: FastifyReply, s: HecStatus, extra: Record<string, unknown> = {}) => {
    if (s.status >= 400) closeAfter(reply);
    if (s.status === 503) reply.header('retry-after', String(ctx.gate.retryAfterSeconds));
    return reply
      .code(s.status)
      .type('application/json; charset=UTF-8')
      .send({ text: s.text, code: s.code, ...extra });
  };

  const authenticate = (req: FastifyRequest): string => {
    const { secret, malformed } = hecSecret(req.headers.authorization);
    if (malformed) throw new HecFailure(HEC.invalidAuthorization);
    if (!secret) throw new HecFailure(HEC.tokenRequired);
    const source = ctx.tokens.source('hec', secret);
    if (!source) throw new HecFailure(HEC.invalidToken);
    return source;
  };

  const ingest = async (req: FastifyRequest, reply: FastifyReply, endpoint: 'event' | 'raw') => {
    counters.requests++;
    try {
      const source = authenticate(req);
      if (ctx.gate.check()) throw new HecFailure(HEC.busy, `Firebreak's detection is behind; retry in ${ctx.gate.retryAfterSeconds}s`);
      return await withLease(ctx, async (lease) => {
        const body = await readBody(req.raw, ctx.limits, lease);
        if (!body.length || isBlank(body)) throw new HecFailure(HEC.noData);
        const text = strictUtf8(body);
        if (text === null) throw new HecFailure(HEC.invalidFormat, 'the body is not valid UTF-8');
        const q = req.query as Record<string, string | undefined>;
        const channel = (req.headers['x-splunk-request-channel'] as string | undefined) ?? q.channel;
        const meta: IngestMeta = { endpoint, remote: remoteOf(req.raw) };
        if (channel) meta.channel = channel;
        if (req.headers.host) meta.host = req.headers.host;
        const receivedAt = Date.now();
        const events = endpoint === 'raw' ? rawEvents(text, q, ctx.limits.recordMaxBytes) : await jsonEvents(body, ctx.limits.recordMaxBytes);
        const records: IngestRecord[] = events.map((e) => ({ source, protocol: 'hec', receivedAt, kind: 'json', body: e, meta }));
        try {
          await ctx.append('hec', records);
        } catch (e) {
          if (e instanceof IngestError) throw e;
          throw new HecFailure(HEC.busy, `the write-ahead log refused the events: ${(e as Error).message}`);
        }
        return answer(reply, HEC.success);
      });
    } catch (e) {
      if (e instanceof IngestError) {
        const s = e.status === 429 ? HEC.busy : e.status === 503 ? HEC.busy : HEC.invalidFormat;
        if (s === HEC.busy) counters.refusedBusy++;
        else counters.errors++;
        closeAfter(reply);
        if (e.status === 413) return reply.code(413).type('application/json; charset=UTF-8').send({ text: 'Content too large', code: HEC.invalidFormat.code, detail: e.message });
        return answer(reply, s, { detail: e.message });
      }
      if (e instanceof HecFailure) {
        if (e.s === HEC.busy) counters.refusedBusy++;
        else if (e.s.status === 401 || e.s.status === 403) counters.refusedAuth++;
        else counters.rejected++;
        const extra: Record<string, unknown> = {};
        if (e.eventNumber !== undefined) extra['invalid-event-number'] = e.eventNumber;
        if (e.detail) extra.detail = e.detail;
        return answer(reply, e.s, extra);
      }
      counters.errors++;
      ctx.log('error', `hec: ${(e as Error).stack ?? String(e)}`);
      return answer(reply, HEC.internal);
    }
  };

  for (const p of ['/services/collector', '/services/collector/event', '/services/collector/event/1.0']) app.post(p, (req, reply) => ingest(req, reply, 'event'));
  for (const p of ['/services/collector/raw', '/services/collector/raw/1.0']) app.post(p, (req, reply) => ingest(req, reply, 'raw'));
  const health = async (_req: FastifyRequest, reply: FastifyReply) => answer(reply, ctx.gate.check() ? HEC.unhealthy : HEC.healthy);
  app.get('/services/collector/health', health);
  app.get('/services/collector/health/1.0', health);
  app.post('/services/collector/ack', async (req, reply) => {
    try {
      authenticate(req);
    } catch (e) {
      return answer(reply, (e as HecFailure).s);
    }
    return answer(reply, HEC.ackDisabled);
  });
  app.setNotFoundHandler(async (req, reply) => {
    closeAfter(reply);
    return reply
      .code(404)
      .type('application/json; charset=UTF-8')
      .send({ text: 'The requested URL was not found on this server.', code: 404, detail: `${req.method} ${req.url.split('?')[0]}` });
  });
}

const isBlank = (b: Buffer) => {
  for (const x of b) if (x !== 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) return false;
  return true;
};

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Concatenated JSON event objects → one JSON document each, checked as Splunk checks them. */
async function jsonEvents(body: Buffer, maxRecord: number): Promise<string[]> {
  const out: string[] = [];
  let n = 0;
  for await (const r of splitJson(once(body), 'request')) {
    if (r instanceof RecordError) throw new HecFailure(HEC.invalidFormat, r.message, n);
    const o = r.doc;
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new HecFailure(HEC.invalidFormat, 'an event must be a JSON object', n);
    const ev = o as Record<string, unknown>;
    if (!('event' in ev)) throw new HecFailure(HEC.eventRequired, undefined, n);
    if (ev.event === null || ev.event === '') throw new HecFailure(HEC.eventBlank, undefined, n);
    if (ev.fields !== undefined) {
      const f = ev.fields;
      if (f === null || typeof f !== 'object' || Array.isArray(f) || Object.values(f).some((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
        throw new HecFailure(HEC.indexedFields, "'fields' must be an object of flat values", n);
      }
    }
    const text = JSON.stringify(ev);
    if (Buffer.byteLength(text) > maxRecord) throw new HecFailure(HEC.invalidFormat, `event is larger than the ${maxRecord}-byte limit`, n);
    out.push(text);
    if (++n > LIMITS.hecMaxEvents) throw new HecFailure(HEC.invalidFormat, `more than ${LIMITS.hecMaxEvents} events in one request; split it`, n - 1);
  }
  if (!out.length) throw new HecFailure(HEC.noData);
  return out;
}

/** A raw body → one event per non-empty line, with the query's metadata. */
function rawEvents(text: string, q: Record<string, string | undefined>, maxRecord: number): string[] {
  const meta: Record<string, string> = {};
  for (const k of ['host', 'source', 'sourcetype', 'index'] as const) {
    const v = q[k];
    if (v) meta[k] = v;
  }
  const out: string[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (!l.trim()) continue;
    const doc = JSON.stringify({ event: l, ...meta });
    if (Buffer.byteLength(doc) > maxRecord) throw new HecFailure(HEC.invalidFormat, `line is larger than the ${maxRecord}-byte limit`, n);
    out.push(doc);
    if (++n > LIMITS.hecMaxEvents) throw new HecFailure(HEC.invalidFormat, `more than ${LIMITS.hecMaxEvents} lines in one request; split it`, n - 1);
  }
  return out;
}
