/**
 * The API's state-database seam, one suite against both sides: the same alerts, stories, users
 * and audit trail in SQLite (the embedded server) and in PostgreSQL (the api role), the same
 * requests to an API over each, and the answers must be the same, filters, pages, host and account
 * pages, triage and the audit trail included. Then the api role's live feed: a change notice from
 * one node (or the correlate node's mirror) reaches another node's feed with the row read from
 * PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IngestTokens, startApi, type ApiHandle } from '../../../src/serve/api/index.js';
import type { LiveEvent } from '../../../src/serve/api/deps.js';
import { LiveHub } from '../../../src/serve/api/live.js';
import { PgLiveFeed, LIVE_CHANNEL } from '../../../src/serve/cluster/live-pg.js';
import { ClusterDb, rowToPg } from '../../../src/serve/cluster/pg.js';
import { PgSql, positional } from '../../../src/serve/cluster/pg-sql.js';
import type { StateDb } from '../../../src/serve/store/db.js';
import { until } from '../ingest-helpers.js';
import { Client, makeStory, PASSWORD, seedAlert, seedStory, startTestApi, TEST_SCRYPT, type Api } from '../api-helpers.js';
import { clusterMissing, startPostgres, type Postgres } from './helpers.js';

const missing = clusterMissing();

/** The tables the API reads and writes (the pipeline's `applied` has other columns in PostgreSQL). */
const TABLES = ['alerts', 'stories', 'story_splits', 'comments', 'users', 'api_keys', 'audit', 'outbox'];

