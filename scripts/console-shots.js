#!/usr/bin/env node
// Screenshots of every page of the console, from a live server: starts the real
// `firebreak serve --demo` (the sample intrusion replayed through the bulk API), logs in with the
// login it prints, triages the story a little so the pages have something to show, and saves each
// page at 1280 and 1920 px wide, light and dark, as <out>/<page>-<width>-<theme>.png (full page).
//
//   npm run build && node scripts/console-shots.js [--out DIR] [--only queue,story] [--full]
//
// DIR defaults to docs/console. Pages longer than twice the window are cut there (--full keeps
// them whole, to look at them). With Debian's pngquant installed the files are quantised to a
// palette (a third of the size, no visible change); without it they stay as Chromium wrote them.
// Needs Debian's chromium (/usr/bin/chromium) and the built console (dist/console). docs/console.md
// shows these files; run this again after changing the console, and look at every image.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const helpers = join(root, 'dist/test/serve/console-helpers.js');
const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' }, full: { type: 'boolean' } } });
const out = values.out ? resolve(values.out) : join(root, 'docs/console');
const only = values.only ? new Set(values.only.split(',')) : null;

if (!existsSync(helpers) || !existsSync(join(root, 'dist/console/index.html'))) {
  console.error('console-shots: build first (npm run build): the compiled test helpers and dist/console are needed');
  process.exit(2);
}
const { CONSOLE_SKIP, launchChromium, login, openConsole, shoot } = await import(helpers);
if (CONSOLE_SKIP) {
  console.error(`console-shots: ${CONSOLE_SKIP}`);
  process.exit(2);
}

