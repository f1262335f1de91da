/**
 * Mail: RFC 5322 messages (.eml), mailboxes (mbox, one message after another behind "From "
 * lines) and Outlook .msg files. MIME is decoded by postal-mime (base64, quoted-printable,
 * charsets, encoded words), .msg by @kenjiuno/msgreader. The headers and bodies become one text
 * leaf; every attachment goes back to the walk as an entry (`mail.eml!invoice.xlsx`), so zips,
 * PDFs, spreadsheets and forwarded messages inside attachments are read too. Nesting counts as
 * archive depth; postal-mime's own caps bound header size, part count and MIME depth.
 */
import PostalMime, { type Address } from 'postal-mime';
import { createRequire } from 'node:module';
import { LIMITS } from '../../core/limits.js';
import { ScanIssueError } from './limits.js';
import { htmlToText, rtfToText } from './text-formats.js';

/** A decoded message: its text (headers and bodies) and its attachments. */
export interface MailMessage {
  text: string;
  attachments: { name: string; data: Buffer }[];
  /** Parts that could not be read (an S/MIME-encrypted body…). */
  problems: string[];
}

const MAPI_STREAM = Buffer.from('__substg1.0_', 'utf16le');
const HEADER_LINE = /^[!-9;-~]{1,76}:[^\n]*\r?\n/;
const MAIL_HEADERS = /^(?:from|to|subject|date|received|return-path|message-id|mime-version|content-type|delivered-to|x-[a-z-]+):/im;

/** Does the text start with RFC 5322 headers (at least three, one of them a mail header)? */
export function isEml(path: string, head: Buffer): boolean {
  const text = head.toString('latin1', 0, 4096);
  let i = 0;
  let n = 0;
  while (n < 40) {
    const m = HEADER_LINE.exec(text.slice(i));
    if (!m) break;
    n++;
    i += m[0].length;
    while (text[i] === ' ' || text[i] === '\t') {
      const e = text.indexOf('\n', i);
      if (e < 0) break;
      i = e + 1;
    }
  }
  const enough = n >= 3 && MAIL_HEADERS.test(text.slice(0, i));
  return enough || (/\.eml$/i.test(path.split('!').pop()!) && n >= 1);
}

/** An mbox starts with a "From " separator line followed by a message. */
export function isMbox(head: Buffer): boolean {
  const text = head.toString('latin1', 0, 4096);
  if (!text.startsWith('From ')) return false;
  const nl = text.indexOf('\n');
  return nl > 0 && isEml('', head.subarray(nl + 1));
}

/** Outlook .msg: an OLE compound file (by name, or the MAPI property streams named in its directory). */
export function isMsg(path: string, head: Buffer): boolean {
  if (!(head[0] === 0xd0 && head[1] === 0xcf && head[2] === 0x11 && head[3] === 0xe0)) return false;
  return /\.msg$/i.test(path.split('!').pop()!) || head.subarray(0, 65536).includes(MAPI_STREAM);
}

function addresses(a: Address[] | Address | undefined): string {
  const list = a === undefined ? [] : Array.isArray(a) ? a : [a];
  return list.map((x) => ('group' in x && x.group ? x.group.map((m) => `${m.name} <${m.address}>`).join(', ') : `${x.name} <${'address' in x ? x.address : ''}>`)).join(', ');
}

