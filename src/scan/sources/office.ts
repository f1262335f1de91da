/**
 * The zip-based office formats (docx, pptx, odt, odp, and the non-sheet parts of xlsx) read as text: their words live in XML parts
 * (word/document.xml, xl/sharedStrings.xml, ppt/slides/slideN.xml…) split across runs and tags,
 * so a password typed into a document is only visible once tags are dropped and paragraphs,
 * cells and line breaks become newlines and tabs.
 */
import { ScanIssueError } from './limits.js';
import { readAllCapped } from './peek.js';

/** Which OOXML parts are text, when the archive is an office document; null otherwise. */
export function officeKind(names: string[]): { kind: 'docx' | 'xlsx' | 'pptx'; isText(name: string): boolean } | null {
  if (!names.includes('[Content_Types].xml')) return null;
  const kind = names.some((n) => n.startsWith('word/')) ? 'docx' : names.some((n) => n.startsWith('xl/')) ? 'xlsx' : names.some((n) => n.startsWith('ppt/')) ? 'pptx' : null;
  if (!kind) return null;
  return { kind, isText: (n) => /^(?:word|xl|ppt|docProps)\/.*\.xml$/.test(n) };
}

const BREAK_AFTER = /^\/(?:w:p|a:p|row|si|w:tr|p:sp|text:p|text:h|table:table-row)$|^(?:w:br|w:cr|a:br|text:line-break)\/?$/;
const TAB_AT = /^(?:w:tab|\/c|\/w:tc|text:tab|\/table:table-cell)\/?$/;
const SPACE_AT = /^text:s\/?$/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML text with tags removed, entities decoded, block ends as newlines. */
export function xmlToText(xml: string): string {
  let out = '';
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) out += decodeEntities(xml.slice(i, textEnd));
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) break;
    const tag = xml
      .slice(lt + 1, gt)
      .split(/\s/)[0]!
      .replace(/\/$/, (m) => m);
    if (BREAK_AFTER.test(tag)) out += '\n';
    else if (TAB_AT.test(tag)) out += '\t';
    else if (SPACE_AT.test(tag)) out += ' ';
    i = gt + 1;
  }
  return out;
}

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

/** Stream an office XML part as its text (parts are held whole, within `max` bytes). */
export async function* officeXmlToText(src: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  const buf = await readAllCapped(src, max);
  if (!buf) throw new ScanIssueError('too-large', '', `office XML part larger than ${max} bytes`);
  yield Buffer.from(xmlToText(buf.toString('utf8')), 'utf8');
}
