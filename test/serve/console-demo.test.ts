/**
 * The console on `firebreak serve --demo`, as a newcomer meets it: the real command in a child
 * process prints the console's address and a login; in headless Chromium the login works, the
 * replayed sample intrusion's story shows in the queue with patient zero WS009 and opens with its
 * spread graph, and the demo user (an admin) sees the demo's ingest token; SIGTERM stops the
 * server cleanly (exit 0) and removes the demo's data. Skips when Chromium or the built console is
 * missing.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { CONSOLE_SKIP as skip, launchChromium, login, openConsole, type Opened } from './console-helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/firebreak.js', import.meta.url));

describe('the console on firebreak serve --demo', { skip, timeout: 600_000 }, () => {
  let child: ChildProcess;
  let out = '';
  let err = '';
  let exited: Promise<number | null>;
  let browser: Browser;
  let o: Opened;
  let base: string;
  let password: string;
  let dataDir: string;

  before(async () => {
    // Event time 10^6 times real time: the whole sample is sent at once.
    child = spawn(process.execPath, [BIN, 'serve', '--demo', '--speed', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 180_000;
    const printed = () => /console: +(http:\/\/127\.0\.0\.1:\d+)\/ +login: demo \/ (\S+)/.exec(out);
    while (!printed() && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const m = printed();
    assert.ok(m, `the demo printed its console and login:\n${out}\n${err}`);
    base = m[1]!;
    password = m[2]!;
    dataDir = /temporary data directory \(([^)]+)\)/.exec(out)![1]!;
    browser = await launchChromium();
    o = await openConsole(browser, base);
  });
  after(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('logs in with the printed login; the story shows with patient zero WS009 and opens with its graph', async () => {
    const { page } = o;
    await login(page, 'demo', password);
    const row = '[data-testid=queue] tr[data-kind=story]';
    await page.waitForSelector(`${row}:has-text("WS009.corp.local")`, { timeout: 300_000 });
    assert.equal(await page.textContent(`${row} td:nth-of-type(5)`), 'WS009.corp.local');
    await page.click(`${row} a.row-link`);
    await page.waitForSelector('[data-testid=spread-graph] canvas');
    assert.deepEqual(await page.$$eval('[data-testid=graph-nodes] li[data-patient-zero]', (l) => l.map((x) => x.querySelector('a')?.textContent)), ['WS009.corp.local']);
    assert.ok((await page.$$eval('[data-testid=graph-edges] li', (l) => l.length)) >= 4, 'the entry and three moves');
  });

  it("shows the demo's ingest token to its admin", async () => {
    const { page } = o;
    await page.click('nav a:has-text("Admin")');
    await page.click('[aria-label=Administration] a:has-text("Ingest tokens")');
    await page.waitForSelector('[data-testid=tokens] tr[data-origin=config][data-source=demo-winlogbeat]');
    assert.deepEqual(o.pageErrors, []);
    assert.deepEqual(o.problems, []);
  });

  it('stops on SIGTERM with status 0 and removes the demo data', async () => {
    await browser.close();
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.equal(existsSync(dataDir), false);
    assert.doesNotMatch(err, /warning|error/i, 'nothing went wrong on the way');
  });
});
