/**
 * The validated-data cache (src/core/data-cache.ts): a second read of the same text is served
 * from the cache, identical; an edited text, another kind or salt is read afresh; a damaged entry
 * and `FIREBREAK_NO_CACHE=1` fall back to reading; bad data is never stored. Also: the bundled
 * domain loads the same through the cache as without it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cachedData } from '../../src/core/data-cache.js';
import { loadDomain } from '../../src/events/domain.js';

const saved = { dir: process.env.FIREBREAK_CACHE_DIR, off: process.env.FIREBREAK_NO_CACHE };
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fb-data-cache-'));
  process.env.FIREBREAK_CACHE_DIR = dir;
  delete process.env.FIREBREAK_NO_CACHE;
});
after(() => {
  if (saved.dir === undefined) delete process.env.FIREBREAK_CACHE_DIR;
  else process.env.FIREBREAK_CACHE_DIR = saved.dir;
  if (saved.off !== undefined) process.env.FIREBREAK_NO_CACHE = saved.off;
});

test('data cache: read once per text, kind and salt; damaged entries and the off switch fall back', () => {
  let reads = 0;
  const read = (v: unknown) => () => {
    reads++;
    return v;
  };
  const data = { a: [1, 2, { b: 'x' }], inf: Infinity, nul: null };
  assert.deepEqual(cachedData('k', 's1', 'text one', read(data)), data);
  assert.deepEqual(cachedData('k', 's1', 'text one', read('not used')), data);
  assert.equal(reads, 1, 'the second read came from the cache');
  assert.equal(cachedData('k', 's1', 'text two', read('two')), 'two');
  assert.equal(cachedData('k2', 's1', 'text one', read('kind')), 'kind');
  assert.equal(cachedData('k', 's2', 'text one', read('salt')), 'salt');
  assert.equal(reads, 4);
  // Damage every entry: each is read afresh and stored again.
  for (const f of readdirSync(dir)) writeFileSync(join(dir, f), 'not a v8 serialisation');
  assert.equal(cachedData('k', 's1', 'text one', read('again')), 'again');
  assert.equal(reads, 5);
  process.env.FIREBREAK_NO_CACHE = '1';
  try {
    assert.equal(cachedData('k', 's1', 'text one', read('off')), 'off');
    assert.equal(reads, 6);
  } finally {
    delete process.env.FIREBREAK_NO_CACHE;
  }
});

test('data cache: bad data throws every time and is never stored', () => {
  const bad = () => {
    throw new Error('invalid');
  };
  assert.throws(() => cachedData('k', 's', 'bad text', bad), /invalid/);
  assert.throws(() => cachedData('k', 's', 'bad text', bad), /invalid/);
});

test('data cache: the bundled domain is the same read through the cache and read afresh', () => {
  const first = loadDomain().data;
  const cached = loadDomain().data;
  process.env.FIREBREAK_NO_CACHE = '1';
  try {
    assert.deepEqual(cached, first);
    assert.deepEqual(loadDomain().data, first);
  } finally {
    delete process.env.FIREBREAK_NO_CACHE;
  }
});

test('data cache: keeps at most 16 entries', () => {
  for (let i = 0; i < 40; i++) cachedData('many', '', `text ${i}`, () => i);
  assert.ok(readdirSync(dir).filter((f) => f.startsWith('data-')).length <= 16);
});
