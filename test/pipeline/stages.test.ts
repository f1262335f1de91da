/**
 * The stage contract: correlation and stories give identical results whether fed all at once in
 * time order (as `hunt` does) or as a live stream would feed them: out of order within the allowed
 * lateness, in small batches, with watermarks, behind a reorder stage. Late input is handled and
 * counted, never lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toDetectionRecord } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { compareDetections, eventTime } from '../../src/detections/stage.js';
import { Engine } from '../../src/engine/engine.js';
import { addressClaims, type AddressClaim } from '../../src/events/addresses.js';
import type { HuntSummary } from '../../src/output/records.js';
import type { DetectionSink } from '../../src/output/stage.js';
import { detectionStages, planDetection } from '../../src/pipeline/plan.js';
import { ReorderStage } from '../../src/pipeline/reorder.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { rng } from '../output/fixtures.js';
import { writeScenario } from '../stories/scenario.js';

interface Input {
  detections: DetectionRecord[];
  claims: (AddressClaim & { at: string | null })[];
}

let input: Input;

class Capture implements DetectionSink {
  readonly seen: DetectionRecord[] = [];
  write(d: DetectionRecord): void {
    this.seen.push(d);
  }
  async close(_s: HuntSummary): Promise<void> {}
}

/** Run the standard stages over the input, fed by `feed`; returns what the outputs saw and the stories. */
async function run(feed: (stages: ReturnType<typeof detectionStages>, ds: DetectionRecord[]) => Promise<void>, reorder?: ReorderStage) {
  const plan = planDetection({ filter: {}, fullEvents: true });
  const out = new Capture();
  const stages = detectionStages(plan, { sinks: [out], before: reorder ? [reorder] : [] });
  stages.stories!.learn(input.claims);
  await feed(stages, structuredClone(input.detections));
  await stages.pipeline.finish();
  return { out: out.seen, stories: stages.stories!.stories(), stats: stages.pipeline.stats() };
}

/** What is compared: every output detection (correlations included) and every story, as JSON. */
function digest(r: Awaited<ReturnType<typeof run>>): { detections: string[]; stories: string } {
  return { detections: r.out.map((d) => JSON.stringify(d)), stories: JSON.stringify(r.stories) };
}

/** Arrival order: each detection delayed by up to `lateness` ms of event time (seeded). */
function shuffled(ds: DetectionRecord[], lateness: number, seed: number): DetectionRecord[] {
  const next = rng(seed);
  return ds
    .map((d) => ({ d, arrives: eventTime(d) + Math.floor(next() * lateness) }))
    .sort((a, b) => a.arrives - b.arrives)
    .map((x) => x.d);
}

describe('stages: all at once vs. a live stream with watermarks', { timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fb-stages-'));
  before(async () => {
    const gt = writeScenario(join(work, 's'), { seed: 3, hosts: 12, noiseEvents: 3000 });
    const plan = planDetection({ filter: {}, fullEvents: true });
    const engine = new Engine(plan.rules, { logsources: plan.logsources });
    input = { detections: [], claims: [] };
    for (const f of gt.files)
      for await (const ev of readEventsFromFile(f)) {
        for (const c of addressClaims(ev.fields, ev.computer ?? null)) input.claims.push({ ...c, at: ev.timestamp ?? null });
        for (const d of engine.match(ev)) input.detections.push(toDetectionRecord(d));
      }
    input.detections.sort(compareDetections);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('the input is rich enough to mean something (correlations fire, stories form)', async () => {
    const r = await run(async (s, ds) => s.pipeline.push(ds));
    assert.ok(input.detections.length > 200, `${input.detections.length} detections`);
    const fired = r.out.filter((d) => d.rule.kind === 'correlation').length;
    assert.ok(fired >= 2, `${fired} correlation detections`);
    assert.ok(r.stories.length >= 1, 'a story formed');
  });

  for (const [lateness, size] of [
    [60_000, 1],
    [10 * 60_000, 7],
    [3_600_000, 64],
  ] as const) {
    it(`identical: shuffled within ${lateness / 60_000} min, batches of ${size}, watermark after each`, async () => {
      const whole = digest(await run(async (s, ds) => s.pipeline.push(ds)));
      const reorder = new ReorderStage();
      const streamed = await run(async (s, ds) => {
        const arrival = shuffled(ds, lateness, lateness + size);
        let maxSeen = -Infinity;
        for (let i = 0; i < arrival.length; i += size) {
          const batch = arrival.slice(i, i + size);
          for (const d of batch) maxSeen = Math.max(maxSeen, eventTime(d));
          await s.pipeline.push(batch);
          await s.pipeline.advance(maxSeen - lateness);
        }
      }, reorder);
      assert.equal(streamed.stats.reorder!.late, 0);
      const got = digest(streamed);
      assert.equal(got.detections.length, whole.detections.length);
      assert.deepEqual(got.detections, whole.detections);
      assert.equal(got.stories, whole.stories);
    });
  }

  it('late input (beyond the allowed lateness) is counted and still reaches every stage', async () => {
    const reorder = new ReorderStage();
    const lateness = 60_000;
    const r = await run(async (s, ds) => {
      // Hold back every 10th detection and deliver them after the watermark has passed them.
      const held: DetectionRecord[] = [];
      let maxSeen = -Infinity;
      for (let i = 0; i < ds.length; i++) {
        if (i % 10 === 5) {
          held.push(ds[i]!);
          continue;
        }
        maxSeen = Math.max(maxSeen, eventTime(ds[i]!));
        await s.pipeline.push([ds[i]!]);
        if (i % 50 === 0) await s.pipeline.advance(maxSeen - lateness);
      }
      await s.pipeline.push(held);
    }, reorder);
    const late = r.stats.reorder!.late!;
    assert.ok(late > 0, 'some detections were late');
    // Nothing lost: the counts stage saw every detection that is an output of its own.
    const all = await run(async (s, ds) => s.pipeline.push(ds));
    const singles = (x: typeof r) => x.out.filter((d) => d.rule.kind === 'sigma').length;
    assert.equal(singles(r), singles(all));
    assert.equal(r.stats.counts!.detections, r.out.length);
  });
});
