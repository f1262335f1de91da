/**
 * The scaled-out event store (src/serve/store/parquet.ts): detect nodes write events as Parquet
 * files by hour, search reads them with the embedded store's columns and rules, a redelivered
 * events message adds no second copy, retention deletes whole hours, and what is not ours (a
 * damaged file, a path outside the directory) gives a clear error without stopping the rest.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hourFolder, listHours, parseFileName, parseHourFolder, ParquetEventStore, ParquetWriter } from '../../src/serve/store/parquet.js';
import { DAY, TEST_MEMORY, all, ev, rejection, tmp } from './store-helpers.js';

const HOUR = 3_600_000;
/** A fixed clock: events are filed by their own time when it is within the store's bounds of their arrival. */
const NOW = Date.UTC(2024, 4, 14, 12, 30);
const at = (h: number, m = 0) => Date.UTC(2024, 4, 14, h, m);

describe('event storage at scale: Parquet files by hour', () => {
  let dir: string;
  let writer: ParquetWriter;
  let store: ParquetEventStore;

  before(async () => {
    const base = tmp();
    dir = join(base, 'events');
    writer = await ParquetWriter.open({ dir, node: 'detect-1', flushMs: 50, now: () => NOW });
    store = await ParquetEventStore.open({ dir, tempDir: join(base, 'tmp'), memoryBytes: TEST_MEMORY, threads: 1, now: () => NOW, writer });
  });
  after(async () => {
    await store?.close();
    await writer?.close();
    if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('an empty directory searches as no events, with the columns', async () => {
    const r = await store.sql('SELECT count(*) AS n FROM events');
    assert.equal(Number(r.rows[0]![0]), 0);
    const d = await store.sql('DESCRIBE events');
    assert.deepEqual(
      d.rows.map((row) => row[0]),
      ['offset', 'source', 'time', 'timestamp', 'received', 'computer', 'channel', 'provider', 'event_id', 'record_id', 'fields'],
    );
  });

  it('writes a file per hour, named by the offsets it holds, resolving once they are on disk', async () => {
    const received = NOW;
    await Promise.all([
      writer.append([ev(1024, at(10, 5), { EventID: 4624, TargetUserName: 'alice' }, { received }), ev(1025, at(11, 59), { EventID: 4688, CommandLine: 'whoami' }, { received, eventId: 4688 })]),
      writer.append([ev(2048, at(11, 1), { EventID: 4624, TargetUserName: 'bob' }, { received, computer: 'WS002' })]),
    ]);
    const hours = listHours(dir);
    assert.deepEqual(
      hours.map((h) => hourFolder(h.hour)),
      ['hour=2024-05-14T10', 'hour=2024-05-14T11'],
    );
    const eleven = hours[1]!.files.map((f) => parseFileName(f));
    assert.deepEqual(eleven, [{ first: 1025, last: 2048 }], 'one file for the flush, naming its first and last offsets');
    // Nothing half-written is left in view.
    for (const h of hours) for (const f of readdirSync(join(dir, hourFolder(h.hour)))) assert.ok(!f.endsWith('.tmp'), f);
  });

  it('search reads them: SQL over the events view, the field filter, the histogram, a scan', async () => {
    const r = await store.sql('SELECT "offset", computer, fields->>\'TargetUserName\' AS who FROM events WHERE event_id = 4624 ORDER BY "offset"');
    assert.deepEqual(r.rows, [
      ['1024', 'WS001', 'alice'],
      ['2048', 'WS002', 'bob'],
    ]);
    const f = await store.filter({ filter: 'TargetUserName=b*', from: new Date(at(11)).toISOString(), to: new Date(at(12)).toISOString() });
    assert.equal(f.rows.length, 1);
    assert.equal(f.rows[0]![0], '2048');
    assert.deepEqual((f.rows[0]![10] as Record<string, unknown>).TargetUserName, 'bob');
    const outside = await store.filter({ filter: 'TargetUserName=alice', from: new Date(at(11)).toISOString(), to: new Date(at(12)).toISOString() });
    assert.equal(outside.rows.length, 0, 'the time range reads only its hours');
    const h = await store.histogram({ filter: '', from: new Date(at(10)).toISOString(), to: new Date(at(12)).toISOString() }, 2);
    assert.deepEqual(h.counts, [1, 2]);
    const events = await all(store);
    assert.deepEqual(
      events.map((e) => e.offset),
      [1024, 2048, 1025],
      'a scan returns the stored events in time order',
    );
    assert.deepEqual(events[2]!.fields, { EventID: 4688, CommandLine: 'whoami' });
    assert.ok((await store.fieldNames('Target')).includes('TargetUserName'));
    const u = await store.usage();
    assert.equal(u.events, 3);
    assert.deepEqual(u.days, ['2024-05-14']);
    assert.ok(u.bytes > 0);
  });

  it("a redelivered message's events are not stored twice; an hour it is missing from is filled in", async () => {
    await writer.append([ev(1024, at(10, 5), { EventID: 4624, TargetUserName: 'alice' }, { received: NOW })], true);
    // The same message again, with an event of an hour it was not stored in (its first node died between files).
    await writer.append([ev(1025, at(11, 59), { EventID: 4688, CommandLine: 'whoami' }, { received: NOW }), ev(1026, at(9, 30), { EventID: 4625 }, { received: NOW })], true);
    const r = await store.sql('SELECT "offset", count(*) FROM events GROUP BY ALL ORDER BY 1');
    assert.deepEqual(r.rows, [
      ['1024', '1'],
      ['1025', '1'],
      ['1026', '1'],
      ['2048', '1'],
    ]);
    assert.equal(writer.stats.skippedRedelivered, 2);
  });

  it('search is sandboxed: only the events view, no file outside', async () => {
    for (const q of [`SELECT * FROM read_parquet('${join(dir, '*', '*.parquet')}')`, "SELECT * FROM read_csv('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/x.csv'"]) {
      const e = await rejection(store.sql(q));
      assert.equal(e.code, 'search-refused', `${q}: ${e.message}`);
    }
  });

  it('a damaged file is named in the error, and the other hours still answer', async () => {
    const bad = join(dir, 'hour=2024-05-14T08');
    rmSync(bad, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bad);
    writeFileSync(join(bad, '5-6-evil.parquet'), 'PAR1 this is not a parquet file PAR1');
    const e = await rejection(store.sql('SELECT count(*) FROM events'));
    assert.equal(e.code, 'search-error');
    assert.match(e.message, /5-6-evil\.parquet/);
    const f = await store.filter({ filter: '', from: new Date(at(10)).toISOString(), to: new Date(at(12)).toISOString() });
    assert.equal(f.rows.length, 3, 'hours outside the damaged one are searched');
    rmSync(bad, { recursive: true, force: true });
  });

  it('retention deletes whole hours older than the retention, and search no longer sees them', async () => {
    const later = await ParquetEventStore.open({ dir, tempDir: join(dir, '..', 'tmp2'), memoryBytes: TEST_MEMORY, threads: 1, now: () => at(11, 30) + 2 * DAY });
    try {
      // 2 days: the hours ending at or before 11:30 two days earlier go (09, 10), 11 stays.
      const gone = await later.retain(2);
      assert.deepEqual(gone, ['hour=2024-05-14T09', 'hour=2024-05-14T10']);
      assert.ok(!existsSync(join(dir, 'hour=2024-05-14T10')));
      const r = await later.sql('SELECT "offset" FROM events ORDER BY 1');
      assert.deepEqual(
        r.rows.map((x) => x[0]),
        ['1025', '2048'],
      );
      assert.deepEqual(await later.retain(2), [], 'nothing more to delete');
      const e = await rejection(later.retain(-1));
      assert.equal(e.code, 'bad-retention');
    } finally {
      await later.close();
    }
  });

  it('hour folder and file names are parsed strictly; anything else in the directory is ignored', () => {
    assert.equal(parseHourFolder('hour=2024-05-14T11'), Date.UTC(2024, 4, 14, 11) / HOUR);
    for (const n of ['hour=2024-05-14T24', 'hour=2024-13-01T00', 'hour=2024-05-14', 'day=2024-05-14T11', 'hour=2024-05-14T11x']) assert.equal(parseHourFolder(n), null, n);
    assert.deepEqual(parseFileName('10-20-node-ab12.parquet'), { first: 10, last: 20 });
    for (const n of ['20-10-node.parquet', '.10-20-node.parquet.tmp', '10-20-node.csv', 'x-20-node.parquet', '10-20-.parquet']) assert.equal(parseFileName(n), null, n);
  });

  it('a writer behind holds its caller back until a file is written (bounded memory)', async () => {
    const w = await ParquetWriter.open({ dir: join(dir, '..', 'slow'), node: 'n', flushEvents: 3, flushMs: 600_000, now: () => NOW });
    try {
      const order: string[] = [];
      const a = w.append([ev(1, NOW, {}), ev(2, NOW, {})]).then(() => order.push('first stored'));
      // Six events now: a write starts and holds as many as the writer may keep (2 × flushEvents).
      const b = w.append([ev(3, NOW, {}), ev(4, NOW, {}), ev(5, NOW, {}), ev(6, NOW, {})]).then(() => order.push('second stored'));
      const room = w.room().then(() => order.push('room'));
      await Promise.all([a, b, room]);
      assert.deepEqual(order, ['first stored', 'second stored', 'room']);
      await w.room(); // nothing waits now
    } finally {
      await w.close();
    }
  });

  it('a closed writer refuses more, saying so', async () => {
    const w = await ParquetWriter.open({ dir: join(dir, '..', 'closed'), node: 'n' });
    await w.close();
    const e = await rejection(w.append([ev(1, NOW, {})]));
    assert.equal(e.code, 'store-closed');
  });
});
