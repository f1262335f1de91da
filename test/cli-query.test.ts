import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from './helpers.js';
import { DuckDbWriter } from '../src/output/duckdb.js';
import { detection } from './output/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-cliq-'));
const db = join(dir, 'h.duckdb');
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  const w = await DuckDbWriter.create(db);
  for (let i = 0; i < 5; i++) w.writeDetection(detection({ recordId: i }, { title: `Rule ${i % 2}` }));
  await w.close();
});

describe('firebreak query', () => {
  it('prints a table by default; exit 0', async () => {
    const r = await cli('query', db, 'SELECT rule_title, count(*) AS n FROM detections GROUP BY ALL ORDER BY 1');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'rule_title │ n\n───────────┼──\nRule 0     │ 3\nRule 1     │ 2\n(2 rows)\n');
  });
  it('--format csv and json', async () => {
    const c = await cli('query', db, 'SELECT record_id FROM detections ORDER BY 1 LIMIT 2', '--format', 'csv');
    assert.equal(c.out, 'record_id\r\n0\r\n1\r\n');
    const j = await cli('query', db, 'SELECT record_id FROM detections ORDER BY 1 LIMIT 2', '--format=json');
    assert.deepEqual(JSON.parse(j.out), [{ record_id: 0 }, { record_id: 1 }]);
  });
  it('bad SQL: DuckDB message on stderr, exit 1', async () => {
    const r = await cli('query', db, 'SELECT * FROM nope');
    assert.equal(r.code, 1);
    assert.match(r.err, /^firebreak query: query failed: Catalog Error: Table with name nope does not exist/);
    assert.equal(r.out, '');
  });
  it('missing database: exit 1 with the path', async () => {
    const r = await cli('query', join(dir, 'none.duckdb'), 'SELECT 1');
    assert.equal(r.code, 1);
    assert.match(r.err, /none\.duckdb: no such file/);
  });
  it('wrong usage: exit 2', async () => {
    assert.equal((await cli('query', db)).code, 2);
    assert.equal((await cli('query', db, 'SELECT 1', '--format', 'xml')).code, 2);
    assert.equal((await cli('query', db, '  ')).code, 2);
    assert.equal((await cli('query', db, 'SELECT 1', '--nope')).code, 2);
  });
});