// The live server: the demo, with the whole sample sent at once.
const child = spawn(process.execPath, [join(root, 'bin/firebreak.js'), 'serve', '--demo', '--speed', '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
let said = '';
child.stdout.on('data', (b) => {
  said += b.toString('utf8');
});
const waitFor = async (re, what, ms = 300_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = re.exec(said);
    if (m) return m;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`console-shots: the demo did not print ${what}:\n${said}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

let browser;
const taken = [];
try {
  const [, base, password] = await waitFor(/console: +(http:\/\/127\.0\.0\.1:\d+)\/ +login: demo \/ (\S+)/, 'its login');
  // The replay is processed and the stories are told ("N alerts, top stories:").
  await waitFor(/\d+ alerts, (top stories|no story)/, 'its stories');
  console.log(`console-shots: demo server at ${base}; shots into ${relative(process.cwd(), out) || '.'}`);

  browser = await launchChromium();
  const o = await openConsole(browser, base);
  const page = o.page;
  const snap = async (name, from) => {
    if (only && !only.has(name)) return;
    await page.waitForLoadState('networkidle');
    const files = await shoot(page, out, name, { settle: 400, ...(from ? { from } : {}), ...(values.full ? {} : { maxScreens: 2 }) });
    taken.push(...files);
  };
  // A wait that says what the page showed instead (an error box) when it times out.
  const expect = async (selector) => {
    try {
      await page.waitForSelector(selector);
    } catch (e) {
      const shown = await page.$$eval('[role=alert]', (l) => l.map((x) => x.textContent).join('; '));
      throw new Error(`console-shots: ${selector} did not appear${shown ? `; the page says: ${shown}` : ''} (${page.url()})`, { cause: e });
    }
  };
  const go = async (path, selector) => {
    await page.goto(base + path);
    await expect(selector);
  };

  await expect('input[name=user]');
  await snap('login');
  await login(page, 'demo', password);

  // A colleague to assign work to, an API key and an ingest token, as an admin would have made them.
  const api = async (method, path, body) =>
    page.evaluate(
      async ([m, p, b]) => {
        const s = await (await fetch('/api/auth/session')).json();
        const r = await fetch(p, { method: m, headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: b === undefined ? undefined : JSON.stringify(b) });
        return r.status;
      },
      [method, path, body],
    );
  await api('POST', '/api/users', { name: 'alice', role: 'analyst', password: 'correct horse battery' });
  await api('POST', '/api/users', { name: 'rob', role: 'read-only', password: 'correct horse battery' });
  await api('POST', '/api/keys', { name: 'soar', role: 'analyst' });
  await api('POST', '/api/ingest-tokens', { source: 'winlogbeat-dcs', protocols: ['elastic'] });

  await expect('[data-testid=queue] tr[data-kind=story]');
  await snap('queue');

  await page.click('[data-testid=queue] tr[data-kind=story] a.row-link');
  await expect('[data-testid=spread-graph] canvas');
  await page.selectOption('[data-testid=assignee]', 'alice');
  await expect('[data-testid=audit] li[data-action="story.assign"]');
  await page.fill('[data-testid=comment]', 'Entry from 203.0.113.66 by password spraying against svc_backup; FS01, DC01 and SRV01 reached by pass-the-hash. Isolating WS009.');
  await page.click('button:has-text("Add comment")');
  await expect('[data-testid=audit] li[data-action="story.comment"]');
  await page.selectOption('[data-testid=status]', 'in_progress');
  await page.click('button:has-text("Set status")');
  await expect('[data-testid=audit] li[data-action="story.status"]');
  const storyUrl = page.url();
  await snap('story');
  // One detection's event, the matched fields highlighted.
  await page.click('[data-testid=story-alerts] tbody tr button:has-text("Show event")');
  await expect('[data-testid=event-fields]');
  await snap('story-event', 'section[aria-labelledby=h-alerts]');

  await page.goto(storyUrl);
  await expect('[data-testid=story-alerts] tbody tr a');
  await page.click('[data-testid=story-alerts] tbody tr a[href^="/alerts/"]');
  await expect('[data-testid=alert] [data-testid=event-fields]');
  await snap('alert');

  await go('/hosts', 'table.grid tbody tr');
  await snap('hosts');
  await page.click('table.grid tbody tr a:text-is("WS009.corp.local")');
  await expect('[data-testid=entity]');
  await snap('host');
  await go('/accounts', 'table.grid tbody tr');
  await snap('accounts');
  await page.click('table.grid tbody tr a:has-text("svc_backup")');
  await expect('[data-testid=entity]');
  await snap('account');

  await go('/search', '#filter-input');
  await page.fill('#filter-input', 'IpAddress=203.0.113.66');
  await page.click('button[type=submit]:has-text("Search")');
  await expect('[data-testid=histogram] canvas');
  await snap('search');
  await page.click('button:has-text("SQL")');
  await page.fill(
    '[data-testid=sql]',
    "SELECT computer, event_id, fields->>'TargetUserName' AS account, fields->>'IpAddress' AS address, count(*) AS n\nFROM events WHERE event_id IN (4624, 4625) AND (fields->>'LogonType') = '3'\nGROUP BY ALL ORDER BY n DESC LIMIT 20",
  );
  await page.click('button[type=submit]:has-text("Search")');
  await expect('[data-testid=results] th:has-text("account")');
  await snap('search-sql');

  await go('/rules', '[data-testid=rules] tbody tr');
  await page.fill(
    '[data-testid=upload-yaml]',
    [
      'title: Backup tool run from a user folder',
      'id: 6f0cbd1e-6a6c-4d53-9a55-0c8b8b8a1e01',
      'status: experimental',
      'level: high',
      'logsource:',
      '  product: windows',
      '  category: process_creation',
      'detection:',
      '  selection:',
      "    Image|endswith: '\\7z.exe'",
      "    CommandLine|contains: ' -p'",
      '  condition: selection and users_folder',
      '',
    ].join('\n'),
  );
  await page.click('button:has-text("Check")');
  await expect('[data-testid=lint] li');
  await snap('rules');
  await snap('rule-upload', 'section[aria-labelledby=h-upload]');

  await go('/coverage', '[data-testid=matrix] .cell');
  await snap('coverage');
  await go('/health', '[data-testid=sources] td');
  await snap('health');

  await go('/admin/users', '[data-testid=users] tr[data-user=alice]');
  await snap('admin-users');
  await go('/admin/keys', '[data-testid=keys] tr[data-key=soar]');
  await snap('admin-keys');
  await go('/admin/tokens', '[data-testid=tokens] tr[data-source=winlogbeat-dcs]');
  await snap('admin-tokens');

  if (o.pageErrors.length || o.problems.length) console.error(`console-shots: the page reported:\n${[...o.pageErrors, ...o.problems].join('\n')}`);
  const quant = spawnSync('pngquant', ['--version'], { encoding: 'utf8' });
  if (quant.status === 0) {
    // Lossy only in colours nobody sees: --skip-if-larger keeps a file that would not shrink.
    for (const f of taken) spawnSync('pngquant', ['--quality', '70-95', '--speed', '1', '--force', '--skip-if-larger', '--ext', '.png', f], { stdio: 'inherit' });
  } else console.log('console-shots: pngquant not found (apt-get install pngquant): files left as Chromium wrote them');
  console.log(`console-shots: ${taken.length} screenshots`);
} finally {
  await browser?.close();
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
}
