/**
 * Opening a report as a user would, for the browser tests: Debian's Chromium driven by
 * playwright-core, from file://, offline, with every request, page error and console
 * error/warning recorded. Tests skip with `CHROMIUM_SKIP` as their reason when it is missing,
 * unless FIREBREAK_REQUIRE_BROWSER is set (CI sets it where it installs Chromium): then they run,
 * and fail saying Chromium is missing, rather than pass by skipping.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (FIREBREAK_CHROMIUM names another binary). */
export const CHROMIUM = process.env.FIREBREAK_CHROMIUM || '/usr/bin/chromium';
const required = !!process.env.FIREBREAK_REQUIRE_BROWSER;
export const CHROMIUM_SKIP: string | false =
  existsSync(CHROMIUM) || required ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or FIREBREAK_CHROMIUM=/path/to/chromium); browser checks skipped`;

export interface OpenedReport {
  ctx: BrowserContext;
  page: Page;
  /** Every URL the page asked for. */
  requests: string[];
  /** Uncaught page errors and console errors/warnings. */
  problems: string[];
  /** Uncaught page errors only. */
  pageErrors: string[];
}

/** Open `path` in a fresh profile under `profileDir` and wait until the report says it is ready. */
export async function openReport(path: string, profileDir: string): Promise<OpenedReport> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium), and FIREBREAK_REQUIRE_BROWSER says the browser tests must run`);
  const ctx = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    offline: true,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const opened: OpenedReport = { ctx, page, requests: [], problems: [], pageErrors: [] };
  page.on('request', (r) => opened.requests.push(r.url()));
  page.on('pageerror', (e) => {
    opened.pageErrors.push(e.message);
    opened.problems.push(`pageerror: ${e.message}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') opened.problems.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(pathToFileURL(path).href);
  await page.waitForSelector('html[data-ready="1"]', { timeout: 30_000 });
  return opened;
}
