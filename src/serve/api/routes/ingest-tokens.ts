/** Ingest tokens (admins): the configuration's and those made here; make one, revoke one. */
import type { FastifyInstance } from 'fastify';
import type { IngestProtocol } from '../../record.js';
import { TOKEN_PROTOCOLS, type IngestTokens } from '../auth/ingest-tokens.js';
import { ApiError } from '../errors.js';
import { principal } from '../auth/hooks.js';
import type { ApiContext } from '../context.js';
import { ref } from '../schemas.js';

export function ingestTokenRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const need = (): IngestTokens => {
    if (ctx.ingestTokens) return ctx.ingestTokens;
    throw new ApiError(501, 'not-available', 'ingest tokens cannot be made through this API: it was started without a store for them (use the configuration file: firebreak token add, then restart)');
  };

  app.get(
    '/api/ingest-tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest-tokens'],
        summary: "Ingest tokens: the configuration file's, then those made through the API (never their secrets)",
        response: { 200: { type: 'array', items: ref('IngestToken') } },
      },
    },
    async () => need().list(),
  );

  app.post<{ Body: { source: string; protocols: IngestProtocol[] } }>(
    '/api/ingest-tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest-tokens'],
        summary: 'Make an ingest token for the shippers of one source; it admits data at once. The secret is in this answer only.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['source', 'protocols'],
          properties: {
            source: { type: 'string', minLength: 1, maxLength: 64, description: 'The source name its records get (letters, digits, . _ -)' },
            protocols: { type: 'array', minItems: 1, maxItems: TOKEN_PROTOCOLS.length, uniqueItems: true, items: { type: 'string', enum: TOKEN_PROTOCOLS } },
          },
        },
        response: { 201: { type: 'object', required: ['token', 'secret'], additionalProperties: false, properties: { token: ref('IngestToken'), secret: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const actor = principal(req).name;
      const r = await need().create(req.body.source, req.body.protocols, actor);
      await ctx.audit(actor, 'ingest-token.create', { kind: 'ingest-token', id: r.token.id! }, { source: r.token.source, protocols: r.token.protocols });
      return reply.code(201).send(r);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/ingest-tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest-tokens'],
        summary: 'Revoke an ingest token made through the API: its shippers are refused from the next request',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 200: ref('IngestToken') },
      },
    },
    async (req) => {
      const actor = principal(req).name;
      const tokens = need();
      const was = await tokens.get(req.params.id);
      const t = await tokens.revoke(req.params.id);
      if (!was?.revoked) await ctx.audit(actor, 'ingest-token.revoke', { kind: 'ingest-token', id: req.params.id }, { source: t.source });
      return t;
    },
  );
}
