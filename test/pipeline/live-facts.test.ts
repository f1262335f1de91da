/**
 * Live stories learn routine from facts that arrive with the events, ahead of the detections the
 * watermark releases. They are learnt when event time reaches them, so the stories depend on
 * event time alone: an administered network with an intrusion, arriving shuffled within the
 * allowed lateness in batches of very different sizes, gives the same stories (the whole story,
 * scores, routine verdicts and narrative included). A server's log batches and a cluster's
 * partitions batch differently; their stories must not differ for it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { normaliseTime, toDetectionRecord } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { Engine } from '../../src/engine/engine.js';
import { addressClaims, type AddressClaim } from '../../src/events/addresses.js';
import { detectionStages, planDetection } from '../../src/pipeline/plan.js';
import { ReorderStage } from '../../src/pipeline/reorder.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { eventFacts, type RoutineFact } from '../../src/stories/facts.js';
import { rng } from '../output/fixtures.js';
import { writeScenario } from '../stories/scenario.js';

/** One event as a live stream delivers it: its time, detections, routine facts and address claims. */
interface Arrival {
  t: number;
  detections: DetectionRecord[];
  facts: RoutineFact[];
  claims: (AddressClaim & { at: string | null })[];
}

const LATENESS = 5 * 60_000;
const work = mkdtempSync(join(tmpdir(), 'fb-live-facts-'));
let events: Arrival[] = [];

/** Run live stages over the events, shuffled within LATENESS (seeded) in batches of `size`; the last report of each story still standing, by component. */
async function live(size: number, seed: number): Promise<{ stories: Map<number, string>; facts: number; early: number }> {
  const plan = planDetection({ filter: {}, fullEvents: true });
  const final = new Map<number, string>();
  const stages = detectionStages(plan, { before: [new ReorderStage()], stories: { live: { merged: (_into, from) => void final.delete(from) } } });
  const stories = stages.stories!;
  const collect = () => {
    for (const s of stories.changed()) final.set(s.key, JSON.stringify(s.story));
  };
  const next = rng(seed);
  const arrival = events
    .map((e) => ({ e, at: e.t + Math.floor(next() * LATENESS) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.e);
  let maxSeen = -Infinity;
  let facts = 0;
  for (let i = 0; i < arrival.length; i += size) {
    const batch = arrival.slice(i, i + size);
    stories.learn(batch.flatMap((e) => e.claims));
    const f = batch.flatMap((e) => e.facts);
    facts += f.length;
    stories.learnRoutine(f);
    await stages.pipeline.push(structuredClone(batch.flatMap((e) => e.detections)));
    for (const e of batch) maxSeen = Math.max(maxSeen, e.t);
    await stages.pipeline.advance(maxSeen - LATENESS);
    collect();
  }
  await stages.pipeline.finish();
  collect();
  return { stories: final, facts, early: Number(stories.stats().factsEarly) };
}

describe('live stories: routine facts are learnt by event time, whatever the batching', { timeout: 900_000 }, () => {
  before(async () => {
    const gt = writeScenario(join(work, 'n'), { seed: 4, background: 'administered', days: 2 });
    const plan = planDetection({ filter: {}, fullEvents: true });
    const engine = new Engine(plan.rules, { logsources: plan.logsources });
    for (const file of gt.files)
      for await (const ev of readEventsFromFile(file)) {
        const ts = normaliseTime(ev.timestamp);
        if (!ts) continue;
        const t = Date.parse(ts);
        const claims = addressClaims(ev.fields, ev.computer ?? null).map((c) => ({ ...c, at: ts }));
        events.push({ t, detections: engine.match(ev).map((d) => toDetectionRecord(d)), facts: eventFacts(ev.fields, ev.computer ?? null, t, plan.domain), claims });
      }
    events = events.sort((a, b) => a.t - b.t);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('the same stories with batches of 20 and of 5,000 events', async () => {
    const small = await live(20, 1);
    const large = await live(5000, 2);
    assert.ok(small.facts > 1000, `${small.facts} routine facts`);
    assert.equal(small.early + large.early, 0, 'no fact was learnt early for want of room');
    assert.ok(small.stories.size >= 1, 'stories formed');
    assert.deepEqual([...large.stories.keys()].sort(), [...small.stories.keys()].sort());
    for (const [key, story] of small.stories) assert.equal(large.stories.get(key), story, `story of component ${key}`);
  });
});
