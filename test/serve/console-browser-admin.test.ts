/**
 * The console's administration pages in headless Chromium against the real API (startTestApi): an
 * admin adds a user, changes its role, disables and enables it and sets its password; makes an
 * API key (its secret shown once, working as a bearer token) and revokes it; makes an ingest token
 * beside the configuration's and revokes it; each change in the tab's recent changes. Analysts and
 * read-only users see no Admin link, are told the page is not theirs, and the API refuses them.
 * axe-core reports no serious or critical violation on the three tabs. Skips when Chromium or the
 * built console is missing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { IngestTokens } from '../../src/serve/api/auth/ingest-tokens.js';
import { DEFAULT_CONSOLE_DIR } from '../../src/serve/api/static.js';
import { addUser, Client, PASSWORD, startTestApi, type Api } from './api-helpers.js';
import { axeViolations, CONSOLE_SKIP as skip, launchChromium, login, openConsole, type Opened } from './console-helpers.js';

const NEW_PASSWORD = 'a brand new passphrase';

const auditTexts = (page: Page): Promise<string[]> => page.$$eval('[data-testid=admin-audit] li', (l) => l.map((x) => (x.textContent ?? '').replace(/^\S+ \S+ /, '')));

describe('the administration pages in a browser', { skip, timeout: 300_000 }, () => {
  let api: Api;
  let browser: Browser;
  let admin: Opened;

  before(async () => {
    api = await startTestApi({
      api: { consoleDir: DEFAULT_CONSOLE_DIR },
      ingestTokens: (db) => new IngestTokens(db, [{ source: 'winlogbeat-file', protocols: ['elastic'] }]),
    });
    await addUser(api, 'root', 'admin');
    await addUser(api, 'alice', 'analyst');
    await addUser(api, 'rob', 'read-only');
    browser = await launchChromium();
    admin = await openConsole(browser, api.base);
    await login(admin.page, 'root', PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it('manages users: add, role, disable and enable, password; each change listed', async () => {
    const { page } = admin;
    await page.click('nav a:has-text("Admin")');
    await page.waitForSelector('[data-testid=users] tr[data-user=root]');
    assert.match(page.url(), /\/admin\/users$/);
    assert.ok((await page.textContent('[data-testid=users] tr[data-user=root]'))!.includes('(you)'));
    assert.ok(await page.isDisabled('select[aria-label="Role of root"]'), 'an admin does not demote itself here');
    assert.equal(await page.$('button[aria-label="Disable root"]'), null);

    await page.fill('[data-testid=user-name]', 'bob');
    await page.selectOption('[data-testid=user-role]', 'analyst');
    await page.fill('[data-testid=user-password]', 'short');
    await page.click('button:has-text("Add user")');
    await page.waitForSelector('[role=alert]:has-text("characters")');
    await page.fill('[data-testid=user-password]', PASSWORD);
    await page.click('button:has-text("Add user")');
    await page.waitForSelector('[data-testid=users] tr[data-user=bob]');
    await page.waitForSelector('[role=status]:has-text("User bob added (analyst)")');

    await page.selectOption('select[aria-label="Role of bob"]', 'read-only');
    await page.waitForSelector('[role=status]:has-text("bob is now read-only")');
    await page.click('button[aria-label="Disable bob"]');
    await page.waitForSelector('[data-testid=users] tr[data-user=bob] .bad:text("disabled")');
    assert.equal((await new Client(api.base).login('bob')).status, 401, 'a disabled user cannot log in');
    await page.click('button[aria-label="Enable bob"]');
    await page.waitForSelector('[data-testid=users] tr[data-user=bob] .good:text("active")');
    await page.click('button[aria-label="Set password for bob"]');
    await page.fill('[data-testid=new-password]', NEW_PASSWORD);
    await page.click('tr.sub-row button[type=submit]');
    await page.waitForSelector('[role=status]:has-text("Password of bob set")');
    assert.equal((await new Client(api.base).login('bob', NEW_PASSWORD)).status, 200);
    assert.equal((await api.creds.getUser('bob'))!.role, 'read-only');

    await page.waitForFunction(
      () => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid=admin-audit] li').length >= 5,
    );
    assert.deepEqual(await auditTexts(page), [
      'root set the password of bob',
      'root enabled bob',
      'root disabled bob',
      'root changed the role of bob: analyst → read-only',
      'root added user bob (analyst)',
    ]);
    assert.deepEqual(await axeViolations(page), []);
  });

  it('makes an API key whose secret is shown once and works, then revokes it', async () => {
    const { page } = admin;
    await page.click('[aria-label=Administration] a:has-text("API keys")');
    await page.waitForSelector('[data-testid=create-key]');
    assert.match(page.url(), /\/admin\/keys$/);
    await page.fill('[data-testid=key-name]', 'soar');
    await page.selectOption('[data-testid=key-role]', 'analyst');
    await page.click('button:has-text("Create key")');
    const secret = (await page.textContent('[data-testid=secret]'))!;
    assert.match(secret, /^fbk_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    const prog = new Client(api.base);
    prog.bearer = secret;
    prog.origin = null;
    assert.equal((await prog.get('/api/alerts')).status, 200);
    await page.waitForSelector('[data-testid=keys] tr[data-key=soar] .good:text("active")');
    await page.click('button:has-text("I have copied it")');
    await page.waitForSelector('[data-testid=secret-once]', { state: 'detached' });
    assert.ok(!(await page.content()).includes(secret.slice(-43)), 'the secret is gone from the page');

    await page.click('button[aria-label="Revoke the API key soar"]');
    await page.click('button:has-text("Yes, revoke")');
    await page.waitForSelector('[data-testid=keys] tr[data-key=soar] .bad:text("revoked")');
    assert.equal((await prog.get('/api/alerts')).status, 401);
    await page.waitForSelector('[data-testid=admin-audit] li[data-action="key.revoke"]');
    assert.deepEqual(await auditTexts(page), ['root revoked the API key soar', 'root made the API key soar (analyst)']);
    assert.deepEqual(await axeViolations(page), []);
  });

  it("lists the configuration's ingest tokens, makes one and revokes it", async () => {
    const { page } = admin;
    await page.click('[aria-label=Administration] a:has-text("Ingest tokens")');
    await page.waitForSelector('[data-testid=tokens] tr[data-origin=config][data-source=winlogbeat-file]');
    assert.equal(await page.$('[data-testid=tokens] tr[data-origin=config] button'), null, "the configuration's tokens are changed in the file");
    await page.fill('[data-testid=token-source]', 'fluent bit');
    await page.click('button:has-text("Create token")');
    await page.waitForSelector('[role=alert]:has-text("is not a source name")');
    await page.fill('[data-testid=token-source]', 'otel-collectors');
    await page.uncheck('[data-testid=token-elastic]');
    await page.check('[data-testid=token-otlp]');
    await page.check('[data-testid=token-hec]');
    await page.click('button:has-text("Create token")');
    const secret = (await page.textContent('[data-testid=secret]'))!;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    await page.waitForSelector('[data-testid=tokens] tr[data-origin=api][data-source=otel-collectors]');
    assert.equal(await page.textContent('[data-testid=tokens] tr[data-source=otel-collectors] td:nth-of-type(2)'), 'otlp, hec');
    assert.equal(api.db.db.prepare('SELECT count(*) AS n FROM ingest_tokens WHERE revoked_at IS NULL').pluck().get(), 1);
    await page.click('button:has-text("I have copied it")');
    await page.click('button[aria-label="Revoke this token of otel-collectors"]');
    await page.click('button:has-text("Yes, revoke")');
    await page.waitForSelector('[data-testid=tokens] tr[data-source=otel-collectors] .bad:text("revoked")');
    await page.waitForSelector('[data-testid=admin-audit] li[data-action="ingest-token.revoke"]');
    assert.deepEqual(await auditTexts(page), ['root revoked an ingest token of otel-collectors', 'root made an ingest token for otel-collectors (otlp, hec)']);
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(admin.pageErrors, []);
    assert.deepEqual(admin.problems, []);
  });

  it('shows analysts and read-only users no administration, and the API refuses them', async () => {
    for (const user of ['alice', 'rob']) {
      const o = await openConsole(browser, api.base);
      try {
        await login(o.page, user, PASSWORD);
        assert.equal(await o.page.$('nav a:has-text("Admin")'), null, `${user}: no Admin link`);
        for (const tab of ['users', 'keys', 'tokens']) {
          await o.page.goto(`${api.base}/admin/${tab}`);
          await o.page.waitForSelector('[data-testid=admin-only]');
          assert.equal(await o.page.$('[data-testid=admin] , form, button:has-text("Revoke"), button:has-text("Disable")'), null, `${user} on ${tab}: no controls`);
        }
        const statuses = await o.page.evaluate(async () => {
          const f = globalThis.fetch;
          const s = (await (await f('/api/auth/session')).json()) as { csrfToken: string };
          const h = { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken };
          return [
            (await f('/api/keys')).status,
            (await f('/api/ingest-tokens')).status,
            (await f('/api/keys', { method: 'POST', headers: h, body: JSON.stringify({ name: 'x', role: 'admin' }) })).status,
            (await f('/api/ingest-tokens', { method: 'POST', headers: h, body: JSON.stringify({ source: 'x', protocols: ['elastic'] }) })).status,
            (await f('/api/users', { method: 'POST', headers: h, body: JSON.stringify({ name: 'mallory', role: 'admin', password: 'long enough password' }) })).status,
            (await f('/api/users/rob', { method: 'PATCH', headers: h, body: JSON.stringify({ role: 'admin' }) })).status,
          ];
        });
        assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403], user);
        assert.deepEqual(o.pageErrors, []);
      } finally {
        await o.ctx.close();
      }
    }
    assert.equal(await api.creds.getUser('mallory'), undefined);
    assert.equal((await api.creds.getUser('rob'))!.role, 'read-only');
  });
});
