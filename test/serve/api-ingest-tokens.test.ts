/**
 * Ingest tokens through the API: admins list the configuration's tokens (never a secret) and those
 * made here, make one (its secret given once, only a hash stored) that the bulk API accepts with
 * the next request, and revoke it (refused from the next request); each change in the audit trail;
 * bad source names and protocols refused; analysts and read-only users refused; the number of
 * active tokens bounded; the tokens survive a restart of the API over the same database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IngestTokens } from '../../src/serve/api/auth/ingest-tokens.js';
import { API_LIMITS } from '../../src/serve/api/limits.js';
import { StateDb } from '../../src/serve/store/db.js';
import { loggedIn, startTestApi, type Api, type Client } from './api-helpers.js';
import { DEFAULT_TOKENS_YAML, startServer, TOKENS, walRecords, type TestServer } from './ingest-helpers.js';

const bulk = (srv: TestServer, secret: string) =>
  fetch(`http://127.0.0.1:${srv.ingest.addresses.elastic!.port}/_bulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: 'Basic ' + Buffer.from(`elastic:${secret}`).toString('base64') },
    body: '{"create":{"_index":"logs"}}\n{"message":"hello","host":{"name":"ws01"}}\n',
  });

describe('api: ingest tokens', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let api: Api;
  let admin: Client;

  before(async () => {
    srv = await startServer(`listeners:\n  elastic: { listen: 127.0.0.1:0 }\n${DEFAULT_TOKENS_YAML}`);
    api = await startTestApi({ ingestTokens: (db) => new IngestTokens(db, srv.config.tokens, (active) => srv.ingest.tokens.setStored(active)) });
    admin = await loggedIn(api, 'root', 'admin');
  });
  after(async () => {
    await api?.close();
    await srv?.close();
  });

  it("lists the configuration's tokens without their secrets", async () => {
    const r = await admin.get('/api/ingest-tokens');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.map((t: { source: string; origin: string; id: unknown; protocols: string[] }) => [t.source, t.origin, t.id, t.protocols.join(',')]),
      [
        ['es-src', 'config', null, 'elastic'],
        ['otlp-src', 'config', null, 'otlp'],
        ['hec-src', 'config', null, 'hec'],
      ],
    );
    for (const s of Object.values(TOKENS)) assert.ok(!r.text.includes(s), 'no secret listed');
  });

  it('makes a token the bulk API accepts at once, and revokes it so the next request is refused; both audited', async () => {
    assert.equal((await bulk(srv, 'not-yet-a-token-0123456789')).status, 401);
    const made = await admin.post('/api/ingest-tokens', { source: 'winlogbeat-dcs', protocols: ['elastic', 'hec'] });
    assert.equal(made.status, 201, made.text);
    const secret: string = made.json.secret;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(
      { ...made.json.token, createdAt: 'x' },
      {
        id: made.json.token.id,
        source: 'winlogbeat-dcs',
        protocols: ['elastic', 'hec'],
        origin: 'api',
        createdBy: 'root',
        createdAt: 'x',
        revoked: false,
        revokedAt: null,
      },
    );
    const row = api.db.db.prepare('SELECT * FROM ingest_tokens').get() as Record<string, string>;
    assert.ok(!JSON.stringify(row).includes(secret), 'only a hash is stored');
    const listed = await admin.get('/api/ingest-tokens');
    assert.ok(!listed.text.includes(secret), 'the secret is never listed');
    assert.equal(listed.json.length, 4);

    const ok = await bulk(srv, secret);
    assert.equal(ok.status, 200, await ok.text());
    const records = await walRecords(srv.wal);
    assert.equal(records.at(-1)!.record.source, 'winlogbeat-dcs', 'records carry the token’s source');

    const revoked = await admin.req('DELETE', `/api/ingest-tokens/${made.json.token.id}`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.revoked, true);
    assert.ok(revoked.json.revokedAt);
    assert.equal((await bulk(srv, secret)).status, 401, 'refused once revoked');
    assert.equal((await admin.req('DELETE', `/api/ingest-tokens/${made.json.token.id}`)).status, 200, 'revoking again is harmless');
    assert.equal((await admin.req('DELETE', '/api/ingest-tokens/nope')).status, 404);

    const audit = api.db.db.prepare("SELECT actor, action, target_kind, target_id, detail FROM audit WHERE action LIKE 'ingest-token.%' ORDER BY id").all() as Record<string, string>[];
    assert.deepEqual(
      audit.map((a) => [a.actor, a.action, a.target_kind, a.target_id]),
      [
        ['root', 'ingest-token.create', 'ingest-token', made.json.token.id],
        ['root', 'ingest-token.revoke', 'ingest-token', made.json.token.id],
      ],
    );
    assert.deepEqual(JSON.parse(audit[0]!.detail!), { source: 'winlogbeat-dcs', protocols: ['elastic', 'hec'] });
  });

  it('refuses bad source names and protocols, and non-admins', async () => {
    for (const body of [
      { source: 'has space', protocols: ['elastic'] },
      { source: '-dash-first', protocols: ['elastic'] },
      { source: 'x'.repeat(65), protocols: ['elastic'] },
      { source: 'ok', protocols: [] },
      { source: 'ok', protocols: ['syslog'] },
      { source: 'ok', protocols: ['elastic', 'elastic'] },
      { source: 'ok' },
      { source: 'ok', protocols: ['elastic'], secret: 'mine' },
    ]) {
      const r = await admin.post('/api/ingest-tokens', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
    }
    const analyst = await loggedIn(api, 'alice', 'analyst');
    assert.equal((await analyst.get('/api/ingest-tokens')).status, 403);
    assert.equal((await analyst.post('/api/ingest-tokens', { source: 'x', protocols: ['elastic'] })).status, 403);
    const viewer = await loggedIn(api, 'viewer', 'read-only');
    assert.equal((await viewer.post('/api/ingest-tokens', { source: 'x', protocols: ['elastic'] })).status, 403);
    assert.equal((await admin.get('/api/ingest-tokens')).json.length, 4, 'nothing was made');
  });

  it('bounds the active tokens, and keeps them across a restart', async () => {
    const db = new StateDb(':memory:');
    const seen: number[] = [];
    const tokens = new IngestTokens(db, [], (active) => void seen.push(active.length));
    for (let i = 0; i < API_LIMITS.ingestTokensMax; i++) await tokens.create(`src-${i}`, ['otlp'], 'root');
    await assert.rejects(() => tokens.create('one-too-many', ['otlp'], 'root'), { code: 'too-many-tokens' });
    await tokens.revoke((await tokens.list())[0]!.id!);
    await tokens.create('now-fits', ['otlp'], 'root');
    assert.equal(seen.at(-1), API_LIMITS.ingestTokensMax);
    db.close();

    // The API's database reopened: the stored token is still there (the listeners get it at start).
    const again = new IngestTokens(new StateDb(api.db.path), []);
    assert.deepEqual(
      (await again.list()).map((t) => [t.source, t.revoked]),
      [['winlogbeat-dcs', true]],
    );
    assert.deepEqual(await again.active(), []);
  });
});
