/**
 * The console against a running server (startServer: write-ahead log, the full rule set, the
 * stories, DuckDB event store, the API serving the built console), in headless Chromium: an analyst
 * logs in, the sample intrusion is shipped through the Elasticsearch bulk API by the official
 * client, and the story appears in the open queue without a reload and grows there as it spreads;
 * the analyst opens it (patient zero WS009, the spread graph), assigns it, comments and closes it
 * as a true positive, each step in its audit trail; then finds the attacker's logons by a field
 * filter and by SQL over the live event store. Skips when Chromium or the built console is missing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import type { Browser } from 'playwright-core';
import { Credentials } from '../../src/serve/api/auth/credentials.js';
import { Passwords } from '../../src/serve/api/auth/passwords.js';
import { parseServeConfig } from '../../src/serve/config.js';
import { startServer, type Server } from '../../src/serve/server.js';
import { PASSWORD, TEST_SCRYPT } from './api-helpers.js';
import { axeViolations, CONSOLE_SKIP as skip, launchChromium, login, noHorizontalScroll, openConsole, type Opened } from './console-helpers.js';
import { TOKENS, until } from './ingest-helpers.js';
import { sampleDocs, serveYaml } from './sample.js';

// Callbacks that run in the page: the few DOM names they use (the Node program has no DOM library).
declare const window: { __sameDocument?: boolean };
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const ATTACKER = '203.0.113.66';
const PATIENT_ZERO = 'WS009.corp.local';

/**
 * How long the story may take to show in the queue after the server raised it. The issue asks for
 * 2 s; the bound here is generous because the machine running the suite may be busy: it catches a
 * queue that does not update by itself, not a slow one (the measured delay is printed).
 */
const APPEAR_BOUND_MS = 20_000;

