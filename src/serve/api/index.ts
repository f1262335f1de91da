/**
 * The server's HTTP API, authentication and live feed, on a listener of its own (config section
 * `api`). `startApi` creates and binds the server; `registerApi` adds the API to a fastify
 * instance the caller made. Everything is JSON; the OpenAPI document at `/api/openapi.json` is
 * generated from the route schemas; `/metrics` is Prometheus text; the console's files are served
 * from `dist/console/` when it exists. See docs/serve.md "API".
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ApiConfig } from '../config.js';
import { tlsOptions } from '../ingest/http.js';
import { Credentials } from './auth/credentials.js';
import { IngestTokens } from './auth/ingest-tokens.js';
import { installAuth } from './auth/hooks.js';
import { Passwords, type ScryptParams } from './auth/passwords.js';
import { FailureLimiter } from './auth/ratelimit.js';
import type { ApiContext, ApiSettings } from './context.js';
import type { ApiDeps } from './deps.js';
import { installErrorHandling, sendNotFound } from './errors.js';
import { API_LIMITS } from './limits.js';
import { serveStream, StreamRegistry } from './live.js';
import { authRoutes } from './routes/auth.js';
import { entityRoutes } from './routes/entities.js';
import { RateSampler } from './rates.js';
import { healthRoutes } from './routes/health.js';
import { ingestTokenRoutes } from './routes/ingest-tokens.js';
import { itemRoutes } from './routes/items.js';
import { ruleRoutes } from './routes/rules.js';
import { searchRoutes } from './routes/search.js';
import { ref, SHARED_SCHEMAS } from './schemas.js';
import { registerConsole } from './static.js';
import { StateDb } from '../store/db.js';
import { asSql, auditRow } from '../store/sql.js';

export type { ApiDeps, CatalogRule, HealthSnapshot, HealthSource, LiveEvent, LiveEventType, LiveFeed, RuleCatalog, RuleUpload, SourceCounters } from './deps.js';
export { LiveHub } from './live.js';
export { StateRuleCatalog } from './rules/catalog.js';
export { IngestTokens } from './auth/ingest-tokens.js';
export { announce } from './routes/items.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface ApiOptions {
  /** The origin browsers use (`api.publicUrl`); null: the request's Host is the reference. */
  publicOrigin?: string | null;
  /** Whether the listener speaks TLS (cookie `Secure`, HSTS, the expected Origin's scheme). */
  tls?: boolean;
  sessionHours?: number;
  maxStreams?: number;
  /** Live-feed heartbeat period (tests shorten it). */
  heartbeatMs?: number;
  /** Password hashing parameters (tests use cheaper ones; stored hashes carry their own). */
  scrypt?: ScryptParams;
  /** The console's built assets (default dist/console); false: serve none. */
  consoleDir?: string | false;
}

/** A handle on the running API. */
export interface ApiHandle {
  app: FastifyInstance;
  /** The API's routes with their access levels. */
  routes: ApiContext['routes'];
  address: AddressInfo;
  /** Stops accepting, ends live feeds, finishes requests in flight. */
  close(): Promise<void>;
}

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/**
 * The console's policy: its own scripts, styles and fonts only; data from this origin only
 * (fetch and the event stream); images may be data: URLs (icons); nothing may frame it.
 */
const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const isApiPath = (url: string): boolean => url === '/metrics' || url.startsWith('/metrics?') || url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');

/** Security headers on every answer (set before routing, so hijacked streams carry them too). */
function securityHeaders(tls: boolean) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const api = isApiPath(req.url);
    void reply.headers({
      'content-security-policy': api ? API_CSP : CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
      ...(api ? { 'cache-control': 'no-store' } : {}),
      ...(tls ? { 'strict-transport-security': 'max-age=31536000' } : {}),
    });
  };
}

/** The fastify options the API expects (body limit, validation that refuses unknown properties). */
export function apiFastifyOptions() {
  return {
    logger: false,
    bodyLimit: API_LIMITS.bodyMaxBytes,
    routerOptions: { maxParamLength: API_LIMITS.paramMaxChars * 3 },
    return503OnClosing: true,
    forceCloseConnections: 'idle' as const,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' as const, useDefaults: true, allErrors: false } },
  };
}

