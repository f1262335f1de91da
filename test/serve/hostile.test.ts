/**
 * Hostile input and back-pressure: each bad request gets a clear error, the server stays up and
 * other clients are unaffected; with a stalled consumer ingest refuses (429 / stops reading TCP),
 * keeps nothing it did not acknowledge, and resumes when the consumer catches up.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKENS_YAML, startServer, TOKENS, until, walRecords, type TestServer } from './ingest-helpers.js';

const auth = { authorization: `Bearer ${TOKENS.elastic}` };

/** Streams `total` bytes of `fill` (in 1 MiB pieces) after `head`, without holding them. */
function postStream(port: number, path: string, headers: Record<string, string>, head: string, total: number, fill: number, tail: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-type': 'application/x-ndjson' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.write(head);
    const piece = Buffer.alloc(1024 * 1024, fill);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(piece.length, total - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

describe('hostile input', { timeout: 120_000 }, () => {
  let s: TestServer;
  let url: string;
  let port: number;
  before(async () => {
    s = await startServer(
      `listeners:\n  elastic: { listen: 0 }\n  hec: { listen: 0 }\nlimits: { headersTimeoutMs: 1000, requestTimeoutMs: 30000, decompressedMaxBytes: 20000000, bodyMaxBytes: 150000000 }\n${DEFAULT_TOKENS_YAML}`,
    );
    port = s.ingest.addresses.elastic!.port;
    url = `http://127.0.0.1:${port}`;
  });
  after(() => s.close());
  const bulk = (body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(`${url}/_bulk`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson', ...headers }, body });
  const stillUp = async () => {
    const r = await bulk('{"index":{"_index":"ok"}}\n{"alive":true}\n');
    assert.equal(r.status, 200, 'a well-behaved client is still served');
  };

  it('truncated gzip: 400 naming the problem, nothing stored', async () => {
    const n = s.wal.nextOffset;
    const gz = gzipSync('{"index":{"_index":"a"}}\n{"n":1}\n'.repeat(1000));
    const r = await bulk(gz.subarray(0, gz.length - 20), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(await r.text()).error.reason, /gzip body is corrupt or truncated/);
    assert.equal(s.wal.nextOffset, n);
    await stillUp();
  });

  it('a gzip bomb stops at the decompressed limit with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(300 * 1024 * 1024, 0x20), { level: 9 });
    assert.ok(bomb.length < 1024 * 1024);
    const before = process.memoryUsage().rss;
    const r = await bulk(bomb, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);
    assert.match(JSON.parse(await r.text()).error.reason, /decompresses to more than the 19 MiB limit/);
    assert.ok(process.memoryUsage().rss - before < 150 * 1024 * 1024, 'the bomb was not held in memory');
    await stillUp();
  });

  it('a 100 MB line is skipped with an item error; its neighbours are stored', async () => {
    const n = s.wal.nextOffset;
    const r = await postStream(
      port,
      '/_bulk',
      auth,
      '{"index":{"_index":"a"}}\n{"before":1}\n{"index":{"_index":"a"}}\n{"big":"',
      100 * 1024 * 1024,
      0x41,
      '"}\n{"index":{"_index":"a"}}\n{"after":1}\n',
    );
    assert.equal(r.status, 200, r.body.slice(0, 500));
    const j = JSON.parse(r.body);
    assert.deepEqual(
      (j.items as { index: { status: number } }[]).map((i) => i.index.status),
      [201, 400, 201],
    );
    assert.match(j.items[1].index.error.reason, /is 104857610 bytes; the limit is 1048576 bytes/);
    assert.equal(s.wal.nextOffset, n + 2);
    await stillUp();
  });

  it('a body over the wire limit gets 413 from Content-Length alone', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/_bulk', method: 'POST', headers: { ...auth, 'content-length': String(500 * 1024 * 1024) } }, (res) => resolve(res.statusCode!));
      req.on('error', reject);
      req.write('{"index":{}}\n');
    });
    assert.equal(r, 413);
    await stillUp();
  });

  it('invalid UTF-8 and malformed NDJSON documents are refused item by item', async () => {
    const body = Buffer.concat([
      Buffer.from('{"index":{"_index":"a"}}\n{"s":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}\n{"index":{"_index":"a"}}\n{"s":"fine é"}\n{"index":{"_index":"a"}}\n{"s":}\n'),
    ]);
    const j = JSON.parse(await (await bulk(body)).text());
    assert.deepEqual(
      (j.items as { index: { status: number } }[]).map((i) => i.index.status),
      [400, 201, 400],
    );
    assert.match(j.items[0].index.error.reason, /not valid UTF-8 \(at byte 6\)/);
    assert.match(j.items[2].index.error.reason, /failed to parse/);
  });

  it('slow-loris: a client trickling headers is cut off; others are served meanwhile', async () => {
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise<string>((r) => {
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString()));
      sock.once('close', () => r(got));
    });
    sock.write('POST /_bulk HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => sock.write('X-a: b\r\n'), 200);
    await stillUp();
    const answer = await closed;
    clearInterval(timer);
    assert.match(answer, /^HTTP\/1\.1 408/, 'the slow client gets 408 Request Timeout, then the connection closes');
    await stillUp();
  });

  it('bad tokens are refused on every HTTP protocol', async () => {
    const hec = `http://127.0.0.1:${s.ingest.addresses.hec!.port}`;
    assert.equal((await fetch(`${url}/_bulk`, { method: 'POST', headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' }, body: '{}' })).status, 401);
    assert.equal((await fetch(`${hec}/services/collector`, { method: 'POST', headers: { authorization: `Splunk ${TOKENS.elastic}` }, body: '{"event":1}' })).status, 403);
    await stillUp();
  });
});

describe('back-pressure with a stalled consumer', { timeout: 120_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(`listeners:
  elastic: { listen: 0 }
  syslog:
    tcp: { listen: 0, source: net, allow: [127.0.0.1/32] }
backpressure: { highWaterBytes: 200000, lowWaterBytes: 50000, retryAfterSeconds: 2 }
${DEFAULT_TOKENS_YAML}`);
  });
  after(() => s.close());

  it('answers 429 with Retry-After, stops reading TCP, loses nothing acknowledged, resumes after commits', async () => {
    const url = `http://127.0.0.1:${s.ingest.addresses.elastic!.port}/_bulk`;
    const acked: number[] = [];
    let refused = 0;
    let retryAfter: string | null = null;
    for (let b = 0; b < 100 && refused === 0; b++) {
      const body = Array.from({ length: 50 }, (_, i) => `{"create":{"_index":"x"}}\n{"seq":${b * 50 + i},"pad":"${'p'.repeat(100)}"}\n`).join('');
      const r = await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body });
      if (r.status === 429) {
        refused++;
        retryAfter = r.headers.get('retry-after');
        assert.equal(JSON.parse(await r.text()).error.type, 'es_rejected_execution_exception');
      } else {
        assert.equal(r.status, 200);
        const j = JSON.parse(await r.text());
        (j.items as { create: { status: number } }[]).forEach((it, i) => it.create.status === 201 && acked.push(b * 50 + i));
      }
    }
    assert.equal(refused, 1, 'ingest refused once the lag passed the high-water mark');
    assert.equal(retryAfter, '2');
    assert.ok(s.ingest.gate.closed);
    // Syslog over TCP while closed: the connection is not read, nothing is stored yet.
    const before = s.wal.nextOffset;
    const sock = connect(s.ingest.addresses.syslogTcp!.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(Array.from({ length: 100 }, (_, i) => `<13>Jan  1 00:00:00 h t: held ${i}\n`).join(''));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.wal.nextOffset, before, 'nothing read from TCP while the gate is closed');
    // The consumer catches up: every acknowledged document is in the log, once, in order.
    const reader = s.wal.reader();
    const seen: number[] = [];
    while (s.wal.committed < before) {
      const batch = await reader.read(100);
      for (const e of batch) seen.push(JSON.parse(e.record.body).seq);
      await s.wal.commit(batch[batch.length - 1]!.offset + 1);
    }
    assert.deepEqual(seen, acked);
    assert.ok(!s.ingest.gate.closed, 'below the low-water mark the gate opens');
    await until(async () => s.wal.nextOffset === before + 100, 'the held syslog messages to be read once the gate opened');
    sock.end();
    const held = (await walRecords(s.wal)).filter((e) => e.offset >= before).map((e) => e.record.body);
    assert.equal(held[99], '<13>Jan  1 00:00:00 h t: held 99');
    const again = await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body: '{"create":{"_index":"x"}}\n{"after":1}\n' });
    assert.equal(again.status, 200, 'ingest resumed');
    await reader.close();
  });
});
