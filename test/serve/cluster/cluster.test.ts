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
import { listHours, ParquetEventStore } from '../../../src/serve/store/parquet.js';
import { until } from '../ingest-helpers.js';
import { receiver, type Receiver } from '../notify-helpers.js';
import { sampleDocs } from '../sample.js';
import { clusterMissing, freePort, startNatsCluster, startNodeProcess, startPostgres, type NatsCluster, type NodeProcess, type Postgres } from './helpers.js';
import { sameStories, clusterCaughtUp, nodeConfig, pgSummary, referenceRun, sendSample, settled, type Summary } from './scenario.js';

const missing = clusterMissing();

describe("cluster: the sample intrusion gives the embedded server's alerts and stories", { skip: missing, timeout: 600_000 }, () => {
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
    // The detect nodes store events as Parquet by hour, in one directory (as on a shared file system).
    const o = {
      natsUrls: nats.urls,
      pgUrl: pgs.url,
      elasticPort: port,
      eventsDir: join(dir, 'events'),
      extra: `notifications:\n  channels:\n    - { name: soc, kind: webhook, url: "${hook.url}" }\n`,
    };
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

  it('every acknowledged event is stored once in the Parquet files by hour, and search reads them', async () => {
    // The events were written before their messages were acknowledged, and the stream is empty (caught up above).
    const store = await ParquetEventStore.open({ dir: join(dir, 'events'), tempDir: join(dir, 'search-tmp'), memoryBytes: 256 * 1024 * 1024, threads: 1 });
    try {
      const docs = sampleDocs();
      const r = await store.sql('SELECT count(*), count(DISTINCT "offset"), count(DISTINCT computer) FROM events');
      assert.deepEqual(r.rows[0]!.map(Number), [docs.length, docs.length, new Set(docs.map((d) => (d.host as { name?: string } | undefined)?.name)).size]);
      const hours = listHours(join(dir, 'events'));
      assert.ok(hours.length >= 1);
      // The files are per hour of filing time (the sample's own times are more than two years old,
      // so its events are filed by arrival): each hour's search, which reads only that hour's
      // files, finds the events filed in it, and together they are all.
      let found = 0;
      for (const h of hours) {
        const from = h.hour * 3_600_000;
        const f = await store.filter({ filter: '', from: new Date(from).toISOString(), to: new Date(from + 3_600_000).toISOString(), limit: 100_000 });
        found += f.rows.length;
      }
      assert.equal(found, docs.length);
    } finally {
      await store.close();
    }
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
