/**
 * The report page: static markup with empty containers, the inlined stylesheet and script, and
 * the data blocks. Nothing from a detection is ever written into markup: all data travels as
 * JSON in `<script type="application/json">` blocks and the script builds the DOM with
 * `textContent`, so event text can only ever be text. A Content-Security-Policy that allows just
 * this page's own script and style (by hash) and no network at all backs that up.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FirebreakError } from '../../core/errors.js';
import { REPORT_CSS } from './style.js';

/** The in-page script as `npm run build` bundles it from ./client/report.ts (one classic script). */
const CLIENT_SCRIPT = new URL('./client/report.js', import.meta.url);
let clientScript: string | undefined;

/**
 * The in-page script, read once. It is inlined in a `<script>` element, so it may not hold
 * `</script` or `<!--`, which would end or derail that element (the bundler escapes them).
 */
export function reportClientJs(): string {
  if (clientScript !== undefined) return clientScript;
  const path = fileURLToPath(CLIENT_SCRIPT);
  let js: string;
  try {
    js = readFileSync(CLIENT_SCRIPT, 'utf8');
  } catch (e) {
    throw new FirebreakError('report-script', `report: cannot read the page script ${path} (built by \`npm run build\`): ${(e as Error).message}`, { cause: e });
  }
  if (/<\/script|<!--/i.test(js)) throw new FirebreakError('report-script', `report: the page script ${path} holds "</script" or "<!--" and cannot be inlined`);
  return (clientScript = js);
}

/** JSON made safe inside a `<script>` data block: `<` (so no `</script` or `<!--`), U+2028/9. */
export function scriptSafeJson(json: string): string {
  return json.replace(/[<\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Text made safe as HTML element content or a double-quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

/** The policy: no fetches of any kind, only the inlined script and style run. */
export function contentSecurityPolicy(): string {
  return [`default-src 'none'`, `script-src 'sha256-${sha256(reportClientJs())}'`, `style-src 'sha256-${sha256(REPORT_CSS)}'`, `img-src data:`, `base-uri 'none'`, `form-action 'none'`].join('; ');
}

const LEVEL_OPTIONS = [
  ['', 'All levels'],
  ['critical', 'Critical'],
  ['high', 'High and above'],
  ['medium', 'Medium and above'],
  ['low', 'Low and above'],
] as const;

/** Everything before the data blocks. */
export function pageHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy())}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="top"><h1><span class="brand">Firebreak</span> hunt report</h1><span class="sub" id="fb-generated"></span></header>
<noscript><div>This report draws its figures and tables with JavaScript; please allow scripts for this file.</div></noscript>
<main>
<section class="card" id="summary"><h2>Summary</h2><div class="stats" id="fb-stats"></div><div class="levels" id="fb-levels"></div></section>
<!-- STORIES: detections joined into incidents (src/stories): per story its score, narrative,
     tactics, the spread as hosts joined by timed arrows, and its timeline. The data arrives in the
     #fb-stories JSON block (ReportExtras.stories); the section stays hidden while it is empty. -->
<section class="card" id="stories" hidden><h2>Stories <span class="hint">incidents across hosts and accounts; hover an arrow for the detections that show it, click a timeline row to filter the table</span></h2><div id="fb-stories-view"></div></section>
<section class="card chart" id="timeline"><h2>Detections over time <span class="hint" id="fb-chart-hint"></span></h2><div id="fb-chart"></div><div class="legend" id="fb-legend"></div></section>
<div class="grid2 row-gap">
<section class="card" id="top-rules"><h2>Top rules <span class="hint">click to filter the table</span></h2><table class="toplist" id="fb-top-rules"></table></section>
<section class="card" id="top-hosts"><h2>Top hosts <span class="hint">click to filter the table</span></h2><table class="toplist" id="fb-top-hosts"></table></section>
</div>
<section class="card" id="attack"><h2>MITRE ATT&amp;CK <span class="hint">detections per technique, under the tactics their rules are tagged with; click a technique to filter</span></h2><div class="heat" id="fb-heat"></div></section>
<section class="card" id="detections"><h2>Detections <span class="hint">click a row to open the full event; click a column to sort</span></h2>
<div id="fb-left-out"></div>
<div class="toolbar">
<input type="search" id="fb-search" placeholder="Filter by rule, host, channel, event ID or any field value…" aria-label="Filter detections">
<select id="fb-level" aria-label="Minimum level">${LEVEL_OPTIONS.map(([v, l]) => `<option value="${v}">${l}</option>`).join('')}</select>
<span id="fb-facet"></span>
<span class="count-note" id="fb-count"></span>
</div>
<div class="tablewrap"><table class="det" id="fb-table"><thead><tr>
<th data-key="ts">Time (UTC)</th><th data-key="level">Level</th><th data-key="rule">Rule</th><th data-key="computer">Computer</th><th data-key="channel">Channel</th><th data-key="eid">Event ID</th><th data-key="details">Matched fields</th>
</tr></thead><tbody></tbody></table></div>
<div class="pager"><button type="button" id="fb-prev">‹ Previous</button><span id="fb-page" class="count-note"></span><button type="button" id="fb-next">Next ›</button></div>
</section>
<section class="card" id="problems" hidden><h2>Problems met during the hunt</h2><div id="fb-problems"></div></section>
<footer id="fb-footer"></footer>
</main>
<dialog id="fb-dialog" aria-labelledby="fb-d-title"><div class="dh"><span id="fb-d-level"></span><h3 id="fb-d-title"></h3><button type="button" id="fb-d-close">Close</button></div><div class="db" id="fb-d-body"></div></dialog>
`;
}

/** Everything after the data blocks. */
export function pageTail(): string {
  return `<script>${reportClientJs()}</script>
</body>
</html>
`;
}
