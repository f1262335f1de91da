/** What travels through the streams: packing, reading back, hostile messages; ordering results; partitions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionRecord } from '../../../src/detections/record.js';
import { encodeRecord, eventsMessage, messageOf, readEventsMessage, readResultPart, recordNumber, resultMessages, type Result, type ResultPart } from '../../../src/serve/cluster/messages.js';
import { partitionKey, partitionOf, recordHost } from '../../../src/serve/cluster/partition.js';
import { Sequencer } from '../../../src/serve/cluster/sequencer.js';
import type { IngestRecord } from '../../../src/serve/record.js';

const enc = new TextEncoder();

function detection(i: number, size = 10): DetectionRecord {
  return {
    timestamp: '2024-05-14T11:00:00.000Z',
    computer: 'WS1',
    channel: 'Security',
    provider: null,
    eventId: 4625,
    recordId: i,
    level: 'medium',
    rule: { id: 'r', title: 'Rule', level: 'medium', status: 'test', tags: [], file: 'r.yml', kind: 'sigma' },
    matched: {},
    sourceFile: `src#${1024 + i}`,
    event: { pad: 'x'.repeat(size) },
  };
}

function result(seq: number, detections: DetectionRecord[] = []): Result {
  return { seq, partition: 3, node: 'd1', records: 5, eventCount: 5, maxTime: 1000 + seq, receivedAt: 1, detections, claims: [], facts: [], errors: [] };
}

const parts = (r: Result, max = 1 << 20): ResultPart[] =>
  resultMessages(r, max).map((m) => {
    const p = readResultPart(m);
    assert.ok(!('error' in p), JSON.stringify(p));
    return p;
  });

describe('cluster messages', () => {
  it('record numbers name the message and the index', () => {
    assert.equal(recordNumber(7, 3), 7 * 1024 + 3);
    assert.equal(messageOf(recordNumber(7, 1023)), 7);
  });

  it('events messages read back; a bad record is an error at its index, the rest are kept', () => {
    const good: IngestRecord = { source: 's', protocol: 'elastic', receivedAt: 1, kind: 'json', body: '{"a":1}' };
    const data = eventsMessage([encodeRecord(good), '{"source":"s","protocol":"ftp","receivedAt":1,"kind":"json","body":"x"}', '"not a record"']);
    const r = readEventsMessage(data);
    assert.ok(!('error' in r));
    assert.deepEqual(r.records[0], good);
    assert.match(String(r.records[1]), /unknown protocol "ftp"/);
    assert.equal(r.records[2], 'a record is not an object');
    for (const bad of ['', '{', '{"v":2,"records":[]}', '[1,2]', '\u00ff\u00fe']) {
      const e = readEventsMessage(enc.encode(bad));
      assert.ok('error' in e, bad);
    }
    assert.ok('error' in readEventsMessage(new Uint8Array([0xff, 0xfe, 0x00])), 'invalid UTF-8');
    const many = readEventsMessage(eventsMessage(Array.from({ length: 1025 }, () => encodeRecord(good))));
    assert.ok('error' in many && /1025 records/.test(many.error));
  });

  it('a result larger than a message goes in parts that read back whole', () => {
    const r = result(
      9,
      Array.from({ length: 50 }, (_, i) => detection(i, 1000)),
    );
    const ps = parts(r, 8 * 1024);
    assert.ok(ps.length > 1);
    assert.ok(ps.every((p) => p.parts === ps.length && p.seq === 9 && p.partition === 3));
    assert.deepEqual(
      ps.flatMap((p) => p.detections),
      r.detections,
    );
    assert.equal(ps[0]!.records, 5);
    assert.equal(ps[1]!.records, 0);
  });

  it('an item that cannot fit in any message becomes a record error, not a silent loss', () => {
    const ps = parts(result(4, [detection(1, 20_000), detection(2)]), 8 * 1024);
    const all = ps.flatMap((p) => p.detections);
    assert.equal(all.length, 1);
    const errors = ps.flatMap((p) => p.errors);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'cluster-result-too-large');
  });

  it('hostile result messages are refused with the reason, naming the sequence when it has one', () => {
    const ok = JSON.parse(new TextDecoder().decode(resultMessages(result(5, [detection(1)]), 1 << 20)[0])) as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      [{ ...ok, v: 2 }, /version 1/],
      [{ ...ok, seq: -1 }, /no sequence/],
      [{ ...ok, part: 3, parts: 2 }, /events message 5: bad part numbers/],
      [{ ...ok, partition: 99999 }, /bad partition/],
      [{ ...ok, records: 'many' }, /bad counts/],
      [{ ...ok, detections: [{ rule: { title: 'x' } }] }, /a detection has no rule/],
      [{ ...ok, detections: [{ ...detection(1), level: 'severe' }] }, /unknown level/],
      [{ ...ok, claims: [{ ip: 1 }] }, /a bad address claim/],
      [{ ...ok, errors: 'none' }, /no errors/],
    ];
    for (const [v, why] of cases) {
      const p = readResultPart(enc.encode(JSON.stringify(v)));
      assert.ok('error' in p, JSON.stringify(v).slice(0, 80));
      assert.match(p.error, why);
    }
    const p = readResultPart(enc.encode(JSON.stringify({ ...ok, part: 3, parts: 2 })));
    assert.ok('error' in p && p.seq === 5);
    assert.ok('error' in readResultPart(enc.encode('{"v":1,')));
  });
});

describe('cluster sequencer: results in events-stream order', () => {
  const part = (seq: number, k = 0, n = 1): ResultPart => ({ ...result(seq), v: 1, part: k, parts: n });

  it('applies results in order whatever order they arrive in', () => {
    const s = new Sequencer(1);
    s.add(part(3), 30, 10);
    s.add(part(2), 20, 10);
    assert.deepEqual(s.take(), []);
    assert.equal(s.lowDseq(), 20);
    s.add(part(1), 40, 10);
    assert.deepEqual(
      s.take().map((r) => [r.result.seq, r.dseq]),
      [
        [1, 40],
        [2, 20],
        [3, 30],
      ],
    );
    assert.equal(s.cursor, 4);
    assert.equal(s.size, 0);
    s.add(part(2), 50, 10);
    assert.equal(s.counters.old, 1);
  });

  it('waits for every part of a split; a part twice counts once; another split of the same result may complete it', () => {
    const s = new Sequencer(1);
    s.add(part(1, 0, 2), 1, 10);
    s.add(part(1, 0, 2), 2, 10);
    assert.equal(s.counters.duplicates, 1);
    assert.deepEqual(s.take(), []);
    s.add(part(1, 0, 1), 3, 10);
    const got = s.take();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.dseq, 3);
  });

  it('a result that cannot be read stands for its message, with the error', () => {
    const s = new Sequencer(1);
    s.broken(1, 'garbled', 7);
    const [r] = s.take();
    assert.equal(r!.result.errors[0]!.code, 'cluster-bad-result');
    assert.equal(r!.result.partition, -1);
  });

  it('results beyond the window are not held; where to read them again is kept', () => {
    const s = new Sequencer(1, 4, 1 << 20);
    s.add(part(9), 90, 10);
    assert.equal(s.size, 0);
    assert.equal(s.dropped, 90);
    s.add(part(8), 80, 10);
    assert.equal(s.dropped, 80);
    // The byte bound never keeps out the result at the cursor.
    const t = new Sequencer(1, 100, 15);
    t.add(part(2), 2, 10);
    t.add(part(3), 3, 10);
    assert.equal(t.dropped, 3);
    t.add(part(1), 1, 10);
    assert.equal(t.take().length, 2);
    t.skip();
    assert.equal(t.cursor, 4);
  });
});

describe('cluster partitions', () => {
  const rec = (kind: 'json' | 'text', body: string, protocol: IngestRecord['protocol'] = 'elastic'): IngestRecord => ({
    source: 'src',
    protocol,
    receivedAt: 1,
    kind,
    body,
    meta: { remote: '10.0.0.9:5555' },
  });

  it('a record goes by its host, however the shipper names it', () => {
    assert.equal(recordHost(rec('json', JSON.stringify({ winlog: { computer_name: 'WS004.corp.local' } }))), 'ws004');
    assert.equal(recordHost(rec('json', JSON.stringify({ host: { name: 'DC01' } }))), 'dc01');
    assert.equal(recordHost(rec('json', JSON.stringify({ Event: { System: { Computer: 'FS01.corp' } } }))), 'fs01');
    assert.equal(recordHost(rec('json', JSON.stringify({ _HOSTNAME: 'web-1' }))), 'web-1');
    assert.equal(recordHost(rec('json', JSON.stringify({ event: { message: 'x' }, host: 'hec-host' }), 'hec')), 'hec-host');
    assert.equal(recordHost(rec('text', '<34>Oct 11 22:14:15 mymachine su: bad su')), 'mymachine');
    assert.equal(recordHost(rec('json', 'not json')), undefined);
    assert.equal(partitionKey(rec('json', '{"message":"no host"}')), 's:src|10.0.0.9');
  });

  it('partitions are stable and in range', () => {
    for (const k of ['h:a', 'h:b', 's:x|1.2.3.4', '']) {
      const p = partitionOf(k, 16);
      assert.ok(p >= 0 && p < 16);
      assert.equal(partitionOf(k, 16), p);
    }
    const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`h:host${i}`, 16)));
    assert.equal(spread.size, 16, 'hosts spread over every partition');
  });
});
