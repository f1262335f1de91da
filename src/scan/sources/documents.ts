/**
 * Documents and mail in the walk: recognised by content (and, for a few, by name), read whole
 * within maxBuffered, turned into text leaves (PDF page by page, RTF, HTML, mail headers and
 * bodies) and, for mail, attachments handed back to the walk as entries. Mail nests (attachments,
 * forwarded messages, mailboxes), so it counts as archive depth; documents do not.
 */
import { readAllCapped } from './peek.js';
import { ScanIssueError } from './limits.js';
import type { Format } from './sniff.js';
import { SNIFF_BYTES } from './sniff.js';
import { toIssue, type WalkContext } from './types.js';
import { checkPdfStreams, isPdf, pdfPages } from './pdf.js';
import { htmlToText, isHtml, isRtf, rtfToText } from './text-formats.js';
import { isEml, isMbox, isMsg, mboxMessages, parseEml, parseMsg, type MailMessage } from './mail.js';

export type DocumentKind = 'pdf' | 'rtf' | 'html' | 'eml' | 'mbox' | 'msg';

/** The document format of a stream, or null for plain text, binary and archives. */
export function documentKind(path: string, format: Format, head: Buffer): DocumentKind | null {
  if ((format === 'text' || format === 'binary') && isPdf(head)) return 'pdf';
  if (format === 'binary') return isMsg(path, head) ? 'msg' : null;
  if (format !== 'text') return null;
  if (isRtf(head)) return 'rtf';
  if (isMbox(head)) return 'mbox';
  if (isEml(path, head)) return 'eml';
  if (isHtml(path, head)) return 'html';
  return null;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function textLeaf(path: string, text: string, ctx: WalkContext, page?: number): Promise<void> {
  const b = Buffer.from(text, 'utf8');
  await ctx.sink.leaf(path, 'text', b.subarray(0, SNIFF_BYTES), once(b), { derived: true, ...(page !== undefined ? { page } : {}) });
}

async function readWhole(path: string, src: AsyncIterable<Buffer>, ctx: WalkContext, what: string): Promise<Buffer> {
  const buf = await readAllCapped(src, ctx.limits.maxBuffered);
  if (!buf) throw new ScanIssueError('too-large', path, `${what} larger than ${ctx.limits.maxBuffered} bytes; not read (limit scanBufferedMaxBytes)`);
  return buf;
}

/** Scan a document or mail found at `path`. */
export async function expandDocument(kind: DocumentKind, path: string, src: AsyncIterable<Buffer>, depth: number, ctx: WalkContext): Promise<void> {
  if ((kind === 'eml' || kind === 'mbox' || kind === 'msg') && depth >= ctx.limits.maxArchiveDepth) {
    ctx.sink.issue({ path, kind: 'too-deep', message: `${kind} at depth ${depth} (limit ${ctx.limits.maxArchiveDepth}); not opened` });
    return;
  }
  switch (kind) {
    case 'pdf': {
      const pdf = await readWhole(path, src, ctx, 'PDF');
      checkPdfStreams(path, pdf, ctx.limits);
      for await (const { page, text } of pdfPages(path, pdf, (k, message) => ctx.sink.issue({ path, kind: k, message }))) await textLeaf(path, text, ctx, page);
      return;
    }
    case 'rtf':
      await textLeaf(path, rtfToText((await readWhole(path, src, ctx, 'RTF document')).toString('latin1')), ctx);
      return;
    case 'html':
      await textLeaf(path, htmlToText((await readWhole(path, src, ctx, 'HTML document')).toString('utf8')), ctx);
      return;
    case 'eml':
      await mailParts(path, await parseEml(path, await readWhole(path, src, ctx, 'mail message')), depth, ctx);
      return;
    case 'msg':
      await mailParts(path, parseMsg(path, await readWhole(path, src, ctx, 'Outlook message')), depth, ctx);
      return;
    case 'mbox': {
      let n = 0;
      for await (const m of mboxMessages(src, ctx.limits.maxBuffered, (i) =>
        ctx.sink.issue({ path: `${path}!message-${i}`, kind: 'too-large', message: `message larger than ${ctx.limits.maxBuffered} bytes; not read` }),
      )) {
        if (++n > ctx.limits.maxEntries) throw new ScanIssueError('too-many-entries', path, `more than ${ctx.limits.maxEntries} messages; rest of mailbox not read`);
        const inner = `${path}!message-${m.index}`;
        try {
          await mailParts(inner, await parseEml(inner, m.raw), depth + 1, ctx);
        } catch (err) {
          ctx.sink.issue(toIssue(inner, err));
        }
      }
      return;
    }
  }
}

async function mailParts(path: string, m: MailMessage, depth: number, ctx: WalkContext): Promise<void> {
  for (const p of m.problems) ctx.sink.issue({ path, kind: /encrypted/.test(p) ? 'encrypted' : /past the limit/.test(p) ? 'too-large' : 'corrupt', message: p });
  await textLeaf(path, m.text, ctx);
  if (m.attachments.length > ctx.limits.maxEntries) throw new ScanIssueError('too-many-entries', path, `more than ${ctx.limits.maxEntries} attachments; not read`);
  for (const a of m.attachments) await ctx.enter(`${path}!${a.name}`, once(a.data), depth + 1);
}