/** Copies the API's tables from SQLite to PostgreSQL, as a correlate node's mirror would have written them. */
async function copy(db: StateDb, cdb: ClusterDb): Promise<void> {
  for (const t of TABLES) {
    const rows = (db.db.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[]).map(rowToPg);
    await cdb.pool.query(`INSERT INTO ${t} SELECT * FROM json_populate_recordset(NULL::${t}, $1::json)`, [JSON.stringify(rows)]);
  }
  for (const t of ['audit', 'comments']) await cdb.pool.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM ${t}), false)`);
}

/** Wall-clock times: of changes made during the test, and the stand-in event store's histogram range (they differ by milliseconds). */
const CLOCK = new Set(['updatedAt', 'createdAt', 'at', 'expiresAt', 'from', 'to']);

/** An answer without its wall-clock times. */
function timeless(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(timeless);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, CLOCK.has(k) && typeof x === 'string' ? '(time)' : timeless(x)]));
  return v;
}

describe('api: the same answers from SQLite and from PostgreSQL', { skip: missing, timeout: 300_000 }, () => {
  let pgs: Postgres;
  let cdb: ClusterDb;
  let lite: Api;
  let pgApi: ApiHandle;
  let a: Client;
  let b: Client;
  const ids: Record<string, number> = {};

  before(async () => {
    pgs = await startPostgres();
    cdb = await ClusterDb.open({ url: pgs.url, maxConnections: 4 });
    lite = await startTestApi();
    await lite.creds.addUser('alice', 'analyst', PASSWORD);
    await lite.creds.addUser('bob', 'analyst', PASSWORD);
    await lite.creds.addUser('root', 'admin', PASSWORD);
    seedStory(lite.db, makeStory('st-a', { hosts: ['ws01.corp.example', 'srv02.corp.example'], spread: [['ws01.corp.example', 'srv02.corp.example', '2026-01-01T01:00:00.000Z']], score: 80 }), {
      level: 'critical',
    });
    seedStory(lite.db, makeStory('st-b', { hosts: ['ws09.corp.example'], accounts: ['CORP\\bob'], score: 30, first: '2026-01-02T00:00:00.000Z' }), { level: 'medium' });
    seedStory(lite.db, makeStory('st-c', { hosts: ['WS09.corp.example'], accounts: ['Bob'], score: 30, first: '2026-01-02T00:00:00.000Z' }), { level: 'medium' });
    const at = (d: number, s = 0) => `2026-01-0${d}T00:00:${String(s).padStart(2, '0')}.000Z`;
    ids.whoami = seedAlert(lite.db, {
      title: 'Suspicious Whoami',
      host: 'ws01.corp.example',
      users: ['CORP\\alice'],
      tactics: ['discovery'],
      techniques: ['T1033'],
      firstSeen: at(1),
      storyId: 'st-a',
      count: 3,
      createdAt: at(5),
      event: { IpAddress: '10.9.9.9' },
    });
    ids.logon = seedAlert(lite.db, {
      title: 'Remote Logon',
      ruleId: '22222222-2222-3333-4444-555555555555',
      level: 'medium',
      host: 'srv02.corp.example',
      users: ['alice'],
      tactics: ['lateral-movement'],
      techniques: ['T1021.002'],
      firstSeen: at(1, 5),
      storyId: 'st-a',
      createdAt: at(5, 1),
    });
    ids.crit = seedAlert(lite.db, {
      title: 'Mimikatz',
      ruleId: null,
      level: 'critical',
      host: 'ws09.corp.example',
      users: ['CORP\\bob', 'Ünïcode'],
      tactics: ['credential-access'],
      techniques: ['T1003.001'],
      firstSeen: at(2),
      storyId: 'st-b',
      createdAt: at(6),
    });
    ids.other = seedAlert(lite.db, { title: 'Mimikatz', ruleId: null, level: 'critical', host: 'WS09.corp.example', users: ['bob'], firstSeen: at(2, 1), storyId: 'st-c', createdAt: at(6, 1) });
    // A rule key from a file path with a NUL separator (as every rule key has) and odd text.
    ids.low = seedAlert(lite.db, { title: '100%_odd\\title', ruleId: null, level: 'low', host: 'ws01.corp.example', firstSeen: at(3), file: 'uploaded/x\u0000y.yml', createdAt: at(7) });
    for (let i = 0; i < 12; i++) seedAlert(lite.db, { title: `Noise ${i}`, ruleId: null, level: 'informational', host: `h${i % 5}`, users: [`u${i % 3}`], firstSeen: at(4, i), createdAt: at(8, i) });
    await copy(lite.db, cdb);
    pgApi = await startApi(
      { listen: { host: '127.0.0.1', port: 0 }, sessionHours: 12, maxStreams: 8 },
      { db: new PgSql(cdb.pool), events: lite.store, rules: lite.catalog, live: new LiveHub(16), health: lite.health, ingestTokens: new IngestTokens(new PgSql(cdb.pool)), log: () => undefined },
      { scrypt: TEST_SCRYPT, consoleDir: false },
    );
    a = new Client(lite.base);
    b = new Client(`http://127.0.0.1:${pgApi.address.port}`);
    for (const c of [a, b]) assert.equal((await c.login('alice')).status, 200);
  });
  after(async () => {
    await pgApi?.close();
    await lite?.close();
    await cdb?.close();
    await pgs?.destroy();
  });

  const same = async (path: string): Promise<unknown> => {
    const [x, y] = await Promise.all([a.get(path), b.get(path)]);
    assert.equal(y.status, x.status, `${path}: ${y.text.slice(0, 300)}`);
    assert.deepEqual(timeless(y.json), timeless(x.json), path);
    return x.json;
  };

  it('writes placeholders positionally, leaving quoted text alone', () => {
    assert.equal(positional(`SELECT '?', "a?b" FROM t WHERE x = ? AND y LIKE ? ESCAPE '\\' AND z = ?`), `SELECT '?', "a?b" FROM t WHERE x = $1 AND y LIKE $2 ESCAPE '\\' AND z = $3`);
    assert.equal(positional("SELECT 'it''s ?' WHERE a = ?"), "SELECT 'it''s ?' WHERE a = $1");
  });

  it('lists, filters, sorts and pages alerts and stories alike', async () => {
    const all = (await same('/api/alerts?limit=500')) as { total: number; items: { ruleTitle: string; ruleRef: string }[] };
    assert.equal(all.total, 17);
    const oddRef = all.items.find((x) => x.ruleTitle === '100%_odd\\title')!.ruleRef;
    for (const q of [
      'level=critical&level=high',
      'minLevel=medium&sort=severity',
      'sort=oldest&limit=5&offset=3',
      'host=WS01.corp.example',
      'host=ws09.corp.example',
      'user=alice&sort=oldest',
      'user=CORP%5Cbob',
      'user=BOB',
      'user=%C3%BCn%C3%AFcode',
      'rule=22222222-2222-3333-4444-555555555555',
      'rule=Mimikatz',
      `rule=${oddRef}`,
      'tactic=lateral-movement',
      'technique=T1003',
      'technique=t1021.002',
      'from=2026-01-01T00:30:00Z&to=2026-01-02T12:00:00%2B02:00',
      'q=%25_',
      'q=MIMI',
      'q=corp%5Calice',
      'story=st-b',
      'ungrouped=true',
      'status=new&assignee=nobody',
    ])
      await same(`/api/alerts?${q}`);
    for (const q of [
      '',
      'includeMerged=true',
      'host=WS09.CORP.EXAMPLE',
      'user=bob',
      'user=corp%5Calice',
      'rule=Mimikatz',
      'tactic=lateral-movement',
      'technique=T1021',
      'q=story%20st-a',
      'sort=severity',
      'minLevel=high',
    ])
      await same(`/api/stories?${q}`);
    await same(`/api/alerts/${ids.whoami}`);
    await same('/api/alerts/999999');
    await same('/api/stories/st-a');
    await same('/api/stories/nope');
    await same('/api/counts?since=2026-01-06T00:00:00Z');
  });

  it('treats injection attempts and odd text in filters as plain values, alike', async () => {
    for (const v of ["' OR 1=1 --", '"; DROP TABLE alerts; --', "ws01') OR ('1'='1", '%', '*', '?', '$1', '\\', 'a\u0000b', '\u0001', 'ü'])
      for (const f of ['host', 'user', 'rule', 'q', 'tactic', 'assignee']) {
        await same(`/api/alerts?${f}=${encodeURIComponent(v)}`);
        await same(`/api/stories?${f}=${encodeURIComponent(v)}`);
      }
    for (const v of ['?', "'", '\u0000x', 'a%_']) {
      await same(`/api/hosts?q=${encodeURIComponent(v)}`);
      await same(`/api/accounts/${encodeURIComponent(v)}`);
    }
    assert.equal((await b.get('/api/alerts')).json.total, 17, 'nothing was changed by them');
    // SQLite's LIKE ends a pattern at U+0000 (and would match far more than asked): refused on both.
    for (const p of ['/api/alerts?q=a%00b', '/api/stories?q=a%00b', '/api/hosts?q=%00x']) assert.equal((await a.get(p)).status, 400, p);
  });

  it('gives the same host and account pages and lists', async () => {
    for (const p of [
      '/api/hosts',
      '/api/hosts?q=WS0',
      '/api/hosts?limit=2&offset=1',
      '/api/accounts',
      '/api/accounts?q=B',
      '/api/hosts/ws09.corp.example',
      '/api/hosts/WS01.corp.example',
      '/api/accounts/bob',
      '/api/accounts/CORP%5Calice',
      '/api/accounts/nobody',
    ])
      await same(p);
  });

  it('gives the same rules, coverage, users and audit trail', async () => {
    for (const p of ['/api/rules', '/api/coverage', '/api/users', '/api/audit?action=auth.', '/api/audit?actor=alice']) await same(p);
    const ref = ((await a.get('/api/rules')).json as { items: { ref: string }[] }).items[0]!.ref;
    await same(`/api/rules/${ref}`);
  });

  it('triages alike: acknowledge, assign, status, comment, close a story with its alerts, merge, split; each in the audit trail', async () => {
    const both = async (path: string, body: unknown) => {
      const [x, y] = [await a.post(path, body), await b.post(path, body)];
      assert.equal(y.status, x.status, `${path}: ${y.text.slice(0, 300)}`);
      assert.deepEqual(timeless(y.json), timeless(x.json), path);
      return y;
    };
    assert.equal((await both(`/api/alerts/${ids.whoami}/acknowledge`, {})).json.status, 'acknowledged');
    assert.equal((await both(`/api/alerts/${ids.whoami}/assign`, { assignee: 'bob' })).json.assignee, 'bob');
    assert.equal((await both(`/api/alerts/${ids.crit}/assign`, { assignee: 'nobody' })).status, 400);
    await both(`/api/alerts/${ids.logon}/status`, { status: 'in_progress' });
    assert.equal((await both(`/api/alerts/${ids.logon}/comments`, { body: 'looked at it: the admin\u0000 host' })).status, 201);
    await both('/api/stories/st-b/comments', { body: 'escalating' });
    await both('/api/stories/st-a/status', { status: 'closed', resolution: 'true_positive' });
    await both('/api/stories/st-c/merge', { into: 'st-b' });
    await both('/api/stories/st-c/acknowledge', {});
    await both('/api/stories/st-b/split', { alertId: ids.other });
    for (const p of [
      `/api/alerts/${ids.whoami}`,
      `/api/alerts/${ids.logon}`,
      '/api/stories/st-a',
      '/api/stories/st-b',
      '/api/stories/st-c',
      '/api/alerts?status=closed',
      '/api/audit?limit=100',
      '/api/audit?action=story.',
    ])
      await same(p);
    const audit = (await b.get('/api/audit?targetKind=alert&targetId=' + ids.logon)).json as { items: { action: string; detail: Record<string, unknown> }[] };
    assert.deepEqual(
      audit.items.map((x) => x.action),
      ['alert.status', 'alert.comment', 'alert.status'],
    );
  });

  it('makes, lists and revokes ingest tokens on PostgreSQL as on SQLite, keeping only their hash', async () => {
    const shape = (t: Record<string, unknown>) => ({ ...t, id: typeof t.id, createdAt: typeof t.createdAt, revokedAt: typeof t.revokedAt });
    const seen: unknown[][] = [];
    for (const c of [a, b]) {
      const root = new Client(c.base);
      assert.equal((await root.login('root')).status, 200);
      const made = await root.post('/api/ingest-tokens', { source: 'beats-eu', protocols: ['hec', 'elastic'] });
      assert.equal(made.status, 201, made.text);
      assert.equal((await root.post('/api/ingest-tokens', { source: 'bad source!', protocols: ['elastic'] })).status, 400);
      const revoked = await root.req('DELETE', `/api/ingest-tokens/${made.json.token.id}`);
      assert.equal(revoked.status, 200);
      assert.equal(revoked.json.revoked, true);
      assert.equal((await root.req('DELETE', '/api/ingest-tokens/nope')).status, 404);
      const list = (await root.get('/api/ingest-tokens')).json as Record<string, unknown>[];
      seen.push(list.map(shape));
      const audit = (await root.get('/api/audit?action=ingest-token.')).json as { items: { action: string }[] };
      seen.push(audit.items.map((x) => x.action));
    }
    assert.deepEqual(seen[2], seen[0]);
    assert.deepEqual(seen[3], seen[1]);
    assert.deepEqual(seen[1], ['ingest-token.revoke', 'ingest-token.create']);
    const rows = (await cdb.pool.query<{ hash: string; source: string }>('SELECT hash, source FROM ingest_tokens')).rows;
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.hash, /^[0-9a-f]{64}$/, 'only the hash is stored');
  });

  it('sessions, logout, API keys and user changes work on PostgreSQL', async () => {
    const root = new Client(b.base);
    assert.equal((await root.login('root')).status, 200);
    const key = await root.post('/api/keys', { name: 'siem', role: 'read-only' });
    assert.equal(key.status, 201);
    const prog = new Client(b.base);
    prog.bearer = key.json.secret;
    assert.equal((await prog.get('/api/alerts')).status, 200);
    assert.equal((await root.req('DELETE', `/api/keys/${key.json.key.id}`)).status, 200);
    assert.equal((await prog.get('/api/alerts')).status, 401);
    const bob = new Client(b.base);
    assert.equal((await bob.login('bob')).status, 200);
    assert.equal((await root.req('PATCH', '/api/users/bob', { disabled: true })).status, 200);
    assert.equal((await bob.get('/api/alerts')).status, 401, 'disabling ends the sessions');
    assert.equal((await root.post('/api/users', { name: 'root', role: 'admin', password: PASSWORD })).status, 409);
    assert.equal((await root.post('/api/auth/logout')).status, 200);
    assert.equal((await root.get('/api/alerts')).status, 401);
  });
});

