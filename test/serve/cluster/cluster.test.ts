/**
 * `serve` scaled out, started the way an operator would (one `firebreak serve` process per node):
 * a 3-server JetStream cluster (replicas 3) on loopback, an ingest node, two detect nodes, a
 * correlate node and its standby, PostgreSQL 15. The sample intrusion sent through the bulk API
 * gives exactly the alerts and stories the embedded server gives.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { until } from '../ingest-helpers.js';
import { receiver, type Receiver } from '../notify-helpers.js';
import { sampleDocs } from '../sample.js';
import { clusterMissing, freePort, startNatsCluster, startNodeProcess, startPostgres, type NatsCluster, type NodeProcess, type Postgres } from './helpers.js';
import { sameStories, clusterCaughtUp, nodeConfig, pgSummary, referenceRun, sendSample, settled, type Summary } from './scenario.js';

const missing = clusterMissing();

describe("cluster: the sample intrusion gives the embedded server's alerts and stories", { skip: missing, timeout: 1_500_000 }, () => {
  let nats: NatsCluster;
  let pgs: Postgres;
  let dir: string;
  let reference: Summary;
  let port: number;
  let hook: Receiver;
  const nodes = new Map<string, NodeProcess>();

  before(async () => {
    reference = await referenceRun();
    nats = await startNatsCluster(3);
    pgs = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'fb-cluster-'));
    port = await freePort();
    hook = await receiver();
    // The correlate node sends the notifications (a webhook on loopback here).
    const o = { natsUrls: nats.urls, pgUrl: pgs.url, elasticPort: port, extra: `notifications:\n  channels:\n    - { name: soc, kind: webhook, url: "${hook.url}" }\n` };
    // The correlate node first, so it is the active one; its standby after it.
    for (const [name, roles] of [
      ['correlate-1', ['correlate']],
      ['correlate-2', ['correlate']],
      ['detect-1', ['detect']],
      ['detect-2', ['detect']],
      ['ingest-1', ['ingest']],
    ] as const) {
      nodes.set(name, await startNodeProcess(name, nodeConfig(dir, name, [...roles], o)));
    }
  });
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await hook?.close();
    await nats?.stop();
    await pgs?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every document of the sample is acknowledged', async () => {
    const docs = sampleDocs();
    const sent = await sendSample(port, docs);
    assert.equal(sent.successful, docs.length);
    assert.equal(sent.failed, 0);
  });

  it("the alerts and stories are the embedded server's", async () => {
    assert.ok(reference.stories.length > 0 && reference.alerts.length > 0, 'the reference has alerts and a story');
    await clusterCaughtUp(nats.urls, pgs.url, () => [...nodes.values()].map((n) => `--- ${n.name}\n${n.output().slice(-3000)}`).join('\n'));
    const got = await settled(() => pgSummary(pgs.url), 'the cluster');
    assert.deepEqual(got.alerts, reference.alerts);
    sameStories(got, reference);
    assert.equal(got.linked, reference.linked);
    assert.equal(got.folded, reference.folded);
  });

  it('one correlate node is active, the other stands by; every events message is applied once', async () => {
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    try {
      const row = (await c.query<{ node: string; next_seq: string }>("SELECT node, next_seq FROM correlator WHERE name = 'correlate'")).rows[0]!;
      assert.equal(row.node, 'correlate-1');
      const applied = (await c.query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT identity) AS d FROM applied')).rows[0]!;
      assert.ok(Number(applied.n) > 0);
      assert.equal(applied.n, applied.d);
    } finally {
      await c.end();
    }
    assert.ok(nodes.get('correlate-2')!.running(), 'the standby runs');
  });

  it('each story is announced once, by the active correlate node', async () => {
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    const ids = (await c.query<{ id: string }>('SELECT id FROM stories WHERE merged_into IS NULL')).rows.map((r) => r.id);
    await c.end();
    const created = () => hook.requests.map((r) => JSON.parse(r.body) as { kind: string; story: { id: string } }).filter((b) => b.kind === 'story-created');
    await until(() => ids.every((id) => created().some((b) => b.story.id === id)), 'every story announced', 60_000);
    const announced = created().map((b) => b.story.id);
    assert.equal(new Set(announced).size, announced.length, 'no story announced twice');
  });
});
