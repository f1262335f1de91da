import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { filterPath } from '../../src/serve/ingest/filter-path.js';
import { decodeElastic } from '../../src/serve/ingest/decode.js';
import { DEFAULT_TOKENS_YAML, have, makeCerts, startServer, TOKENS, walRecords, type TestServer } from './ingest-helpers.js';

describe('Elasticsearch facade', () => {
  let s: TestServer;
  let url: string;
  const auth = { authorization: `ApiKey ${Buffer.from(`beat:${TOKENS.elastic}`).toString('base64')}` };
  before(async () => {
    s = await startServer(`listeners:\n  elastic: { listen: 0, version: 8.19.3 }\n${DEFAULT_TOKENS_YAML}`);
    url = `http://127.0.0.1:${s.ingest.addresses.elastic!.port}`;
  });
  after(() => s.close());

  it('the official client: info, product check, and the bulk helper stores every document once', async () => {
    const client = new Client({ node: url, auth: { username: 'elastic', password: TOKENS.elastic } });
    const info = await client.info();
    assert.equal(info.version.number, '8.19.3');
    const docs = Array.from({ length: 2500 }, (_, i) => ({ '@timestamp': new Date(1_700_000_000_000 + i).toISOString(), event: { code: 4624 }, host: { name: `ws${i % 7}` }, seq: i }));
    const before = s.wal.nextOffset;
    const stats = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'logs-windows.security-default' } }), flushBytes: 64 * 1024, concurrency: 3 });
    assert.equal(stats.successful, 2500);
    assert.equal(stats.failed, 0);
    const recs = (await walRecords(s.wal)).filter((e) => e.offset >= before);
    assert.equal(recs.length, 2500);
    const seqs = recs.map((e) => decodeElastic(e.record).seq as number).sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      Array.from({ length: 2500 }, (_, i) => i),
      'each document exactly once',
    );
    const r = recs[0]!.record;
    assert.equal(r.source, 'es-src');
    assert.equal(r.protocol, 'elastic');
    assert.equal(r.kind, 'json');
    assert.equal(r.meta?.index, 'logs-windows.security-default');
    assert.equal(r.meta?.op, 'create');
    await client.close();
  });

  it('start-up calls answer like Elasticsearch, with the product header', async () => {
    const get = async (method: string, path: string, body?: string) => {
      const r = await fetch(url + path, { method, headers: { ...auth, 'content-type': 'application/json' }, ...(body ? { body } : {}) });
      return { status: r.status, product: r.headers.get('x-elastic-product'), text: await r.text() };
    };
    const root = await get('GET', '/');
    assert.equal(root.product, 'Elasticsearch');
    assert.equal(JSON.parse(root.text).version.number, '8.19.3');
    assert.equal(JSON.parse((await get('GET', '/_license?human=false')).text).license.status, 'active');
    for (const [m, p] of [
      ['HEAD', '/_cat/health'],
      ['GET', '/_nodes/_local/ingest'],
      ['HEAD', '/_index_template/winlogbeat-8.19.3'],
      ['PUT', '/_index_template/winlogbeat-8.19.3'],
      ['GET', '/_ilm/policy/winlogbeat'],
      ['PUT', '/_ilm/policy/winlogbeat'],
      ['PUT', '/_ingest/pipeline/filebeat-8.19.3-system-auth'],
      ['PUT', '/_data_stream/logs-x-default'],
      ['GET', '/_cluster/health'],
      ['GET', '/_xpack'],
    ] as const) {
      const r = await get(m, p, m === 'PUT' ? '{"x":1}' : undefined);
      assert.equal(r.status, 200, `${m} ${p}`);
      assert.equal(r.product, 'Elasticsearch', `${m} ${p}`);
    }
  });

  it('bulk: per-item statuses in order, blank lines, gzip, filter_path, update/delete refused per item', async () => {
    const body = [
      '{"index":{"_index":"a"}}',
      '{"n":1}',
      '',
      '{"create":{"_index":"b","_id":"x1"}}',
      '{"n":2,',
      '{"delete":{"_index":"a","_id":"q"}}',
      '{"update":{"_index":"a","_id":"q"}}',
      '{"doc":{}}',
      '{"create":{}}',
      '["not an object"]',
      '{"create":{}}',
      '{"n":3}',
      '',
    ].join('\n');
    const r = await fetch(`${url}/dflt/_bulk`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, body: gzipSync(body) });
    assert.equal(r.status, 200);
    const j = JSON.parse(await r.text());
    assert.equal(j.errors, true);
    assert.deepEqual(
      (j.items as Record<string, { status: number }>[]).map((i) => [Object.keys(i)[0], Object.values(i)[0]!.status]),
      [
        ['index', 201],
        ['create', 400],
        ['delete', 400],
        ['update', 400],
        ['create', 400],
        ['create', 201],
      ],
    );
    assert.match(j.items[1].create.error.reason, /failed to parse the document on line 5/);
    assert.equal(j.items[5].create._index, 'dflt');
    const f = await fetch(`${url}/_bulk?filter_path=errors,items.*.error,items.*.status`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/x-ndjson' },
      body: '{"index":{"_index":"a"}}\n{"n":4}\n',
    });
    assert.deepEqual(JSON.parse(await f.text()), { errors: false, items: [{ index: { status: 201 } }] });
  });

  it('a malformed action line fails the request (as Elasticsearch does) and stores nothing', async () => {
    const before = s.wal.nextOffset;
    const r = await fetch(`${url}/_bulk`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body: '{"index":{"_index":"a"}}\n{"n":1}\n{"frobnicate":{}}\n{}\n' });
    assert.equal(r.status, 400);
    const j = JSON.parse(await r.text());
    assert.equal(j.error.type, 'illegal_argument_exception');
    assert.match(j.error.reason, /Malformed action\/metadata line \[3\]/);
    assert.equal(s.wal.nextOffset, before);
  });

  it('refuses missing and wrong credentials with 401 and a security_exception', async () => {
    const none = await fetch(`${url}/_bulk`, { method: 'POST', body: '{"index":{}}\n{}\n' });
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(await none.text()).error.type, 'security_exception');
    const wrong = await fetch(`${url}/`, { headers: { authorization: `Basic ${Buffer.from('elastic:nope-nope-nope-nope').toString('base64')}` } });
    assert.equal(wrong.status, 401);
    const bearer = await fetch(`${url}/`, { headers: { authorization: `Bearer ${TOKENS.elastic}` } });
    assert.equal(bearer.status, 200);
    const otherProtocol = await fetch(`${url}/`, { headers: { authorization: `Bearer ${TOKENS.hec}` } });
    assert.equal(otherProtocol.status, 401, 'a HEC token is not good for the Elasticsearch listener');
  });
});