/** Decode one RFC 5322 message. */
export async function parseEml(path: string, raw: Buffer): Promise<MailMessage> {
  let email;
  try {
    email = await PostalMime.parse(raw, {
      // Forwarded messages come back as attachments, so the walk counts their depth.
      forceRfc822Attachments: true,
      attachmentEncoding: 'arraybuffer',
      maxNestingDepth: LIMITS.mimeMaxDepth,
      maxPartCount: LIMITS.mimeMaxParts,
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const kind = e.code === 'EMAXNESTINGDEPTH' ? 'too-deep' : e.code === 'EMAXPARTCOUNT' ? 'too-many-entries' : e.code === 'EMAXHEADERSIZE' ? 'too-large' : 'corrupt';
    throw new ScanIssueError(
      kind,
      path,
      `mail could not be decoded (${e.code ?? 'error'}: ${e.message ?? String(err)}); limits mimeMaxDepth ${LIMITS.mimeMaxDepth}, mimeMaxParts ${LIMITS.mimeMaxParts}`,
    );
  }
  const problems: string[] = [];
  // Every header, decoded (encoded words undone): an Authorization or X-Api-Key header is a
  // credential, and a text file that merely looks like mail must lose nothing by being read as one.
  const lines = [
    ...email.headers.map((h) => `${h.originalKey}: ${h.value.replace(/\r?\n/g, ' ')}`),
    `From: ${addresses(email.from)}`,
    `To: ${addresses(email.to)}`,
    '',
    email.text ?? '',
    email.html && !email.text ? htmlToText(email.html) : '',
  ];
  const attachments: { name: string; data: Buffer }[] = [];
  const used = new Map<string, number>();
  for (const a of email.attachments) {
    if (/pkcs7-mime|x-pkcs7-mime/i.test(a.mimeType) || /^application\/pgp-encrypted$/i.test(a.mimeType)) problems.push(`encrypted part (${a.mimeType}) not readable`);
    const base = (a.filename ?? '').replace(/[\r\n]/g, ' ').trim() || `part-${attachments.length + 1}${a.mimeType === 'message/rfc822' ? '.eml' : ''}`;
    const k = (used.get(base) ?? 0) + 1;
    used.set(base, k);
    const c = a.content;
    const data = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c instanceof ArrayBuffer ? new Uint8Array(c) : c);
    attachments.push({ name: k > 1 ? `${base}#${k}` : base, data });
  }
  return { text: lines.join('\n') + '\n', attachments, problems };
}

/**
 * Split an mbox stream into messages (the "From " separator lines of mboxo/mboxrd, with ">From "
 * unescaped); each message is at most `max` bytes, or reported through `tooLarge` and skipped.
 */
export async function* mboxMessages(src: AsyncIterable<Buffer>, max: number, tooLarge: (index: number) => void): AsyncGenerator<{ index: number; raw: Buffer }> {
  let parts: Buffer[] = [];
  let size = 0;
  let index = 0;
  let skipping = false;
  let rest = Buffer.alloc(0);
  const finish = function* (): Generator<{ index: number; raw: Buffer }> {
    if (index > 0 && !skipping && size > 0) yield { index, raw: unescapeFrom(Buffer.concat(parts)) };
    parts = [];
    size = 0;
    skipping = false;
  };
  const line = function* (l: Buffer): Generator<{ index: number; raw: Buffer }> {
    if (l.length >= 5 && l.toString('latin1', 0, 5) === 'From ') {
      yield* finish();
      index++;
      return;
    }
    if (skipping || index === 0) return;
    size += l.length;
    if (size > max) {
      tooLarge(index);
      skipping = true;
      parts = [];
      return;
    }
    parts.push(l);
  };
  for await (const chunk of src) {
    const data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let s = 0;
    for (let nl = data.indexOf(10, s); nl >= 0; nl = data.indexOf(10, s)) {
      yield* line(data.subarray(s, nl + 1));
      s = nl + 1;
    }
    rest = Buffer.from(data.subarray(s));
  }
  if (rest.length) yield* line(rest);
  yield* finish();
}

function unescapeFrom(b: Buffer): Buffer {
  return b.includes('\n>From ') || b.toString('latin1', 0, 6) === '>From ' ? Buffer.from(b.toString('latin1').replace(/^>(>*From )/gm, '$1'), 'latin1') : b;
}

interface MsgFields {
  subject?: string;
  senderName?: string;
  senderEmail?: string;
  body?: string;
  bodyHtml?: string;
  /** PidTagHtml: the HTML body as bytes, when there is no PidTagBodyHtml string. */
  html?: Uint8Array;
  /** PidTagRtfCompressed: the RTF body, the only body of many messages Outlook saves. */
  compressedRtf?: Uint8Array;
  recipients?: { name?: string; email?: string; smtpAddress?: string }[];
  attachments?: MsgFields[];
  fileName?: string;
  fileNameShort?: string;
  innerMsgContent?: true;
  innerMsgContentFields?: MsgFields;
}
type MsgReaderCtor = new (b: ArrayBuffer | Uint8Array) => { getFileData(): MsgFields & { error?: string }; getAttachment(a: MsgFields): { fileName: string; content: Uint8Array } };

/** The body of an Outlook message as text: plain, else HTML, else its compressed RTF decompressed. */
function msgBody(d: MsgFields, problems: string[]): string {
  if (d.body) return d.body;
  if (d.bodyHtml) return htmlToText(d.bodyHtml);
  if (d.html?.length) return htmlToText(Buffer.from(d.html).toString('utf8'));
  const rtf = d.compressedRtf;
  if (!rtf?.length) return '';
  // The header declares the decompressed size; both it and the stream are held to the cap.
  const raw = rtf.length >= 8 ? Buffer.from(rtf.buffer, rtf.byteOffset, rtf.byteLength).readUInt32LE(4) : 0;
  if (rtf.length > LIMITS.msgRtfMaxBytes || raw > 8 * LIMITS.msgRtfMaxBytes) {
    problems.push(`RTF body of ${rtf.length} bytes (declaring ${raw} decompressed) past the limit msgRtfMaxBytes (${LIMITS.msgRtfMaxBytes}); not read`);
    return '';
  }
  try {
    const require = createRequire(import.meta.url);
    const { decompressRTF } = require('@kenjiuno/decompressrtf') as { decompressRTF: (input: number[]) => number[] };
    return rtfToText(Buffer.from(decompressRTF(Array.from(rtf))).toString('latin1'));
  } catch (err) {
    problems.push(`RTF body could not be decompressed (${(err as Error).message})`);
    return '';
  }
}

/**
 * Decode an Outlook .msg file. Attachments go back to the walk as entries; an embedded message
 * goes back as a .msg of its own (`mail.msg!Re: offer.msg`), so its attachments are read too and
 * its nesting counts as archive depth.
 */
export function parseMsg(path: string, raw: Buffer): MailMessage {
  const require = createRequire(import.meta.url);
  const mod = require('@kenjiuno/msgreader') as { default: MsgReaderCtor };
  let reader;
  let data: MsgFields & { error?: string };
  try {
    reader = new mod.default(new Uint8Array(raw));
    data = reader.getFileData();
  } catch (err) {
    throw new ScanIssueError('corrupt', path, `Outlook message could not be read: ${(err as Error).message}`);
  }
  if (data.error) throw new ScanIssueError('corrupt', path, `Outlook message could not be read: ${data.error}`);
  const attachments: { name: string; data: Buffer }[] = [];
  const problems: string[] = [];
  const body =
    [
      `From: ${data.senderName ?? ''} <${data.senderEmail ?? ''}>`,
      `To: ${(data.recipients ?? []).map((r) => `${r.name ?? ''} <${r.smtpAddress ?? r.email ?? ''}>`).join(', ')}`,
      `Subject: ${data.subject ?? ''}`,
      '',
      msgBody(data, problems),
    ].join('\n') + '\n';
  const used = new Map<string, number>();
  for (const a of data.attachments ?? []) {
    try {
      const att = reader.getAttachment(a);
      const base = (att.fileName || a.fileName || a.fileNameShort || `attachment-${attachments.length + 1}`).replace(/[\r\n]/g, ' ');
      const k = (used.get(base) ?? 0) + 1;
      used.set(base, k);
      attachments.push({ name: k > 1 ? `${base}#${k}` : base, data: Buffer.from(att.content) });
    } catch (err) {
      problems.push(`attachment ${a.fileName ?? ''} could not be read (${(err as Error).message})`);
    }
  }
  return { text: body, attachments, problems };
}