/**
 * Adds the API (and the console's files) to `app`, which should be created with
 * `apiFastifyOptions()`. Returns the shared context (for tests and the server's wiring).
 */
export async function registerApi(app: FastifyInstance, deps: ApiDeps, opts: ApiOptions = {}): Promise<ApiContext> {
  const tls = opts.tls ?? false;
  const publicOrigin = opts.publicOrigin ?? null;
  const secureCookie = tls || (publicOrigin?.startsWith('https:') ?? false);
  const settings: ApiSettings = {
    sessionHours: opts.sessionHours ?? 12,
    // The __Host- prefix binds a Secure cookie to this exact origin (no Domain, Path=/).
    cookieName: secureCookie ? '__Host-firebreak_session' : 'firebreak_session',
    secureCookie,
    maxStreams: opts.maxStreams ?? 64,
    heartbeatMs: opts.heartbeatMs ?? API_LIMITS.streamHeartbeatMs,
  };
  const log = deps.log ?? ((level, m) => (level === 'info' ? undefined : process.stderr.write(`firebreak serve: api: ${level}: ${m}\n`)));
  const sql = asSql(deps.db);
  const creds = new Credentials(sql, new Passwords(opts.scrypt));
  const streams = new StreamRegistry();
  const rates = new RateSampler(() => deps.health.snapshot());
  const ctx: ApiContext = {
    db: sql,
    events: deps.events,
    rules: deps.rules,
    live: deps.live,
    health: deps.health,
    log,
    creds,
    ingestTokens: deps.ingestTokens !== undefined ? deps.ingestTokens : deps.db instanceof StateDb ? new IngestTokens(deps.db) : null,
    settings,
    limiters: {
      account: new FailureLimiter(API_LIMITS.loginFailuresPerAccount, API_LIMITS.loginWindowMs, API_LIMITS.loginTrackedKeys),
      address: new FailureLimiter(API_LIMITS.loginFailuresPerAddress, API_LIMITS.loginWindowMs, API_LIMITS.loginTrackedKeys),
    },
    streams,
    rates,
    routes: [],
    audit: (actor, action, target, detail) => auditRow(sql, actor, action, target, detail),
  };

  // Only JSON bodies are accepted (415 for anything else).
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', securityHeaders(tls));
  installErrorHandling(app, log);
  const consoleServed = opts.consoleDir === false ? false : await registerConsole(app, opts.consoleDir);
  app.setNotFoundHandler((req, reply) => {
    if (!isApiPath(req.url) && consoleServed && (req.method === 'GET' || req.method === 'HEAD') && /text\/html/.test(req.headers.accept ?? '')) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendNotFound(reply, req.url.split('?')[0]!);
  });

  await app.register(async (api) => {
    await api.register(fastifyCookie);
    for (const s of SHARED_SCHEMAS) api.addSchema(s);
    await api.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Firebreak API',
          version: VERSION,
          description:
            'The API of `firebreak serve`: alerts, stories, triage, hosts and accounts, event search, rules, coverage, health and the live feed. ' +
            'Browsers authenticate with the session cookie set by POST /api/auth/login and send its csrfToken in X-CSRF-Token on every request that is not GET; programs send an API key as `Authorization: Bearer fbk_…`.',
        },
        components: {
          securitySchemes: {
            session: { type: 'apiKey', in: 'cookie', name: settings.cookieName, description: 'Set by POST /api/auth/login' },
            csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'The session’s csrfToken; required with the cookie on every request that is not GET' },
            apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (fbk_…) created by an admin' },
          },
        },
        security: [{ session: [], csrf: [] }, { apiKey: [] }],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
      transform: ({ schema, url, route }) => {
        const access = route.config?.access;
        const s = { ...(schema as Record<string, unknown>) };
        if (access === 'public') s.security = [];
        if (access) s.description = [s.description, `Access: ${access}.`].filter(Boolean).join(' ');
        return { schema: s, url };
      },
    });
    installAuth(api, { credentials: creds, cookieName: settings.cookieName, publicOrigin, tls });
    // Every route answers errors in one documented shape, and has the API's body limit unless it sets its own.
    api.addHook('onRoute', (route) => {
      for (const m of Array.isArray(route.method) ? route.method : [route.method]) if (m !== 'HEAD') ctx.routes.push({ method: m, url: route.url, access: String(route.config?.access) });
      route.bodyLimit ??= API_LIMITS.bodyMaxBytes;
      const schema = (route.schema ??= {}) as { response?: Record<string, unknown> };
      schema.response = { ...(schema.response ?? {}), '4xx': ref('Error'), '5xx': ref('Error') };
    });

    authRoutes(api, ctx);
    ingestTokenRoutes(api, ctx);
    itemRoutes(api, ctx);
    entityRoutes(api, ctx);
    searchRoutes(api, ctx);
    ruleRoutes(api, ctx);
    healthRoutes(api, ctx, () => streams.count());

    api.get<{ Querystring: { lastEventId?: string } }>(
      '/api/stream',
      {
        config: { access: 'read' },
        schema: {
          tags: ['live'],
          summary: 'Live feed (Server-Sent Events): alert.created, alert.updated, story.created, story.updated; resume with Last-Event-ID',
          description:
            'Each message has `id`, `event` (the type) and `data` (a LiveEvent as JSON). A client reconnecting with Last-Event-ID (header, or lastEventId in the query) gets what it missed; ' +
            'when that is no longer possible it receives `event: reset` and should reload its lists. Comment lines are heartbeats.',
          querystring: { type: 'object', additionalProperties: false, properties: { lastEventId: { type: 'string', maxLength: 64 } } },
          response: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
        },
      },
      async (req, reply) => {
        const p = req.principal!;
        serveStream(req, reply, p.name, streams, {
          live: deps.live,
          maxStreams: settings.maxStreams,
          heartbeatMs: settings.heartbeatMs,
          stillValid: async (r) => {
            if (p.via === 'api-key') return (await creds.apiKey(/^Bearer\s+(\S+)/i.exec(r.headers.authorization ?? '')?.[1] ?? '')) !== null;
            const token = r.cookies[settings.cookieName];
            return token !== undefined && (await creds.session(token)) !== null;
          },
        });
      },
    );

    api.get(
      '/api/openapi.json',
      { config: { access: 'public' }, schema: { tags: ['meta'], summary: 'This OpenAPI document', response: { 200: { type: 'object', additionalProperties: true } } } },
      async () => api.swagger(),
    );
  });

  app.addHook('preClose', async () => {
    rates.stop();
    streams.closeAll();
  });
  rates.start((e) => log('warn', `health sampling failed: ${(e as Error).message}`));
  return ctx;
}

