/**
 * Ingest and detect nodes over a 3-server JetStream cluster (replicas 3) on loopback: the bulk
 * API answers only once JetStream stored the documents (by host partition); two detect nodes
 * share the durable consumer and publish one result per events message, which together hold every
 * detection once; a stream at its limits makes the bulk API answer 429 for what it did not store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import type { NatsConnection } from 'nats';
import { ruleKey } from '../../../src/detections/convert.js';
import { planFor } from '../../../src/serve/server.js';
import type { NatsConfig } from '../../../src/serve/cluster/config.js';
import { DetectNode } from '../../../src/serve/cluster/detect.js';
import { JetStreamSink } from '../../../src/serve/cluster/ingest.js';
import { messageOf, readEventsMessage, readResultPart, recordNumber, type ResultPart } from '../../../src/serve/cluster/messages.js';
import { connectNats, ensureStreams, streamNames } from '../../../src/serve/cluster/nats.js';
import { recordHost } from '../../../src/serve/cluster/partition.js';
import { parseServeConfig, type ServeConfig } from '../../../src/serve/config.js';
import { DetectPool } from '../../../src/serve/detect-pool.js';
import { startIngest, type IngestHandle } from '../../../src/serve/ingest/server.js';
import type { IngestRecord } from '../../../src/serve/record.js';
import { TOKENS, until } from '../ingest-helpers.js';
import { sampleDocs } from '../sample.js';
import { clusterMissing, startNatsCluster, type NatsCluster } from './helpers.js';

const missing = clusterMissing();

function natsConfig(urls: string[], extra: Partial<NatsConfig> = {}): NatsConfig {
  return {
    servers: urls,
    prefix: 'T',
    replicas: 3,
    partitions: 8,
    events: { maxBytes: 256 * 1024 ** 2, maxMessages: 1_000_000 },
    detections: { maxBytes: 256 * 1024 ** 2 },
    ackWaitMs: 10_000,
    leaseMs: 5_000,
    ...extra,
  };
}

/** Every message of a stream, in order, read by sequence (nothing acknowledged or removed; works on a work queue). */
async function readAll(nc: NatsConnection, stream: string): Promise<{ seq: number; subject: string; data: Uint8Array }[]> {
  const jsm = await nc.jetstreamManager();
  const st = (await jsm.streams.info(stream)).state;
  const out: { seq: number; subject: string; data: Uint8Array }[] = [];
  for (let seq = st.first_seq; st.messages && seq <= st.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push({ seq: m.seq, subject: m.subject, data: m.data });
  }
  return out;
}

