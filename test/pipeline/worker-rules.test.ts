/** The rules handed to worker threads: exactly `forWorker` of the plan's rules, from the cache when it holds them, made again when its entry is damaged. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readShared } from '../../src/core/shared-value.js';
import { planDetection } from '../../src/pipeline/plan.js';
import { forWorker } from '../../src/pipeline/select.js';
import { workerRules } from '../../src/pipeline/worker-rules.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-worker-rules-'));
const cache = join(dir, 'cache');
const rules = join(dir, 'rules');
after(() => {
  delete process.env.FIREBREAK_CACHE_DIR;
  rmSync(dir, { recursive: true, force: true });
});

const rule = (title: string, level: string, value: string) =>
  `title: ${title}\nlevel: ${level}\ndescription: prose nobody matches on\nlogsource: {product: windows, service: security}\ndetection:\n  s: {TargetUserName|contains: '${value}'}\n  condition: s\n`;
/** A value as plain data carries it: properties whose value is undefined left out (src/core/shared-value.ts). */
const plain = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(plain)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .map(([k, x]) => [k, plain(x)]),
        )
      : v;
const entries = () => readdirSync(cache).filter((f) => f.startsWith('worker-'));

describe('rules for worker threads', () => {
  process.env.FIREBREAK_CACHE_DIR = cache;
  mkdirSync(rules, { recursive: true });
  writeFileSync(join(rules, 'a.yml'), rule('A', 'high', 'one'));
  writeFileSync(join(rules, 'b.yml'), rule('B', 'low', 'two'));

  it('are forWorker of the plan’s rules, made once and then read from the cache', () => {
    const plan = planDetection({ rulePaths: [rules], filter: {}, stories: false });
    assert.ok(plan.rulesKey, 'a pack read through the rule cache names its rules');
    const want = plain(plan.rules.map(forWorker));
    assert.equal((want as unknown[]).length, 2);
    assert.deepEqual(readShared(workerRules(plan)), want);
    assert.equal(entries().length, 1, 'an entry was written');
    const again = planDetection({ rulePaths: [rules], filter: {}, stories: false });
    assert.equal(again.rulesKey, plan.rulesKey);
    assert.deepEqual(readShared(workerRules(again)), want);
    assert.equal(entries().length, 1, 'and read, not written again');
  });

  it('another choice of rules is another entry', () => {
    const high = planDetection({ rulePaths: [rules], filter: { minLevel: 'high' }, stories: false });
    assert.deepEqual(
      readShared(workerRules(high)).map((r) => r.title),
      ['A'],
    );
    assert.equal(entries().length, 2);
  });

  it('a damaged entry is not used: the rules are made again', () => {
    const plan = planDetection({ rulePaths: [rules], filter: {}, stories: false });
    for (const f of entries()) {
      const bytes = readFileSync(join(cache, f));
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x5a;
      writeFileSync(join(cache, f), bytes);
    }
    assert.deepEqual(readShared(workerRules(plan)), plain(plan.rules.map(forWorker)));
  });

  it('rules not from the cache are serialised as they are', () => {
    const plan = planDetection({ rulePaths: [rules], filter: {}, stories: false });
    assert.deepEqual(readShared(workerRules({ rules: plan.rules })), plain(plan.rules.map(forWorker)));
  });
});