/** Creates the API's server for `cfg` (TLS from its files), registers the API and starts listening. */
export async function startApi(cfg: ApiConfig, deps: ApiDeps, opts: Omit<ApiOptions, 'tls' | 'publicOrigin' | 'sessionHours' | 'maxStreams'> = {}): Promise<ApiHandle> {
  const tls = cfg.tls ? tlsOptions(cfg.tls) : null;
  const serverOptions = { requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 75_000 };
  const app = Fastify({
    ...apiFastifyOptions(),
    serverFactory: (handler) => (tls ? createHttpsServer({ ...serverOptions, ...tls }, handler) : createHttpServer(serverOptions, handler)),
  });
  let ctx: ApiContext;
  try {
    ctx = await registerApi(app, deps, {
      ...opts,
      tls: tls !== null,
      publicOrigin: cfg.publicUrl ?? null,
      sessionHours: cfg.sessionHours,
      maxStreams: cfg.maxStreams,
      ...(cfg.consoleDir !== undefined && opts.consoleDir === undefined ? { consoleDir: cfg.consoleDir } : {}),
    });
    await app.listen({ host: cfg.listen.host, port: cfg.listen.port });
  } catch (e) {
    await app.close();
    throw e;
  }
  return { app, routes: ctx.routes, address: app.server.address() as AddressInfo, close: () => app.close() };
}
