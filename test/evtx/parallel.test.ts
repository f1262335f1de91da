/**
 * Parallel reading gives exactly what reading in one thread gives: the same records, errors
 * and warnings, in the same order, for one file and across many.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { readEvtxFiles, renderEvtxFiles, type EvtxError, type EvtxRecord } from '../../src/readers/evtx/index.js';
import { EDGE, FIXTURES, HAVE_EDGE } from './helpers.js';

async function collect(paths: string[], threads: number): Promise<{ records: EvtxRecord[]; problems: string[] }> {
  const records: EvtxRecord[] = [];
  const problems: string[] = [];
  for await (const r of readEvtxFiles(paths, { threads, onError: (e: EvtxError) => problems.push(e.format()) })) records.push(r);
  return { records, problems };
}

const dir = HAVE_EDGE ? EDGE : FIXTURES;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.evtx'))
  .sort()
  .map((f) => dir + f);

test(`threads 1, 2 and 3 yield identical records in identical order (${HAVE_EDGE ? 'edge cases' : 'fixtures'})`, async () => {
  const one = await collect(files, 1);
  assert.ok(one.records.length > 0);
  for (const threads of [2, 3]) {
    const many = await collect(files, threads);
    assert.equal(many.records.length, one.records.length);
    assert.deepEqual(
      many.records.map((r) => [r.file, r.chunk, r.offset, r.recordId]),
      one.records.map((r) => [r.file, r.chunk, r.offset, r.recordId]),
    );
    assert.deepEqual(many.records, one.records);
    // Header warnings are reported when a file is planned, chunk problems when its chunk
    // arrives: the same set either way.
    assert.deepEqual([...many.problems].sort(), [...one.problems].sort());
  }
});

test('xml: records carry their XML in both modes', async () => {
  const path = `${FIXTURES}Security_short_selected.evtx`;
  for (const threads of [1, 2]) {
    const out: EvtxRecord[] = [];
    for await (const r of readEvtxFiles([path], { threads, xml: true })) out.push(r);
    assert.equal(out.length, 7);
    assert.ok(out.every((r) => r.xml?.startsWith('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">')));
  }
});

test('dump rendering: threads 2 and 3 print the same text and errors, in the same order, as 1', async () => {
  const render = async (threads: number, parallelMinFileBytes?: number): Promise<{ text: string; problems: string[] }> => {
    let text = '';
    const problems: string[] = [];
    const opts = { threads, parallelMinFileBytes, onError: (e: EvtxError): void => void problems.push(e.format()) };
    for await (const c of renderEvtxFiles(files, 'jsonl', opts)) text += typeof c.text === 'string' ? c.text : Buffer.from(c.text).toString();
    return { text, problems };
  };
  const one = await render(1);
  assert.ok(one.text.length > 0);
  // 0: every file is split into batches over the worker and this thread; default: small files
  // stay in this thread.
  for (const [threads, min] of [
    [2, 0],
    [3, 0],
    [2, undefined],
  ] as const) {
    const many = await render(threads, min);
    assert.equal(many.text, one.text);
    assert.deepEqual(many.problems, one.problems);
  }
});
