import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FirebreakError } from '../../src/core/errors.js';
import { DuckDbWriter, isoToMicros } from '../../src/output/duckdb.js';
import { runQuery, terminalSafe, type QueryFormat } from '../../src/output/query.js';
import { detection, eventRecord, LEVEL_CYCLE, summary } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-duck-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE = `x'); DROP TABLE events; -- \u001b[31mred\u001b[0m \u202eevil`;
const N_EVENTS = 3000;
const N_DET = 50;
const db = join(dir, 'hunt.duckdb');

async function q(sql: string, format: QueryFormat = 'json', path = db): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  await runQuery(path, sql, format, out);
  return text;
}
const rows = async (sql: string): Promise<Record<string, unknown>[]> => JSON.parse(await q(sql));

before(async () => {
  const w = await DuckDbWriter.create(db);
  for (let i = 0; i < N_EVENTS; i++) w.writeEvent(eventRecord(i));
  for (let i = 0; i < N_DET; i++) {
    const level = LEVEL_CYCLE[i % 5]!;
    w.writeDetection(
      detection(
        { level, recordId: 1000 + i, computer: i === 7 ? HOSTILE : `HOST${i % 3}`, matched: { CommandLine: i === 7 ? HOSTILE : `cmd ${i}` } },
        { level, id: `rule-${i % 4}`, ...(i === 7 ? { tags: [HOSTILE, '[a, "b"]', "c'd\\"] } : {}) },
      ),
    );
  }
  w.writeDetection(detection({ timestamp: 'not a time', eventId: null, recordId: null }, { id: null, status: null, tags: [] }));
  await w.close(summary({ detections: N_DET + 1 }));
});

describe('DuckDbWriter', () => {
  it('stores every event and detection', async () => {
    assert.deepEqual(await rows('SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM detections) AS d'), [{ e: N_EVENTS, d: N_DET + 1 }]);
  });

  it('keeps identity columns typed and fields queryable as JSON', async () => {
    const r = await rows(`SELECT "timestamp", computer, event_id, record_id, source_file, fields->>'$.TargetUserName' AS user, fields->'$.Multi' AS multi, fields FROM events WHERE record_id = 1005`);
    assert.deepEqual(r, [
      {
        timestamp: '2024-03-01 00:00:05',
        computer: 'HOST2',
        event_id: 4624,
        record_id: 1005,
        source_file: 'evidence/2.evtx',
        user: 'user5',
        multi: ['a', '5'],
        fields: { EventID: 4624, TargetUserName: 'user5', Multi: ['a', '5'], Flag: true, Empty: null },
      },
    ]);
  });

  it('keeps microseconds, tags as a list, level ordered by severity', async () => {
    const r = await rows(`SELECT strftime("timestamp", '%f') AS us, tags, list_contains(tags, 'attack.t1059.001') AS has FROM detections WHERE record_id = 1000`);
    assert.deepEqual(r, [{ us: '123456', tags: ['attack.execution', 'attack.t1059.001', 'cve.2021-0001'], has: true }]);
    const lv = await rows(`SELECT DISTINCT level FROM detections ORDER BY level DESC`);
    assert.deepEqual(
      lv.map((x) => x.level),
      ['critical', 'high', 'medium', 'low', 'informational'],
    );
    const hi = await rows(`SELECT count(*) AS n FROM detections WHERE level >= 'high'::level`);
    assert.equal(hi[0]!.n, 21, '10 high + 10 critical + the extra high one');
  });

  it('has the documented column types (tags end up as VARCHAR[])', async () => {
    const cols = await rows(
      `SELECT column_name AS c, data_type AS t, is_nullable AS n FROM information_schema.columns WHERE table_name = 'detections' AND column_name IN ('tags', 'level', 'timestamp', 'matched') ORDER BY c`,
    );
    assert.deepEqual(cols, [
      { c: 'level', t: "ENUM('informational', 'low', 'medium', 'high', 'critical')", n: 'NO' },
      { c: 'matched', t: 'JSON', n: 'NO' },
      { c: 'tags', t: 'VARCHAR[]', n: 'NO' },
      { c: 'timestamp', t: 'TIMESTAMP', n: 'YES' },
    ]);
  });

  it('stores hostile text exactly (no SQL built from data)', async () => {
    const r = await rows(`SELECT computer, matched->>'$.CommandLine' AS cl, tags FROM detections WHERE record_id = 1007`);
    assert.deepEqual(r, [{ computer: HOSTILE, cl: HOSTILE, tags: [HOSTILE, '[a, "b"]', "c'd\\"] }]);
    assert.equal((await rows('SELECT count(*) AS n FROM events'))[0]!.n, N_EVENTS);
  });

  it('stores NULL for an unparseable timestamp and missing identity', async () => {
    const r = await rows(`SELECT "timestamp", event_id, record_id, rule_id, rule_status, tags, event->>'$.Computer' AS c FROM detections WHERE record_id IS NULL`);
    assert.deepEqual(r, [{ timestamp: null, event_id: null, record_id: null, rule_id: null, rule_status: null, tags: [], c: 'WS01.corp.local' }]);
  });

  it('records the schema version, row counts and the hunt summary', async () => {
    const r = await rows(`SELECT key, value FROM hunt_info ORDER BY key`);
    assert.deepEqual(
      r.map((x) => x.key),
      ['rows', 'schema_version', 'summary'],
    );
    assert.deepEqual(r[0]!.value, { events: N_EVENTS, detections: N_DET + 1 });
    assert.equal((r[2]!.value as { rules: { loaded: number } }).rules.loaded, 2100);
  });

  it('abort keeps what was appended, without a summary row', async () => {
    const p = join(dir, 'aborted.duckdb');
    const w = await DuckDbWriter.create(p);
    w.writeEvents([eventRecord(1), eventRecord(2)]);
    w.write(detection());
    await w.abort();
    assert.throws(() => w.write(detection()), /write after close/);
    const r = JSON.parse(await q(`SELECT (SELECT count(*) FROM events) AS e, (SELECT list(key ORDER BY key) FROM hunt_info) AS k, (SELECT tags FROM detections) AS t`, 'json', p));
    assert.deepEqual(r, [{ e: 2, k: ['schema_version'], t: ['attack.execution', 'attack.t1059.001', 'cve.2021-0001'] }]);
  });

  it('refuses to overwrite an existing file unless asked to replace it', async () => {
    await assert.rejects(DuckDbWriter.create(db), (e: unknown) => e instanceof FirebreakError && e.code === 'db-exists');
    const p = join(dir, 'replace.duckdb');
    writeFileSync(p, 'old');
    const w = await DuckDbWriter.create(p, { replace: true });
    w.writeEvent(eventRecord(1));
    await w.close();
    assert.equal((JSON.parse(await q('SELECT count(*) AS n FROM events', 'json', p)) as { n: number }[])[0]!.n, 1);
  });
});

