/**
 * SQL search through the store process: only a SELECT over the events view runs; everything that
 * reads or writes files, changes the engine, or reads the store's own tables is refused with a
 * message saying what and why; queries built to exhaust memory or time end with an error within
 * their bounds, and the store goes on serving; fuzzed and truncated SQL gets clean errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LIMITS } from '../../src/core/limits.js';
import { rng } from '../../src/core/rng.js';
import type { ProcessEventStore } from '../../src/serve/store/events.js';
import type { EventStore } from '../../src/serve/store/types.js';
import { PROCESS, ev, rejection, tmp } from './store-helpers.js';

const L = LIMITS.store;
/** What a search may fail with: every one a SearchError with one of these codes. */
const SEARCH_CODES = new Set(['search-refused', 'search-syntax', 'search-error', 'search-timeout', 'search-memory', 'search-busy']);

describe('SQL search (store process)', () => {
  let s: EventStore;
  const logs: string[] = [];
  before(async () => {
    s = await PROCESS.open(tmp(), { log: (_l, m) => void logs.push(m) });
    const now = Date.now();
    await s.append([
      ev(0, now - 3_600_000, { EventID: 4624, TargetUserName: 'alice', LogonType: 3 }),
      ev(1, now - 1_800_000, { EventID: 4688, CommandLine: 'whoami /all', Tags: ['a', 'b'] }, { computer: 'WS002', eventId: 4688 }),
      ev(2, now, { EventID: 4624, TargetUserName: 'bob', LogonType: 10 }),
    ]);
  });
  after(() => s.close());

  const alive = async (): Promise<void> => {
    const r = await s.sql('SELECT count(*) FROM events');
    assert.equal(Number(r.rows[0]![0]), 3);
  };

  it('runs SELECTs over the events view and its day tables, with the documented columns', async () => {
    const d = await s.sql('DESCRIBE events');
    assert.deepEqual(
      d.rows.map((r) => r[0]),
      ['offset', 'source', 'time', 'timestamp', 'received', 'computer', 'channel', 'provider', 'event_id', 'record_id', 'fields'],
    );
    const r = await s.sql(`SELECT computer, fields->>'CommandLine' AS cmd, fields->'Tags' AS tags FROM events WHERE event_id = 4688`);
    assert.deepEqual(
      r.columns.map((c) => c.name),
      ['computer', 'cmd', 'tags'],
    );
    assert.deepEqual(r.rows, [['WS002', 'whoami /all', ['a', 'b']]]);
    const grouped = await s.sql(`WITH logons AS (SELECT fields->>'TargetUserName' AS u FROM events WHERE event_id = 4624) SELECT u, count(*) FROM logons GROUP BY u ORDER BY u`);
    assert.deepEqual(
      grouped.rows.map((x) => x[0]),
      ['alice', 'bob'],
    );
    const day = (await s.usage()).days.at(-1)!.replaceAll('-', '');
    assert.ok(Number((await s.sql(`SELECT count(*) FROM events_${day}`)).rows[0]![0]) >= 1);
    // Allowed table functions produce values.
    assert.equal((await s.sql('SELECT sum(range) FROM range(10)')).rows[0]![0], '45');
    // Comments are comments: nothing hides behind one.
    assert.deepEqual((await s.sql('SELECT 1 /* ; DROP TABLE events */ -- ; DELETE FROM events')).rows, [[1]]);
    // The row cap.
    const capped = await s.sql('SELECT * FROM range(50)', { maxRows: 7 });
    assert.equal(capped.rows.length, 7);
    assert.equal(capped.truncated, true);
    const big = await s.sql('SELECT * FROM range(1000000)', { maxRows: 1e12 });
    assert.equal(big.rows.length, L.searchRowsMax);
    assert.equal(big.truncated, true);
  });

  const refused: [string, RegExp][] = [
    [`COPY events TO '/tmp/fb-out.csv'`, /COPY is not allowed/],
    [`COPY (SELECT 1) TO '/tmp/fb-out.parquet' (FORMAT parquet)`, /COPY is not allowed/],
    [`ATTACH '/tmp/fb-other.db' AS other`, /ATTACH is not allowed/],
    [`DETACH eventstore`, /DETACH is not allowed/],
    [`INSTALL httpfs`, /INSTALL is not allowed/],
    [`LOAD httpfs`, /LOAD is not allowed/],
    [`FORCE INSTALL 'https://example.com/x.duckdb_extension'`, /FORCE is not allowed/],
    [`PRAGMA database_list`, /PRAGMA is not allowed/],
    [`PRAGMA enable_external_access`, /PRAGMA is not allowed/],
    [`SET enable_external_access = true`, /SET is not allowed/],
    [`SET memory_limit = '100GB'`, /SET is not allowed/],
    [`RESET lock_configuration`, /RESET is not allowed/],
    [`SET VARIABLE x = 1`, /SET is not allowed/],
    [`CREATE TABLE t AS SELECT * FROM events`, /CREATE is not allowed/],
    [`CREATE MACRO m(x) AS x`, /CREATE is not allowed/],
    [`CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')`, /CREATE is not allowed/],
    [`INSERT INTO events_20240101 SELECT * FROM events`, /INSERT is not allowed/],
    [`WITH x AS (SELECT 1) INSERT INTO store_meta SELECT 'a', 'b'`, /INSERT/],
    [`UPDATE store_meta SET value = '0'`, /UPDATE is not allowed/],
    [`DELETE FROM field_names`, /DELETE is not allowed/],
    [`DROP VIEW events`, /DROP is not allowed/],
    [`ALTER VIEW events RENAME TO e2`, /ALTER is not allowed/],
    [`EXPORT DATABASE '/tmp/fb-export'`, /EXPORT is not allowed/],
    [`CHECKPOINT`, /CHECKPOINT is not allowed/],
    [`EXPLAIN ANALYZE SELECT * FROM events`, /EXPLAIN is not allowed/],
    [`CALL duckdb_settings()`, /CALL is not allowed/],
    [`SELECT 1; SELECT 2`, /one statement at a time/],
    [`SELECT 1; -- harmless?\nDROP TABLE store_meta`, /one statement at a time/],
    [`/* SELECT */ DROP TABLE store_meta`, /DROP is not allowed/],
    [`SELECT * FROM read_csv('/etc/passwd')`, /read_csv\(\) is not allowed in search \(line 1, column 15\)/],
    [`SELECT * FROM read_csv_auto('/etc/passwd')`, /read_csv_auto\(\) is not allowed/],
    [`SELECT * FROM read_parquet('/tmp/x.parquet')`, /read_parquet\(\) is not allowed/],
    [`SELECT * FROM read_json('/tmp/x.json')`, /read_json\(\) is not allowed/],
    [`SELECT * FROM read_text('/etc/hostname')`, /read_text\(\) is not allowed/],
    [`SELECT * FROM read_blob('/etc/hostname')`, /read_blob\(\) is not allowed/],
    [`SELECT * FROM glob('/etc/*')`, /glob\(\) is not allowed/],
    [`SELECT * FROM '/etc/passwd'`, /\/etc\/passwd is not readable by search/],
    [`SELECT * FROM 'https://example.com/x.csv'`, /not readable by search/],
    [`SELECT * FROM duckdb_settings()`, /duckdb_settings\(\) is not allowed/],
    [`SELECT * FROM duckdb_tables()`, /duckdb_tables\(\) is not allowed/],
    [`SELECT * FROM query('SELECT * FROM store_meta')`, /query\(\) is not allowed/],
    [`SELECT * FROM query_table('store_meta')`, /query_table\(\) is not allowed/],
    [`SELECT * FROM store_meta`, /store_meta is not readable by search/],
    [`SELECT * FROM field_names`, /field_names is not readable by search/],
    [`SELECT * FROM events, (SELECT * FROM main.store_meta)`, /store_meta is not readable/],
    [`SELECT * FROM eventstore.main.events`, /eventstore\.main\.events is not readable/],
    [`SELECT * FROM information_schema.tables`, /information_schema\.tables is not readable/],
    [`SELECT * FROM pg_catalog.pg_tables`, /not readable/],
    [`SELECT * FROM sqlite_master`, /sqlite_master is not readable/],
    [`WITH RECURSIVE r AS (SELECT * FROM store_meta) SELECT * FROM r`, /store_meta is not readable/],
    [`WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a`, /b is not readable/],
    [`SELECT current_setting('temp_directory')`, /current_setting\(\) is not allowed/],
    [`SELECT getenv('HOME')`, /getenv\(\) is not allowed/],
    [`SELECT getvariable('x')`, /getvariable\(\) is not allowed/],
    [`SELECT json_execute_serialized_sql('{}')`, /json_execute_serialized_sql\(\) is not allowed/],
    [`SHOW TABLES`, /SHOW is not allowed|not allowed/],
    [`SHOW ALL TABLES`, /not allowed/],
    [`SUMMARIZE store_meta`, /store_meta is not readable|not allowed/],
    [`PIVOT store_meta ON key USING first(value)`, /not allowed|not readable|one statement/],
    [`   `, /no statement/],
    [``, /no statement/],
    [`-- only a comment`, /no statement/],
    [`/* a */ -- b\n /* c */`, /no statement/],
  ];

  it('refuses every statement but a SELECT over events, with a clear message', async () => {
    for (const [sql, message] of refused) {
      const e = await rejection(s.sql(sql));
      assert.equal(e.name, 'SearchError', `${sql}: ${e.message}`);
      assert.equal(e.code, 'search-refused', `${sql}: ${e.code} ${e.message}`);
      assert.match(e.message, message, sql);
    }
    await alive();
    // Nothing refused happened: no file was written, the store's own tables are intact.
    const u = await s.usage();
    assert.equal(u.events, 3);
    assert.ok(u.fieldNames > 0);
  });

  it('refuses what the engine itself locks down, even when it parses as a SELECT', async () => {
    // The engine's configuration is locked and its external access is off: reading a file by a
    // function the parse-tree check does not know is refused by DuckDB while binding.
    for (const sql of [`SELECT * FROM read_csv(['/etc/passwd'])`, `SELECT * FROM parquet_metadata('/tmp/x.parquet')`, `SELECT * FROM sniff_csv('/etc/passwd')`]) {
      const e = await rejection(s.sql(sql));
      assert.equal(e.code, 'search-refused', `${sql}: ${e.message}`);
    }
    const q = await rejection(s.sql('SELECT * FROM events WHERE nope = 1'));
    assert.equal(q.code, 'search-error');
    assert.match(q.message, /nope/);
    const long = await rejection(s.sql(`SELECT '${'x'.repeat(L.sqlMaxChars)}'`));
    assert.equal(long.code, 'search-refused');
    assert.match(long.message, /longer than/);
    // DuckDB splits statements in time quadratic in block comments, deaf to the interrupt.
    const comments = await rejection(s.sql(`${'/**/'.repeat(10_000)} SELECT 1`));
    assert.equal(comments.code, 'search-refused');
    assert.match(comments.message, /block comments/);
  });

  it('ends queries built to exhaust memory or time with an error within bounds, and keeps serving', async () => {
    const cases: [string, string[]][] = [
      // Past DuckDB's largest string.
      [`SELECT repeat('x', 1e10::BIGINT)`, ['search-error', 'search-memory']],
      // A single 3 GB value, outside DuckDB's memory limit: fails under the address-space cap.
      [`SELECT length(repeat('x', 3000000000))`, ['search-memory', 'search-error']],
      // A list of a billion numbers.
      [`SELECT len(range(1000000000))`, ['search-memory', 'search-error']],
      // An aggregate growing past the memory limit.
      [`SELECT length(string_agg(repeat('y', 1000), '')) FROM range(100000000)`, ['search-memory', 'search-timeout']],
      // A cross join of a billion by a billion: stopped at its time limit.
      [`SELECT count(*) FROM range(1000000000) a, range(1000000000) b`, ['search-timeout']],
      [`WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r`, ['search-timeout', 'search-memory', 'search-error']],
      [`SELECT count(*) FROM events a, events b, events c, events d, range(100000000) e, range(100000000) f`, ['search-timeout']],
      // Deep nesting: DuckDB's parser and expression depth limits.
      [`SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`, ['search-syntax', 'search-error', 'search-refused']],
      [`SELECT ${'['.repeat(30_000)}1${']'.repeat(30_000)}`, ['search-syntax', 'search-error', 'search-refused']],
      [`SELECT ${'abs('.repeat(5_000)}1${')'.repeat(5_000)}`, ['search-syntax', 'search-error', 'search-refused']],
      [`SELECT * FROM ${'(SELECT * FROM '.repeat(2_000)}events${') t'.repeat(2_000)}`, ['search-syntax', 'search-error', 'search-refused']],
    ];
    for (const [sql, codes] of cases) {
      const e = await rejection(s.sql(sql, { timeoutMs: 1000 }));
      assert.equal(e.name, 'SearchError', `${sql.slice(0, 80)}: ${e.message}`);
      assert.ok(codes.includes(e.code!), `${sql.slice(0, 80)}: ${e.code} ${e.message.slice(0, 300)}`);
      assert.ok(e.message.length < 5000, 'the message is bounded');
      await alive();
    }
  });

  it('kills and restarts the store process when a query ignores its interrupt', async () => {
    // A short grace, so the test does not wait the server's 5 s.
    const k = await PROCESS.open(tmp(), { interruptGraceMs: 50, log: (_l, m) => void logs.push(m) });
    try {
      await k.append([ev(0, null, { a: 1 })]);
      // `repeat` builds its 4 GB value without looking at the interrupt flag.
      const e = await rejection(k.sql(`SELECT length(repeat(repeat('x', 100000000), 40))`, { timeoutMs: 10 }));
      assert.equal(e.code, 'search-timeout', e.message);
      assert.match(e.message, /did not stop when interrupted.*restarted/);
      assert.deepEqual((await k.sql('SELECT count(*) FROM events')).rows, [['1']]);
      assert.equal((await k.usage()).restarts, 1);
      assert.ok(logs.some((m) => /past its limit and its interrupt/.test(m)));
    } finally {
      await k.close();
    }
  });

  it('refuses a search beyond the queue as busy', async () => {
    const slow = 'SELECT count(*) FROM range(1000000000) a, range(1000000000) b';
    const n = L.searchConcurrent + L.searchQueued + 2;
    const results = await Promise.allSettled(Array.from({ length: n }, () => s.sql(slow, { timeoutMs: 200 })));
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'));
    assert.ok(codes.includes('search-busy'), codes.join(','));
    assert.ok(
      codes.every((c) => c === 'search-busy' || c === 'search-timeout'),
      codes.join(','),
    );
    await alive();
  });

  it('gives fuzzed and truncated SQL clean errors', async () => {
    const seeds = [
      `SELECT computer, count(*) AS n FROM events WHERE event_id = 4624 AND fields->>'TargetUserName' ILIKE 'a%' GROUP BY computer ORDER BY n DESC LIMIT 10`,
      `WITH x AS (SELECT json_extract_string(fields, '$.CommandLine') AS c FROM events) SELECT c FROM x WHERE c IS NOT NULL`,
      `SELECT strftime(time, '%Y') AS y, list(DISTINCT source) FROM events GROUP BY ALL HAVING count(*) > 0`,
      `SELECT * FROM events WHERE time BETWEEN TIMESTAMP '2024-01-01' AND now() QUALIFY row_number() OVER (PARTITION BY computer ORDER BY time) = 1`,
    ];
    const rand = rng(13);
    const variants: string[] = [];
    for (const q of seeds) {
      for (let cut = 1; cut < q.length; cut += 7) variants.push(q.slice(0, cut));
      for (let i = 0; i < 40; i++) {
        const chars = [...q];
        for (let k = 0; k < 3; k++) {
          const at = Math.floor(rand() * chars.length);
          const pick = rand();
          if (pick < 0.3) chars.splice(at, 1);
          else if (pick < 0.6) chars.splice(at, 0, String.fromCharCode(Math.floor(rand() * 128)));
          else chars[at] = `;'"()\u0000\uFFFF/*-`[Math.floor(rand() * 12)] ?? ';';
        }
        variants.push(chars.join(''));
      }
    }
    variants.push(
      '/**/'.repeat(100) + 'x',
      '-- --\n'.repeat(5_000) + ')',
      '/*'.repeat(20),
      '\uD800',
      'SELECT \uD800',
      'SELECT $1',
      'SELECT ?',
      'EXECUTE p',
      'PREPARE p AS SELECT 1',
      "SELECT '",
      'SELECT "',
      'SELECT /*',
      '(((',
      ')',
    );
    let ok = 0;
    for (const sql of variants) {
      try {
        await s.sql(sql, { timeoutMs: 2000 });
        ok++;
      } catch (e) {
        const err = e as { name: string; code: string; message: string };
        assert.equal(err.name, 'SearchError', `${JSON.stringify(sql)}: ${err.message}`);
        assert.ok(SEARCH_CODES.has(err.code), `${JSON.stringify(sql)}: ${err.code}`);
        assert.ok(err.message.length > 0);
      }
    }
    assert.ok(ok < variants.length, 'most variants are broken');
    await alive();
    assert.equal((await s.usage()).events, 3);
  });

  it('gives a killed store process a restart, and fails only what was running', async () => {
    const p = s as ProcessEventStore;
    const pid = p.pid!;
    const running = s.sql('SELECT count(*) FROM range(1000000000) a, range(1000000000) b', { timeoutMs: 60_000 });
    const usage = s.usage();
    process.kill(pid, 'SIGKILL');
    const e = await rejection(running);
    assert.equal(e.code, 'store-restarted');
    // The small read was sent again to the new process.
    assert.equal((await usage).events, 3);
    assert.notEqual(p.pid, pid);
    await alive();
  });
});
