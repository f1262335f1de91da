/**
 * OTLP/HTTP logs (`POST /v1/logs`): protobuf and JSON on one port, gzip, answers in the request's
 * content type, `partial_success` counting the records that could not be stored, 429/503 with
 * `Retry-After` for back-pressure and google.rpc.Status bodies for errors (OTLP specification,
 * "OTLP/HTTP Response").
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OtlpListenerConfig } from '../config.js';
import type { IngestMeta, IngestRecord } from '../record.js';
import { readBody, strictUtf8 } from './body.js';
import { IngestError, type IngestContext } from './context.js';
import { closeAfter, remoteOf, withLease } from './http.js';
import { decodeProtobufRequest, encodeProtobufResponse, encodeStatus, flattenRequest, OtlpShapeError } from './otlp-model.js';

// google.rpc.Code values used in Status bodies.
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;
const INTERNAL = 13;

/** The token in an OTLP request's header: `Bearer <token>` or the bare token. */
export function otlpSecret(value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const m = /^Bearer\s+(.+)$/i.exec(v.trim());
  return m ? m[1]!.trim() : v.trim();
}

export function registerOtlp(app: FastifyInstance, ctx: IngestContext, cfg: OtlpListenerConfig): void {
  const counters = ctx.stats.byProtocol.otlp;
  const maxRecord = ctx.limits.recordMaxBytes;

  const fail = (reply: FastifyReply, asProto: boolean, status: number, code: number, message: string) => {
    closeAfter(reply);
    if (status === 429 || status === 503) reply.header('retry-after', String(ctx.gate.retryAfterSeconds));
    if (asProto)
      return reply
        .code(status)
        .type('application/x-protobuf')
        .send(Buffer.from(encodeStatus(code, message)));
    return reply.code(status).type('application/json').send({ code, message });
  };

  app.post('/v1/logs', async (req: FastifyRequest, reply: FastifyReply) => {
    counters.requests++;
    const ct = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const asProto = ct === 'application/x-protobuf' || ct === 'application/protobuf';
    if (!asProto && ct !== 'application/json') {
      counters.errors++;
      return fail(reply, false, 415, INVALID_ARGUMENT, `Content-Type '${ct}' is not supported: send application/x-protobuf or application/json`);
    }
    const source = ctx.tokens.source('otlp', otlpSecret(req.headers[cfg.tokenHeader]));
    if (!source) {
      counters.refusedAuth++;
      return fail(reply, asProto, 401, UNAUTHENTICATED, req.headers[cfg.tokenHeader] ? 'the token is not valid for OTLP' : `missing token (send it in the ${cfg.tokenHeader} header)`);
    }
    if (ctx.gate.check()) {
      counters.refusedBusy++;
      return fail(reply, asProto, 429, RESOURCE_EXHAUSTED, `Firebreak's detection is behind; retry in ${ctx.gate.retryAfterSeconds}s`);
    }
    try {
      return await withLease(ctx, async (lease) => {
        const body = await readBody(req.raw, ctx.limits, lease);
        let request: unknown;
        try {
          if (asProto) request = decodeProtobufRequest(body);
          else {
            const text = strictUtf8(body);
            if (text === null) throw new OtlpShapeError('the JSON body is not valid UTF-8');
            request = JSON.parse(text);
          }
        } catch (e) {
          throw new IngestError(400, 'bad-request', `cannot decode the ${asProto ? 'protobuf' : 'JSON'} ExportLogsServiceRequest: ${(e as Error).message}`);
        }
        let flat;
        try {
          flat = flattenRequest(request, asProto);
        } catch (e) {
          if (e instanceof OtlpShapeError) throw new IngestError(400, 'bad-request', `malformed ExportLogsServiceRequest: ${e.message}`);
          throw e;
        }
        const receivedAt = Date.now();
        const meta: IngestMeta = { remote: remoteOf(req.raw) };
        if (req.headers.host) meta.host = req.headers.host;
        const records: IngestRecord[] = [];
        const reasons = new Set<string>();
        let rejected = 0;
        for (const f of flat) {
          if ('error' in f) {
            rejected++;
            reasons.add(f.error);
            continue;
          }
          const text = JSON.stringify(f.doc);
          if (Buffer.byteLength(text) > maxRecord) {
            rejected++;
            reasons.add(`a log record is larger than the ${maxRecord}-byte limit`);
            continue;
          }
          records.push({ source, protocol: 'otlp', receivedAt, kind: 'json', body: text, meta });
        }
        if (records.length) {
          try {
            await ctx.append('otlp', records);
          } catch (e) {
            if (e instanceof IngestError) throw e;
            throw new IngestError(503, 'unavailable', `the write-ahead log refused the records: ${(e as Error).message}`);
          }
        }
        counters.rejected += rejected;
        const message = [...reasons].slice(0, 5).join('; ');
        if (asProto)
          return reply
            .code(200)
            .type('application/x-protobuf')
            .send(Buffer.from(encodeProtobufResponse(rejected, message)));
        return reply
          .code(200)
          .type('application/json')
          .send(rejected ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: message } } : {});
      });
    } catch (e) {
      if (e instanceof IngestError) {
        if (e.status === 429) counters.refusedBusy++;
        else counters.errors++;
        const code = e.status === 429 ? RESOURCE_EXHAUSTED : e.status === 503 ? UNAVAILABLE : INVALID_ARGUMENT;
        return fail(reply, asProto, e.status, code, e.message);
      }
      counters.errors++;
      ctx.log('error', `otlp: ${(e as Error).stack ?? String(e)}`);
      return fail(reply, asProto, 500, INTERNAL, 'internal error while storing the request');
    }
  });

  app.setNotFoundHandler(async (req, reply) => {
    closeAfter(reply);
    const path = req.url.split('?')[0];
    const known = path === '/v1/traces' || path === '/v1/metrics';
    return reply
      .code(404)
      .type('application/json')
      .send({ code: 12, message: known ? `${path}: Firebreak takes logs only (POST /v1/logs)` : `${req.method} ${path}: not found (POST /v1/logs)` });
  });
}
