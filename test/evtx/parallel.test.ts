/**
 * Parallel reading gives exactly what reading in one thread gives: the same records, errors
 * and warnings, in the same order, for one file and across many.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { readEvtxFiles, type EvtxError, type EvtxRecord } from '../../src/readers/evtx/index.js';
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
