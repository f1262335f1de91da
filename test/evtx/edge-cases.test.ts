/**
 * Done-when 1: for every file in ../shared/evtx/parser-edge-cases, the good and bad record
 * counts its EXPECTED_COUNTS.md gives (from the evtx crate's own full-sample tests).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EDGE, readAll, SKIP_EDGE } from './helpers.js';

interface Expected {
  file: string;
  ok?: number;
  err?: number;
  total?: number;
}

/** The table rows of EXPECTED_COUNTS.md that name a file present in the directory. */
function expectations(): Expected[] {
  const rows: Expected[] = [];
  for (const line of readFileSync(`${EDGE}EXPECTED_COUNTS.md`, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1]!.endsWith('.evtx') || cells[1]!.startsWith('(missing')) continue;
    const [, file, ok, err] = cells as [string, string, string, string];
    const total = /^(\d+) total results/.exec(ok);
    if (total) rows.push({ file, total: Number(total[1]) });
    else rows.push({ file, ok: Number(ok), err: Number(err) });
  }
  return rows;
}

test('EXPECTED_COUNTS.md: good and bad records per edge-case file', { skip: SKIP_EDGE }, async (t) => {
  const rows = expectations();
  assert.ok(rows.length >= 13, `expected at least 13 rows, found ${rows.length}`);
  for (const row of rows) {
    await t.test(row.file, async () => {
      const path = EDGE + row.file;
      assert.ok(existsSync(path), `${row.file} listed but missing`);
      const { records, errors } = await readAll(path);
      if (row.total !== undefined) {
        assert.equal(records.length + errors.length, row.total);
      } else {
        assert.deepEqual({ ok: records.length, err: errors.length }, { ok: row.ok, err: row.err }, errors.map((e) => e.format()).join('\n'));
      }
    });
  }
});

test('zero-size record: the error names file, chunk, record and offset, and says why', { skip: SKIP_EDGE }, async () => {
  const { records, errors } = await readAll(`${EDGE}sample-with-zero-data-size-event.evtx`);
  assert.equal(records.length, 335);
  assert.equal(errors.length, 1);
  const e = errors[0]!;
  assert.equal(e.message, 'Invalid EVTX record data size, should be equals or greater than 28, found `0`');
  assert.equal(e.chunk, 0);
  assert.equal(e.record, 3);
  assert.equal(e.offset, 0x1824);
  assert.match(e.format(), /sample-with-zero-data-size-event\.evtx: chunk 0, record 3, offset 0x1824: evtx\.record\.size: /);
});

test('bad chunk magic: the chunk is reported and later chunks are still read', { skip: SKIP_EDGE }, async () => {
  const { records, errors } = await readAll(`${EDGE}sample_with_a_bad_chunk_magic.evtx`);
  assert.deepEqual(
    errors.map((e) => [e.code, e.chunk, e.offset]),
    [
      ['evtx.chunk.magic', 6, 0x61000],
      ['evtx.chunk.magic', 10, 0xa1000],
    ],
  );
  assert.ok(
    records.some((r) => r.chunk > 6),
    'records after the bad chunk',
  );
});

test('bad data checksum is a warning; the chunk is still read', { skip: SKIP_EDGE }, async () => {
  const { records, warnings } = await readAll(`${EDGE}2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx`);
  const checksums = warnings.filter((w) => w.code === 'evtx.chunk.data-checksum');
  assert.deepEqual(
    checksums.map((w) => w.chunk),
    [0, 13],
  );
  assert.ok(records.filter((r) => r.chunk === 0).length > 50);
});

test('records stream in file order with chunk and offset', { skip: SKIP_EDGE }, async () => {
  const { records } = await readAll(`${EDGE}security.evtx`);
  assert.equal(records.length, 2261);
  for (let i = 1; i < records.length; i++) {
    assert.ok(records[i]!.offset > records[i - 1]!.offset, 'offsets increase');
    assert.equal(records[i]!.recordId, records[i - 1]!.recordId + 1, 'security.evtx record ids are consecutive');
  }
  assert.equal(records[0]!.offset, 4096 + 512);
  assert.match(records[0]!.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});
