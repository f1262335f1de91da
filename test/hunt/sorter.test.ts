/** The external sort: any number of runs, merges in passes, multi-byte text across blocks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../src/core/rng.js';
import { compareDetections } from '../../src/detections/stage.js';
import { DetectionSorter, RunSpiller, sortItem, sortItemOfRule } from '../../src/hunt/sorter.js';
import { detection } from '../output/fixtures.js';

describe('DetectionSorter', () => {
  it('gives every record back in time order, through many runs and merge passes', () => {
    const r = rng(3);
    const sorter = new DetectionSorter(5); // 1,503 records → 300 runs (merged in passes of 64) and 3 still in memory
    const input = Array.from({ length: 1503 }, (_, i) =>
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

  it('merges the runs threads wrote, their last runs and what the main thread holds', () => {
    const r = rng(11);
    const sorter = new DetectionSorter(7);
    const spillers = [0, 1, 2].map((i) => new RunSpiller(sorter.directory(), `w${i}`, 10 + i * 3, 2 ** 20));
    const input = Array.from({ length: 400 }, (_, i) =>
      detection({ timestamp: new Date(Date.UTC(2024, 0, 1) + Math.floor(r() * 5e4) * 1000).toISOString(), computer: `H${Math.floor(r() * 3)}`, recordId: i }),
    );
    let runs = 0;
    input.forEach((d, i) => {
      const path = spillers[i % 3]!.add(sortItem(d));
      if (path) {
        runs++;
        sorter.addRun(path);
      }
    });
    assert.ok(runs > 20, `${runs} runs`);
    // At the end a worker writes what it holds as one last run; the main thread's own stay in memory.
    for (const s of spillers.slice(0, 2)) {
      const last = s.flush();
      assert.ok(last, 'a last run of what was held');
      assert.equal(s.flush(), undefined, 'and nothing is held after it');
      sorter.addRun(last);
    }
    for (const item of spillers[2]!.take()) sorter.add(item);
    const out = [...sorter.drain()];
    assert.deepEqual(
      out.map((d) => d.recordId),
      [...input].sort(compareDetections).map((d) => d.recordId),
    );
  });

  it('spills on the character limit as well as the count, and take() empties the spiller', () => {
    const sorter = new DetectionSorter();
    const small = sortItem(detection({ recordId: 1 })).json.length;
    const s = new RunSpiller(sorter.directory(), 'w0', 1_000, 2 * small + 50);
    assert.equal(s.add(sortItem(detection({ recordId: 1 }))), undefined);
    assert.equal(s.add(sortItem(detection({ recordId: 2 }))), undefined);
    const path = s.add(sortItem(detection({ recordId: 3, event: { Text: 'x'.repeat(200) } })));
    assert.ok(path, 'a run is written once the text passes the limit');
    assert.deepEqual(s.take(), []);
    sorter.addRun(path);
    assert.equal([...sorter.drain()].length, 3);
  });

  it("takes workers' records that name their rule by its place in the hunt's list, through runs, merge passes and memory", () => {
    const r = rng(5);
    const rules = Array.from({ length: 9 }, (_, i) => detection({}, { id: `rule-${i}`, title: `Rule ${i}`, tags: [`attack.t10${i}`], file: `rules/r${i}.yml` }).rule);
    const sorter = new DetectionSorter(4, 2 ** 20, rules);
    const spillers = [0, 1].map((i) => new RunSpiller(sorter.directory(), `w${i}`, 3 + i, 2 ** 20));
    const input = Array.from({ length: 700 }, (_, i) => {
      const k = Math.floor(r() * rules.length);
      return { k, d: detection({ timestamp: new Date(Date.UTC(2024, 0, 1) + Math.floor(r() * 1e5) * 1000).toISOString(), recordId: i }, rules[k]) };
    });
    let runs = 0;
    input.forEach(({ k, d }, i) => {
      const item = sortItemOfRule(d, i % 2, k);
      assert.ok(!item.json.includes(d.rule.file), 'the rule is not written out');
      const path = spillers[i % 2]!.add(item);
      if (path) {
        runs++;
        sorter.addRun(path);
      }
    });
    assert.ok(runs > 64, `${runs} runs: merged in passes`);
    sorter.addRun(spillers[0]!.flush()!);
    for (const item of spillers[1]!.take()) sorter.add(item);
    const out = [...sorter.drain()];
    const expected = input.map((x) => x.d).sort(compareDetections);
    assert.deepEqual(out, expected, 'every record back whole, rule included, in time order');
  });

  it('a record naming a rule the list does not hold is an error, not a record without a rule', () => {
    const sorter = new DetectionSorter(1_000, 2 ** 20, [detection().rule]);
    sorter.add(sortItemOfRule(detection(), 0, 3));
    assert.throws(() => [...sorter.drain()], /names rule 3, which is not in the hunt's list of 1/);
  });
});