describe('the console against a running server fed the sample intrusion', { skip, timeout: 600_000 }, () => {
  let dir: string;
  let server: Server;
  let browser: Browser;
  let analyst: Opened;
  let docs: Record<string, unknown>[];
  let storyId: string | undefined;
  let storyCreatedAt = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fb-console-live-'));
    const file = join(dir, 'serve.yml');
    writeFileSync(file, serveYaml(dir, 'api: { listen: 127.0.0.1:0 }\n'));
    server = await startServer(parseServeConfig(readFileSync(file, 'utf8'), file), { log: () => undefined, scrypt: TEST_SCRYPT });
    const creds = new Credentials(server.db, new Passwords(TEST_SCRYPT));
    await creds.addUser('alice', 'analyst', PASSWORD);
    server.live.subscribe((e) => {
      if (e.type === 'story.created' && storyId === undefined) {
        storyId = e.data.id;
        storyCreatedAt = Date.now();
      }
    });
    docs = sampleDocs();
    browser = await launchChromium();
    analyst = await openConsole(browser, `http://127.0.0.1:${server.api!.address.port}`);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in; the story appears in the open queue while the intrusion is shipped, without a reload, and grows there', async (t) => {
    const { page } = analyst;
    await login(page, 'alice', PASSWORD);
    await page.waitForSelector('[data-testid=queue] :text("No stories match.")');
    await page.evaluate(() => (window.__sameDocument = true));
    const url = page.url();

    const elastic = server.ingest.addresses.elastic!;
    const client = new Client({ node: `http://127.0.0.1:${elastic.port}`, auth: { username: 'elastic', password: TOKENS.elastic } });
    const shipping = client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'winlogbeat-8' } }), flushBytes: 64 * 1024, concurrency: 1 });
    try {
      await page.waitForSelector('[data-testid=queue] tr[data-kind=story]', { timeout: 300_000 });
      const appearedAt = Date.now();
      assert.ok(storyId, 'the server announced the story');
      const delay = appearedAt - storyCreatedAt;
      t.diagnostic(`the story was in the queue ${delay} ms after the server raised it`);
      assert.ok(delay < APPEAR_BOUND_MS, `the story showed ${delay} ms after it was raised`);
      assert.equal(await page.getAttribute('[data-testid=queue] tr[data-kind=story]', 'data-id'), storyId);
      const stats = await shipping;
      assert.equal(stats.successful, docs.length);
      assert.equal(stats.failed, 0);
    } finally {
      await shipping.catch(() => undefined);
      await client.close();
    }

    // Everything processed: the story reaches its four hosts, and the queue shows it without a reload.
    await until(() => server.processor.stats().processedOffset >= docs.length, 'all records processed', 300_000);
    await until(() => (server.db.db.prepare('SELECT hosts FROM stories WHERE id = ?').get(storyId) as { hosts: number } | undefined)?.hosts === 4, 'the story spans 4 hosts', 120_000);
    const row = `[data-testid=queue] tr[data-id="${storyId}"]`;
    await page.waitForFunction((sel) => document.querySelector(`${sel} td.num:nth-of-type(4)`)?.textContent === '4', row, { timeout: 30_000 });
    assert.equal(await page.textContent(`${row} td:nth-of-type(5)`), PATIENT_ZERO);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.equal(page.url(), url);
    assert.ok(Number(await page.textContent('[data-testid=new-counter] strong')) >= 1, 'counted as new');
    assert.equal(await page.$$eval('[data-testid=queue] tr[data-kind=story]', (l) => l.length), 1, 'one story, as hunt tells');
    assert.ok(await noHorizontalScroll(page), 'the queue fits 1280 px');
  });

  it('opens the story: patient zero WS009 entered from the attacker, the spread graph, the tactics', async () => {
    const { page } = analyst;
    await page.click(`[data-testid=queue] tr[data-id="${storyId}"] a.row-link`);
    await page.waitForSelector('[data-testid=story] [data-testid=spread-graph] canvas');
    const nodes = await page.$$eval('[data-testid=graph-nodes] li', (lis) => lis.map((li) => ({ text: li.textContent ?? '', kind: li.dataset.kind, pz: li.dataset.patientZero === 'true' })));
    const label = (n: { text: string }) => n.text.replace(/patient zero|outside address/g, '');
    assert.deepEqual(nodes.filter((n) => n.pz).map(label), [PATIENT_ZERO]);
    assert.deepEqual(
      nodes
        .filter((n) => n.kind === 'host')
        .map(label)
        .sort(),
      ['DC01.corp.local', 'FS01.corp.local', 'SRV01.corp.local', PATIENT_ZERO],
    );
    assert.deepEqual(nodes.filter((n) => n.kind === 'outside').map(label), [ATTACKER]);
    const edges = await page.$$eval('[data-testid=graph-edges] li', (lis) => lis.map((li) => [...li.querySelectorAll('span')].slice(0, 2).map((s) => s.textContent)));
    assert.deepEqual(edges.map((e) => e.join(' → ')).sort(), [
      `${ATTACKER} → ${PATIENT_ZERO}`,
      `${PATIENT_ZERO} → DC01.corp.local`,
      `${PATIENT_ZERO} → FS01.corp.local`,
      `${PATIENT_ZERO} → SRV01.corp.local`,
    ]);
    assert.equal(await page.getAttribute('[data-testid=spread-graph]', 'data-nodes'), '5');
    const why = (await page.textContent('[data-testid=patient-zero]'))!;
    assert.ok(why.includes(PATIENT_ZERO) && why.includes(ATTACKER), why);
    const tactics = await page.$$eval('[data-testid=tactics] li strong', (l) => l.map((x) => x.textContent));
    for (const t of ['Initial Access', 'Lateral Movement', 'Impact']) assert.ok(tactics.includes(t), `${t} in ${tactics.join(', ')}`);
    assert.ok(tactics.indexOf('Initial Access') < tactics.indexOf('Lateral Movement') && tactics.indexOf('Lateral Movement') < tactics.indexOf('Impact'), 'kill-chain order');
    assert.ok((await page.$$eval('[data-testid=story-alerts] tbody tr', (l) => l.length)) > 0, 'the story lists its alerts');
    assert.ok(await noHorizontalScroll(page), 'the story fits 1280 px');
    assert.deepEqual(await axeViolations(page), []);
  });

  it('assigns, comments and closes the story as a true positive; the audit trail shows each step', async () => {
    const { page } = analyst;
    await page.selectOption('[data-testid=assignee]', 'alice');
    await page.waitForSelector('[data-testid=audit] li[data-action="story.assign"]');
    await page.fill('[data-testid=comment]', `Entry from ${ATTACKER} by password spraying; svc_backup reset.`);
    await page.click('button:has-text("Add comment")');
    await page.waitForSelector('[data-testid=audit] li[data-action="story.comment"]');
    await page.selectOption('[data-testid=status]', 'closed');
    await page.selectOption('[data-testid=resolution]', 'true_positive');
    await page.click('button:has-text("Set status")');
    await page.waitForSelector('[data-testid=audit] li[data-action="story.status"]');
    const audit = await page.$$eval('[data-testid=audit] li', (l) => l.map((x) => ({ action: x.dataset.action, text: x.textContent ?? '' })));
    const mine = audit.filter((a) => a.text.includes('alice'));
    assert.deepEqual(
      mine.map((a) => a.action),
      ['story.assign', 'story.comment', 'story.status'],
    );
    assert.match(mine[2]!.text, /closed \(true_positive\)/);
    const row = server.db.db.prepare('SELECT status, resolution, assignee FROM stories WHERE id = ?').get(storyId) as { status: string; resolution: string; assignee: string };
    assert.deepEqual({ ...row }, { status: 'closed', resolution: 'true_positive', assignee: 'alice' });
    const open = (server.db.db.prepare("SELECT count(*) AS n FROM alerts WHERE story_id = ? AND status != 'closed'").get(storyId) as { n: number }).n;
    assert.equal(open, 0, 'closing the story closed its alerts');

    // Closed, it leaves the open queue (live, no reload).
    await page.click('nav a:has-text("Queue")');
    await page.waitForSelector('[data-testid=queue] :text("No stories match.")');
  });

  it("finds the attacker's logons by a field filter and by SQL over the live event store", async () => {
    const { page } = analyst;
    await page.click('nav a:has-text("Search")');
    await page.fill('#filter-input', `IpAddress=${ATTACKER}`);
    await page.click('button[type=submit]:has-text("Search")');
    await page.waitForSelector('[data-testid=result-count]');
    // 24 failed logons (the spray) and the one that succeeded, all on patient zero.
    assert.match((await page.textContent('[data-testid=result-count]'))!, /^25 rows /);
    await page.waitForSelector('[data-testid=histogram] canvas');

    await page.fill('#filter-input', `EventID=4624 IpAddress=${ATTACKER}`);
    await page.click('button[type=submit]:has-text("Search")');
    await page.waitForSelector('[data-testid=result-count]:text-matches("^1 row ")');
    const hit = (await page.textContent('[data-testid=results] tbody'))!;
    assert.ok(hit.includes(PATIENT_ZERO) && hit.includes('svc_backup'), hit);
    // The row opens on every stored column and every field of the event.
    await page.click('[data-testid=results] button[aria-label="Open row 1"]');
    const detail = await page.$$eval('[data-testid=row-detail] tr', (trs) => trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent]));
    const byName = new Map(detail.map(([k, v]) => [k, v]));
    assert.equal(byName.get('LogonType'), '3');
    assert.equal(byName.get('TargetUserName'), 'svc_backup');
    assert.equal(byName.get('source'), 'winlogbeat');
    assert.ok(byName.has('received') && byName.has('offset'), [...byName.keys()].join(', '));
    assert.ok(await noHorizontalScroll(page), 'search results fit 1280 px');

    await page.click('button:has-text("SQL")');
    await page.fill(
      '[data-testid=sql]',
      `SELECT computer, event_id, fields->>'TargetUserName' AS account, count(*) AS n FROM events WHERE fields->>'IpAddress' = '${ATTACKER}' GROUP BY ALL ORDER BY event_id`,
    );
    await page.click('button[type=submit]:has-text("Search")');
    await page.waitForSelector('[data-testid=results] th:has-text("account")');
    const rows = await page.$$eval('[data-testid=results] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.ok(rows.length > 0);
    assert.ok(
      rows.every((r) => r[0] === PATIENT_ZERO),
      JSON.stringify(rows),
    );
    assert.equal(
      rows.reduce((n, r) => n + Number(r[3]), 0),
      25,
    );
    assert.deepEqual(
      rows.filter((r) => r[1] === '4624').map((r) => [r[2], r[3]]),
      [['svc_backup', '1']],
    );
  });

  it('fits every page in 1280 px with the real rule set and the real data', async () => {
    const { page } = analyst;
    const base = `http://127.0.0.1:${server.api!.address.port}`;
    for (const [path, ready] of [
      ['/rules', '[data-testid=rules] tbody tr'],
      ['/coverage', '[data-testid=matrix] .cell'],
      ['/health', '[data-testid=sources] td'],
      ['/hosts', 'table.grid tbody tr'],
      [`/hosts/${PATIENT_ZERO}`, '[data-testid=entity]'],
      ['/accounts', 'table.grid tbody tr'],
      [`/stories/${storyId}`, '[data-testid=spread-graph] canvas'],
    ] as const) {
      await page.goto(base + path);
      await page.waitForSelector(ready);
      assert.ok(await noHorizontalScroll(page), `${path} fits 1280 px`);
    }
    assert.deepEqual(analyst.pageErrors, []);
    assert.deepEqual(analyst.problems, []);
  });
});
