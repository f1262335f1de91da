/**
 * The api role end to end, started as an operator would: 3 NATS servers (replicas 3), PostgreSQL,
 * an ingest node, a detect node storing events as Parquet, a correlate node and two api nodes,
 * each its own `firebreak serve` process; users made with `firebreak user add` against the
 * cluster's configuration. Logged in to the api nodes with their live feeds open, the sample
 * intrusion is sent: the api nodes list the embedded server's alerts and stories, each announced
 * on the live feed as it was created; a triage action on one api node is in the audit trail and
 * reaches the other's feed; event search reads the detect node's Parquet files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, PASSWORD } from '../api-helpers.js';
import { until } from '../ingest-helpers.js';
import { sampleDocs } from '../sample.js';
import { clusterMissing, freePort, REPO, startNatsCluster, startNodeProcess, startPostgres, type NatsCluster, type NodeProcess, type Postgres } from './helpers.js';
import { clusterCaughtUp, nodeConfig, referenceRun, sameStories, sendSample, settled, summarise, type Summary } from './scenario.js';

const missing = clusterMissing();

interface FeedMessage {
  event: string;
  data: { id: string; type: string; data: { id: string; summary?: Record<string, unknown> } };
}

/** A live-feed connection (GET /api/stream with the session cookie), collecting its messages. */
async function openFeed(c: Client): Promise<{ messages: FeedMessage[]; close: () => void }> {
  const ac = new AbortController();
  const r = await fetch(`${c.base}/api/stream`, { headers: { cookie: c.cookie! }, signal: ac.signal });
  assert.equal(r.status, 200);
  const messages: FeedMessage[] = [];
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) messages.push({ event, data: JSON.parse(data) as FeedMessage['data'] });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { messages, close: () => ac.abort() };
}

type ApiAlert = { id: number; kind: string; ruleTitle: string; host: string | null; count: number; firstSeen: string; lastSeen: string; suppressed: number; storyId: string | null; status: string };
type ApiStory = { id: string; patientZero: string | null; score: number; level: string; title: string };

/** What the api node lists, in the reference's terms. */
async function apiSummary(c: Client): Promise<Summary & { alertIds: number[]; storyIds: string[] }> {
  const alerts: ApiAlert[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = (await c.get(`/api/alerts?limit=500&offset=${offset}`)).json as { items: ApiAlert[]; total: number };
    alerts.push(...page.items);
    if (alerts.length >= page.total || !page.items.length) break;
  }
  const stories = ((await c.get('/api/stories?limit=500')).json as { items: ApiStory[] }).items;
  const rows = [];
  for (const s of stories) {
    const d = (await c.get(`/api/stories/${encodeURIComponent(s.id)}`)).json as { story: unknown };
    rows.push({ id: s.id, patient_zero: s.patientZero, story: JSON.stringify(d.story), score: s.score, level: s.level, title: s.title });
  }
  const sum = summarise(
    alerts.map((a) => ({ kind: a.kind, rule_title: a.ruleTitle, host: a.host, count: a.count, first_seen: a.firstSeen, last_seen: a.lastSeen, suppressed: a.suppressed, story_id: a.storyId })),
    rows,
  );
  return { ...sum, alertIds: alerts.map((a) => a.id), storyIds: stories.map((s) => s.id) };
}

