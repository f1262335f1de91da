/**
 * The console's browser tests share these: Debian's Chromium launched through playwright-core, a
 * page that records page errors and console problems, logging in as the login form does, axe-core's
 * serious and critical violations, and screenshots of a page at 1280 and 1920 px in both themes.
 * `CONSOLE_SKIP` is the reason to skip (no Chromium, or no built console), or false.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DEFAULT_CONSOLE_DIR } from '../../src/serve/api/static.js';
import { CHROMIUM, CHROMIUM_SKIP } from '../output/browser.js';

// Callbacks that run in the page: the few DOM names they use (the Node program has no DOM library).
interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}
declare const document: { documentElement: { dataset: Record<string, string | undefined>; scrollWidth: number; scrollHeight: number } };
declare const window: { innerWidth: number; scrollTo(x: number, y: number): void; dispatchEvent(e: unknown): boolean; axe: { run(context: unknown, options: unknown): Promise<AxeResult> } };
declare const CustomEvent: new (type: string) => unknown;

const built = existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html'));
/** Why the console's browser tests cannot run here, or false. */
export const CONSOLE_SKIP: string | false = CHROMIUM_SKIP || (built ? false : `the console is not built at ${DEFAULT_CONSOLE_DIR} (npm run build); browser checks skipped`);

let axeSource: string | undefined;

/** Headless Chromium from Debian. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium), and FIREBREAK_REQUIRE_BROWSER says the browser tests must run`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
}

export interface Opened {
  ctx: BrowserContext;
  page: Page;
  pageErrors: string[];
  /** Console errors and warnings, except the browser's own "Failed to load resource" lines for refused requests the test makes on purpose. */
  problems: string[];
}

/** A new browser context (its own cookies) with the console open at `base` + `path`. */
export async function openConsole(browser: Browser, base: string, opts: { width?: number; path?: string } = {}): Promise<Opened> {
  const ctx = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const o: Opened = { ctx, page, pageErrors: [], problems: [] };
  page.on('pageerror', (e) => o.pageErrors.push(e.message));
  page.on('console', (m) => {
    if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('Failed to load resource')) o.problems.push(`${m.type()}: ${m.text()}`);
  });
  page.setDefaultTimeout(15_000);
  await page.goto(base + (opts.path ?? '/'));
  return o;
}

/** Logs in through the form and waits for the queue and the live feed. */
export async function login(page: Page, user: string, password: string): Promise<void> {
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=queue]');
  await page.waitForSelector('[data-testid=live-state]:text("live")');
}

/** Serious and critical axe-core violations on the current page. */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    return res.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.length} node(s), e.g. ${v.nodes[0]?.target?.join(' ')}: ${v.help}`);
  });
}

/** The theme shown now. */
const themeNow = (page: Page): Promise<string | undefined> => page.evaluate(() => document.documentElement.dataset.theme);

/** Shows `theme`: with the top bar's toggle when the page has one (so its label follows), else as the page would at load. */
export async function showTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  if ((await themeNow(page)) === theme) return;
  const toggle = await page.$('[data-testid=theme-toggle]');
  if (toggle) await toggle.click();
  else {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.evaluate(() => window.dispatchEvent(new CustomEvent('firebreak-theme')));
  }
}

export const SHOT_WIDTHS = [1280, 1920] as const;
export const SHOT_THEMES = ['light', 'dark'] as const;

/**
 * Full-page screenshots `<dir>/<name>-<width>-<theme>.png` at each width and theme (at most
 * `maxScreens` window heights of a longer page, from the top or from the element `from` selects);
 * then back to 1280 px and the theme it had.
 */
export async function shoot(page: Page, dir: string, name: string, opts: { settle?: number; maxScreens?: number; from?: string } = {}): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const was = (await themeNow(page)) === 'dark' ? 'dark' : 'light';
  const files: string[] = [];
  for (const width of SHOT_WIDTHS)
    for (const theme of SHOT_THEMES) {
      const screen = width === 1280 ? 800 : 1080;
      await page.setViewportSize({ width, height: screen });
      await showTheme(page, theme);
      await page.waitForTimeout(opts.settle ?? 250);
      const file = join(dir, `${name}-${width}-${theme}.png`);
      // From the top: the sticky top bar is drawn where the window is, in a full-page picture too.
      await page.evaluate(() => window.scrollTo(0, 0));
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      const top = opts.from ? Math.max(0, ((await (await page.$(opts.from))?.boundingBox())?.y ?? 0) - 8) : 0;
      const max = opts.maxScreens ? opts.maxScreens * screen : Infinity;
      const clip = top > 0 || height > max ? { x: 0, y: top, width, height: Math.min(max, height - top) } : undefined;
      await page.screenshot({ path: file, fullPage: true, ...(clip ? { clip } : {}) });
      files.push(file);
    }
  await page.setViewportSize({ width: 1280, height: 900 });
  await showTheme(page, was);
  return files;
}

/** True when nothing on the page is wider than the window. */
export const noHorizontalScroll = (page: Page): Promise<boolean> => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
