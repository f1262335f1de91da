import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { CSV_COLUMNS, CsvTimelineWriter, csvField, TIMESKETCH_COLUMNS } from '../../src/output/csv.js';
import { FirebreakError } from '../../src/core/errors.js';
import { parseCsv } from './csv-parse.js';
import { detection } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function writeCsv(name: string, ds: ReturnType<typeof detection>[], opts = {}): Promise<string> {
  const path = join(dir, name);
  const w = new CsvTimelineWriter(path, opts);
  for (const d of ds) await w.write(d);
  await w.close();
  return path;
}

describe('CsvTimelineWriter', () => {
  it('writes the documented header and one row per detection (BOM, CRLF)', async () => {
    const path = await writeCsv('basic.csv', [detection(), detection({ timestamp: null, eventId: null, recordId: null, computer: null })]);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.startsWith('\uFEFFtimestamp,computer,'), 'BOM then header');
    const rows = parseCsv(text.slice(1));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[1], [
      '2024-03-01T10:15:30.123456Z',
      'WS01.corp.local',
      'Microsoft-Windows-Sysmon/Operational',
      '1',
      'high',
      'Suspicious Encoded PowerShell',
      '5b1f2a51-1b3c-4c7e-9a59-0f6e4fd0a001',
      'attack.execution;attack.t1059.001',
      'Image: C:\\Windows\\System32\\powershell.exe ¦ CommandLine: powershell -enc SQBFAFgA',
      '4242',
      'evidence/WS01/Sysmon.evtx',
    ]);
    assert.deepEqual([rows[2]![0], rows[2]![1], rows[2]![3], rows[2]![9]], ['', '', '', '']);
  });

  it('quotes commas, quotes and line breaks (RFC 4180) and round-trips them', async () => {
    const nasty = 'a,b "c"\r\nd\ne';
    const path = await writeCsv('quote.csv', [detection({ computer: nasty, matched: { CommandLine: nasty } })]);
    const rows = parseCsv(readFileSync(path, 'utf8').slice(1));
    assert.equal(rows[1]![1], nasty);
    assert.equal(rows[1]![8], `CommandLine: ${nasty}`);
  });

  it("neutralises spreadsheet formulas with a leading '", () => {
    for (const v of ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx', '＝1+1', "=cmd|' /C calc'!A0"]) {
      const f = csvField(v);
      const unq = f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f;
      assert.equal(unq, "'" + v, `value ${JSON.stringify(v)}`);
    }
    assert.equal(csvField('a=b'), 'a=b');
    assert.equal(csvField("'already"), "'already");
    assert.equal(csvField(-5), '-5', 'numbers are written as numbers');
  });

  it('neutralises formulas in every column, including computer and details', async () => {
    const path = await writeCsv('formula.csv', [detection({ computer: '=1+2', channel: '@x', sourceFile: '-f', matched: {} }, { title: '+t', id: '=id' })]);
    const row = parseCsv(readFileSync(path, 'utf8').slice(1))[1]!;
    for (const cell of row) assert.ok(!/^[=+\-@]/.test(cell), `cell ${JSON.stringify(cell)} starts a formula`);
    assert.equal(row[1], "'=1+2");
    assert.equal(row[6], "'=id");
  });

  it('replaces NUL and other C0 controls but keeps TAB inside values', () => {
    assert.equal(csvField('a\u0000b\u001bc\td'), 'a\uFFFDb\uFFFDc\td');
  });

  it('timesketch profile: no BOM, adds datetime, timestamp_desc, message', async () => {
    const path = await writeCsv('ts.csv', [detection()], { profile: 'timesketch' });
    const text = readFileSync(path, 'utf8');
    assert.ok(text.startsWith('timestamp,'));
    const rows = parseCsv(text);
    assert.deepEqual(rows[0], [...CSV_COLUMNS, ...TIMESKETCH_COLUMNS]);
    const r = Object.fromEntries(rows[0].map((k, i) => [k, rows[1]![i]]));
    assert.equal(r.datetime, '2024-03-01T10:15:30.123456Z');
    assert.equal(r.timestamp_desc, 'Event Time');
    assert.equal(r.message, '[high] Suspicious Encoded PowerShell: Image: C:\\Windows\\System32\\powershell.exe ¦ CommandLine: powershell -enc SQBFAFgA');
  });

  it('loads in an independent CSV reader (DuckDB read_csv) with every row and column', async () => {
    const ds = Array.from({ length: 500 }, (_, i) => detection({ recordId: i, computer: i % 7 ? `H${i}` : `H,"${i}"\n` }));
    const path = await writeCsv('duck.csv', ds);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const r = await c.runAndReadAll(`select * from read_csv($p, header = true, all_varchar = true, strict_mode = true)`, { p: path });
    assert.deepEqual(r.columnNames(), [...CSV_COLUMNS]);
    const rows = r.getRowObjectsJson();
    assert.equal(rows.length, 500);
    assert.equal(rows[7]!.computer, 'H,"7"\n');
    assert.equal(rows[499]!.record_id, '499');
    c.closeSync();
    db.closeSync();
  });

  it('honours backpressure: write() returns false on a slow stream, drain() resolves, order is kept', async () => {
    const got: string[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk, _enc, cb) {
        got.push(String(chunk));
        setTimeout(cb, 1);
      },
    });
    const w = new CsvTimelineWriter(slow, { bom: false });
    let refusals = 0;
    for (let i = 0; i < 3000; i++) {
      const wait = w.write(detection({ recordId: i }));
      if (wait) {
        refusals++;
        await wait;
      }
    }
    await w.close();
    assert.ok(refusals > 0 && refusals < 3000, `the writer signalled backpressure ${refusals} times`);
    assert.equal(slow.writableEnded, false, 'a stream passed in is left open');
    const rows = parseCsv(got.join(''));
    assert.equal(rows.length, 3001);
    assert.deepEqual(
      rows.slice(1).map((r) => Number(r[9])),
      Array.from({ length: 3000 }, (_, i) => i),
    );
  });

  it('fails at construction when the file cannot be created', () => {
    assert.throws(
      () => new CsvTimelineWriter(join(dir, 'no/such/dir/x.csv')),
      (e: unknown) => e instanceof FirebreakError && e.code === 'output-open' && /no\/such\/dir/.test(e.message),
    );
  });

  it('reports a stream error on drain/close instead of hanging', async () => {
    const broken = new PassThrough();
    const w = new CsvTimelineWriter(broken);
    broken.destroy(new Error('disk full'));
    await new Promise((r) => setImmediate(r));
    assert.throws(() => w.write(detection()), /csv: disk full/);
    await assert.rejects(w.close(), /csv: disk full/);
  });
});