describe('cluster: the api role serves the API and console from PostgreSQL', { skip: missing, timeout: 600_000 }, () => {
  let nats: NatsCluster;
  let pgs: Postgres;
  let dir: string;
  let reference: Summary;
  let elasticPort: number;
  const apiPorts: number[] = [];
  const nodes = new Map<string, NodeProcess>();
  const clients: Client[] = [];
  const feeds: Awaited<ReturnType<typeof openFeed>>[] = [];
  const describeNodes = () => [...nodes.values()].map((n) => `--- ${n.name}\n${n.output().slice(-3000)}`).join('\n');

  before(async () => {
    reference = await referenceRun();
    nats = await startNatsCluster(3);
    pgs = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'fb-apinode-'));
    elasticPort = await freePort();
    apiPorts.push(await freePort(), await freePort());
    const o = { natsUrls: nats.urls, pgUrl: pgs.url, elasticPort, eventsDir: join(dir, 'events') };
    for (const [name, roles] of [
      ['correlate-1', ['correlate']],
      ['detect-1', ['detect']],
      ['ingest-1', ['ingest']],
    ] as const)
      nodes.set(name, await startNodeProcess(name, nodeConfig(dir, name, [...roles], o)));
    for (const [i, port] of apiPorts.entries()) {
      const name = `api-${i + 1}`;
      nodes.set(name, await startNodeProcess(name, nodeConfig(dir, name, ['api'], { ...o, extra: `api: { listen: 127.0.0.1:${port} }\n` })));
    }
    // Users are made the operator's way: `firebreak user add` with the cluster's configuration.
    const pw = join(dir, 'pw');
    writeFileSync(pw, PASSWORD);
    const bin = new URL('bin/firebreak.js', REPO).pathname;
    for (const [user, role] of [
      ['alice', 'analyst'],
      ['bob', 'analyst'],
    ] as const)
      execFileSync(process.execPath, [bin, 'user', 'add', user, '--role', role, '--password-file', pw, '--config', join(dir, 'api-1.yml')], { stdio: 'pipe' });
  });
  after(async () => {
    for (const f of feeds) f.close();
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await nats?.stop();
    await pgs?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in to both api nodes and opens their live feeds', async () => {
    for (const [i, port] of apiPorts.entries()) {
      const c = new Client(`http://127.0.0.1:${port}`);
      const r = await c.login(i === 0 ? 'alice' : 'bob');
      assert.equal(r.status, 200, `${nodes.get(`api-${i + 1}`)!.output()}\n${r.text}`);
      clients.push(c);
      feeds.push(await openFeed(c));
    }
    assert.equal((await clients[0]!.login('alice', 'wrong password here')).status, 401);
  });

  it("lists the embedded server's alerts and stories once the sample is through", async () => {
    const docs = sampleDocs();
    const sent = await sendSample(elasticPort, docs);
    assert.equal(sent.successful, docs.length);
    await clusterCaughtUp(nats.urls, pgs.url, describeNodes);
    for (const c of clients) {
      const got = await settled(() => apiSummary(c), `the alerts at ${c.base}`);
      assert.deepEqual(got.alerts, reference.alerts);
      sameStories(got, reference);
      assert.equal(got.linked, reference.linked);
      assert.equal(got.folded, reference.folded);
    }
  });

  it('announced every alert and story on the live feed as it was created', async () => {
    const listed = await apiSummary(clients[0]!);
    for (const f of feeds) {
      await until(() => listed.alertIds.every((id) => f.messages.some((m) => m.event === 'alert.created' && m.data.data.id === String(id))), 'every alert announced', 60_000);
      const created = f.messages.filter((m) => m.event === 'alert.created').map((m) => m.data.data.id);
      assert.equal(new Set(created).size, created.length, 'each alert announced as created once');
      assert.equal(created.length, listed.alertIds.length, 'no alert announced that is not listed');
      for (const id of listed.storyIds)
        assert.ok(
          f.messages.some((m) => m.event === 'story.created' && m.data.data.id === id),
          `story ${id} announced`,
        );
      const one = f.messages.find((m) => m.event === 'alert.created')!;
      assert.equal(typeof one.data.data.summary?.ruleTitle, 'string', 'with its summary');
    }
  });

  it("triage on one api node is in the audit trail and reaches the other's live feed", async () => {
    const [a, b] = clients as [Client, Client];
    const target = ((await a.get('/api/alerts?limit=1&sort=severity')).json as { items: ApiAlert[] }).items[0]!;
    const ack = await a.post(`/api/alerts/${target.id}/acknowledge`);
    assert.equal(ack.status, 200);
    assert.equal(ack.json.status, 'acknowledged');
    assert.equal((await a.post(`/api/alerts/${target.id}/assign`, { assignee: 'bob' })).json.assignee, 'bob');
    assert.equal((await a.post(`/api/alerts/${target.id}/comments`, { body: 'seen from api-1' })).status, 201);
    await until(() => feeds[1]!.messages.filter((m) => m.event === 'alert.updated' && m.data.data.id === String(target.id)).length >= 3, "the changes on api-2's feed", 30_000);
    const seen = (await b.get(`/api/alerts/${target.id}`)).json as { status: string; assignee: string; comments: { body: string; author: string }[]; audit: { action: string; actor: string }[] };
    assert.equal(seen.status, 'acknowledged');
    assert.equal(seen.assignee, 'bob');
    assert.deepEqual(
      seen.comments.map((x) => [x.author, x.body]),
      [['alice', 'seen from api-1']],
    );
    assert.deepEqual(
      seen.audit.map((x) => [x.actor, x.action]),
      [
        ['alice', 'alert.acknowledge'],
        ['alice', 'alert.assign'],
        ['alice', 'alert.comment'],
      ],
    );
    const trail = (await b.get('/api/audit?action=auth.')).json as { items: { actor: string; action: string }[] };
    assert.deepEqual(new Set(trail.items.map((x) => `${x.actor} ${x.action}`)), new Set(['alice auth.login', 'bob auth.login', 'alice auth.login-failed']));
    // The correlate node keeps an analyst's status when it writes the alert again.
    const after = (await a.get(`/api/alerts/${target.id}`)).json as { status: string };
    assert.equal(after.status, 'acknowledged');
  });

  it("searches the detect node's Parquet files, hosts and accounts pages work, a rule change reaches the other api node", async () => {
    const a = clients[0]!;
    const docs = sampleDocs();
    const r = await a.post('/api/events/sql', { sql: 'SELECT count(*) AS n FROM events' });
    assert.equal(r.status, 200, r.text);
    assert.equal(Number(r.json.rows[0][0]), docs.length);
    const hosts = (await a.get('/api/hosts')).json as { items: { name: string; alerts: number }[] };
    assert.ok(hosts.items.length > 0);
    const host = (await a.get(`/api/hosts/${encodeURIComponent(hosts.items[0]!.name)}`)).json as { alerts: { total: number } };
    assert.equal(host.alerts.total, hosts.items[0]!.alerts);
    // Rule changes are an admin's or analyst's on an api node and reach the other api node through PostgreSQL.
    const rule = ((await a.get('/api/rules?limit=1&enabled=true')).json as { items: { ref: string; enabled: boolean }[] }).items[0]!;
    const change = await a.req('PUT', `/api/rules/${rule.ref}/enabled`, { enabled: false });
    assert.equal(change.status, 200, change.text);
    await until(async () => ((await clients[1]!.get(`/api/rules/${rule.ref}`)).json as { enabled: boolean }).enabled === false, 'the change on the other api node', 30_000);
    assert.equal((await a.req('PUT', `/api/rules/${rule.ref}/enabled`, { enabled: true })).status, 200);
    assert.equal((await a.get('/api/health')).status, 200);
  });

  it('serves the built console', { skip: existsSync(new URL('dist/console/index.html', REPO)) ? false : 'the console is not built (npm run build)' }, async () => {
    const r = await fetch(`${clients[0]!.base}/alerts`, { headers: { accept: 'text/html' } });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<div id="app"|<script/);
    assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });
});
