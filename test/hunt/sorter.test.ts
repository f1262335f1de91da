/** The external sort: any number of runs, merges in passes, multi-byte text across blocks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../src/core/rng.js';
import { compareDetections, DetectionSorter } from '../../src/hunt/sorter.js';
import { detection } from '../output/fixtures.js';

describe('DetectionSorter', () => {
  it('gives every record back in time order, through many runs and merge passes', () => {
    const r = rng(3);
    const sorter = new DetectionSorter(5); // 1,500 records → 300 runs → merged in passes of 64
    const input = Array.from({ length: 1500 }, (_, i) =>
      detection({
        timestamp: new Date(Date.UTC(2024, 0, 1) + Math.floor(r() * 1e6) * 1000).toISOString(),
        computer: `H${Math.floor(r() * 5)}`,
        recordId: i,
        // Long multi-byte values cross the 1 MiB read blocks at arbitrary byte offsets.
        event: { Text: i % 100 === 0 ? 'é😀'.repeat(60_000 + i) : `v${i}` },
      }),
    );
    for (const d of input) sorter.add(d);
    const out = [...sorter.drain()];
    assert.equal(out.length, input.length);
    const expected = [...input].sort(compareDetections);
    assert.deepEqual(
      out.map((d) => d.recordId),
      expected.map((d) => d.recordId),
    );
    const big = out.find((d) => d.recordId === 700)!;
    assert.equal(big.event.Text, 'é😀'.repeat(60_700));
  });

  it('keeps small hunts in memory', () => {
    const sorter = new DetectionSorter();
    for (const t of ['2024-01-03T00:00:00Z', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z']) sorter.add(detection({ timestamp: t }));
    assert.deepEqual(
      [...sorter.drain()].map((d) => d.timestamp),
      ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z'],
    );
  });
});
