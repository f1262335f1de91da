import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { decodeHec, decodeOtlp } from '../../src/serve/ingest/decode.js';
import { DEFAULT_TOKENS_YAML, startServer, TOKENS, until, walRecords, type TestServer } from './ingest-helpers.js';

interface SplunkLogger {
  send(p: { message: unknown; metadata?: Record<string, string> }, cb?: (err: Error | null, resp: unknown, body: unknown) => void): void;
  flush(cb?: (err: Error | null, resp: unknown, body: unknown) => void): void;
  error: (err: Error, context: unknown) => void;
}
const require = createRequire(import.meta.url);
const { Logger } = require('splunk-logging') as { Logger: new (c: Record<string, unknown>) => SplunkLogger };

describe('OTLP/HTTP logs and Splunk HEC', () => {
  let s: TestServer;
  let otlp: string;
  let hec: string;
  before(async () => {
    s = await startServer(`listeners:\n  otlp: { listen: 0 }\n  hec: { listen: 0 }\n${DEFAULT_TOKENS_YAML}`);
    otlp = `http://127.0.0.1:${s.ingest.addresses.otlp!.port}`;
    hec = `http://127.0.0.1:${s.ingest.addresses.hec!.port}`;
  });
  after(() => s.close());

  for (const [name, make] of [
    ['HTTP JSON', (h: Record<string, string>) => new JsonExporter({ url: `${otlp}/v1/logs`, headers: h })],
    ['HTTP protobuf', (h: Record<string, string>) => new ProtoExporter({ url: `${otlp}/v1/logs`, headers: h, compression: 'gzip' as never })],
  ] as const) {
    it(`the OpenTelemetry JS exporter (${name}) delivers every record once, with resource and scope`, async () => {
      const before = s.wal.nextOffset;
      const exporter: LogRecordExporter = make({ authorization: `Bearer ${TOKENS.otlp}` });
      const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 100, scheduledDelayMillis: 10 })] });
      const logger = provider.getLogger('firebreak-test', '1.2.3');
      for (let i = 0; i < 500; i++) {
        logger.emit({
          body: `login failed seq=${i}`,
          severityNumber: 13,
          severityText: 'WARN',
          attributes: { seq: i, 'user.name': 'alice', nested: { a: [1, 'x'] } },
          timestamp: 1_700_000_000_000 + i,
        });
      }
      await provider.forceFlush();
      await provider.shutdown();
      const recs = (await walRecords(s.wal)).filter((e) => e.offset >= before);
      assert.equal(recs.length, 500);
      const docs = recs.map((e) => decodeOtlp(e.record));
      assert.deepEqual(
        docs.map((d) => d.attributes.seq as number).sort((a, b) => a - b),
        Array.from({ length: 500 }, (_, i) => i),
      );
      const d = docs.find((x) => x.attributes.seq === 7)!;
      assert.equal(d.body, 'login failed seq=7');
      assert.equal(d.severityNumber, 13);
      assert.equal(d.severityText, 'WARN');
      assert.equal(d.timeUnixNano, '1700000000007000000');
      assert.equal(d.scope.name, 'firebreak-test');
      assert.equal(d.scope.version, '1.2.3');
      assert.deepEqual(d.attributes.nested, { a: [1, 'x'] });
      assert.equal(typeof d.resource.attributes['service.name'], 'string');
      assert.equal(recs[0]!.record.source, 'otlp-src');
    });
  }

  it('OTLP: partial success for bad records, JSON answers JSON, errors carry a Status', async () => {
    const body = {
      resourceLogs: [
        { scopeLogs: [{ logRecords: [{ body: { stringValue: 'ok' } }, { timeUnixNano: 'yesterday', body: { stringValue: 'bad' } }, { traceId: 'zz', body: { stringValue: 'bad id' } }] }] },
      ],
    };
    const r = await fetch(`${otlp}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.otlp}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(body)),
    });
    assert.equal(r.status, 200);
    const j = JSON.parse(await r.text());
    assert.equal(j.partialSuccess.rejectedLogRecords, '2');
    assert.match(j.partialSuccess.errorMessage, /timeUnixNano/);
    const bad = await fetch(`${otlp}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.otlp}`, 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/x-protobuf');
    const noTok = await fetch(`${otlp}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noTok.status, 401);
    assert.match(JSON.parse(await noTok.text()).message, /missing token/);
    const wrongType = await fetch(`${otlp}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.otlp}`, 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(wrongType.status, 415);
  });

  it("Splunk's splunk-logging library: batched events arrive once each, with their metadata", async () => {
    const before = s.wal.nextOffset;
    const logger = new Logger({ token: TOKENS.hec, url: hec, maxBatchCount: 25, maxRetries: 2 });
    const errors: Error[] = [];
    logger.error = (e) => errors.push(e);
    for (let i = 0; i < 310; i++) logger.send({ message: { seq: i, action: 'logon', user: 'bob' }, metadata: { source: 'app', sourcetype: '_json', host: 'web01', index: 'main' } });
    await new Promise<void>((r) => logger.flush(() => r()));
    await until(async () => (await walRecords(s.wal)).filter((e) => e.offset >= before).length >= 310, 'the events to arrive');
    assert.deepEqual(errors, []);
    const recs = (await walRecords(s.wal)).filter((e) => e.offset >= before);
    const docs = recs.map((e) => decodeHec(e.record));
    assert.deepEqual(
      docs.map((d) => (d.event as { message: { seq: number } }).message.seq).sort((a, b) => a - b),
      Array.from({ length: 310 }, (_, i) => i),
    );
    assert.equal(docs[0]!.host, 'web01');
    assert.equal(docs[0]!.sourcetype, '_json');
    assert.equal(recs[0]!.record.source, 'hec-src');
  });

  it("HEC: raw lines, health, and Splunk's codes for bad requests (nothing stored from a bad request)", async () => {
    const h = { authorization: `Splunk ${TOKENS.hec}` };
    const before = s.wal.nextOffset;
    const raw = await fetch(`${hec}/services/collector/raw?sourcetype=syslog&host=fw1`, { method: 'POST', headers: h, body: 'line one\r\n\nline two\n' });
    assert.deepEqual(JSON.parse(await raw.text()), { text: 'Success', code: 0 });
    const recs = (await walRecords(s.wal)).filter((e) => e.offset >= before);
    assert.deepEqual(
      recs.map((e) => decodeHec(e.record)),
      [
        { event: 'line one', host: 'fw1', sourcetype: 'syslog' },
        { event: 'line two', host: 'fw1', sourcetype: 'syslog' },
      ],
    );
    const health = await fetch(`${hec}/services/collector/health`);
    assert.deepEqual(JSON.parse(await health.text()), { text: 'HEC is healthy', code: 17 });
    const post = (body: string, headers: Record<string, string> = h) => fetch(`${hec}/services/collector/event`, { method: 'POST', headers, body });
    const n = s.wal.nextOffset;
    const cases: [Response, number, number][] = [
      [await post('{"event":"a"}'), 200, 0],
      [await post('{"event":"a"}', {}), 401, 2],
      [await post('{"event":"a"}', { authorization: 'Bearer x' }), 401, 3],
      [await post('{"event":"a"}', { authorization: 'Splunk 00000000-0000-0000-0000-000000000000' }), 403, 4],
      [await post(''), 400, 5],
      [await post('{"event":"a"}{"event":'), 400, 6],
      [await post('{"event":"a"}{"time":1}'), 400, 12],
      [await post('{"event":""}'), 400, 13],
      [await post('{"event":"a","fields":{"x":{"y":1}}}'), 400, 15],
    ];
    for (const [r, status, code] of cases) {
      assert.equal(r.status, status);
      assert.equal(JSON.parse(await r.text()).code, code);
    }
    assert.equal(s.wal.nextOffset, n + 1, 'only the good request was stored');
    const bad = await post('{"event":"a"}{"event":"b"}{"nope":1}');
    assert.equal(JSON.parse(await bad.text())['invalid-event-number'], 2);
  });
});
