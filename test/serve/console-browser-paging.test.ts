/**
 * The queue past its first 100 rows, in headless Chromium against the real API (startTestApi):
 * pages of 100 per list with the page in the address, the keyboard turning pages (n/p) and
 * selecting the first row of the new page, opening a row and coming back to the same page, a
 * filter starting again from the first page, and a page that no longer exists (its alerts were
 * closed) giving way to the last one. Skips when Chromium or the built console is missing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_CONSOLE_DIR } from '../../src/serve/api/static.js';
import { addUser, makeStory, PASSWORD, seedAlert, seedStory, startTestApi, type Api } from './api-helpers.js';
import { axeViolations, CONSOLE_SKIP as skip, launchChromium, login, openConsole, type Opened } from './console-helpers.js';

// Callbacks that run in the page: the few DOM names they use (the Node program has no DOM library).
interface PageElement {
  dataset: Record<string, string | undefined>;
  closest(selector: string): PageElement | null;
}
declare const document: { activeElement: PageElement | null };

const ALERTS = 230;
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();
/** Alert n (1 = the newest) as the queue's "newest first" order shows it. */
const title = (n: number): string => `Paging alert ${String(n).padStart(3, '0')}`;

const alertRows = (page: Page): Promise<string[]> => page.$$eval('[data-testid=queue] tr[data-kind=alert] a.row-link', (l) => l.map((a) => a.textContent ?? ''));
const selectedTitle = (page: Page): Promise<string | null> =>
  page.evaluate(() => {
    const tr = document.activeElement?.closest('tr');
    return tr?.dataset.kind === 'alert' ? ((tr as unknown as { querySelector(s: string): { textContent: string } | null }).querySelector('a.row-link')?.textContent ?? null) : null;
  });

describe('the queue past 100 rows in a browser', { skip, timeout: 300_000 }, () => {
  let api: Api;
  let browser: Browser;
  let o: Opened;
  const ids = new Map<string, number>();

  before(async () => {
    api = await startTestApi({ api: { consoleDir: DEFAULT_CONSOLE_DIR } });
    await addUser(api, 'alice', 'analyst');
    for (let n = ALERTS; n >= 1; n--) {
      const at = minutesAgo(n);
      ids.set(title(n), seedAlert(api.db, { title: title(n), host: `ws${n}.corp.example`, firstSeen: at, createdAt: at }));
    }
    seedStory(api.db, makeStory('st-paging-1', { hosts: ['srv01.corp.example', 'srv02.corp.example'] }), { title: 'A story above the alerts' });
    browser = await launchChromium();
    o = await openConsole(browser, api.base, { path: '/?sort=newest' });
    await login(o.page, 'alice', PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it('shows 100 alerts a page, with where it is and the way to the others', async () => {
    const { page } = o;
    await page.waitForSelector('[data-testid=alerts-pager-range]');
    const rows = await alertRows(page);
    assert.equal(rows.length, 100);
    assert.equal(rows[0], title(1));
    assert.equal(rows[99], title(100));
    assert.equal(await page.textContent('[data-testid=alerts-pager-range]'), `1–100 of ${ALERTS}`);
    assert.equal(await page.$('[data-testid=stories-pager]'), null, 'one story: no pages');
    assert.ok(await page.isDisabled('button[aria-label="Previous page of alerts"]'));

    await page.click('button[aria-label="Next page of alerts"]');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("101–200 of ${ALERTS}")`);
    assert.match(page.url(), /[?&]alertsPage=2(&|$)/);
    const second = await alertRows(page);
    assert.equal(second.length, 100);
    assert.equal(second[0], title(101));
    assert.equal(await page.$$eval('[data-testid=queue] tr[data-kind=story]', (l) => l.length), 1, 'the stories stay on their own first page');

    await page.click('button[aria-label="Last page of alerts"]');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("201–230 of ${ALERTS}")`);
    assert.deepEqual(
      await alertRows(page),
      Array.from({ length: 30 }, (_, i) => title(201 + i)),
    );
    assert.ok(await page.isDisabled('button[aria-label="Next page of alerts"]'));
    assert.deepEqual(await axeViolations(page), []);

    await page.click('button[aria-label="First page of alerts"]');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("1–100 of ${ALERTS}")`);
    assert.doesNotMatch(page.url(), /alertsPage/);
  });

  it('turns pages with n and p, selecting the first row of the new page; j/k and Enter still work', async () => {
    const { page } = o;
    await page.click('h1');
    await page.keyboard.press('End');
    assert.equal(await selectedTitle(page), title(100));
    await page.keyboard.press('n');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("101–200 of ${ALERTS}")`);
    await page.waitForFunction(() => document.activeElement?.closest('tr')?.dataset.kind === 'alert');
    assert.equal(await selectedTitle(page), title(101));
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    assert.equal(await selectedTitle(page), title(103));
    await page.keyboard.press('n');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("201–230 of ${ALERTS}")`);
    await page.waitForFunction((t) => (document.activeElement as unknown as { textContent: string } | null)?.textContent === t, title(201));
    await page.keyboard.press('n');
    assert.match(page.url(), /alertsPage=3/, 'no page after the last');
    await page.keyboard.press('p');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("101–200 of ${ALERTS}")`);
    await page.waitForFunction((t) => (document.activeElement as unknown as { textContent: string } | null)?.textContent === t, title(101));
    await page.keyboard.press('k');
    assert.equal(await selectedTitle(page), null, 'k from the first alert goes up to the story');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    assert.equal(await selectedTitle(page), title(102));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=alert]');
    assert.match(page.url(), new RegExp(`/alerts/${ids.get(title(102))}$`));
    await page.goBack();
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("101–200 of ${ALERTS}")`);
    assert.match(page.url(), /alertsPage=2/, 'back on the page the analyst left');
  });

  it('keeps the page live: a new alert shifts it, a filter starts again at page 1, a page that emptied gives way to the last', async () => {
    const { page } = o;
    const fresh = seedAlert(api.db, { title: 'Paging alert new', firstSeen: minutesAgo(0), createdAt: minutesAgo(0) });
    api.live.publish('alert.created', { id: String(fresh) });
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("101–200 of ${ALERTS + 1}")`);
    assert.equal((await alertRows(page))[0], title(100), 'the newest pushed the others one down');

    await page.click('button[aria-label="Last page of alerts"]');
    await page.waitForSelector(`[data-testid=alerts-pager-range]:text("201–231 of ${ALERTS + 1}")`);
    // The 31 alerts of the last page are closed elsewhere: the open queue has 200, two pages.
    const closed = api.db.db.prepare("UPDATE alerts SET status = 'closed', resolution = 'benign' WHERE rule_title IN (" + Array.from({ length: 31 }, () => '?').join(',') + ')');
    closed.run(...Array.from({ length: 31 }, (_, i) => title(200 + i)));
    api.live.publish('alert.updated', { id: String(ids.get(title(230))) });
    await page.waitForSelector('[data-testid=alerts-pager-range]:text("101–200 of 200")');
    assert.match(page.url(), /alertsPage=2/);

    await page.selectOption('select:near(:text("Severity"))', 'high');
    await page.waitForSelector('[data-testid=alerts-pager-range]:text("1–100 of 200")');
    assert.doesNotMatch(page.url(), /alertsPage/);
    assert.deepEqual(o.pageErrors, []);
    assert.deepEqual(o.problems, []);
  });
});
