/** Login, logout, the current session, users and API keys. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Role } from '../../store/db.js';
import { ROLES } from '../../store/db.js';
import { USER_NAME } from '../auth/credentials.js';
import { principal } from '../auth/hooks.js';
import { clientAddress, type ApiContext } from '../context.js';
import { ApiError, forbidden } from '../errors.js';
import { ref } from '../schemas.js';

const role = { type: 'string', enum: ROLES } as const;
const userName = { type: 'string', minLength: 1, maxLength: 64 } as const;
const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;

function tooMany(ms: number, what: string): ApiError {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return new ApiError(429, 'too-many-attempts', `too many failed logins ${what}; try again in ${s} s`, undefined, { 'retry-after': String(s) });
}

export function authRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { creds, settings } = ctx;
  const setCookie = (reply: FastifyReply, value: string, expires: Date) =>
    reply.setCookie(settings.cookieName, value, { path: '/', httpOnly: true, secure: settings.secureCookie, sameSite: 'strict', expires });

  app.post<{ Body: { user: string; password: string } }>(
    '/api/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Log in: sets the session cookie and returns the CSRF token to send with every change',
        body: { type: 'object', additionalProperties: false, required: ['user', 'password'], properties: { user: userName, password } },
        response: { 200: ref('Session') },
      },
    },
    async (req, reply) => {
      const { user, password: pw } = req.body;
      const accountKey = user.toLowerCase();
      const addressKey = clientAddress(req);
      const wait = Math.max(ctx.limiters.account.blockedFor(accountKey), ctx.limiters.address.blockedFor(addressKey));
      if (wait > 0) throw tooMany(wait, ctx.limiters.account.blockedFor(accountKey) > 0 ? 'for this account' : 'from this address');
      const row = await creds.checkLogin(user, pw);
      if (!row) {
        ctx.limiters.account.fail(accountKey);
        ctx.limiters.address.fail(addressKey);
        await ctx.audit(USER_NAME.test(user) ? user : '(invalid name)', 'auth.login-failed', undefined, { address: addressKey });
        throw new ApiError(401, 'bad-credentials', 'wrong user name or password');
      }
      ctx.limiters.account.reset(accountKey);
      const s = await creds.createSession(row.name, settings.sessionHours);
      setCookie(reply, s.token, new Date(s.expiresAt));
      await ctx.audit(row.name, 'auth.login', undefined, { address: addressKey });
      return { user: row.name, role: row.role, via: 'session', csrfToken: s.csrf, expiresAt: s.expiresAt };
    },
  );

  app.post('/api/auth/logout', { config: { access: 'self' }, schema: { tags: ['auth'], summary: 'End the session and clear its cookie', response: { 200: ref('Ok') } } }, async (req, reply) => {
    const p = principal(req);
    if (p.sessionId) await creds.endSession(p.sessionId);
    void reply.clearCookie(settings.cookieName, { path: '/', httpOnly: true, secure: settings.secureCookie, sameSite: 'strict' });
    await ctx.audit(p.name, 'auth.logout', undefined);
    return { ok: true };
  });

  app.get(
    '/api/auth/session',
    { config: { access: 'read' }, schema: { tags: ['auth'], summary: 'Who is logged in, with the CSRF token for this session', response: { 200: ref('Session') } } },
    async (req) => {
      const p = principal(req);
      const s = p.via === 'session' && req.cookies[settings.cookieName] ? await creds.session(req.cookies[settings.cookieName]!) : null;
      return { user: p.name, role: p.role, via: p.via, csrfToken: p.csrf ?? null, expiresAt: s?.expiresAt ?? null };
    },
  );

  app.post<{ Body: { current: string; password: string } }>(
    '/api/auth/password',
    {
      config: { access: 'self' },
      schema: {
        tags: ['auth'],
        summary: "Change one's own password (other sessions of the user end)",
        body: { type: 'object', additionalProperties: false, required: ['current', 'password'], properties: { current: password, password } },
        response: { 200: ref('Ok') },
      },
    },
    async (req) => {
      const p = principal(req);
      if (p.via !== 'session') throw forbidden('an API key has no password');
      if (!(await creds.checkLogin(p.name, req.body.current))) throw new ApiError(401, 'bad-credentials', 'the current password is wrong');
      await creds.setPassword(p.name, req.body.password, p.sessionId);
      await ctx.audit(p.name, 'user.password', { kind: 'user', id: p.name });
      return { ok: true };
    },
  );

  // ---- users (admins manage; everyone may list, to assign work) ----

  app.get(
    '/api/users',
    { config: { access: 'read' }, schema: { tags: ['users'], summary: 'Users (to assign alerts and stories to)', response: { 200: { type: 'array', items: ref('User') } } } },
    async () => creds.listUsers(),
  );

  app.post<{ Body: { name: string; role: Role; password: string } }>(
    '/api/users',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        body: { type: 'object', additionalProperties: false, required: ['name', 'role', 'password'], properties: { name: userName, role, password } },
        response: { 201: ref('User') },
      },
    },
    async (req, reply) => {
      const u = await creds.addUser(req.body.name, req.body.role, req.body.password);
      await ctx.audit(principal(req).name, 'user.add', { kind: 'user', id: u.name }, { role: u.role });
      return reply.code(201).send(u);
    },
  );

  app.patch<{ Params: { name: string }; Body: { role?: Role; disabled?: boolean; password?: string } }>(
    '/api/users/:name',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: "Change a user's role, disable or enable it, or set its password (disabling ends its sessions)",
        params: { type: 'object', required: ['name'], properties: { name: userName } },
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { role, disabled: { type: 'boolean' }, password } },
        response: { 200: ref('User') },
      },
    },
    async (req) => {
      const actor = principal(req).name;
      const { name } = req.params;
      const u = await creds.getUser(name);
      if (!u) throw new ApiError(404, 'no-such-user', `no user '${name}'`);
      const losesAdmin = u.role === 'admin' && !u.disabled && ((req.body.role !== undefined && req.body.role !== 'admin') || req.body.disabled === true);
      if (losesAdmin && (await creds.activeAdmins()) <= 1) throw new ApiError(409, 'last-admin', `'${name}' is the last active admin`);
      if (req.body.password !== undefined) {
        await creds.setPassword(name, req.body.password);
        await ctx.audit(actor, 'user.password', { kind: 'user', id: name });
      }
      if (req.body.role !== undefined && req.body.role !== u.role) {
        await creds.setRole(name, req.body.role);
        await ctx.audit(actor, 'user.role', { kind: 'user', id: name }, { from: u.role, to: req.body.role });
      }
      if (req.body.disabled !== undefined && req.body.disabled !== (u.disabled !== 0)) {
        await creds.setDisabled(name, req.body.disabled);
        await ctx.audit(actor, req.body.disabled ? 'user.disable' : 'user.enable', { kind: 'user', id: name });
      }
      return (await creds.listUsers()).find((x) => x.name === name)!;
    },
  );

  // ---- API keys ----

  app.get('/api/keys', { config: { access: 'admin' }, schema: { tags: ['keys'], summary: 'API keys (never their secrets)', response: { 200: { type: 'array', items: ref('ApiKey') } } } }, async () =>
    creds.listApiKeys(),
  );

  app.post<{ Body: { name: string; role: Role } }>(
    '/api/keys',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Create an API key for a program; the secret is in this answer only (send it as Authorization: Bearer)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$' }, role },
        },
        response: { 201: { type: 'object', required: ['key', 'secret'], additionalProperties: false, properties: { key: ref('ApiKey'), secret: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const r = await creds.createApiKey(req.body.name, req.body.role, principal(req).name);
      await ctx.audit(principal(req).name, 'key.create', { kind: 'api-key', id: r.key.id }, { name: r.key.name, role: r.key.role });
      return reply.code(201).send(r);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/keys/:id',
    {
      config: { access: 'admin' },
      schema: { tags: ['keys'], summary: 'Revoke an API key', params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } }, response: { 200: ref('ApiKey') } },
    },
    async (req) => {
      const k = await creds.revokeApiKey(req.params.id);
      await ctx.audit(principal(req).name, 'key.revoke', { kind: 'api-key', id: k.id }, { name: k.name });
      return k;
    },
  );
}
