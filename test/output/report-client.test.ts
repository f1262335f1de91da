/**
 * The report's in-page script as `npm run build` bundles it (src/output/report/client): one
 * classic script with no markup sinks, no eval and no network API, inlined byte for byte and
 * allowed by the page's Content-Security-Policy hash (its behaviour in a browser: the
 * *-browser tests).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Script } from 'node:vm';
import { reportClientJs } from '../../src/output/report/html.js';
import { HtmlReportWriter } from '../../src/output/report/index.js';
import { detection, summary } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-report-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What the page script must never use: markup sinks, code from strings, network and navigation. */
const FORBIDDEN: [what: string, re: RegExp][] = [
  ['innerHTML', /\binnerHTML\b/],
  ['outerHTML', /\bouterHTML\b/],
  ['insertAdjacentHTML', /\binsertAdjacentHTML\b/],
  ['document.write', /\bdocument\s*\.\s*write(?:ln)?\b/],
  ['createContextualFragment', /\bcreateContextualFragment\b/],
  ['DOMParser', /\bDOMParser\b/],
  ['srcdoc', /\bsrcdoc\b/],
  ['eval', /\beval\b/],
  ['new Function', /\bnew\s+Function\b/],
  ['Function(…)', /\bFunction\s*\(/],
  ['timer with code as a string', /\bset(?:Timeout|Interval)\s*\(\s*["'`]/],
  ['fetch', /\bfetch\s*\(/],
  ['XMLHttpRequest', /\bXMLHttpRequest\b/],
  ['WebSocket', /\bWebSocket\b/],
  ['EventSource', /\bEventSource\b/],
  ['sendBeacon', /\bsendBeacon\b/],
  ['dynamic import', /\bimport\s*\(/],
  ['importScripts', /\bimportScripts\b/],
  ['workers', /\bnew\s+(?:Shared)?Worker\b/],
  ['window.open', /\bwindow\s*\.\s*open\b/],
  ['navigation', /\blocation\s*(?:\.\s*href\s*)?=(?!=)/],
];

function forbiddenIn(js: string): string[] {
  return FORBIDDEN.filter(([, re]) => re.test(js)).map(([what]) => what);
}

/** `&#39;` and the like back to characters (the page escapes its attribute values). */
const unescape = (s: string): string => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

describe('the built page script', () => {
  const js = reportClientJs();

  it('is the file the build wrote, one classic script (no import or export)', () => {
    assert.equal(js, readFileSync(new URL('../../src/output/report/client/report.js', import.meta.url), 'utf8'));
    assert.ok(js.length > 10_000, `${js.length} characters`);
    assert.doesNotThrow(() => new Script(js, { filename: 'report.js' }), 'compiles as a classic script');
    assert.throws(() => new Script('import { a } from "./a.js";'), SyntaxError, 'the check rejects a module');
  });

  it('uses no markup sink, no code from strings and no network API', () => {
    assert.deepEqual(forbiddenIn(js), []);
    assert.ok(!/<\/script|<!--/i.test(js), 'nothing that would end the inline <script> element');
    // The checks themselves find what they look for.
    const samples = [
      'a.innerHTML = b',
      'a.outerHTML',
      'a.insertAdjacentHTML("x", b)',
      'document.write(x)',
      'r.createContextualFragment(x)',
      'new DOMParser()',
      'f.srcdoc = x',
      'eval(x)',
      'new Function("x")',
      'Function("x")()',
      'setTimeout("x()", 1)',
      'fetch(u)',
      'new XMLHttpRequest()',
      'new WebSocket(u)',
      'new EventSource(u)',
      'navigator.sendBeacon(u)',
      'import("x")',
      'importScripts(u)',
      'new Worker(u)',
      'window.open(u)',
      'location.href = u',
    ];
    assert.equal(samples.length, FORBIDDEN.length);
    samples.forEach((s, i) => assert.ok(forbiddenIn(s).includes(FORBIDDEN[i]![0]), s));
    assert.deepEqual(forbiddenIn('el.textContent = x; if (a === location) b(); typeof f === "function"; clearTimeout(t)'), []);
  });

  it('is inlined byte for byte, and the page’s policy allows exactly it and the inlined style', async () => {
    const path = join(dir, 'csp.html');
    const w = new HtmlReportWriter(path);
    await w.write(detection());
    await w.close(summary({ detections: 1 }), { generatedAt: '2024-03-02T09:00:00.000Z' });
    const html = readFileSync(path, 'utf8');
    const csp = unescape(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '');
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1, 'one classic script; the rest are JSON data blocks');
    assert.equal(scripts[0], js);
    const scriptSrc = /(?:^|; )script-src ([^;]*)/.exec(csp)?.[1];
    assert.equal(scriptSrc, `'sha256-${sha256(js)}'`);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    assert.equal(styles.length, 1);
    assert.equal(/(?:^|; )style-src ([^;]*)/.exec(csp)?.[1], `'sha256-${sha256(styles[0]!)}'`);
    assert.match(csp, /^default-src 'none'; /);
    assert.equal([...html.matchAll(/<script\b[^>]*>/g)].filter((m) => m[0] !== '<script>' && !m[0].startsWith('<script type="application/json"')).length, 0, 'no other kind of script element');
  });
});
