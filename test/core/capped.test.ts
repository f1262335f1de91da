/**
 * The one capped-stream helper (src/core/capped.ts): sizes and the bomb ratio are enforced on
 * bytes actually produced, for `scan` and for `hunt` alike — a gzipped log that is a bomb is an
 * error naming the file and the limit, and the hunt goes on with the other files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip, gzipSync, constants } from 'node:zlib';
import { CapExceededError, DEFAULT_RATIO, capped } from '../../src/core/capped.js';
import { LIMITS } from '../../src/core/limits.js';
import { cli } from '../helpers.js';

const gunzip = (src: AsyncIterable<Buffer>): AsyncIterable<Buffer> => pipeline(Readable.from(src), createGunzip(), () => {});
async function drain(src: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of src) n += c.length;
  return n;
}
async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

test('capped: an ordinary stream passes whole; a bomb stops at the ratio, a big one at its size', async () => {
  const text = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i} user=u${(i * 7919) % 1000}`).join('\n'));
  assert.equal(await drain(capped('ok.gz', once(gzipSync(text)), gunzip, { maxBytes: 1 << 30, ...DEFAULT_RATIO })), text.length);

  const bomb = gzipSync(Buffer.alloc(64 << 20, 0x20), { level: constants.Z_BEST_COMPRESSION });
  await assert.rejects(drain(capped('bomb.gz', once(bomb), gunzip, { maxBytes: 1 << 30, ...DEFAULT_RATIO })), (e: unknown) => {
    assert.ok(e instanceof CapExceededError);
    assert.equal(e.kind, 'ratio');
    assert.equal(e.limit, 'decompressMaxRatio');
    assert.match(e.message, /^bomb\.gz: compression ratio over 200:1/);
    return true;
  });
  await assert.rejects(
    drain(capped('big.gz', once(gzipSync(text)), gunzip, { maxBytes: 1000, ...DEFAULT_RATIO, names: { maxBytes: 'testMax' } })),
    /big\.gz: decompressed size passed 1000 bytes \(limit testMax\)/,
  );
  assert.equal(DEFAULT_RATIO.maxRatio, LIMITS.decompressMaxRatio);
});

test('hunt: a gzipped log that is a bomb is an error naming the file and the limit; the other files are hunted', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-gzip-bomb-'));
  const evidence = join(dir, 'evidence');
  mkdirSync(evidence);
  // One real record, then 64 MiB of blank lines: valid JSON lines, compressed about 1000:1.
  const record = '{"EventID": 4688, "Channel": "Security", "Computer": "ws1", "CommandLine": "whoami /all"}\n';
  writeFileSync(join(evidence, 'bomb.json.gz'), gzipSync(Buffer.concat([Buffer.from(record), Buffer.alloc(64 << 20, 0x0a)]), { level: constants.Z_BEST_COMPRESSION }));
  writeFileSync(join(evidence, 'good.json'), record.repeat(3));
  const summaryPath = join(dir, 'summary.json');
  const r = await cli('hunt', evidence, '--summary-json', summaryPath, '--no-stories');
  const all = r.out + r.err;
  assert.match(all, /bomb\.json\.gz/);
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
  const errors = summary.errors.sample as { file: string; code: string; message: string }[];
  const bombError = errors.find((e) => e.file.endsWith('bomb.json.gz'));
  assert.ok(bombError, JSON.stringify(errors));
  assert.equal(bombError.code, 'limit.ratio');
  assert.match(bombError.message, /bomb\.json\.gz: compression ratio over 200:1 .*limit decompressMaxRatio/);
  // The rest of the hunt went on: the good file's three events and the bomb's first record were read.
  assert.ok(summary.events >= 3, `events ${summary.events}`);
  assert.ok(summary.files.read >= 1, JSON.stringify(summary.files));
});
