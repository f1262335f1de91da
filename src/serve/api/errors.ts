/**
 * Every API error is one JSON shape, `{ "error": { "code", "message", "details"? } }`, with a
 * stable code. Unexpected failures answer 500 `internal` and say nothing more: stack traces and
 * internal messages go to the server's log, never to the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FirebreakError } from '../../core/errors.js';
import type { ApiLog } from './deps.js';

/** An error with the HTTP status it answers. */
export class ApiError extends FirebreakError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not-found', `${what} not found`);
export const forbidden = (message: string): ApiError => new ApiError(403, 'forbidden', message);
export const badRequest = (code: string, message: string, details?: unknown): ApiError => new ApiError(400, code, message, details);

/** Firebreak error codes a client caused, and what they answer (anything else from inside is a 500). */
const CLIENT_CODES: Record<string, number> = {
  'bad-user-name': 400,
  'weak-password': 400,
  'user-exists': 409,
  'no-such-user': 404,
  'no-such-key': 404,
  'bad-source': 400,
  'bad-protocols': 400,
  'too-many-tokens': 409,
  'no-such-token': 404,
  busy: 503,
};

/** The shape every error answer has (OpenAPI component `Error`). */
export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {},
      },
    },
  },
} as const;

function send(reply: FastifyReply, status: number, code: string, message: string, details?: unknown): FastifyReply {
  const body: { error: { code: string; message: string; details?: unknown } } = { error: { code, message } };
  if (details !== undefined) body.error.details = details;
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** The error and not-found handlers for the API's server. */
export function installErrorHandling(app: FastifyInstance, log: ApiLog): void {
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
      return send(reply, err.status, err.code, err.message, err.details);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const details = fe.validation.map((v) => ({ path: `${fe.validationContext ?? ''}${v.instancePath}`, message: v.message ?? v.keyword }));
      return send(reply, 400, 'invalid-request', fe.message, details);
    }
    if (err instanceof FirebreakError && CLIENT_CODES[err.code] !== undefined) return send(reply, CLIENT_CODES[err.code]!, err.code, err.message);
    // fastify's own client errors (body too large, bad JSON, unsupported media type): their messages are generic.
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body-too-large' : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported-media-type' : status === 400 ? 'bad-request' : 'client-error';
      return send(reply, status, code, fe.message);
    }
    log('error', `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}: ${err.stack ?? err.message}`);
    return send(reply, 500, 'internal', 'internal error (details are in the server log)');
  });
}

/** Answers an unknown API path with the JSON error shape. */
export function sendNotFound(reply: FastifyReply, path: string): FastifyReply {
  return send(reply, 404, 'not-found', `no such endpoint: ${path.slice(0, 200)}`);
}