describe('isoToMicros', () => {
  it('parses ISO-8601 with fractions and zones', () => {
    assert.equal(isoToMicros('1970-01-01T00:00:00Z'), 0n);
    assert.equal(isoToMicros('1970-01-01T00:00:01.0000019Z'), 1_000_001n, 'digits past microseconds are dropped');
    assert.equal(isoToMicros('1970-01-01T01:00:00+01:00'), 0n);
    assert.equal(isoToMicros('1970-01-01 00:00:00.5'), 500_000n);
    assert.equal(new Date(Number(isoToMicros('0099-06-01T00:00:00Z')! / 1000n)).getUTCFullYear(), 99);
    assert.equal(isoToMicros('2024-02-29T12:00:00Z'), BigInt(Date.UTC(2024, 1, 29, 12)) * 1000n, 'leap day');
    assert.equal(isoToMicros('1601-01-01T00:00:00Z'), -11644473600000000n, 'the FILETIME epoch');
    // Every day from 1960 to 2040 agrees with Date.UTC.
    for (let t = Date.UTC(1960, 0, 1); t < Date.UTC(2040, 0, 1); t += 86400_000 + 3_600_000 + 61_000) {
      assert.equal(isoToMicros(new Date(t).toISOString()), BigInt(t) * 1000n);
    }
  });
  it('rejects what is not a real timestamp', () => {
    for (const s of ['', 'yesterday', '2024-02-31T00:00:00Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00Zjunk'])
      assert.equal(isoToMicros(s), null, s);
  });
});

describe('runQuery formats', () => {
  it('table: aligned columns, numbers right-aligned, row count', async () => {
    const t = await q(`SELECT computer, count(*) AS n FROM events GROUP BY computer ORDER BY computer`, 'table');
    assert.equal(t, ['computer │    n', '─────────┼─────', 'HOST0    │ 1000', 'HOST1    │ 1000', 'HOST2    │ 1000', '(3 rows)', ''].join('\n'));
  });

  it('table: control characters and bidi overrides are shown as escapes', async () => {
    const t = await q(`SELECT computer FROM detections WHERE record_id = 1007`, 'table');
    assert.ok(!/[\u001b\u202e]/.test(t), 'no raw escape or override reaches the terminal');
    assert.match(t, /\\x1b\[31mred\\x1b\[0m \\u202eevil/);
    assert.equal(terminalSafe('a\nb\tc'), 'a\\nb\\tc');
    assert.equal(terminalSafe('x\u2028y\u009bz'), 'x\\u2028y\\x9bz', 'line separator and the C1 CSI are escaped too');
  });

  it('table: long cells are cut and NULL is shown', async () => {
    const t = await q(`SELECT repeat('x', 200) AS long, NULL AS nothing`, 'table');
    assert.match(t, /x{79}… │ +NULL\n/);
  });

  it('csv: header, RFC 4180 quoting, formula guard on text, numbers bare', async () => {
    const c = await q(`SELECT '=1+1' AS f, -5 AS n, 'a,"b"' AS s, [1, 2] AS l, NULL AS z`, 'csv');
    assert.equal(c, `f,n,s,l,z\r\n'=1+1,-5,"a,""b""","[1,2]",\r\n`);
  });

  it('json: an array of objects; empty result is []', async () => {
    assert.deepEqual(JSON.parse(await q(`SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY a`)), [
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    assert.deepEqual(JSON.parse(await q(`SELECT * FROM events WHERE false`)), []);
  });

  it('bad SQL, a missing file, a non-database file and writes fail with clear errors', async () => {
    await assert.rejects(q('SELEC 1'), (e: unknown) => e instanceof FirebreakError && e.code === 'query' && /syntax error at or near "SELEC"/.test(e.message));
    await assert.rejects(q('SELECT nope FROM events'), (e: unknown) => e instanceof FirebreakError && e.code === 'query' && /nope/.test(e.message));
    await assert.rejects(q('SELECT 1', 'json', join(dir, 'missing.duckdb')), (e: unknown) => e instanceof FirebreakError && e.code === 'db-missing');
    const junk = join(dir, 'junk.duckdb');
    writeFileSync(junk, 'this is not a database');
    await assert.rejects(q('SELECT 1', 'json', junk), (e: unknown) => e instanceof FirebreakError && e.code === 'db-open');
    await assert.rejects(q('DELETE FROM events'), (e: unknown) => e instanceof FirebreakError && e.code === 'query' && /read-only/i.test(e.message));
  });
});
