/**
 * The two-generation map of recently used entries (src/core/recent.ts): a stream of keys never
 * seen again holds at most two generations; an entry in use survives every turn; an entry found
 * in the old generation is kept through the next turn.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentMap } from '../../src/core/recent.js';

test('a stream of new keys holds at most two generations', () => {
  const m = new RecentMap<string, number>(100);
  let most = 0;
  for (let i = 0; i < 10_000; i++) {
    m.set(`k${i}`, i);
    most = Math.max(most, m.size);
  }
  assert.equal(most, 200);
  assert.equal(m.get('k9999'), 9999);
  assert.equal(m.get('k9800'), 9800, 'the old generation is still read');
  assert.equal(m.get('k9700'), undefined, 'two generations back is gone');
});

test('an entry in use survives every turn; one found in the old generation moves back to the young one', () => {
  const m = new RecentMap<string, number>(10);
  m.set('hot', 1);
  for (let i = 0; i < 1_000; i++) {
    m.set(`cold${i}`, i);
    assert.equal(m.get('hot'), 1, `after ${i + 1} other keys`);
  }
  const n = new RecentMap<string, number>(2);
  n.set('a', 1);
  n.set('b', 2);
  n.set('c', 3); // turn: a, b old
  assert.equal(n.get('a'), 1); // back to young (c, a)
  n.set('d', 4); // turn: c, a old; d young
  n.set('e', 5);
  n.set('f', 6); // turn: d, e old
  assert.equal(n.get('b'), undefined);
  assert.equal(n.get('a'), undefined);
  assert.equal(n.get('e'), 5);
  assert.ok(n.size <= 4);
});

test('setting a key again replaces its value without a turn; a generation needs room for one entry', () => {
  const m = new RecentMap<string, number>(1);
  m.set('x', 1);
  m.set('x', 2);
  assert.equal(m.get('x'), 2);
  assert.equal(m.size, 1);
  m.clear();
  assert.equal(m.size, 0);
  assert.throws(() => new RecentMap(0), /at least one entry/);
});
