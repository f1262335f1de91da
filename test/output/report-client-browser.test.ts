/**
 * The report's page script in headless Chromium (skipped when /usr/bin/chromium is missing), on
 * what hostile logs can hold beyond markup: host names that are also Object.prototype keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StoryView } from '../../src/output/report/client/data.js';
import { HtmlReportWriter } from '../../src/output/report/index.js';
import type { Story } from '../../src/stories/model.js';
import { CHROMIUM_SKIP, openReport } from './browser.js';
import { detection, summary } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-report-client-browser-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the page script in headless Chromium', { skip: CHROMIUM_SKIP, timeout: 120_000 }, () => {
  it('draws hosts named like Object.prototype keys as nodes and arrows like any other', async () => {
    // A story whose hosts are named like the keys every plain object inherits; a lookup table
    // made of a plain object would take them for hosts it already has.
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const at = (m: number): string => new Date(Date.UTC(2024, 4, 14, 15, m)).toISOString();
    const tech = { id: 'T1021.002', name: 'SMB/Windows Admin Shares' };
    const built: Story = {
      id: 'st-prototype-names',
      score: 40,
      firstSeen: at(0),
      lastSeen: at(9),
      hosts: names.map((computer, i) => ({ computer, firstTouched: at(i), detections: 1, maxLevel: 'high', addresses: [] })),
      patientZero: { computer: '__proto__', why: 'the earliest host' },
      spread: names.slice(1).map((to, i) => ({
        from: names[i]!,
        fromKind: 'host',
        to,
        at: at(i + 1),
        technique: tech,
        techniques: [tech],
        detections: [{ id: null, title: 'Admin share' }],
        evidence: 'an executable written to an administrative share',
      })),
      context: [],
      routine: [],
      earned: 'suspicious activity on 2 hosts joined by movement',
      accounts: ['CORP\\svc'],
      sourceIps: [],
      tactics: [],
      techniques: ['T1021.002'],
      levels: { informational: 0, low: 0, medium: 0, high: 4, critical: 0 },
      detections: 4,
      correlations: 0,
      topRules: [],
      narrative: 'It moved from host to host.',
      timeline: names.map((computer, i) => ({ timestamp: at(i), computer, title: 'Admin share', ruleId: null, level: 'high', kind: 'sigma', eventId: 5145, recordId: i })),
      omitted: { timeline: 0, hosts: 0, accounts: 0, sourceIps: 0, spread: 0, rules: 0, context: 0 },
    };
    // What hunt embeds (Story) read as the page reads it (StoryView): compiles only while they fit.
    const story: StoryView = built;
    const path = join(dir, 'prototype-names.html');
    const w = new HtmlReportWriter(path);
    await w.write(detection());
    await w.close(summary({ detections: 1 }), { stories: [story], generatedAt: '2024-05-15T09:00:00.000Z' });
    const { ctx, page, problems } = await openReport(path, join(dir, 'profile'));
    try {
      const card = `article.story[data-story="${story.id}"]`;
      const nodes = await page.$$eval(`${card} svg.spread g.node`, (gs) => gs.map((g) => [g.getAttribute('data-host'), Number(g.querySelector('rect')?.getAttribute('x'))] as [string, number]));
      assert.deepEqual(
        nodes.map(([n]) => n),
        names,
      );
      const xs = nodes.map(([, x]) => x);
      assert.deepEqual(
        xs,
        [...xs].sort((a, b) => a - b),
        'one column further right per move',
      );
      assert.equal(new Set(xs).size, names.length);
      const edges = await page.$$eval(`${card} svg.spread g.edge`, (gs) => gs.map((g) => [g.getAttribute('data-from'), g.getAttribute('data-to'), g.querySelector('path')?.getAttribute('d') ?? '']));
      assert.deepEqual(
        edges.map(([f, t]) => [f, t]),
        story.spread.map((e) => [e.from, e.to]),
      );
      for (const [, , d] of edges) assert.ok(d && !d.includes('NaN') && !d.includes('undefined'), d);
      assert.equal(await page.getAttribute(`${card} svg.spread g.node.pz`, 'data-host'), '__proto__');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  });
});
