/**
 * A value serialised once into shared memory (src/core/shared-value.ts): it comes back exactly,
 * and worker threads given it in `workerData` read the same bytes, not copies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { decodeValue, encodeValue, readShared, shareValue } from '../../src/core/shared-value.js';

test('a shared value comes back exactly (maps, sets, dates, regexes, nesting)', () => {
  const value = {
    rules: [{ id: 'a', tags: ['attack.t1003'], when: new Date('2026-01-02T03:04:05Z'), re: /\\x41bc/i }],
    index: new Map([['k', new Set([1, 2, 3])]]),
    text: 'ü\u0000\ud83d\ude00',
  };
  const s = shareValue(value);
  assert.ok(s.bytes.buffer instanceof SharedArrayBuffer);
  assert.equal(s.bytes[0], 0x56, 'not plain data: written by v8.serialize');
  assert.deepEqual(readShared(s), value);
});

test('plain data is written as ASCII JSON and comes back exactly (undefined properties left out)', () => {
  const value = {
    rules: [{ id: 'a', tags: ['attack.t1003'], level: 3.5, n: -2, ok: true, none: null, nested: [[], {}] }],
    text: 'ü\u0000\ud83d\ude00 \ud800 lone, "quoted" \\ \u007f\u2028',
    prose: undefined,
  };
  const s = shareValue(value);
  assert.equal(s.bytes[0], 0x4a, 'JSON');
  assert.ok(
    s.bytes.every((b) => b < 0x7f),
    'ASCII only',
  );
  const { prose, ...rest } = value;
  assert.equal(prose, undefined);
  assert.deepEqual(readShared(s), rest);
  assert.deepEqual(decodeValue(encodeValue('x')), 'x');
});

test('what JSON would change is written by v8.serialize and comes back exactly', () => {
  const cases: unknown[] = [
    { n: Number.NaN },
    { n: Infinity },
    { n: -0 },
    { list: [1, undefined, 3] },
    { big: 10n },
    { at: new Date(0) },
    { own: { toJSON: () => 'other' } },
    Object.assign(Object.create({ inherited: 1 }) as object, { x: 1 }),
    undefined,
  ];
  for (const value of cases) {
    let bytes: Uint8Array;
    try {
      bytes = encodeValue(value);
    } catch (e) {
      // v8.serialize cannot write a function: refused with its error, never written as JSON.
      assert.ok(value && typeof value === 'object' && 'own' in value, String(e));
      continue;
    }
    assert.equal(bytes[0], 0x56, `v8 for ${String(Object.keys(value ?? {}))}`);
    assert.deepEqual(decodeValue(bytes), value === undefined ? undefined : structuredClone(value));
  }
  assert.throws(() => decodeValue(new Uint8Array([0x41])), /unknown encoding 0x41/);
  assert.throws(() => decodeValue(new Uint8Array(0)), /no bytes/);
});

test('workers read the one shared copy: a byte changed by one is seen by the main thread', async () => {
  const s = shareValue({ n: 41 });
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const b = workerData.bytes;
    const before = JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', 1)).n;
    parentPort.postMessage({ before, shared: b.buffer instanceof SharedArrayBuffer });
    b[b.length - 2] = 0x32;
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
  assert.equal(s.bytes[s.bytes.length - 2], 0x32);
  assert.deepEqual(readShared(s), { n: 42 }, 'the byte the worker wrote');
});
