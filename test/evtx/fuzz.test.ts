/**
 * Done-when 4: fixed-seed fuzzing. Mutated chunks and files must never make the reader throw,
 * hang or grow without bound; every problem must come back as an error with a location, and no
 * mutation may reach an unchecked read (which the chunk parser reports as evtx.internal).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseChunk, readEvtx, type EvtxError } from '../../src/readers/evtx/index.js';
import { renderChunk } from '../../src/readers/evtx/render.js';
import { FIXTURES, readAll, readBytes } from './helpers.js';
import { mutateChunk, mutateFile, rng } from './mutate.js';

const SEED = 0x5eed;
const samples = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.evtx'))
  .sort()
  .map((f) => readBytes(FIXTURES + f));
const chunks = samples.map((s) => s.subarray(4096, 4096 + 65536));

test('fuzz: 2,000 mutated chunks never throw, hang or blow up', () => {
  const rand = rng(SEED);
  let records = 0;
  let errors = 0;
  const heapStart = process.memoryUsage().heapUsed;
  let heapMax = heapStart;
  for (let i = 0; i < 2000; i++) {
    const base = chunks[i % chunks.length]!;
    const m = mutateChunk(base, chunks, rand);
    const t0 = performance.now();
    let items;
    try {
      items = parseChunk(m.bytes, { file: 'fuzz', chunk: 7, fileOffset: 4096 + 7 * 65536 });
    } catch (e) {
      assert.fail(`iteration ${i} (${m.what}): parseChunk threw ${String(e)}`);
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `iteration ${i} (${m.what}) took ${ms.toFixed(0)} ms`);
    let outBytes = 0;
    for (const it of items) {
      if ('doc' in it) {
        records++;
        outBytes += JSON.stringify(it.doc).length;
      } else {
        errors++;
        const e = it;
        assert.notEqual(e.code, 'evtx.internal', `iteration ${i} (${m.what}): ${e.format()}`);
        assert.equal(e.chunk, 7);
        assert.equal(e.file, 'fuzz');
        assert.ok(e.offset >= 4096 + 7 * 65536 && e.offset < 4096 + 8 * 65536, `offset inside the chunk: ${e.format()}`);
      }
    }
    // A 64 KiB chunk may legitimately expand (templates are shared), but not without bound.
    assert.ok(outBytes < 64 << 20, `iteration ${i} (${m.what}): ${outBytes} bytes of output`);
    // The dump path (straight to text) says exactly what the record API says.
    const info = { file: 'fuzz', chunk: 7, fileOffset: 4096 + 7 * 65536 };
    const rendered = renderChunk(m.bytes, info, 'jsonl');
    const docs = items.filter((it) => 'doc' in it).map((it) => JSON.stringify((it as { doc: unknown }).doc));
    assert.equal(rendered.text, docs.length ? docs.join('\n') + '\n' : '', `iteration ${i} (${m.what}): dump text differs`);
    assert.deepEqual(
      rendered.errors.map((e) => `${e.code} ${e.offset} ${e.message}`),
      items.filter((it) => !('doc' in it)).map((it) => `${(it as EvtxError).code} ${(it as EvtxError).offset} ${(it as EvtxError).message}`),
    );
    if (i % 100 === 0) heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
  }
  assert.ok(records > 1000, `mutations should leave many records readable (${records})`);
  assert.ok(errors > 100, `mutations should produce errors (${errors})`);
  assert.ok(heapMax - heapStart < 512 << 20, `heap grew by ${((heapMax - heapStart) / 1048576).toFixed(0)} MiB`);
});

test('fuzz: 150 truncated or bit-flipped files stream to the end without throwing, and nothing changes silently', async () => {
  const rand = rng(SEED + 1);
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-evtx-fuzz-'));
  const docs = (records: { doc: unknown }[]) => records.map((r) => JSON.stringify(r.doc));
  let truncated = 0;
  let flipped = 0;
  let unchanged = 0;
  let reported = 0;
  try {
    const originals: string[][] = [];
    for (const [k, bytes] of samples.entries()) {
      const path = join(dir, `original${k}.evtx`);
      writeFileSync(path, bytes);
      const { records, errors } = await readAll(path);
      assert.deepEqual(errors, [], `sample ${k} reads cleanly`);
      originals.push(docs(records));
    }
    for (let i = 0; i < 150; i++) {
      const original = originals[i % samples.length]!;
      const m = mutateFile(samples[i % samples.length]!, rand);
      const path = join(dir, `m${i}.evtx`);
      writeFileSync(path, m.bytes);
      const problems: EvtxError[] = [];
      const got: { doc: unknown }[] = [];
      try {
        for await (const r of readEvtx(path, { onError: (e) => problems.push(e) })) {
          assert.equal(r.file, path);
          got.push(r);
        }
      } catch (e) {
        assert.fail(`file ${i} (${m.what}): readEvtx threw ${String(e)}`);
      }
      for (const e of problems) assert.notEqual(e.code, 'evtx.internal', `file ${i} (${m.what}): ${e.format()}`);
      if (m.bytes.length < 128)
        assert.ok(
          problems.some((e) => e.code === 'evtx.file.magic'),
          `file ${i}: short file reported`,
        );
      const out = docs(got);
      if (m.what.startsWith('file truncate')) {
        // A cut file yields the records before the cut, unchanged, and says when it lost any.
        truncated++;
        assert.deepEqual(out, original.slice(0, out.length), `file ${i} (${m.what}): a prefix of the original records`);
        if (out.length < original.length) assert.ok(problems.length > 0, `file ${i} (${m.what}): ${original.length - out.length} records lost without a word`);
      } else {
        // Flipped bits are either reported (a checksum, a bad structure) or changed nothing.
        flipped++;
        if (problems.length === 0) {
          assert.deepEqual(out, original, `file ${i} (${m.what}): records changed and nothing was reported`);
          unchanged++;
        }
      }
      if (problems.length) reported++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(truncated > 40 && flipped > 40, `${truncated} truncated, ${flipped} flipped`);
  assert.ok(reported > 100, `${reported} of 150 files had their damage reported (${unchanged} flips changed nothing)`);
});
