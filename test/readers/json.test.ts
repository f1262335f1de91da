import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/core/errors.js';
import { rng } from '../../src/core/rng.js';
import { eventFromJson, splitJson, type JsonRecord } from '../../src/readers/json.js';
import { readEventsFromFile } from '../../src/readers/detect.js';

async function split(text: string, chunkSize = 7): Promise<(JsonRecord | RecordError)[]> {
  const buf = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const out: (JsonRecord | RecordError)[] = [];
  for await (const r of splitJson(Readable.from(chunks), 'f.json')) out.push(r);
  return out;
}
const docs = (rs: (JsonRecord | RecordError)[]) => rs.filter((r): r is JsonRecord => !(r instanceof RecordError)).map((r) => r.doc);

describe('JSON record splitting', () => {
  it('pretty-printed objects back to back (SigmaHQ regression .json)', async () => {
    const rs = await split('{\n  "a": 1,\n  "s": "}{\\"x"\n}\n{\n  "b": [1, {"c": 2}]\n}\n');
    assert.deepEqual(docs(rs), [{ a: 1, s: '}{"x' }, { b: [1, { c: 2 }] }]);
    assert.equal((rs[1] as JsonRecord).line, 5);
  });
  it('NDJSON and a top-level array', async () => {
    assert.deepEqual(docs(await split('{"a":1}\n{"a":2}\n')), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(docs(await split('[{"a":1},\n {"a":2}]')), [{ a: 1 }, { a: 2 }]);
  });
  it('a malformed record is reported with its line, the rest still read', async () => {
    const rs = await split('{"a":1}\n{"a":,}\n{"a":3}\n');
    assert.deepEqual(docs(rs), [{ a: 1 }, { a: 3 }]);
    const err = rs.find((r) => r instanceof RecordError) as RecordError;
    assert.equal(err.code, 'json-syntax');
    assert.equal(err.position.line, 2);
  });
  it('a truncated last record and stray text are reported', async () => {
    const rs = await split('garbage\n{"a":1}\n{"a": "unterminated');
    assert.deepEqual(docs(rs), [{ a: 1 }]);
    assert.deepEqual(
      rs.filter((r) => r instanceof RecordError).map((r) => r.code),
      ['json-stray', 'json-truncated'],
    );
  });
  it('random bytes never throw, and how the stream is cut never changes what is read', async () => {
    const rnd = rng(42);
    const shape = (rs: (JsonRecord | RecordError)[]) => rs.map((r) => (r instanceof RecordError ? `${r.code}@${r.position.line}` : JSON.stringify([r.doc, r.offset, r.line])));
    let records = 0;
    let errors = 0;
    for (let n = 0; n < 200; n++) {
      const text = Array.from({ length: 200 }, () => '{}[]",:\\a1 \n'[Math.floor(rnd() * 12)]!).join('');
      const whole = await split(text, text.length);
      assert.deepEqual(shape(await split(text, 1 + Math.floor(rnd() * 50))), shape(whole), JSON.stringify(text));
      for (const r of whole) {
        if (r instanceof RecordError) errors++;
        else {
          records++;
          assert.ok(typeof r.doc === 'object' && r.doc !== null, 'a record is an object or array element');
        }
      }
    }
    assert.ok(errors > 100, `${errors} errors reported`);
    assert.ok(records > 0, `${records} records read`);
  });
});

describe('events from JSON', () => {
  it('evtx-crate shape → Sigma field names (spaces stripped, UserData flattened, System attributes)', () => {
    const ev = eventFromJson(
      {
        Event: {
          System: {
            Provider: { '#attributes': { Name: 'P' } },
            EventID: { '#attributes': { Qualifiers: 16384 }, '#text': 7045 },
            Channel: 'System',
            Computer: 'H',
            TimeCreated: { '#attributes': { SystemTime: '2026-01-01T00:00:00Z' } },
          },
          EventData: { 'Threat Name': 'X', ServiceName: 'svc' },
          UserData: { Wrapper: { '#attributes': { xmlns: 'u' }, Inner: 'v' } },
        },
      },
      { file: 'f' },
    )!;
    assert.equal(ev.get('EventID'), 7045);
    assert.equal(ev.get('EventID_Qualifiers'), 16384);
    assert.equal(ev.get('Provider_Name'), 'P');
    assert.equal(ev.get('ThreatName'), 'X');
    assert.equal(ev.get('Inner'), 'v');
    assert.equal(ev.timestamp, '2026-01-01T00:00:00Z');
    assert.equal(ev.channel, 'System');
  });
  it('reads a file by content, not name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-'));
    const f = join(dir, 'events.log');
    writeFileSync(f, '{"a":1}\n{"b":2}\n');
    const got = [];
    for await (const ev of readEventsFromFile(f)) got.push(ev.fields);
    assert.deepEqual(
      got.map((g) => ({ ...g })),
      [{ a: 1 }, { b: 2 }],
    );
  });
});

describe('EVTX records in hunt', () => {
  it('a record whose root is not <Event> is an event without fields, and the file reads on', async () => {
    const { ChunkWriter } = await import('../evtx/binxml-writer.js');
    const { FIXTURES, readBytes } = await import('../evtx/helpers.js');
    const w = new ChunkWriter();
    w.record((x) => void x.header().open('NotAnEvent').closeEmpty().eof());
    w.record((x) => void x.header().open('Event').closeStart().open('System').closeStart().open('EventID').closeStart().text('4624').end().end().end().eof());
    // A real file header (one chunk), then the built chunk.
    const file = readBytes(join(FIXTURES, 'Security_short_selected.evtx')).slice(0, 4096 + 65536);
    file.set(w.bytes(), 4096);
    const dir = mkdtempSync(join(tmpdir(), 'fb-root-'));
    const path = join(dir, 'odd.evtx');
    writeFileSync(path, file);
    const errors: string[] = [];
    const events = [];
    for await (const ev of readEventsFromFile(path, { onError: (e) => errors.push(e.message) })) events.push(ev);
    assert.equal(events.length, 2, errors.join('; '));
    assert.deepEqual({ ...events[0]!.fields }, {});
    assert.equal(events[1]!.fields.EventID, '4624');
  });
});

describe('gzipped EVTX', () => {
  it('errors name the .gz file, not the temporary file it was unpacked to', async () => {
    const { gzipSync } = await import('node:zlib');
    const { FIXTURES, readBytes } = await import('../evtx/helpers.js');
    const { EvtxError } = await import('../../src/readers/evtx/index.js');
    const bytes = readBytes(join(FIXTURES, 'Security_short_selected.evtx')).slice();
    bytes[4096 + 600] = bytes[4096 + 600]! ^ 0xff; // inside the first chunk's records: a checksum mismatch at least
    const dir = mkdtempSync(join(tmpdir(), 'fb-gz-'));
    const path = join(dir, 'Security.evtx.gz');
    writeFileSync(path, gzipSync(bytes));
    const errors: InstanceType<typeof EvtxError>[] = [];
    let events = 0;
    for await (const _ of readEventsFromFile(path, { onError: (e) => errors.push(e as InstanceType<typeof EvtxError>) })) events++;
    assert.ok(events > 0);
    assert.ok(errors.length > 0, 'the damaged chunk is reported');
    for (const e of errors) {
      assert.ok(e instanceof EvtxError);
      assert.equal(e.file, path);
      assert.match(e.format(), /Security\.evtx\.gz: chunk 0/);
    }
  });
});