describe('api role: the live feed from PostgreSQL change notices', { skip: missing, timeout: 120_000 }, () => {
  let pgs: Postgres;
  let cdb: ClusterDb;
  const feeds: PgLiveFeed[] = [];
  const logs: string[] = [];

  before(async () => {
    pgs = await startPostgres();
    cdb = await ClusterDb.open({ url: pgs.url, maxConnections: 4 });
    await cdb.pool.query(
      `INSERT INTO alerts (id, key, rule_key, rule_title, kind, level, first_seen, last_seen, count, detection, created_at, updated_at)
       VALUES (7, 'k7', 'r', 'Rule', 'sigma', 'high', 't', 't', 1, '{}', 't', 't')`,
    );
  });
  after(async () => {
    for (const f of feeds) await f.stop();
    await cdb?.close();
    await pgs?.destroy();
  });

  const feed = async (node: string) => {
    const f = new PgLiveFeed({
      connect: () => cdb.client(),
      sql: new PgSql(cdb.pool),
      notify: (p) => cdb.pool.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, p]),
      hub: new LiveHub(),
      node,
      log: (l, m) => logs.push(`${node} ${l}: ${m}`),
    });
    await f.start();
    feeds.push(f);
    const got: LiveEvent[] = [];
    f.subscribe((e) => got.push(e));
    return { f, got };
  };

  it("one node's change reaches the others' feeds once, with the row as PostgreSQL has it; notices that are not ours are ignored", async () => {
    const one = await feed('api-1');
    const two = await feed('api-2');
    await cdb.pool.query("UPDATE alerts SET status = 'acknowledged' WHERE id = 7");
    one.f.publish('alert.updated', { id: '7' });
    await until(() => two.got.length === 1, 'the notice at api-2');
    assert.equal(one.got.length, 1, 'api-1 published its own change once');
    assert.equal(two.got[0]!.type, 'alert.updated');
    assert.equal((two.got[0]!.data.summary as { status: string }).status, 'acknowledged');
    await cdb.pool.query("SELECT pg_notify($1, 'not json'), pg_notify($1, '{\"n\":1}')", [LIVE_CHANNEL]);
    // The correlate node's notice (what its mirror sends when a batch commits).
    await cdb.pool.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, JSON.stringify({ n: 'correlate-1', a: [[7, 1]], s: [['st-missing', 1]] })]);
    await until(() => one.got.length === 2 && two.got.length === 2, 'the correlate notice at both');
    assert.deepEqual([one.got[1]!.type, two.got[1]!.type], ['alert.created', 'alert.created']);
    assert.equal(one.f.received, 1, 'the malformed notices were ignored and the story that is not there was skipped');
  });

  it('a lost connection is noticed and the feed listens again', async () => {
    const three = await feed('api-3');
    const ended = await cdb.pool.query<{ n: string }>("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE query = 'LISTEN firebreak_live'");
    assert.ok(Number(ended.rows[0]!.n) >= 1, 'the listening connections were ended');
    await until(() => logs.some((l) => l.startsWith('api-3') && l.includes('listening to PostgreSQL again')), `api-3 to listen again (log: ${logs.join(' | ')})`, 30_000);
    await cdb.pool.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, JSON.stringify({ n: 'correlate-1', a: [[7, 0]], s: [] })]);
    await until(() => three.got.length === 1, 'a notice after the reconnection', 30_000);
  });
});
