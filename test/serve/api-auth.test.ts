/**
 * API authentication and authorisation: login, logout, expiry, wrong passwords, throttling, CSRF
 * and Origin checks, the read-only role refused on every change (over the whole route table),
 * admin-only routes, API keys and their revocation, password hashing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Passwords, DEFAULT_SCRYPT } from '../../src/serve/api/auth/passwords.js';
import { FailureLimiter } from '../../src/serve/api/auth/ratelimit.js';
import { API_LIMITS } from '../../src/serve/api/limits.js';
import { addUser, Client, loggedIn, PASSWORD, startTestApi, type Api } from './api-helpers.js';

describe('api auth', { timeout: 120_000 }, () => {
  let api: Api;
  before(async () => {
    api = await startTestApi();
    await addUser(api, 'alice', 'analyst');
    await addUser(api, 'root', 'admin');
    await addUser(api, 'viewer', 'read-only');
  });
  after(() => api.close());

  it('refuses every API route without credentials (401), but serves the OpenAPI document', async () => {
    const c = new Client(api.base);
    for (const path of ['/api/alerts', '/api/stories', '/api/health', '/metrics', '/api/rules', '/api/stream', '/api/auth/session']) {
      const r = await c.get(path);
      assert.equal(r.status, 401, path);
      assert.equal(r.json.error.code, 'unauthorized');
    }
    assert.equal((await c.get('/api/openapi.json')).status, 200);
  });

  it('logs in with a session cookie (HttpOnly, SameSite=Strict, server-side, hashed id) and logs out', async () => {
    const c = new Client(api.base);
    const r = await c.login('alice');
    assert.equal(r.status, 200);
    assert.equal(r.json.user, 'alice');
    assert.equal(r.json.role, 'analyst');
    assert.match(r.json.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    const setCookie = r.headers.get('set-cookie')!;
    assert.match(setCookie, /^firebreak_session=[A-Za-z0-9_-]{43};/);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.doesNotMatch(setCookie, /Secure/i, 'plain HTTP on loopback: no Secure flag');
    const token = c.cookie!.split('=')[1]!;
    const rows = api.db.db.prepare('SELECT id FROM sessions WHERE user = ?').all('alice') as { id: string }[];
    assert.ok(rows.length >= 1);
    assert.ok(!rows.some((x) => x.id === token), 'the database holds a hash of the session id, not the id');

    const s = await c.get('/api/auth/session');
    assert.equal(s.status, 200);
    assert.equal(s.json.csrfToken, c.csrf);
    assert.equal((await c.get('/api/alerts')).status, 200);

    const out = await c.post('/api/auth/logout');
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie')!, /firebreak_session=;/);
    // The old cookie no longer works even if the client kept it.
    const old = new Client(api.base);
    old.cookie = `firebreak_session=${token}`;
    assert.equal((await old.get('/api/alerts')).status, 401);
    const audit = api.db.db.prepare("SELECT action FROM audit WHERE actor = 'alice' ORDER BY id").all() as { action: string }[];
    assert.deepEqual(
      audit.map((a) => a.action).filter((a) => a.startsWith('auth.')),
      ['auth.login', 'auth.logout'],
    );
  });

  it('refuses an expired session (checked on the server) and a session of a disabled user', async () => {
    const c = await loggedIn(api, 'exp', 'analyst');
    assert.equal((await c.get('/api/alerts')).status, 200);
    api.db.db.prepare("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z' WHERE user = 'exp'").run();
    assert.equal((await c.get('/api/alerts')).status, 401);
    assert.equal((api.db.db.prepare("SELECT count(*) AS n FROM sessions WHERE user = 'exp'").get() as { n: number }).n, 0, 'the expired row is removed');

    const d = await loggedIn(api, 'dis', 'analyst');
    await api.creds.setDisabled('dis', true);
    assert.equal((await d.get('/api/alerts')).status, 401);
    assert.equal((await new Client(api.base).login('dis')).status, 401, 'a disabled user cannot log in');
  });

  it('answers a wrong password and an unknown user alike (401 bad-credentials)', async () => {
    const wrong = await new Client(api.base).login('alice', 'not the password');
    const unknown = await new Client(api.base).login('nobody-here', 'not the password');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.json, unknown.json);
    assert.equal(wrong.headers.get('set-cookie'), null);
  });

  it('throttles failed logins per account with 429 and Retry-After, without locking other accounts', async () => {
    await addUser(api, 'target', 'analyst');
    for (let i = 0; i < API_LIMITS.loginFailuresPerAccount; i++) assert.equal((await new Client(api.base).login('target', `guess-${i}`)).status, 401);
    const blocked = await new Client(api.base).login('target');
    assert.equal(blocked.status, 429, 'even the right password is refused while throttled');
    assert.equal(blocked.json.error.code, 'too-many-attempts');
    const retry = Number(blocked.headers.get('retry-after'));
    assert.ok(retry > 0 && retry <= API_LIMITS.loginWindowMs / 1000, `Retry-After ${retry}`);
    // Another account from the same address still logs in (the address budget is larger).
    assert.equal((await new Client(api.base).login('root')).status, 200);
  });

  it('throttles per client address (a spray across accounts)', () => {
    let t = 0;
    const lim = new FailureLimiter(3, 1000, 100, () => t);
    for (const k of ['a', 'a', 'a']) lim.fail(k);
    assert.ok(lim.blockedFor('a') > 0);
    assert.equal(lim.blockedFor('b'), 0);
    t = 1000;
    assert.equal(lim.blockedFor('a'), 0, 'the window ends');
  });

  it('keeps the limiter bounded: expired keys go first, then the oldest', () => {
    let t = 0;
    const lim = new FailureLimiter(2, 1000, 3, () => t);
    lim.fail('old');
    t = 2000;
    lim.fail('x');
    lim.fail('y');
    lim.fail('z'); // full: 'old' expired and goes
    assert.equal(lim.size, 3);
    lim.fail('w'); // none expired: the oldest ('x') goes
    assert.equal(lim.size, 3);
    lim.fail('y');
    assert.ok(lim.blockedFor('y') > 0);
    assert.equal(lim.blockedFor('x'), 0);
  });

  it('refuses a change without the CSRF token, with a wrong one, and from another origin', async () => {
    const c = await loggedIn(api, 'csrf-user', 'analyst');
    const id = (await c.post('/api/keys', { name: 'x', role: 'read-only' })).status; // admin-only: 403 either way
    assert.equal(id, 403);
    const path = '/api/auth/password';
    const body = { current: PASSWORD, password: 'another long password' };
    const noToken = await c.req('POST', path, body, { 'x-csrf-token': '' });
    assert.equal(noToken.status, 403);
    assert.match(noToken.json.error.message, /CSRF/);
    const wrongToken = await c.req('POST', path, body, { 'x-csrf-token': 'A'.repeat(43) });
    assert.equal(wrongToken.status, 403);
    const otherOrigin = await c.req('POST', path, body, { origin: 'https://evil.example' });
    assert.equal(otherOrigin.status, 403);
    assert.match(otherOrigin.json.error.message, /Origin/);
    const crossSite = await c.req('POST', path, body, { 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.status, 403);
    const noOrigin = new Client(api.base);
    noOrigin.cookie = c.cookie;
    noOrigin.csrf = c.csrf;
    noOrigin.origin = null;
    assert.equal((await noOrigin.post(path, body)).status, 403, 'a session change with neither Origin nor Sec-Fetch-Site is refused');
    // Sec-Fetch-Site: same-origin alone is enough evidence (a browser that omits Origin).
    const sameSite = await noOrigin.post(path, body, { 'sec-fetch-site': 'same-origin' });
    assert.equal(sameSite.status, 200);
    // The password changed; the session that changed it goes on.
    assert.equal((await c.get('/api/alerts')).status, 200);
    // A login from another site is refused too (login CSRF).
    const evil = new Client(api.base);
    evil.origin = 'http://evil.example';
    assert.equal((await evil.login('alice')).status, 403);
  });

  it('refuses the read-only role on every change endpoint, and non-admins on admin endpoints', async () => {
    const viewer = await loggedIn(api, 'viewer', 'read-only');
    const analyst = await loggedIn(api, 'alice', 'analyst');
    const routes = api.handle.routes;
    const fill = (url: string) => url.replace(':id', '1').replace(':ref', '0123456789abcdef').replace(':name', 'someone');
    const changes = routes.filter((r) => r.method !== 'GET' && (r.access === 'change' || r.access === 'admin'));
    assert.ok(changes.length >= 15, `change routes: ${changes.length}`);
    for (const r of changes) {
      const res = await viewer.req(r.method, fill(r.url), {});
      assert.equal(res.status, 403, `${r.method} ${r.url} → ${res.status} ${res.text}`);
    }
    for (const r of routes.filter((x) => x.access === 'admin')) {
      const res = await analyst.req(r.method, fill(r.url), r.method === 'GET' ? undefined : {});
      assert.equal(res.status, 403, `analyst ${r.method} ${r.url}`);
    }
    // Every route declares its access; the only non-GET routes open to read-only are searches and self-service.
    for (const r of routes) assert.ok(['public', 'read', 'self', 'change', 'admin'].includes(r.access), `${r.method} ${r.url}: ${r.access}`);
    const readPosts = routes.filter((r) => r.method !== 'GET' && r.access === 'read').map((r) => r.url);
    assert.deepEqual(readPosts.sort(), ['/api/events/histogram', '/api/events/search', '/api/events/sql', '/api/rules/lint']);
    // Read-only may read and search.
    assert.equal((await viewer.get('/api/alerts')).status, 200);
    assert.equal((await viewer.post('/api/events/search', { filter: 'EventID=1' })).status, 200);
  });

  it('authenticates programs with API keys (role-bound) and stops a revoked key', async () => {
    const admin = await loggedIn(api, 'root', 'admin');
    const created = await admin.post('/api/keys', { name: 'prometheus', role: 'read-only' });
    assert.equal(created.status, 201);
    assert.match(created.json.secret, /^fbk_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    const secret: string = created.json.secret;
    const stored = api.db.db.prepare('SELECT hash FROM api_keys WHERE id = ?').get(created.json.key.id) as { hash: string };
    // The id and the secret part may themselves hold '_' (base64url): take the parts by position.
    const part = /^fbk_[A-Za-z0-9_-]{12}_([A-Za-z0-9_-]{43})$/.exec(secret)![1]!;
    assert.ok(!secret.includes(stored.hash) && !stored.hash.includes(part), 'only a hash is stored');
    const listed = await admin.get('/api/keys');
    assert.ok(!JSON.stringify(listed.json).includes(part), 'secrets are never listed');

    const prog = new Client(api.base);
    prog.bearer = secret;
    prog.origin = null;
    assert.equal((await prog.get('/metrics')).status, 200);
    assert.equal((await prog.get('/api/alerts')).status, 200);
    const change = await prog.post('/api/rules/0123456789abcdef/enabled', { enabled: false });
    assert.ok(change.status === 403 || change.status === 404);
    assert.equal((await prog.req('PUT', '/api/rules/0123456789abcdef/enabled', { enabled: false })).status, 403, 'a read-only key cannot change');

    const analystKey = (await admin.post('/api/keys', { name: 'soar', role: 'analyst' })).json.secret as string;
    const soar = new Client(api.base);
    soar.bearer = analystKey;
    soar.origin = null;
    const rules = await soar.get('/api/rules');
    const ref = rules.json.items[0].ref;
    assert.equal((await soar.req('PUT', `/api/rules/${ref}/enabled`, { enabled: false })).status, 200, 'an analyst key changes without CSRF (no ambient credentials)');
    assert.equal((await soar.req('PUT', `/api/rules/${ref}/enabled`, { enabled: true }, { origin: 'https://evil.example' })).status, 403, 'but not from a foreign Origin');
    const audit = api.db.db.prepare("SELECT actor FROM audit WHERE action = 'rule.disable' ORDER BY id DESC").get() as { actor: string };
    assert.equal(audit.actor, 'key:soar');

    const revoke = await admin.req('DELETE', `/api/keys/${created.json.key.id}`);
    assert.equal(revoke.status, 200);
    assert.equal(revoke.json.revoked, true);
    const after = await prog.get('/api/alerts');
    assert.equal(after.status, 401);
    assert.equal(after.headers.get('www-authenticate'), 'Bearer');
    const bogus = new Client(api.base);
    bogus.bearer = 'fbk_AAAAAAAAAAAA_' + 'B'.repeat(43);
    assert.equal((await bogus.get('/api/alerts')).status, 401);
    assert.ok(api.db.db.prepare("SELECT 1 FROM audit WHERE action = 'key.revoke'").get());
  });

  it('lets admins manage users, never removing the last admin', async () => {
    const admin = await loggedIn(api, 'root', 'admin');
    const add = await admin.post('/api/users', { name: 'bob', role: 'analyst', password: 'bob has a long password' });
    assert.equal(add.status, 201);
    assert.equal((await admin.post('/api/users', { name: 'bob', role: 'analyst', password: 'bob has a long password' })).status, 409);
    const weak = await admin.post('/api/users', { name: 'carol', role: 'analyst', password: 'short' });
    assert.equal(weak.status, 400);
    assert.equal(weak.json.error.code, 'weak-password');
    assert.equal((await admin.post('/api/users', { name: '<script>', role: 'analyst', password: 'a long enough password' })).json.error.code, 'bad-user-name');
    const demote = await admin.req('PATCH', '/api/users/root', { role: 'analyst' });
    assert.equal(demote.status, 409);
    assert.equal(demote.json.error.code, 'last-admin');
    const dis = await admin.req('PATCH', '/api/users/bob', { disabled: true });
    assert.equal(dis.json.disabled, true);
    const list = await admin.get('/api/users');
    assert.ok(
      list.json.every((u: Record<string, unknown>) => !('password' in u)),
      'password hashes are never returned',
    );
  });

  it('hashes passwords with scrypt at strong default parameters, salted, and rehashes weaker ones at login', async () => {
    assert.ok(DEFAULT_SCRYPT.N >= 2 ** 17 && DEFAULT_SCRYPT.r >= 8);
    const p = new Passwords({ N: 2 ** 10, r: 8, p: 1 });
    const a = await p.hash('the same password');
    const b = await p.hash('the same password');
    assert.notEqual(a, b, 'salted');
    assert.match(a, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await p.verify('the same password', a), true);
    assert.equal(await p.verify('the same passwore', a), false);
    assert.equal(await p.verify('x', 'scrypt$99999999999$8$1$AA$AA'), false, 'hostile parameters are not run');
    assert.equal(new Passwords({ N: 2 ** 11, r: 8, p: 1 }).needsRehash(a), true);

    const weakHash = await new Passwords({ N: 2 ** 4, r: 8, p: 1 }).hash(PASSWORD);
    api.db.db.prepare("UPDATE users SET password = ? WHERE name = 'alice'").run(weakHash);
    assert.equal((await new Client(api.base).login('alice')).status, 200);
    const now = (api.db.db.prepare("SELECT password FROM users WHERE name = 'alice'").get() as { password: string }).password;
    assert.match(now, /^scrypt\$1024\$/, 'rehashed with the server parameters');
  });
});
