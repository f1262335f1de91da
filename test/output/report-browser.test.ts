/**
 * The HTML report as a user sees it, in headless Chromium (Debian `chromium` + playwright-core),
 * opened from file:// with the network switched off. Skips with a message when Chromium is not
 * installed at /usr/bin/chromium. Leaves screenshots in tmp/ at the repository root.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { HtmlReportWriter } from '../../src/output/report/index.js';
import { REPO } from '../helpers.js';
import { CHROMIUM_SKIP, openReport } from './browser.js';
import { XSS } from './fixtures.js';
import { huntDetections, huntSummary } from './report-fixture.js';

const skip = CHROMIUM_SKIP;
export const SCREENSHOT = join(REPO, 'tmp', 'report-screenshot.png');

const N = 800;
/** The browser globals the checks touch (the test project compiles without the DOM library). */
interface BrowserGlobal {
  document: { getElementById(id: string): { textContent: string | null } | null };
  __xss?: number;
}
const ds = huntDetections(N);
const count = (f: (d: (typeof ds)[number]) => boolean): number => ds.filter(f).length;

describe('HTML report in headless Chromium', { skip, timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fb-report-browser-'));
  let ctx: BrowserContext;
  let page: Page;
  let requests: string[] = [];
  let problems: string[] = [];

  before(async () => {
    const path = join(work, 'report.html');
    const w = new HtmlReportWriter(path);
    for (const d of ds) await w.write(d);
    await w.close(huntSummary(ds), { generatedAt: '2024-03-02T09:00:00.000Z' });
    ({ ctx, page, requests, problems } = await openReport(path, join(work, 'profile')));
  });

  /** Wait for the table's count line (the filter input is debounced). */
  // Functions, not strings: the report's CSP forbids eval, which string predicates need.
  const shows = (n: number): Promise<unknown> =>
    page.waitForFunction((text) => (globalThis as unknown as BrowserGlobal).document.getElementById('fb-count')?.textContent === text, `Showing ${n} of ${N}`);

  after(async () => {
    await ctx?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('renders offline from file:// with no requests beyond the file and no script errors', async () => {
    assert.deepEqual(
      requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
      [],
    );
    assert.deepEqual(problems, []);
    mkdirSync(join(REPO, 'tmp'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows the summary numbers', async () => {
    assert.equal(await page.textContent('[data-stat="Events"] .value'), '123,456');
    assert.equal(await page.textContent('[data-stat="Detections"] .value'), String(N));
    assert.equal(await page.textContent('[data-stat="Files"] .value'), '12');
    for (const l of ['critical', 'high', 'medium', 'low', 'informational'] as const) {
      assert.equal(await page.textContent(`#fb-levels [data-level="${l}"] .n`), count((d) => d.level === l).toLocaleString('en-US'), l);
    }
  });

  it('draws the time chart with every detection in a bar, by level', async () => {
    const rects = await page.$$eval('#fb-chart svg rect', (rs) => rs.map((r) => [r.getAttribute('data-level'), Number(r.getAttribute('data-count'))] as [string, number]));
    assert.ok(rects.length > 20, `${rects.length} bar segments`);
    assert.equal(
      rects.reduce((s, [, n]) => s + n, 0),
      N,
    );
    assert.equal(
      rects.filter(([l]) => l === 'critical').reduce((s, [, n]) => s + n, 0),
      count((d) => d.level === 'critical'),
    );
  });

  it('fills the ATT&CK heatmap cells with detection counts under the tagged tactics', async () => {
    const t1003 = count((d) => d.rule.tags.includes('attack.t1003.001'));
    assert.equal(await page.getAttribute('[data-tactic="credential-access"] [data-technique="T1003.001"]', 'data-count'), String(t1003));
    assert.equal(await page.textContent('[data-tactic="credential-access"] [data-technique="T1003.001"] .n'), t1003.toLocaleString('en-US'));
    const t1059 = count((d) => d.rule.tags.includes('attack.t1059.001'));
    assert.equal(await page.getAttribute('[data-tactic="execution"] [data-technique="T1059.001"]', 'data-count'), String(t1059));
    assert.equal(await page.getAttribute('[data-tactic="defense-evasion"] [data-technique="T1059.001"]', 'data-count'), String(t1059));
    assert.equal(await page.getAttribute('[data-tactic="unassigned"] [data-technique="T1036"]', 'data-count'), String(count((d) => d.rule.tags.includes('attack.t1036'))));
    const names = await page.$$eval('#fb-heat .col', (cs) => cs.slice(0, 4).map((c) => c.getAttribute('data-tactic')));
    assert.deepEqual(names, ['reconnaissance', 'resource-development', 'initial-access', 'execution']);
  });

  it('pages the table and sorts by a column', async () => {
    assert.equal(await page.locator('#fb-table tbody tr').count(), 100);
    assert.equal(await page.textContent('#fb-count'), `Showing ${N} of ${N}`);
    const times = await page.$$eval('#fb-table tbody td.ts', (tds) => tds.map((t) => t.textContent ?? ''));
    assert.deepEqual(times, [...times].sort(), 'time ascending by default');
    await page.click('#fb-table th[data-key="level"]');
    assert.equal(await page.textContent('#fb-table tbody tr:first-child .badge'), 'Critical');
    assert.equal(await page.getAttribute('#fb-table th[data-key="level"]', 'aria-sort'), 'descending');
    await page.click('#fb-table th[data-key="level"]');
    assert.equal(await page.textContent('#fb-table tbody tr:first-child .badge'), 'Info');
    await page.click('#fb-table th[data-key="ts"]');
    await page.click('#fb-table th[data-key="ts"]');
    const desc = await page.$$eval('#fb-table tbody td.ts', (tds) => tds.map((t) => t.textContent ?? ''));
    assert.deepEqual(desc, [...desc].sort().reverse(), 'time descending after two clicks');
    await page.click('#fb-next');
    assert.equal(await page.textContent('#fb-page'), 'Page 2 of 8');
  });

  it('filters by text, by level and by a heatmap technique', async () => {
    await page.fill('#fb-search', 'lsass');
    const lsass = count((d) => d.rule.title === 'LSASS Memory Access');
    await shows(lsass);
    await page.selectOption('#fb-level', 'critical');
    await shows(0);
    assert.equal(await page.textContent('#fb-table tbody td'), 'No detections match.');
    await page.fill('#fb-search', '');
    const critical = count((d) => d.level === 'critical');
    await shows(critical);
    await page.selectOption('#fb-level', '');
    await page.click('[data-tactic="lateral-movement"] [data-technique="T1021.002"]');
    const psexec = count((d) => d.rule.tags.includes('attack.t1021.002'));
    assert.equal(await page.textContent('#fb-count'), `Showing ${psexec} of ${N}`);
    assert.match((await page.textContent('#fb-facet .chip'))!, /Technique: T1021\.002/);
    await page.click('#fb-facet .chip button');
    assert.equal(await page.textContent('#fb-count'), `Showing ${N} of ${N}`);
  });

  it('opens the full event when a row is clicked', async () => {
    await page.click('#fb-table th[data-key="ts"]');
    const first = [...ds].sort((a, b) => (a.timestamp! < b.timestamp! ? -1 : 1))[0]!;
    assert.equal((await page.textContent('#fb-table tbody tr:first-child td.ts'))!, first.timestamp!.replace('T', ' ').replace('Z', ''));
    await page.click('#fb-table tbody tr:first-child');
    await page.waitForSelector('#fb-dialog[open]');
    assert.equal(await page.textContent('#fb-d-title'), first.rule.title);
    const kv = await page.$$eval('#fb-d-body table.kv', (ts) => ts.map((t) => [...t.querySelectorAll('tr')].map((r) => [...r.cells].map((c) => c.textContent))));
    const full = Object.fromEntries(kv[2]!.map(([k, v]) => [k, v]));
    assert.equal(full.ProcessId, String(first.event.ProcessId));
    assert.equal(full.User, first.event.User);
    assert.equal(full.Hashes, 'SHA256=ABC\nIMPHASH=DEF');
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-event.png') });
    await page.click('#fb-d-close');
    assert.equal(await page.$('#fb-dialog[open]'), null);
  });

  it('shows an XSS payload from an event as text and never runs it', async () => {
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobal).__xss), undefined);
    assert.equal(await page.locator('img').count(), 0);
    const host = await page.$$eval('#fb-top-hosts td.name', (tds) => tds.map((t) => t.textContent));
    assert.ok(host.includes(XSS), 'payload shown verbatim among the top hosts');
    await page.fill('#fb-search', 'onerror');
    await shows(1);
    await page.click('#fb-table tbody tr:first-child');
    await page.waitForSelector('#fb-dialog[open]');
    const cells = await page.$$eval('#fb-d-body td.v', (tds) => tds.map((t) => t.textContent));
    assert.ok(cells.includes(XSS), 'payload shown verbatim in the event view');
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobal).__xss), undefined);
    await page.click('#fb-d-close');
    assert.deepEqual(problems, []);
  });
});
