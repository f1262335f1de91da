/**
 * Faults while the sample intrusion flows through a cluster of `firebreak serve` processes
 * (3 JetStream servers with replicas 3, an ingest node, two detect nodes, a correlate node and its
 * standby, PostgreSQL): the JetStream stream leader killed, a detect node killed, the correlate
 * node killed (its standby takes over), PostgreSQL restarted. After each: every acknowledged
 * document was matched exactly once, and the alerts and stories are the embedded server's — none
 * lost, none twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { readResultPart } from '../../../src/serve/cluster/messages.js';
import { until } from '../ingest-helpers.js';
import { sampleDocs } from '../sample.js';
import { clusterMissing, freePort, startNatsCluster, startNodeProcess, startPostgres, type NatsCluster, type NodeProcess, type Postgres } from './helpers.js';
import { sameStories, clusterCaughtUp, nodeConfig, pgSummary, referenceRun, sendSample, settled, type Summary } from './scenario.js';

const missing = clusterMissing();

interface Run {
  prefix: string;
  pgUrl: string;
  nodes: Map<string, NodeProcess>;
  nc: NatsConnection;
}

describe('cluster: faults while events flow', { skip: missing, timeout: 1_200_000 }, () => {
  let nats: NatsCluster;
  let pgs: Postgres;
  let reference: Summary;
  let nc: NatsConnection;
  let runs = 0;
  const docs = sampleDocs();

  before(async () => {
    reference = await referenceRun();
    nats = await startNatsCluster(3);
    pgs = await startPostgres();
    nc = await connect({ servers: nats.urls, maxReconnectAttempts: -1 });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
    await pgs?.destroy();
  });

  /** A fresh cluster (its own streams and database), the sample sent with `fault` injected once a third is acknowledged. */
  async function withFault(fault: (r: Run) => Promise<void>): Promise<Run & { summary: Summary }> {
    const n = ++runs;
    const prefix = `F${n}`;
    const admin = new pg.Client({ connectionString: pgs.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE fault${n}`);
    await admin.end();
    const pgUrl = pgs.url.replace(/\/firebreak$/, `/fault${n}`);
    const dir = mkdtempSync(join(tmpdir(), 'fb-fault-'));
    const port = await freePort();
    const nodes = new Map<string, NodeProcess>();
    const run: Run = { prefix, pgUrl, nodes, nc };
    const o = { natsUrls: nats.urls, pgUrl, elasticPort: port, prefix };
    const output = () => [...nodes.values()].map((x) => `--- ${x.name}\n${x.output().slice(-4000)}`).join('\n');
    try {
      for (const [name, roles] of [
        ['correlate-1', ['correlate']],
        ['correlate-2', ['correlate']],
        ['detect-1', ['detect']],
        ['detect-2', ['detect']],
        ['ingest-1', ['ingest']],
      ] as const) {
        nodes.set(name, await startNodeProcess(name, nodeConfig(dir, name, [...roles], o)));
      }
      const third = Math.floor(docs.length / 3);
      const first = await sendSample(port, docs.slice(0, third));
      const [rest] = await Promise.all([sendSample(port, docs.slice(third)), fault(run)]);
      assert.equal(first.successful + rest.successful, docs.length, 'every document acknowledged in the end');
      await clusterCaughtUp(nats.urls, pgUrl, output, 240_000, prefix);
      const summary = await settled(() => pgSummary(pgUrl), 'the cluster');
      await exactlyOnce(prefix);
      return { ...run, summary };
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${output()}`, { cause: e });
    } finally {
      await Promise.all([...nodes.values()].map((x) => x.kill()));
      const jsm = await nc.jetstreamManager();
      for (const s of ['EVENTS', 'DETECTIONS', 'LEASES']) await jsm.streams.delete(s === 'LEASES' ? `KV_${prefix}_LEASES` : `${prefix}_${s}`).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Every events message has one result, and together they matched every document once. */
  async function exactlyOnce(prefix: string): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const events = (await jsm.streams.info(`${prefix}_EVENTS`)).state;
    const st = (await jsm.streams.info(`${prefix}_DETECTIONS`)).state;
    const records = new Map<number, number>();
    for (let seq = st.first_seq; seq <= st.last_seq; seq++) {
      const m = await jsm.streams.getMessage(`${prefix}_DETECTIONS`, { seq }).catch(() => null);
      if (!m) continue;
      const p = readResultPart(m.data);
      assert.ok(!('error' in p), 'a readable result');
      if (p.part === 0) records.set(p.seq, p.records);
    }
    assert.equal(records.size, events.last_seq, 'a result for every events message');
    assert.equal(
      [...records.values()].reduce((a, b) => a + b, 0),
      docs.length,
      'every acknowledged document matched once: none lost, none twice',
    );
  }

  const sameAsReference = (s: Summary) => {
    assert.deepEqual(s.alerts, reference.alerts, 'the same alerts');
    sameStories(s, reference, 'the same stories');
    assert.equal(s.linked, reference.linked);
    assert.equal(s.folded, reference.folded);
  };

  const progress = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect().catch(() => undefined);
    try {
      return (await c.query<{ node: string; next_seq: string }>("SELECT node, next_seq FROM correlator WHERE name = 'correlate'")).rows[0];
    } catch {
      return undefined;
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  it('the JetStream stream leader is killed (and comes back)', { timeout: 300_000 }, async () => {
    let killed = '';
    const r = await withFault(async ({ prefix }) => {
      const jsm = await nc.jetstreamManager();
      const leader = (await jsm.streams.info(`${prefix}_EVENTS`)).cluster?.leader;
      const server = nats.servers.find((s) => s.name === leader);
      assert.ok(server, `the events stream has a leader (${leader})`);
      killed = server.name;
      await server.kill();
      await new Promise((res) => setTimeout(res, 5000));
      await server.start();
    });
    assert.ok(killed);
    sameAsReference(r.summary);
  });

  it('a detect node is killed', { timeout: 300_000 }, async () => {
    const r = await withFault(async ({ prefix, nodes }) => {
      const jsm = await nc.jetstreamManager();
      // While it has events messages in hand.
      await until(async () => (await jsm.consumers.info(`${prefix}_EVENTS`, 'detect')).num_ack_pending > 0, 'events in the detect nodes’ hands', 120_000);
      await nodes.get('detect-1')!.kill();
    });
    assert.ok(!r.nodes.get('detect-1')!.running());
    sameAsReference(r.summary);
  });

  it('the correlate node is killed: the standby takes over', { timeout: 300_000 }, async () => {
    let victim = '';
    const r = await withFault(async ({ pgUrl, nodes }) => {
      // Once it has applied and committed some results.
      await until(async () => Number((await progress(pgUrl))?.next_seq ?? 0) > 3, 'the correlate node to commit progress', 180_000);
      victim = (await progress(pgUrl))!.node;
      await nodes.get(victim)!.kill();
    });
    const now = await progress(r.pgUrl);
    assert.ok(victim && now && now.node !== victim, `the standby (${now?.node}) took over from ${victim}`);
    sameAsReference(r.summary);
  });

  it('PostgreSQL is restarted', { timeout: 300_000 }, async () => {
    const r = await withFault(async ({ pgUrl }) => {
      await until(async () => Number((await progress(pgUrl))?.next_seq ?? 0) > 3, 'the correlate node to commit progress', 180_000);
      await pgs.stop();
      await new Promise((res) => setTimeout(res, 3000));
      await pgs.start();
    });
    sameAsReference(r.summary);
  });
});
