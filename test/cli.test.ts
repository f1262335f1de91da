import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli } from './helpers.js';
import { BUNDLED_SIGMA_ROOT } from '../src/sigma/bundled.js';

describe('firebreak rules', () => {
  it('lint --json reports errors with file, line, column, code; exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-rules-'));
    writeFileSync(join(dir, 'good.yml'), 'title: g\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n');
    writeFileSync(join(dir, 'bad.yml'), 'title: b\nlogsource: {product: windows}\ndetection:\n  s:\n    A|nope: 1\n  condition: s\n');
    const r = await cli('rules', 'lint', dir, '--json');
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.loaded, 1);
    assert.deepEqual(j.errors, [{ file: join(dir, 'bad.yml'), line: 5, column: 5, code: 'unknown-modifier', message: "unknown modifier 'nope' in 'A|nope'" }]);
  });
  it('lint exits 0 on clean rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-rules-'));
    writeFileSync(join(dir, 'good.yml'), 'title: g\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n');
    const r = await cli('rules', 'lint', dir);
    assert.equal(r.code, 0);
    assert.match(r.out, /loaded 1 rules, 0 filters, 0 correlations from 1 files; 0 errors/);
  });
  it('test on the bundled regression data: 202 passed, 0 failed', async () => {
    const r = await cli('rules', 'test', BUNDLED_SIGMA_ROOT, '--source', 'json');
    assert.equal(r.code, 0);
    assert.equal(r.out.trim().split('\n').pop(), '202 passed, 0 failed');
  });
  it('test reports failures one per line and exits 1', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fb-sigma-'));
    mkdirSync(join(root, 'rules'));
    mkdirSync(join(root, 'regression_data', 'x'), { recursive: true });
    writeFileSync(join(root, 'rules', 'r.yml'), 'title: r\nid: 55555555-5555-5555-5555-555555555555\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n');
    writeFileSync(
      join(root, 'regression_data', 'x', 'info.yml'),
      'rule_metadata:\n  - id: 55555555-5555-5555-5555-555555555555\nregression_tests_info:\n  - type: evtx\n    match_count: 2\n    path: regression_data/x/55555555-5555-5555-5555-555555555555.evtx\n',
    );
    writeFileSync(join(root, 'regression_data', 'x', '55555555-5555-5555-5555-555555555555.json'), '{"Event":{"System":{"Channel":"Security","EventID":1},"EventData":{"A":1}}}');
    const r = await cli('rules', 'test', root, '--json');
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.failed, 1);
    assert.equal(j.results[0].matched, 1);
    assert.equal(j.results[0].expected, 2);
  });
  it('usage errors exit 2', async () => {
    assert.equal((await cli('rules', 'test')).code, 2);
    assert.equal((await cli('rules', 'test', '.', '--source', 'csv')).code, 2);
    assert.equal((await cli('nosuchcommand')).code, 2);
  });
});
