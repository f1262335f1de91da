/**
 * Who may call what. Every API route declares its access in `config.access`; a route without one
 * does not register (secure by default). Requests authenticate with the session cookie (the
 * console) or `Authorization: Bearer fbk_…` (programs). Every request that is not GET/HEAD passes
 * the cross-site checks: a matching `Origin` (or `Sec-Fetch-Site: same-origin`) and, for
 * session-authenticated requests, the session's CSRF token in `X-CSRF-Token`. Read-only
 * principals are refused (403) on every change.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, forbidden } from '../errors.js';
import { roleRank, safeEqual, type Credentials, type Principal } from './credentials.js';

/**
 * - `public`: no authentication (login, the OpenAPI document).
 * - `read`: any authenticated principal; may be POST (a search), and still passes the CSRF checks.
 * - `self`: any authenticated principal acting on its own session or password (logout, password change).
 * - `change`: analysts and admins (triage, rules).
 * - `admin`: admins (users, API keys).
 */
export type Access = 'public' | 'read' | 'self' | 'change' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const CSRF_HEADER = 'x-csrf-token';

export interface AuthOptions {
  credentials: Credentials;
  /** The cookie's name (`__Host-` prefixed when it is Secure). */
  cookieName: string;
  /** The origin browsers use (`https://soc.example`), when configured; else the request's Host is the reference. */
  publicOrigin: string | null;
  /** Whether the listener speaks TLS (the scheme of the Host-derived origin). */
  tls: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin a browser on this server would send. */
function expectedOrigin(req: FastifyRequest, o: AuthOptions): string | null {
  if (o.publicOrigin) return o.publicOrigin;
  const host = req.headers.host;
  if (!host || !/^[A-Za-z0-9.\-[\]:]+$/.test(host)) return null;
  return `${o.tls ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** Refuses a change request from another site (a cross-site form, fetch or link). */
function checkSameOrigin(req: FastifyRequest, o: AuthOptions, requireEvidence: boolean): void {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw forbidden(`cross-site request refused (Sec-Fetch-Site: ${String(site).slice(0, 40)})`);
  if (origin !== undefined) {
    const want = expectedOrigin(req, o);
    if (want === null || origin.toLowerCase() !== want.toLowerCase()) throw forbidden('cross-site request refused (Origin does not match this server)');
    return;
  }
  if (requireEvidence && site !== 'same-origin') throw forbidden('cross-site request refused (no Origin header)');
}

/** The principal the request's credentials name (null: none given); throws 401 for a bad bearer token. */
async function authenticate(req: FastifyRequest, o: AuthOptions): Promise<Principal | null> {
  const authz = req.headers.authorization;
  if (authz !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    const p = m ? await o.credentials.apiKey(m[1]!) : null;
    if (!p) throw new ApiError(401, 'unauthorized', 'the API key is not valid (unknown, revoked or malformed)', undefined, { 'www-authenticate': 'Bearer' });
    return p;
  }
  const token = req.cookies[o.cookieName];
  return token ? o.credentials.session(token) : null;
}

/** Installs the authentication and authorisation hooks. */
export function installAuth(app: FastifyInstance, o: AuthOptions): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access level (config.access)`);
    }
  });
  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    const access = req.routeOptions.config.access;
    if (access === undefined) return; // the not-found handler
    const change = !SAFE_METHODS.has(req.method);
    req.principal = await authenticate(req, o);
    if (change) checkSameOrigin(req, o, access === 'public' || req.principal?.via === 'session');
    if (access === 'public') return;
    const p = req.principal;
    if (!p) throw new ApiError(401, 'unauthorized', 'log in first (or send an API key)', undefined, { 'www-authenticate': 'Bearer' });
    if (change && p.via === 'session') {
      const token = req.headers[CSRF_HEADER];
      if (typeof token !== 'string' || !p.csrf || !safeEqual(token, p.csrf)) throw forbidden(`missing or wrong CSRF token (send the session's csrfToken in ${CSRF_HEADER})`);
    }
    if (access === 'admin' && p.role !== 'admin') throw forbidden('this needs the admin role');
    if (access === 'change' && roleRank(p.role) < roleRank('analyst')) throw forbidden(`the ${p.role} role cannot change anything`);
  });
}

/** The request's principal (routes behind `read` or stricter always have one). */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'log in first');
  return req.principal;
}
