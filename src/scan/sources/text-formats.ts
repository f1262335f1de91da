/**
 * Text out of RTF and HTML. RTF has no well-kept parser on npm, and the text is simple to get at:
 * control words are dropped, `\'hh` and `\uN` decoded, `\par`/`\line`/`\row` become newlines and
 * `\cell`/`\tab` tabs, and destinations that hold no document text (font and colour tables, style
 * sheets, pictures, `{\*…}` groups) are skipped. HTML goes through htmlparser2: block elements end
 * lines, table cells become tabs, and attribute values that carry data (value, content, href,
 * title, alt) are kept on their own lines.
 */
import { Parser } from 'htmlparser2';

const RTF_SKIP = new Set([
  'fonttbl',
  'colortbl',
  'stylesheet',
  'info',
  'pict',
  'object',
  'themedata',
  'colorschememapping',
  'latentstyles',
  'datastore',
  'listtable',
  'listoverridetable',
  'rsidtbl',
  'generator',
  'xmlnstbl',
  'filetbl',
  'revtbl',
]);
const CP1252: Record<number, string> = { 0x80: '€', 0x82: '‚', 0x84: '„', 0x85: '…', 0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—', 0x99: '™' };

/** Is this the start of an RTF document? */
export function isRtf(head: Buffer): boolean {
  return head.toString('latin1', 0, 6) === '{\\rtf1' || head.toString('latin1', 0, 5) === '{\\rtf';
}

/** The text of an RTF document (group depth is tracked, never recursed, so nesting costs no stack). */
export function rtfToText(rtf: string): string {
  let out = '';
  // Per group: is its text skipped, and how many chars follow a \uN (its \ucN fallback).
  const skip: boolean[] = [false];
  let uc = 1;
  let pendingSkip = 0;
  let i = 0;
  const n = rtf.length;
  while (i < n) {
    const c = rtf[i]!;
    if (c === '{') {
      skip.push(skip[skip.length - 1]!);
      i++;
      if (rtf.startsWith('\\*', i)) skip[skip.length - 1] = true;
      continue;
    }
    if (c === '}') {
      if (skip.length > 1) skip.pop();
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      i++;
      continue;
    }
    const skipping = skip[skip.length - 1]!;
    if (c !== '\\') {
      if (pendingSkip > 0) pendingSkip--;
      else if (!skipping) out += c;
      i++;
      continue;
    }
    const next = rtf[i + 1];
    if (next === undefined) break;
    if (next === "'") {
      const code = parseInt(rtf.slice(i + 2, i + 4), 16);
      i += 4;
      if (pendingSkip > 0) pendingSkip--;
      else if (!skipping && Number.isFinite(code)) out += CP1252[code] ?? String.fromCharCode(code);
      continue;
    }
    if (!/[a-zA-Z]/.test(next)) {
      // Control symbols: \\ \{ \} are literal; \~ non-breaking space; \- \_ hyphens.
      if (!skipping) out += next === '~' ? ' ' : next === '_' ? '-' : next === '-' ? '' : next === '\n' || next === '\r' ? '\n' : next;
      i += 2;
      continue;
    }
    const m = /^([a-zA-Z]{1,32})(-?\d{1,10})? ?/.exec(rtf.slice(i + 1, i + 48))!;
    const word = m[1]!;
    const arg = m[2] !== undefined ? Number(m[2]) : null;
    i += 1 + m[0].length;
    if (RTF_SKIP.has(word)) {
      skip[skip.length - 1] = true;
      continue;
    }
    if (skipping) continue;
    if (word === 'par' || word === 'line' || word === 'row' || word === 'sect' || word === 'page') out += '\n';
    else if (word === 'tab' || word === 'cell') out += '\t';
    else if (word === 'uc' && arg !== null) uc = arg;
    else if (word === 'u' && arg !== null) {
      out += String.fromCharCode(arg < 0 ? arg + 65536 : arg);
      pendingSkip = uc;
    } else if (word === 'bin' && arg !== null && arg > 0) i += arg;
  }
  return out;
}

const BLOCK = new Set([
  'p',
  'div',
  'br',
  'li',
  'tr',
  'table',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'pre',
  'blockquote',
  'section',
  'article',
  'header',
  'footer',
  'ul',
  'ol',
  'dl',
  'dt',
  'dd',
  'hr',
  'title',
  'form',
  'option',
]);
const KEEP_ATTRS = ['value', 'content', 'href', 'src', 'title', 'alt', 'placeholder', 'data-value'];

/** Is this HTML (by name, or a doctype / html tag at the start)? */
export function isHtml(path: string, head: Buffer): boolean {
  if (/\.(?:html?|xhtml)$/i.test(path.split('!').pop()!)) return true;
  const start = head
    .toString('latin1', 0, 512)
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart()
    .toLowerCase();
  return start.startsWith('<!doctype html') || start.startsWith('<html');
}

/** The text of an HTML document, with lines and table cells kept apart. */
export function htmlToText(html: string): string {
  let out = '';
  const attrs: string[] = [];
  // Tabs go between a row's cells, not before its first, so columns are those of the table.
  let cellInRow = false;
  const p = new Parser(
    {
      onopentag(name, a) {
        if (name === 'tr') cellInRow = false;
        if (BLOCK.has(name)) out += '\n';
        else if (name === 'td' || name === 'th') {
          if (cellInRow) out += '\t';
          cellInRow = true;
        }
        for (const k of KEEP_ATTRS) {
          const v = a[k];
          if (v && v.length >= 4 && !/^(?:#|javascript:)/.test(v)) attrs.push(v);
        }
      },
      ontext(t) {
        out += t;
      },
      onclosetag(name) {
        if (BLOCK.has(name)) out += '\n';
      },
    },
    { decodeEntities: true },
  );
  p.end(html);
  return (out.replace(/[ \t]*\n[ \t\n]*\n/g, '\n') + (attrs.length ? '\n' + attrs.join('\n') + '\n' : '')).replace(/\u00a0/g, ' ');
}
