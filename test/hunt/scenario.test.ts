/**
 * The whole of `hunt` on a generated multi-host intrusion (test/stories/scenario.ts): workers,
 * time ordering across host files, SigmaHQ rules, Firebreak's correlations and stories. One story
 * with the right patient zero, spread and tactics; none for the same network's background alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hunt } from '../../src/hunt/run.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import type { HuntSummary } from '../../src/output/records.js';
import type { Story } from '../../src/stories/model.js';
import { writeBackgroundOnly, writeScenario } from '../stories/scenario.js';

const work = mkdtempSync(join(tmpdir(), 'fb-hunt-scenario-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function run(dir: string, needsEvent = false): Promise<{ stories: Story[]; detections: DetectionRecord[]; summary: HuntSummary }> {
  const detections: DetectionRecord[] = [];
  let stories: Story[] = [];
  const summary = await hunt({
    paths: [dir],
    filter: {},
    threads: 2,
    sinks: [{ needsEvent, write: (d) => void detections.push(d), close: async () => undefined }],
    onStories: (s) => void (stories = s),
  });
  return { stories, detections, summary };
}

describe('hunt on a generated intrusion', { timeout: 300_000 }, () => {
  it('one story: patient zero, spread edges, tactics; correlations fire; building blocks stay hidden', async () => {
    const gt = writeScenario(join(work, 'attack'), { seed: 11, hosts: 14, noiseEvents: 4000 });
    const { stories, detections, summary } = await run(join(work, 'attack'));
    assert.equal(summary.events, gt.events);
    assert.equal(stories.length, 1, stories.map((s) => s.narrative).join('\n'));
    const s = stories[0]!;
    assert.equal(s.patientZero?.computer, gt.patientZero);
    assert.deepEqual(
      s.spread.filter((e) => e.fromKind === 'host').map((e) => [e.from, e.to]),
      gt.spreadEdges,
    );
    const tactics = s.tactics.map((t) => t.short);
    for (const t of gt.tactics) assert.ok(tactics.includes(t), `tactic ${t} in ${tactics.join(', ')}`);

    // The brute force from outside is a correlation of Firebreak's own rules (failed logons, then
    // a success), and it joins the story; its informational building blocks are never output.
    const correlations = detections.filter((d) => d.rule.kind === 'correlation');
    assert.ok(correlations.length >= 1, 'a correlation fired');
    assert.ok(correlations.some((d) => d.correlation && d.correlation.contributors.length > 0));
    assert.ok(s.topRules.some((r) => correlations.some((c) => c.rule.title === r.title)) || s.timeline.some((t) => t.kind === 'correlation'), 'the correlation is part of the story');
    assert.ok(!detections.some((d) => d.hidden), 'no hidden detection reaches the outputs');
    assert.ok(!detections.some((d) => d.rule.title === 'Failed Logon'), 'building-block rules are not reported');

    // Detections come out in time order although host files were read in parallel.
    for (let i = 1; i < detections.length; i++) assert.ok((detections[i - 1]!.timestamp ?? '') <= (detections[i]!.timestamp ?? ''), `order at ${i}`);
  });

  it('the same stories and correlations whether detections carry whole events or only the fields stories read', async () => {
    const slim = await run(join(work, 'attack'));
    const full = await run(join(work, 'attack'), true);
    assert.equal(slim.stories.length, 1);
    assert.deepEqual(slim.stories, full.stories);
    const strip = (ds: DetectionRecord[]) => ds.map(({ event: _event, ...rest }) => rest);
    assert.deepEqual(strip(slim.detections), strip(full.detections));
    // The cut really happened: whole events hold far more fields than stories read.
    const fields = (ds: DetectionRecord[]) => ds.reduce((n, d) => n + Object.keys(d.event).length, 0);
    assert.ok(fields(slim.detections) < fields(full.detections) / 2, `${fields(slim.detections)} of ${fields(full.detections)} fields`);
  });

  it('no story from background activity alone', async () => {
    writeBackgroundOnly(join(work, 'bg'), { seed: 5, hosts: 20, noiseEvents: 6000 });
    const { stories, summary } = await run(join(work, 'bg'));
    assert.ok(summary.events >= 6000);
    assert.deepEqual(
      stories.map((s) => s.narrative),
      [],
    );
  });
});
