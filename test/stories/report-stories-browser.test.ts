/**
 * The report's story view in headless Chromium (Debian `chromium` + playwright-core), opened
 * from file:// offline: stories built from the generated intrusion (bundled SigmaHQ rules) and a
 * correlation-made one. Skips when Chromium is not at /usr/bin/chromium. Leaves a screenshot of
 * the stories section at /tmp/firebreak-stories.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { Engine } from '../../src/engine/engine.js';
import { toDetectionRecord } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { HtmlReportWriter } from '../../src/output/report/index.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { ruleDirs } from '../../src/sigma/bundled.js';
import { loadRules } from '../../src/sigma/collection.js';
import { addressClaims } from '../../src/events/addresses.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import type { Story } from '../../src/stories/model.js';
import { CHROMIUM_SKIP, openReport } from '../output/browser.js';
import { detection, summary, XSS } from '../output/fixtures.js';
import { writeScenario, type GroundTruth } from './scenario.js';
import { contributorsOn } from './contributors.js';

const skip = CHROMIUM_SKIP;
export const STORIES_SCREENSHOT = '/tmp/firebreak-stories.png';

interface BrowserGlobal {
  __xss?: number;
}

/** A second, smaller story: one address logging on to four servers (a correlation), hostile names. */
function correlationStory(): Story[] {
  const at = (m: number) => new Date(Date.UTC(2024, 4, 14, 15, m)).toISOString();
  const targets = ['APP01.corp.local', 'APP02.corp.local', XSS, 'APP04.corp.local'];
  const corr: DetectionRecord = detection(
    {
      timestamp: at(9),
      computer: null,
      level: 'high',
      correlation: {
        type: 'value_count',
        group: { IpAddress: '10.20.9.99' },
        value: 4,
        windowStart: at(0),
        windowEnd: at(9),
        contributors: contributorsOn(targets, { at: (i) => at(i * 3), ruleId: 'r', ruleTitle: 'Network logon', fields: () => ({ EventID: 4624, LogonType: 3, TargetUserName: 'svc_deploy' }) }),
        omitted: 0,
      },
      event: {},
    },
    { id: 'corr-spray', title: 'One address logs on to many servers', level: 'high', tags: ['attack.lateral-movement', 'attack.t1021.002'], kind: 'correlation' },
  );
  const b = new StoryBuilder();
  b.learnAddress('10.20.9.99', 'JUMP01.corp.local');
  b.add(corr);
  return b.finish();
}

/** A third: a host of the evidence trying six hosts with failed logons (a spray); nothing reached them. */
function sprayStory(): Story[] {
  const at = (m: number) => new Date(Date.UTC(2024, 4, 14, 18, m)).toISOString();
  const targets = Array.from({ length: 6 }, (_, i) => `WS0${i + 1}.corp.local`);
  const spray: DetectionRecord = detection(
    {
      timestamp: at(12),
      computer: null,
      level: 'high',
      correlation: {
        type: 'value_count',
        group: { IpAddress: '10.20.9.50' },
        value: targets.length,
        windowStart: at(0),
        windowEnd: at(12),
        contributors: contributorsOn(targets, {
          at: (i) => at(i * 2),
          ruleId: 'r-failed',
          ruleTitle: 'Failed remote logon',
          firstRecord: 100,
          fields: (i) => ({ EventID: 4625, Channel: 'Security', LogonType: 3, TargetUserName: `probe${i}`, IpAddress: '10.20.9.50' }),
        }),
        omitted: 0,
      },
      event: {},
    },
    { id: 'corr-pw-spray', title: 'Password spraying', level: 'high', tags: ['attack.credential-access', 'attack.t1110.003'], kind: 'correlation' },
  );
  const b = new StoryBuilder();
  b.learnAddress('10.20.9.50', 'SCAN01.corp.local');
  b.add(spray);
  return b.finish();
}

