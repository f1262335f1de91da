/**
 * The analyst console in headless Chromium (Debian `chromium` + playwright-core), served by the
 * real API over a real state database (startTestApi) from the built dist/console: login, a story
 * raised live appearing in the queue without a reload, keyboard navigation, the story view
 * (spread graph with patient zero and outside addresses, tactics in kill-chain order, an event
 * with its matched fields), triage recorded in the audit trail, hostile log values shown as text,
 * the CSP, the dark theme, 1280 px, search with autocomplete and CSV export, rules (disable,
 * lint errors at their line, test, upload), a read-only user, and axe-core on the main pages.
 * Skips when Chromium or the built console is missing. console-live.test.ts does the same
 * against a running server fed the sample intrusion; scripts/console-shots.js takes the screenshots.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_CONSOLE_DIR } from '../../src/serve/api/static.js';
import { addUser, loggedIn, PASSWORD, startTestApi, type Api } from './api-helpers.js';
import { axeViolations, CONSOLE_SKIP as skip, launchChromium, login as loginAs, noHorizontalScroll, openConsole as open, type Opened } from './console-helpers.js';
import { LIVE_STORY, OUTSIDE, PATIENT_ZERO, scenarioEvents, seedBackground, seedIntrusion, XSS_HOST } from './console-scenario.js';

// Callbacks that run in the page: the few DOM names they use (the Node program has no DOM library).
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  closest(selector: string): PageElement | null;
}
declare const document: {
  activeElement: PageElement | null;
  documentElement: { dataset: Record<string, string | undefined> };
  querySelector(selector: string): PageElement | null;
  body: unknown;
};
declare const window: { __xss?: unknown };
declare const getComputedStyle: (e: unknown) => { backgroundColor: string };

const login = (page: Page, user: string): Promise<void> => loginAs(page, user, PASSWORD);

describe('analyst console in a browser', { skip, timeout: 300_000 }, () => {
  let api: Api;
  let browser: Browser;
  let analyst: Opened;
  let alertIds: number[] = [];

  before(async () => {
    api = await startTestApi({ events: scenarioEvents(), api: { consoleDir: DEFAULT_CONSOLE_DIR } });
    await addUser(api, 'alice', 'analyst');
    await addUser(api, 'rob', 'read-only');
    seedBackground(api);
    browser = await launchChromium();
    analyst = await open(browser, api.base);
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it('serves the console with a strict CSP and refuses inline script', async () => {
    const r = await fetch(api.base + '/stories/whatever', { headers: { accept: 'text/html' } });
    assert.equal(r.status, 200, 'client-side routes get index.html');
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await r.text();
    assert.doesNotMatch(html, /<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|style=/, 'no inline script or style in index.html');
  });

  it('logs in and shows the queue; a story raised by the server appears live, and the counter counts it', async () => {
    const { page } = analyst;
    await page.waitForSelector('input[name=user]');
    assert.deepEqual(await axeViolations(page), [], 'the login page');
    await login(page, 'alice');
    await page.waitForSelector('tr[data-id="st-older-0001"]');
    assert.equal(await page.textContent('[data-testid=new-counter] strong'), '0');
    const urlBefore = page.url();
    alertIds = seedIntrusion(api).alerts;
    for (const id of alertIds) api.live.publish('alert.created', { id: String(id) });
    api.live.publish('story.created', { id: LIVE_STORY });
    await page.waitForSelector(`tr[data-id="${LIVE_STORY}"]`);
    assert.equal(page.url(), urlBefore, 'no reload or navigation');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=new-counter] strong')?.textContent) >= 1);
    const rows = await page.$$eval('[data-testid=queue] tr[data-id]', (trs) => trs.map((t) => t.dataset.id));
    assert.equal(rows[0], LIVE_STORY, 'the most severe story is on top');
    assert.ok(rows.includes('st-older-0001'));
    assert.ok(await noHorizontalScroll(page), 'the queue fits 1280 px');
    await page.selectOption('select:near(:text("Severity"))', 'high');
    await page.waitForSelector('tr[data-id="st-older-0001"]', { state: 'detached' });
    await page.waitForSelector(`tr[data-id="${LIVE_STORY}"]`);
    assert.match(page.url(), /minLevel=high/, 'filters live in the URL');
    await page.selectOption('select:near(:text("Severity"))', '');
    await page.waitForSelector('tr[data-id="st-older-0001"]');
    assert.deepEqual(await axeViolations(page), []);
  });

  it('moves the selection with the keyboard and opens the story with Enter', async () => {
    const { page } = analyst;
    await page.click('h1');
    const selectedId = () => page.evaluate(() => document.activeElement?.closest('tr')?.dataset.id ?? null);
    await page.keyboard.press('j');
    assert.equal(await selectedId(), LIVE_STORY);
    await page.keyboard.press('j');
    assert.equal(await selectedId(), 'st-older-0001');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.kind), 'alert');
    await page.keyboard.press('a');
    await page.waitForSelector('[data-testid=queue] tr[data-kind=alert] .status-acknowledged');
    await page.keyboard.press('k');
    await page.keyboard.press('k');
    assert.equal(await selectedId(), LIVE_STORY);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=story]');
    assert.match(page.url(), new RegExp(`/stories/${LIVE_STORY}$`));
  });

  it('shows the story: graph with patient zero and outside addresses, tactics in kill-chain order, why patient zero', async () => {
    const { page } = analyst;
    await page.waitForSelector('[data-testid=spread-graph] canvas');
    const nodes = await page.$$eval('[data-testid=graph-nodes] li', (lis) => lis.map((li) => ({ text: li.textContent, kind: li.dataset.kind, pz: li.dataset.patientZero === 'true' })));
    assert.equal(nodes.length, 6, JSON.stringify(nodes));
    const pz = nodes.filter((n) => n.pz);
    assert.equal(pz.length, 1);
    assert.match(pz[0]!.text, new RegExp(PATIENT_ZERO.replace(/\./g, '\\.')));
    assert.match(pz[0]!.text, /patient zero/);
    assert.deepEqual(
      nodes
        .filter((n) => n.kind === 'outside')
        .map((n) => n.text!.replace('outside address', ''))
        .sort(),
      ['198.51.100.7', OUTSIDE],
    );
    assert.equal(await page.$$eval('[data-testid=graph-edges] li', (l) => l.length), 4);
    assert.deepEqual(await page.$$eval('[data-testid=tactics] li strong', (l) => l.map((x) => x.textContent)), ['Initial Access', 'Discovery', 'Lateral Movement']);
    assert.match((await page.textContent('[data-testid=patient-zero]'))!, /outside the network/);
    const timeline = await page.$$eval('[data-testid=timeline] tbody tr', (l) => l.map((x) => x.textContent ?? ''));
    assert.equal(timeline.length, 4, 'two detections of one rule in a row on one host are one line');
    assert.match(timeline[0], /External Remote Logon ×2$/);
    assert.match((await page.textContent('[data-testid=narrative]'))!, /adm-attacker/);
    assert.ok(await noHorizontalScroll(page), 'the story fits 1280 px');
  });

  it('shows hostile log values as text and runs nothing', async () => {
    const { page } = analyst;
    const nodesText = (await page.textContent('[data-testid=graph-nodes]'))!;
    assert.ok(nodesText.includes(XSS_HOST), nodesText);
    await page.click(`[data-testid=story-alerts] tr:has-text("${XSS_HOST.slice(0, 8)}") button:has-text("Show event")`);
    await page.waitForSelector('[data-testid=event-fields]');
    assert.ok((await page.textContent('[data-testid=event-fields]'))!.includes('<script>window.__xss=2</script>'));
    assert.equal(await page.$('img[src="x"]'), null, 'no <img> from the host name');
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
    assert.deepEqual(analyst.pageErrors, []);
    const matched = await page.$$eval('[data-testid=event-fields] tr[data-matched] th', (l) => l.map((x) => x.textContent));
    assert.ok(
      matched.some((t) => t!.startsWith('EventID')),
      `the matched field is highlighted: ${JSON.stringify(matched)}`,
    );
    assert.deepEqual(await axeViolations(page), []);
  });

  it('triages the story: assign, comment, close as true positive, each step in the audit trail', async () => {
    const { page } = analyst;
    await page.selectOption('[data-testid=assignee]', 'alice');
    await page.waitForSelector('[data-testid=audit] li[data-action="story.assign"]');
    await page.fill('[data-testid=comment]', 'Confirmed with the owner of WS01: <b>not</b> them.');
    await page.click('button:has-text("Add comment")');
    await page.waitForSelector('[data-testid=audit] li[data-action="story.comment"]');
    assert.ok((await page.textContent('[data-testid=comments]'))!.includes('<b>not</b> them'), 'the comment is shown as typed');
    await page.selectOption('[data-testid=status]', 'closed');
    await page.selectOption('[data-testid=resolution]', 'true_positive');
    await page.click('button:has-text("Set status")');
    await page.waitForSelector('[data-testid=audit] li[data-action="story.status"]');
    const audit = await page.$$eval('[data-testid=audit] li', (l) => l.map((x) => `${x.dataset.action} ${x.textContent}`));
    assert.deepEqual(
      audit.map((a) => a.split(' ')[0]),
      ['story.assign', 'story.comment', 'story.status'],
    );
    assert.match(audit[2]!, /true_positive/);
    const s = (await (await loggedIn(api, 'rob', 'read-only')).get(`/api/stories/${LIVE_STORY}`)).json;
    assert.equal(s.status, 'closed');
    assert.equal(s.resolution, 'true_positive');
    assert.equal(s.assignee, 'alice');

    await page.click(`[data-testid=story-alerts] tr:has-text("${XSS_HOST.slice(0, 8)}") button:has-text("Split out")`);
    assert.equal(await page.$('[data-testid=audit] li[data-action="story.split"]'), null, 'nothing split before it is confirmed');
    await page.click(`[data-testid=story-alerts] tr:has-text("${XSS_HOST.slice(0, 8)}") button:has-text("Yes, split out")`);
    await page.waitForSelector('[data-testid=audit] li[data-action="story.split"]');
    assert.equal(await page.$$eval('[data-testid=story-alerts] tbody tr:not(.event-row)', (l) => l.length), 2, 'the split alert left the story');
  });

  it('toggles the dark theme', async () => {
    const { page } = analyst;
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const before = await bg();
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.click('[data-testid=theme-toggle]');
    const after = await page.evaluate(() => document.documentElement.dataset.theme);
    assert.notEqual(after, theme);
    assert.notEqual(await bg(), before);
    assert.deepEqual(await axeViolations(page), [], `the story page in the ${after} theme`);
    await page.click('[data-testid=theme-toggle]');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
  });

  it('searches by field filter with autocomplete and by SQL, draws the histogram and exports CSV', async () => {
    const { page } = analyst;
    await page.click('nav a:has-text("Search")');
    await page.fill('#filter-input', 'TargetU');
    await page.waitForSelector('[data-testid=field-suggestions] li:has-text("TargetUserName")');
    await page.keyboard.press('Tab');
    assert.equal(await page.inputValue('#filter-input'), 'TargetUserName=');
    await page.type('#filter-input', 'adm-attacker');
    await page.click('button[type=submit]:has-text("Search")');
    await page.waitForSelector('[data-testid=result-count]');
    assert.equal(await page.$$eval('[data-testid=results] tbody tr', (l) => l.length), 3);
    await page.waitForSelector('[data-testid=histogram] canvas');
    assert.deepEqual(await axeViolations(page), []);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-csv]')]);
    const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines[0], 'timestamp,computer,eventId,fields');
    assert.equal(lines.length, 4, csv);
    assert.ok(lines.slice(1).every((l) => l.includes('adm-attacker')));

    await page.click('button:has-text("SQL")');
    await page.fill('[data-testid=sql]', 'SELECT computer, CommandLine FROM events');
    await page.click('button[type=submit]:has-text("Search")');
    await page.waitForSelector('[data-testid=results] th:has-text("CommandLine")');
    assert.ok((await page.textContent('[data-testid=results]'))!.includes('evil.exe --dump'));
  });

  it('manages rules: disable one, see lint errors at their line, test and upload a good rule', async () => {
    const { page } = analyst;
    await page.click('nav a:has-text("Rules")');
    await page.click('button[aria-label="Disable Suspicious Whoami"]');
    await page.waitForSelector('button[aria-label="Enable Suspicious Whoami"]');
    assert.equal(api.catalog.list().find((r) => r.title === 'Suspicious Whoami')!.enabled, false);

    const bad = [
      'title: Evil Binary',
      'id: 33333333-2222-3333-4444-555555555555',
      'level: high',
      'logsource:',
      '  product: windows',
      '  category: process_creation',
      'detection:',
      '  selection:',
      "    Image|endswith: '\\evil.exe'",
      '  condition: selection and nonexistent',
      '',
    ].join('\n');
    await page.fill('[data-testid=upload-yaml]', bad);
    await page.click('[data-testid=upload]');
    await page.waitForSelector('[data-testid=lint] li[data-line="10"]');
    assert.match((await page.textContent('[data-testid=lint] li[data-line="10"]'))!, /line 10, column \d+: .*nonexistent/);
    assert.ok(await page.$('pre.lines .bad-line[data-line="10"]'), 'the line is marked in the rule text');
    assert.deepEqual(await axeViolations(page), []);

    await page.fill('[data-testid=upload-yaml]', bad.replace(' and nonexistent', ''));
    await page.click('button:has-text("Test against stored events")');
    await page.waitForSelector('[data-testid=test-result]');
    assert.match((await page.textContent('[data-testid=test-result] h3'))!, /^1 match in \d+ events$/);
    await page.click('[data-testid=upload]');
    await page.waitForSelector('p.ok:has-text("Stored")');
    assert.equal(api.catalog.list().find((r) => r.title === 'Evil Binary')?.enabled, false);
  });

  it('shows host and account pages, coverage and health', async () => {
    const { page } = analyst;
    await page.goto(`${api.base}/hosts/${encodeURIComponent(PATIENT_ZERO)}`);
    await page.waitForSelector('[data-testid=entity]');
    assert.ok((await page.textContent('h1'))!.includes(PATIENT_ZERO));
    await page.goto(`${api.base}/`);
    await page.click('button:has-text("Mark all seen")');
    await page.waitForFunction(() => document.querySelector('[data-testid=new-counter] strong')?.textContent === '0');
    await page.click('[data-testid=queue] tr[data-kind=alert] a.row-link:has-text("Suspicious Whoami")');
    await page.waitForSelector('[data-testid=alert] [data-testid=event-fields]');
    await page.waitForSelector('[data-testid=audit] li[data-action="alert.acknowledge"]');
    await page.selectOption('[data-testid=status]', 'in_progress');
    await page.click('button:has-text("Set status")');
    await page.waitForSelector('[data-testid=audit] li[data-action="alert.status"]');

    // Damaged data and bad addresses: a story whose stored JSON is unreadable, an alert id that is not one, no such page.
    api.db.db.prepare("UPDATE stories SET story = '{' WHERE id = 'st-older-0001'").run();
    await page.goto(`${api.base}/stories/st-older-0001`);
    await page.waitForSelector('text=The stored story could not be read');
    await page.goto(`${api.base}/alerts/12abc`);
    await page.waitForSelector("text='12abc' is not an alert number");
    await page.goto(`${api.base}/no/such/page`);
    await page.waitForSelector('h1:has-text("Not found")');
    await page.click('nav a:has-text("Coverage")');
    await page.waitForSelector('[data-testid=matrix] .cell');
    const [layer] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=navigator]')]);
    const json = JSON.parse(readFileSync(await layer.path(), 'utf8'));
    assert.equal(json.domain, 'enterprise-attack');
    await page.click('nav a:has-text("Health")');
    await page.waitForSelector('[data-testid=sources] td:has-text("winlogbeat-dcs")');
    assert.equal(await page.$('[data-testid=nodes]'), null, 'no nodes on the embedded server');
    // A cluster's api node: every node's last report, the stale one marked.
    const report = { sources: [], refused: {}, backpressure: false, pipeline: null, drops: {}, detect: { events: 12, detections: 3 }, correlate: null, ingestTokens: null };
    api.health.snap = {
      ...api.health.snap,
      nodes: [
        {
          node: 'detect-1',
          roles: ['detect'],
          startedAt: '2026-01-01T00:00:00.000Z',
          reportedAt: '2026-01-01T00:10:00.000Z',
          ageSeconds: 42,
          stale: true,
          report: { ...report, rules: { revision: 2, running: 1, error: null } },
        },
        {
          node: 'detect-2',
          roles: ['detect'],
          startedAt: '2026-01-01T00:00:00.000Z',
          reportedAt: '2026-01-01T00:10:40.000Z',
          ageSeconds: 2,
          stale: false,
          report: { ...report, rules: { revision: 3, running: 2, error: 'odd.yml did not parse' } },
        },
      ],
    };
    await page.reload();
    await page.waitForSelector('[data-testid=nodes] tr.failing td:has-text("detect-1")');
    assert.match((await page.textContent('[data-testid=nodes]'))!, /2 rules, revision 3 odd\.yml did not parse/);
    assert.match((await page.textContent('[data-testid=nodes]'))!, /12 events matched, 3 detections/);
    delete api.health.snap.nodes;
    assert.deepEqual(analyst.pageErrors, []);
    assert.deepEqual(analyst.problems, []);
  });

  it('gives a read-only user no change controls, and the API refuses its changes', async () => {
    const ro = await open(browser, api.base);
    try {
      const { page } = ro;
      await login(page, 'rob');
      await page.goto(`${api.base}/stories/st-older-0001`);
      await page.waitForSelector('[data-testid=read-only-note]');
      assert.equal(await page.$('[data-testid=triage]'), null);
      assert.equal(await page.$('button:has-text("Split out")'), null);
      assert.equal(await page.$('[data-testid=merge-into]'), null);
      await page.click('nav a:has-text("Rules")');
      await page.waitForSelector('[data-testid=rules] tbody tr');
      assert.equal(await page.$('button[aria-label^="Disable"], button[aria-label^="Enable"]'), null);
      assert.equal(await page.$('[data-testid=upload]'), null);
      const status = await page.evaluate(async () => {
        const s = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
        const r = await fetch('/api/stories/st-older-0001/assign', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
          body: JSON.stringify({ assignee: 'rob' }),
        });
        return r.status;
      });
      assert.equal(status, 403);
      // The session ends elsewhere (logout from another tab): the next request shows the login page.
      await page.evaluate(async () => {
        const s = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
        await fetch('/api/auth/logout', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: '{}' });
      });
      await page.click('nav a:has-text("Health")');
      await page.waitForSelector('input[name=password]');
      assert.deepEqual(ro.pageErrors, []);
    } finally {
      await ro.ctx.close();
    }
  });
});
