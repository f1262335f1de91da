/** Hostile documents shared by the in-process and the CLI tests (hostile-documents*.test.ts). */
import { makeEml, makeXlsx, type Cell } from './documents.js';
import { SECRET_LINE } from './archives.js';

/** A mail carrying the secret, forwarded as an attachment `depth` times. */
export function forwardChain(depth: number): Buffer {
  let msg = makeEml({ from: 'a@example.org', to: 'b@example.org', subject: 'innermost', body: SECRET_LINE.toString() });
  for (let i = 0; i < depth; i++)
    msg = makeEml({ from: 'a@example.org', to: 'b@example.org', subject: `fwd ${i}`, body: 'see attached', attachments: [{ name: 'fwd.eml', type: 'message/rfc822', data: msg }] });
  return msg;
}

/** A mail whose MIME parts are nested `depth` deep. */
export function deepMime(depth: number): Buffer {
  let part = 'Content-Type: text/plain\r\n\r\nhello\r\n';
  for (let i = 0; i < depth; i++) part = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${part}--b${i}--\r\n`;
  return Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n${part}`);
}

/** A mail of `n` text parts. */
export function manyPartsMail(n: number): Buffer {
  const parts = Array.from({ length: n }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
  return Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`);
}

/** An XLSX of `rows` rows of numbers, then the secret on the last row. */
export function bigSheet(rows: number): Buffer {
  const data: Cell[][] = [['Name', 'Note']];
  for (let i = 0; i < rows; i++) data.push([`person ${i}`, { n: String(i) }]);
  data.push(['last', SECRET_LINE.toString().trim()]);
  return makeXlsx([{ name: 'Big', rows: data }]);
}
