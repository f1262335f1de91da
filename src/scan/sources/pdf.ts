/**
 * PDF text through Mozilla's PDF.js (pdfjs-dist, the library Firefox renders PDFs with), page by
 * page. A PDF is hostile input like an archive: it is held in memory within maxBuffered, its
 * Flate streams are inflated once with a hard output cap before PDF.js sees them (a "PDF bomb" is
 * a small stream that inflates to gigabytes), at most LIMITS.pdfMaxPages pages are read and at
 * most LIMITS.documentTextMaxBytes of text kept. A PDF that needs a password is an issue.
 */
import { inflateSync } from 'node:zlib';
import { LIMITS } from '../../core/limits.js';
import { ScanIssueError, type IssueKind } from './limits.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | null = null;

/** The PDF being parsed in this thread, to which a stray PDF.js failure is reported. */
let active: { issue: (kind: IssueKind, message: string) => void } | null = null;

/**
 * PDF.js (in Node it runs its "worker" on the same thread) leaves some of its internal promises
 * without a handler: on a damaged file (an object cut inside a dictionary) one rejects unhandled
 * while `getDocument` itself settles normally, and Node ends the process on an unhandled
 * rejection. Those rejections carry PDF.js's own exception type (its `BaseException`, made in
 * pdf.worker.mjs); they become an issue of the PDF being read. Any other unhandled rejection is
 * thrown again, so the process fails on it as it would without this listener.
 */
function onUnhandled(reason: unknown): void {
  const stack = (reason as { stack?: unknown } | null)?.stack;
  if (typeof stack === 'string' && stack.includes('BaseExceptionClosure') && stack.includes('pdfjs-dist')) {
    // One that arrives once its PDF is done is dropped: that PDF's text was read already.
    active?.issue('corrupt', `PDF could not be fully read: ${(reason as { message?: string }).message ?? 'PDF.js error'}`);
    return;
  }
  throw reason;
}

/** PDF.js is large: loaded on the first PDF only. */
function loadPdfJs(): Promise<PdfJs> {
  if (!pdfjs) {
    process.on('unhandledRejection', onUnhandled);
    pdfjs = import('pdfjs-dist/legacy/build/pdf.mjs');
  }
  return pdfjs;
}

/** Is this the start of a PDF (the header may follow up to 1 KB of junk, as readers allow)? */
export function isPdf(head: Buffer): boolean {
  const at = head.subarray(0, 1024).indexOf('%PDF-');
  return at >= 0;
}

/**
 * Inflate every FlateDecode stream once with a cap on what all of them may produce together: the
 * ratio limit over the file (after the floor) or the entry limit, whichever is lower. Throws a
 * zip-bomb issue when a stream would exceed it. Streams that are not valid zlib are PDF.js's problem.
 */
export function checkPdfStreams(path: string, pdf: Buffer, limits: { maxRatio: number; ratioFloor: number; maxEntryBytes: number }): void {
  const budget = Math.min(limits.maxEntryBytes, Math.max(limits.ratioFloor, pdf.length * limits.maxRatio));
  let used = 0;
  for (let at = pdf.indexOf('stream'); at >= 0; at = pdf.indexOf('stream', at + 6)) {
    // "endstream" also contains "stream"; a stream keyword is followed by CRLF or LF.
    if (pdf[at - 1] === 0x64 /* d */) continue;
    let s = at + 6;
    if (pdf[s] === 0x0d) s++;
    if (pdf[s] !== 0x0a) continue;
    s++;
    const dict = pdf.toString('latin1', Math.max(0, at - 512), at);
    if (!/\/FlateDecode|\/Fl\b/.test(dict.slice(dict.lastIndexOf('<<')))) continue;
    const end = pdf.indexOf('endstream', s);
    if (end < 0) break;
    let out: Buffer;
    try {
      out = inflateSync(pdf.subarray(s, end), { maxOutputLength: Math.max(1, budget - used), finishFlush: 2 /* Z_SYNC_FLUSH: tolerate cut streams */ });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new ScanIssueError(
          'zip-bomb',
          path,
          `a compressed PDF stream at byte ${s} inflates past ${budget - used} bytes (ratio limit ${limits.maxRatio}:1 over the file); looks like a PDF bomb, not read`,
        );
      }
      continue;
    }
    used += out.length;
    at = end;
  }
}

/** Text of each page (1-based), lines as PDF.js ends them. Calls `issue` for pages or text past the caps. */
export async function* pdfPages(path: string, pdf: Buffer, issue: (kind: IssueKind, message: string) => void): AsyncGenerator<{ page: number; text: string }> {
  const lib = await loadPdfJs();
  let doc: Awaited<ReturnType<PdfJs['getDocument']>['promise']>;
  // The same failure is reported once per PDF, however many of PDF.js's promises it rejects.
  const seen = new Set<string>();
  active = {
    issue: (kind, message) => {
      if (!seen.has(message)) issue(kind, message);
      seen.add(message);
    },
  };
  try {
    doc = await lib.getDocument({ data: new Uint8Array(pdf), isEvalSupported: false, disableFontFace: true, useSystemFonts: false, stopAtErrors: false, verbosity: 0 }).promise;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    active = null;
    if (e.name === 'PasswordException') throw new ScanIssueError('encrypted', path, 'PDF is encrypted and needs a password; not scanned');
    throw new ScanIssueError('corrupt', path, `PDF could not be read: ${e.message ?? String(err)}`);
  }
  try {
    const pages = Math.min(doc.numPages, LIMITS.pdfMaxPages);
    if (doc.numPages > pages) issue('too-large', `PDF has ${doc.numPages} pages; pages after ${pages} not read (limit pdfMaxPages)`);
    let total = 0;
    for (let n = 1; n <= pages; n++) {
      let text = '';
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        let lastRight: number | null = null;
        for (const item of content.items) {
          if (!('str' in item)) continue;
          const x = item.transform[4] as number;
          // Runs placed apart on one line are separate words; runs that touch are one word.
          if (lastRight !== null && item.str && !text.endsWith(' ') && !text.endsWith('\n') && x > lastRight + 1) text += ' ';
          text += item.str;
          lastRight = x + item.width;
          if (item.hasEOL) {
            text += '\n';
            lastRight = null;
          }
        }
        page.cleanup();
      } catch (err) {
        issue('corrupt', `page ${n} could not be read (${(err as Error).message}); other pages scanned`);
        continue;
      }
      total += text.length;
      if (total > LIMITS.documentTextMaxBytes) {
        issue('too-large', `PDF text passed ${LIMITS.documentTextMaxBytes} characters at page ${n}; rest not read (limit documentTextMaxBytes)`);
        return;
      }
      yield { page: n, text };
    }
  } finally {
    await doc.destroy();
    // Node reports a promise left rejected at the end of a turn of the event loop: let one pass
    // while this PDF is still the one a stray PDF.js failure belongs to.
    await new Promise((resolve) => setImmediate(resolve));
    active = null;
  }
}
