/**
 * Stories from a generated intrusion: the bundled SigmaHQ rules run over the scenario's events,
 * detections become records, addresses are learnt from every event, and the StoryBuilder must
 * find one story with the right patient zero, spread and tactics, and none in background only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { TACTICS } from '../../src/detections/attack.js';
import { toDetectionRecord } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { ruleDirs } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import { addressClaims } from '../../src/events/addresses.js';
import { defaultDomain } from '../../src/events/domain.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import { detectionFact, eventFacts } from '../../src/stories/facts.js';
import type { Story } from '../../src/stories/model.js';
import { writeBackgroundOnly, writeScenario, type GroundTruth } from './scenario.js';

interface Hunted {
  stories: Story[];
  detections: DetectionRecord[];
  claims: number;
  builder: StoryBuilder;
}

let engine: Engine;

/** What `hunt` does, at library level: read, match, learn addresses and routine, build stories. */
async function hunt(files: string[]): Promise<Hunted> {
  const detections: DetectionRecord[] = [];
  const builder = new StoryBuilder();
  const domain = defaultDomain();
  let claims = 0;
  for (const f of files) {
    for await (const ev of readEventsFromFile(f)) {
      for (const c of addressClaims(ev.fields, ev.computer ?? null)) {
        builder.learnAddress(c.ip, c.host, ev.timestamp);
        claims++;
      }
      const t = ev.timestamp ? Date.parse(ev.timestamp) : NaN;
      builder.learnRoutine(eventFacts(ev.fields, ev.computer ?? null, t, domain));
      for (const d of engine.match(ev)) {
        const fact = detectionFact(d.rule.id ?? d.rule.title, ev.fields, ev.computer ?? null, t, domain);
        if (fact) builder.learnRoutine([fact]);
        detections.push(toDetectionRecord(d));
      }
    }
  }
  detections.sort((a, b) => (a.timestamp! < b.timestamp! ? -1 : a.timestamp! > b.timestamp! ? 1 : 0));
  for (const d of detections) builder.add(d);
  return { stories: builder.finish(), detections, claims, builder };
}

describe('stories from a generated intrusion (bundled SigmaHQ rules)', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fb-scenario-'));
  before(() => {
    engine = new Engine(loadRules(ruleDirs()).rules);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const seed of [1, 7, 42]) {
    it(`finds the intrusion as one story (seed ${seed})`, async () => {
      const gt: GroundTruth = writeScenario(join(work, `s${seed}`), { seed, hosts: 10 + seed, noiseEvents: 3000 });
      const { stories, detections, claims } = await hunt(gt.files);
      assert.ok(detections.length > 50, `${detections.length} detections`);
      assert.ok(claims > 100, `${claims} address claims`);
      assert.equal(stories.length, 1, stories.map((s) => `${s.score} ${s.hosts.map((h) => h.computer).join(',')}: ${s.narrative}`).join('\n'));
      const s = stories[0]!;

      assert.equal(s.patientZero?.computer, gt.patientZero);
      assert.equal(s.patientZero?.entry?.from, gt.attackerIp);
      // Every compromised host is in the story; background detections on other hosts may join by
      // time and place, but never as part of the spread.
      const hosts = s.hosts.map((h) => h.computer);
      for (const h of gt.compromisedHosts) assert.ok(hosts.includes(h), `${h} in ${hosts.join(', ')}`);
      const moved = new Set(s.spread.flatMap((e) => [e.from, e.to]));
      for (const h of hosts) if (!gt.compromisedHosts.includes(h)) assert.ok(!moved.has(h), `${h} is not in the spread`);

      const hostEdges = s.spread.filter((e) => e.fromKind === 'host');
      assert.deepEqual(
        hostEdges.map((e) => [e.from, e.to]),
        gt.spreadEdges,
      );
      hostEdges.forEach((e, i) => assert.ok(Math.abs(Date.parse(e.at) - Date.parse(gt.spreadAt[i]!)) <= 60_000, `${e.to} at ${e.at}, truth ${gt.spreadAt[i]}`));
      for (const e of hostEdges) assert.ok(['T1569.002', 'T1021.002'].includes(e.technique.id ?? ''), `${e.to}: ${JSON.stringify(e.technique)}`);
      assert.deepEqual(
        s.spread.filter((e) => e.fromKind === 'ip').map((e) => [e.from, e.to]),
        [[gt.attackerIp, gt.patientZero]],
      );

      // Every tactic of the intrusion, in kill-chain order (the ground truth lists them so), and
      // the whole list in ATT&CK's matrix order.
      const tactics = s.tactics.map((t) => t.short);
      assert.deepEqual(
        tactics.filter((t) => gt.tactics.includes(t)),
        gt.tactics,
        `tactics ${tactics.join(', ')}`,
      );
      const matrixOrder = (t: string) => TACTICS.findIndex((x) => x.short === t);
      for (const t of tactics) assert.ok(matrixOrder(t) >= 0, `${t} is an ATT&CK tactic`);
      assert.deepEqual(
        tactics,
        [...tactics].sort((a, b) => matrixOrder(a) - matrixOrder(b)),
        'tactics in matrix order',
      );
      const accounts = s.accounts.map((a) => a.toLowerCase());
      for (const a of gt.accounts) assert.ok(accounts.includes(a.toLowerCase()), `${a} in ${s.accounts.join(', ')}`);
      assert.ok(s.sourceIps.includes(gt.attackerIp));
      assert.ok(s.firstSeen <= gt.start.replace('.000Z', '.999Z') && s.lastSeen >= gt.end.slice(0, 19), `${s.firstSeen}..${s.lastSeen} vs ${gt.start}..${gt.end}`);
      assert.ok(s.levels.high > 5);

      const short = (fqdn: string) => fqdn.split('.')[0]!;
      assert.match(s.narrative, new RegExp(`^It started on ${short(gt.patientZero)} at \\d\\d:\\d\\d UTC on 2024-05-14 with .+ from ${gt.attackerIp.replace(/\./g, '\\.')}\\)\\.`));
      assert.match(s.narrative, new RegExp(`From there it reached ${short(gt.spreadEdges[0]![1])} \\(`));
      // The narrative names the first host whose logs were cleared.
      assert.ok(gt.logCleared.length > 0, 'the scenario clears logs');
      assert.ok(s.narrative.includes(`Logs were cleared on ${short(gt.logCleared[0]!)} at `), s.narrative);
      assert.match(s.narrative, /credential access on /i);
      assert.match(s.narrative, /impact on /i);
    });
  }

  it('makes no story from background activity alone, though some rules fire on it', async () => {
    const bg = writeBackgroundOnly(join(work, 'bg'), { seed: 3, hosts: 20, noiseEvents: 6000 });
    const { stories, detections, builder } = await hunt(bg.files);
    assert.ok(detections.length > 0, 'benign admin habits trip a few low/medium rules');
    assert.ok(detections.every((d) => d.level === 'low' || d.level === 'medium' || d.level === 'informational'));
    assert.deepEqual(
      stories.map((s) => s.narrative),
      [],
    );
    assert.ok(builder.stats().discarded > 0);
  });
});