describe('story view in the HTML report (headless Chromium)', { skip, timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fb-stories-browser-'));
  let ctx: BrowserContext;
  let page: Page;
  let stories: Story[];
  let gt: GroundTruth;
  let requests: string[] = [];
  let problems: string[] = [];

  before(async () => {
    gt = writeScenario(join(work, 'evidence'), { seed: 7, hosts: 14, noiseEvents: 2500 });
    const engine = new Engine(loadRules(ruleDirs()).rules);
    const ds: DetectionRecord[] = [];
    const builder = new StoryBuilder();
    for (const f of gt.files) {
      for await (const ev of readEventsFromFile(f)) {
        for (const c of addressClaims(ev.fields, ev.computer ?? null)) builder.learnAddress(c.ip, c.host, ev.timestamp);
        for (const d of engine.match(ev)) ds.push(toDetectionRecord(d));
      }
    }
    ds.sort((a, b) => (a.timestamp! < b.timestamp! ? -1 : 1));
    for (const d of ds) builder.add(d);
    stories = [...builder.finish(), ...correlationStory(), ...sprayStory()];
    assert.equal(stories.length, 3);

    const path = join(work, 'report.html');
    const w = new HtmlReportWriter(path);
    for (const d of ds) await w.write(d);
    const byLevel = { informational: 0, low: 0, medium: 0, high: 0, critical: 0 };
    for (const d of ds) byLevel[d.level]++;
    await w.close(summary({ detections: ds.length, byLevel, firstEvent: ds[0]!.timestamp, lastEvent: ds[ds.length - 1]!.timestamp }), { stories, generatedAt: '2024-05-15T09:00:00.000Z' });

    ({ ctx, page, requests, problems } = await openReport(path, join(work, 'profile')));
  });

  after(async () => {
    await ctx?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('shows the stories section with one card per story, offline and without script errors', async () => {
    assert.equal(await page.isVisible('#stories'), true);
    assert.equal(await page.locator('article.story').count(), stories.length);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
      [],
    );
    await page.locator('#stories').screenshot({ path: STORIES_SCREENSHOT });
  });

  it('draws the spread: host nodes, patient zero highlighted, timed arrows with techniques', async () => {
    const s = stories[0]!;
    const card = `article.story[data-story="${s.id}"]`;
    const hosts = await page.$$eval(`${card} svg.spread g.node`, (gs) => gs.map((g) => g.getAttribute('data-host')));
    assert.deepEqual(new Set(hosts), new Set([...s.hosts.map((h) => h.computer), gt.attackerIp]));
    assert.equal(await page.getAttribute(`${card} svg.spread g.node.pz`, 'data-host'), gt.patientZero);
    assert.equal(await page.textContent(`${card} svg.spread g.node.pz text.pzl`), 'PATIENT ZERO');
    const edges = await page.$$eval(`${card} svg.spread g.edge`, (gs) =>
      gs.map((g) => [g.getAttribute('data-from'), g.getAttribute('data-to'), g.querySelector('text.et')?.textContent, g.querySelector('path')?.getAttribute('marker-end')]),
    );
    assert.equal(edges.length, s.spread.length);
    for (const [from, to] of gt.spreadEdges) {
      const e = edges.find((x) => x[0] === from && x[1] === to);
      assert.ok(e, `arrow ${from} → ${to}`);
      const truth = s.spread.find((x) => x.from === from && x.to === to)!;
      assert.equal(e[2], truth.at.slice(11, 16));
      assert.match(e[3], /^url\(#fb-arrow-/);
    }
    const labels = await page.$$eval(`${card} svg.spread g.edge text.eq`, (ts) => ts.map((t) => t.textContent));
    assert.ok(
      labels.some((l) => /^T1569\.002 /.test(l ?? '')),
      labels.join(' | '),
    );
    await page.locator(`${card}`).screenshot({ path: STORIES_SCREENSHOT.replace('.png', '-card.png') });
  });

  it('shows the narrative, the tactics in kill-chain order and the timeline', async () => {
    const s = stories[0]!;
    const card = `article.story[data-story="${s.id}"]`;
    assert.equal(await page.textContent(`${card} p.narrative`), s.narrative);
    assert.match(s.narrative, /^It started on /);
    const tactics = await page.$$eval(`${card} .tactic`, (cs) => cs.map((c) => c.getAttribute('data-tactic')));
    assert.deepEqual(
      tactics,
      s.tactics.map((t) => t.short),
    );
    assert.equal(await page.locator(`${card} table.stimeline tr`).count(), s.timeline.length);
    assert.equal(await page.textContent(`${card} .score`), String(s.score));
  });

  it('draws an outside-free correlation story and keeps hostile host names as text', async () => {
    const s = stories[1]!;
    const card = `article.story[data-story="${s.id}"]`;
    assert.equal(await page.getAttribute(`${card} svg.spread g.node.pz`, 'data-host'), 'JUMP01.corp.local');
    assert.equal(await page.locator(`${card} svg.spread g.edge`).count(), 4);
    assert.ok((await page.$$eval(`${card} svg.spread g.node`, (gs) => gs.map((g) => g.getAttribute('data-host')))).includes(XSS));
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobal).__xss), undefined);
    assert.equal(await page.locator('img').count(), 0);
  });

  it('draws hosts only tried as attempts, not as spread: dashed arrows, "tried, not reached" in words', async () => {
    const s = stories[2]!;
    assert.ok(s.spread.length === 6 && s.spread.every((e) => e.attempt === true));
    const card = `article.story[data-story="${s.id}"]`;
    assert.equal(await page.getAttribute(`${card} svg.spread g.node.pz`, 'data-host'), 'SCAN01.corp.local');
    assert.equal(await page.locator(`${card} svg.spread g.edge.attempt`).count(), 6);
    assert.equal(await page.getAttribute(`${card} svg.spread g.edge.attempt path`, 'stroke-dasharray'), '5 4');
    const tried = await page.$$eval(`${card} svg.spread g.node.tried`, (gs) => gs.map((g) => [g.getAttribute('data-host'), g.querySelector('text.ns')?.textContent]));
    assert.equal(tried.length, 6);
    assert.ok(
      tried.every(([, t]) => /^tried \d\d:\d\d, not reached$/.test(t ?? '')),
      JSON.stringify(tried),
    );
    const facts = await page.$$eval(`${card} .evidence b`, (bs) => bs.map((b) => b.textContent));
    assert.equal(facts.length, 6);
    assert.ok(
      facts.every((t) => /^Tried SCAN01 → WS0\d \(not reached\): $/.test(t ?? '')),
      JSON.stringify(facts),
    );
    // The reached hosts of the other stories are drawn as before.
    assert.equal(await page.locator(`article.story[data-story="${stories[1]!.id}"] svg.spread g.node.tried`).count(), 0);
  });

  it('filters the detections table from a timeline row', async () => {
    const s = stories[0]!;
    const row = page.locator(`article.story[data-story="${s.id}"] table.stimeline tr`).first();
    await row.click();
    assert.equal(await page.inputValue('#fb-search'), s.timeline[0]!.title);
    assert.match((await page.textContent('#fb-count'))!, /^Showing \d+ of \d+$/);
    assert.deepEqual(problems, []);
  });
});