describe('cluster: ingest and detect nodes over JetStream', { skip: missing, timeout: 600_000 }, () => {
  let nats: NatsCluster;
  let nc: NatsConnection;
  let dir: string;
  let config: ServeConfig;
  let sink: JetStreamSink;
  let ingest: IngestHandle;
  const docs = sampleDocs();
  const nodes: DetectNode[] = [];

  before(async () => {
    nats = await startNatsCluster(3);
    dir = mkdtempSync(join(tmpdir(), 'fb-cdet-'));
    config = parseServeConfig(`listeners:\n  elastic: { listen: 127.0.0.1:0 }\ntokens:\n  - { source: winlogbeat, secret: ${TOKENS.elastic}, protocols: [elastic] }\n`, join(dir, 'serve.yml'));
    const cfg = natsConfig(nats.urls);
    nc = await connectNats(cfg, 'test');
    await ensureStreams(nc, cfg);
    sink = await JetStreamSink.open(nc, cfg, 'ingest-1', config.limits.recordMaxBytes);
    ingest = await startIngest(config, sink, { log: () => undefined });
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await ingest?.close();
    sink?.close();
    await nc?.close();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the bulk API answers once JetStream stored the documents, one host to a partition', async () => {
    const client = new Client({ node: `http://127.0.0.1:${ingest.addresses.elastic!.port}`, auth: { username: 'elastic', password: TOKENS.elastic } });
    const stats = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'winlogbeat-8' } }), flushBytes: 64 * 1024, concurrency: 2 });
    await client.close();
    assert.equal(stats.successful, docs.length);
    assert.equal(stats.failed, 0);
    // Acknowledged means stored: every record is in the stream now, before any detect node runs.
    const msgs = await readAll(nc, streamNames({ prefix: 'T' }).events);
    let records = 0;
    const partitionOfHost = new Map<string, string>();
    for (const m of msgs) {
      const read = readEventsMessage(m.data);
      assert.ok(!('error' in read), 'a readable events message');
      records += read.records.length;
      for (const r of read.records) {
        assert.ok(typeof r !== 'string');
        const host = recordHost(r)!;
        assert.ok(host, 'every sample record names its host');
        const prev = partitionOfHost.get(host);
        assert.ok(prev === undefined || prev === m.subject, `${host} always in one partition`);
        partitionOfHost.set(host, m.subject);
      }
    }
    assert.equal(records, docs.length);
    assert.equal(partitionOfHost.size, 14, 'the 14 hosts of the sample');
  });

  it('two detect nodes share the work: one result per events message, every detection once', async () => {
    const names = streamNames({ prefix: 'T' });
    const jsm = await nc.jetstreamManager();
    const before = await readAll(nc, names.events);
    const plan = planFor(config);
    for (const name of ['detect-1', 'detect-2']) {
      const node = new DetectNode({ nc, cfg: natsConfig(nats.urls), node: name, plan, threads: 1, log: () => undefined });
      nodes.push(node);
      node.start();
    }
    await until(async () => (await jsm.streams.info(names.events)).state.messages === 0, 'the events stream drained (work queue)', 300_000);
    const parts = (await readAll(nc, names.detections)).map((m) => readResultPart(m.data));
    const bySeq = new Map<number, ResultPart[]>();
    for (const p of parts) {
      assert.ok(!('error' in p), 'a readable result');
      bySeq.set(p.seq, [...(bySeq.get(p.seq) ?? []), p]);
    }
    assert.deepEqual(
      [...bySeq.keys()].sort((a, b) => a - b),
      before.map((m) => m.seq),
      'a result for every events message',
    );
    for (const [seq, ps] of bySeq) assert.equal(ps.length, ps[0]!.parts, `result ${seq} complete, no part twice`);
    const got = parts.flatMap((p) => ('error' in p ? [] : p.detections.map((d) => `${ruleKey(d.rule)}|${d.sourceFile}`))).sort();
    assert.equal(new Set(got).size, got.length, 'no detection twice');
    assert.equal(
      parts.reduce((n, p) => n + ('error' in p ? 0 : p.records), 0),
      docs.length,
    );
    // The same records matched by one pool in this process: the same detections.
    const pool = new DetectPool(plan, { threads: 1, storeEvents: false });
    const entries: { offset: number; record: IngestRecord }[] = [];
    for (const m of before) {
      const read = readEventsMessage(m.data);
      if ('error' in read) continue;
      read.records.forEach((r, i) => typeof r !== 'string' && entries.push({ offset: recordNumber(m.seq, i), record: r }));
    }
    const want = (await pool.submitStateless(entries)).detections.map((d) => `${ruleKey(d.rule)}|${d.sourceFile}`).sort();
    await pool.close();
    assert.ok(want.length > 0);
    assert.deepEqual(got, want);
    assert.ok(
      got.every((g) => messageOf(Number(g.slice(g.lastIndexOf('#') + 1))) >= 1),
      'detections name their record by message sequence',
    );
    // A message may be handed out twice (a node slow past ackWait); its result is stored once.
    const done = nodes.reduce((n, x) => n + x.stats.messages, 0);
    assert.ok(done >= before.length);
  });

  it('a stream at its limits: ingest answers 429 for what it did not store, and stores the rest', async () => {
    const cfg = natsConfig(nats.urls, { prefix: 'BP', events: { maxBytes: 256 * 1024 ** 2, maxMessages: 20 } });
    await ensureStreams(nc, cfg);
    const bp = await JetStreamSink.open(nc, cfg, 'ingest-bp', config.limits.recordMaxBytes);
    const server = await startIngest(config, bp, { log: () => undefined });
    try {
      const url = `http://127.0.0.1:${server.addresses.elastic!.port}/_bulk`;
      const auth = `Basic ${Buffer.from(`elastic:${TOKENS.elastic}`).toString('base64')}`;
      let ok = 0;
      let busy = 0;
      // One document per host: each its own message, so the limit falls inside a request.
      for (let req = 0; req < 4; req++) {
        const body = Array.from({ length: 10 }, (_, i) => `{"create":{"_index":"x"}}\n${JSON.stringify({ host: { name: `bp-${req}-${i}` }, message: 'x' })}\n`).join('');
        const r = await fetch(url, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-ndjson' }, body });
        if (r.status === 429) {
          busy += 10;
          continue;
        }
        assert.equal(r.status, 200);
        const j = (await r.json()) as { items: { create: { status: number; error?: { type: string } } }[] };
        for (const it of j.items) {
          if (it.create.status === 201) ok++;
          else {
            assert.equal(it.create.status, 429);
            assert.equal(it.create.error?.type, 'es_rejected_execution_exception');
            busy++;
          }
        }
      }
      assert.ok(busy > 0, 'some documents refused');
      assert.ok(ok > 0, 'some documents stored');
      const stored = (await readAll(nc, streamNames(cfg).events)).reduce((n, m) => {
        const read = readEventsMessage(m.data);
        return n + ('error' in read ? 0 : read.records.length);
      }, 0);
      assert.equal(stored, ok, 'exactly what was acknowledged is stored');
      assert.ok(bp.counters.refusedFull > 0);
    } finally {
      await server.close();
      bp.close();
    }
  });
});
