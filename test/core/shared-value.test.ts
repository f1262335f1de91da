/**
 * A value serialised once into shared memory (src/core/shared-value.ts): it comes back exactly,
 * and worker threads given it in `workerData` read the same bytes, not copies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { readShared, shareValue } from '../../src/core/shared-value.js';

test('a shared value comes back exactly (maps, sets, dates, regexes, nesting)', () => {
  const value = {
    rules: [{ id: 'a', tags: ['attack.t1003'], when: new Date('2026-01-02T03:04:05Z'), re: /\\x41bc/i }],
    index: new Map([['k', new Set([1, 2, 3])]]),
    text: 'ü\u0000\ud83d\ude00',
  };
  const s = shareValue(value);
  assert.ok(s.bytes.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(readShared(s), value);
});

test('workers read the one shared copy: a byte changed by one is seen by the main thread', async () => {
  const s = shareValue({ n: 41 });
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { deserialize } = require('node:v8');
    const b = workerData.bytes;
    const before = deserialize(Buffer.from(b.buffer, b.byteOffset, b.byteLength)).n;
    parentPort.postMessage({ before, shared: b.buffer instanceof SharedArrayBuffer });
    b[b.length - 1] = 0xff;
    parentPort.postMessage('written');
  `;
  const w = new Worker(code, { eval: true, workerData: s });
  const msgs: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    w.on('message', (m) => {
      msgs.push(m);
      if (m === 'written') resolve();
    });
    w.on('error', reject);
  });
  await w.terminate();
  assert.deepEqual(msgs[0], { before: 41, shared: true });
  assert.equal(s.bytes[s.bytes.length - 1], 0xff);
});