describe('filter_path', () => {
  const body = { took: 3, errors: true, items: [{ create: { _index: 'a', status: 201 } }, { index: { _index: 'b', status: 400, error: { type: 't', reason: 'r' } } }] };
  it('includes with * and **, arrays transparent, empty objects dropped', () => {
    assert.deepEqual(filterPath(body, 'errors,items.*.error'), { errors: true, items: [{ index: { error: { type: 't', reason: 'r' } } }] });
    assert.deepEqual(filterPath(body, 'items.**.status'), { items: [{ create: { status: 201 } }, { index: { status: 400 } }] });
    assert.deepEqual(filterPath(body, 'took'), { took: 3 });
    assert.deepEqual(filterPath(body, 'nothing'), {});
  });
  it('exclusions', () => {
    assert.deepEqual(filterPath(body, '-items'), { took: 3, errors: true });
    assert.deepEqual(filterPath({ a: { b: 1, c: 2 } }, '-a.b'), { a: { c: 2 } });
  });
});

describe('HTTP listeners over TLS, and graceful shutdown', { skip: !have('openssl') && 'openssl is not installed (needed to make test certificates)' }, () => {
  it('the Elasticsearch listener serves HTTPS from certificate files', async () => {
    const certs = makeCerts(mkdtempSync(join(tmpdir(), 'fb-https-')), []);
    const s = await startServer(`listeners:\n  elastic: { listen: 0, tls: { cert: ${certs.cert}, key: ${certs.key} } }\n${DEFAULT_TOKENS_YAML}`);
    try {
      const client = new Client({
        node: `https://localhost:${s.ingest.addresses.elastic!.port}`,
        auth: { apiKey: Buffer.from(`id:${TOKENS.elastic}`).toString('base64') },
        tls: { ca: readFileSync(certs.ca) },
      });
      const r = await client.bulk({ operations: [{ create: { _index: 'x' } }, { over: 'tls' }] });
      assert.equal(r.errors, false);
      assert.equal((await walRecords(s.wal)).length, 1);
      await client.close();
    } finally {
      await s.close();
    }
  });

  it('close() finishes requests in flight: what was acknowledged is in the log after shutdown', async () => {
    const s = await startServer(`listeners:\n  elastic: { listen: 0 }\n${DEFAULT_TOKENS_YAML}`);
    const url = `http://127.0.0.1:${s.ingest.addresses.elastic!.port}/_bulk`;
    const body = Array.from({ length: 200 }, (_, i) => `{"create":{"_index":"x"}}\n{"n":${i}}\n`).join('');
    const inflight = Array.from({ length: 10 }, () =>
      fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.elastic}`, 'content-type': 'application/x-ndjson' }, body }).then(
        async (r) => (r.status === 200 ? (JSON.parse(await r.text()) as { items: unknown[] }).items.length : 0),
        () => 0,
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    await s.ingest.close();
    const acked = (await Promise.all(inflight)).reduce((a, b) => a + b, 0);
    assert.equal((await walRecords(s.wal)).length, acked);
    await s.wal.close();
  });
});
