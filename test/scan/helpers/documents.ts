/**
 * Writers for the document formats the scanner reads, made at run time (no document is
 * committed): XLSX (shared strings, numbers as integers or floats), ODS, PDF (plain or Flate
 * streams), RFC 5322 mail with MIME attachments, mbox, RTF, Outlook .msg. Each follows its
 * published format (ECMA-376, OpenDocument 1.2, ISO 32000, RFC 2045/5322, [MS-OXMSG] in an
 * [MS-CFB] compound file written by SheetJS' cfb) closely enough for common readers.
 */
import { deflateSync } from 'node:zlib';
import CFB from 'cfb';
import { makeZip } from './archives.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A cell: text (a shared string), a number (written as is: '4111111111111111', '5.36228726E8'),
 * optionally shown through a custom number format (Excel's SSN format is `000\\-00\\-0000`), or empty.
 */
export type Cell = string | { n: string; fmt?: string } | null;

function colLetters(i: number): string {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** An XLSX workbook: sheets of rows; strings go to the shared strings part, numbers into the sheet. */
export function makeXlsx(sheets: { name: string; rows: Cell[][] }[]): Buffer {
  const shared: string[] = [];
  const index = new Map<string, number>();
  // Custom number formats get ids from 164 (ECMA-376 §18.8.30) and one cell style each (style 0 is General).
  const formats: string[] = [];
  const styleOf = (fmt: string): number => {
    let k = formats.indexOf(fmt);
    if (k < 0) k = formats.push(fmt) - 1;
    return k + 1;
  };
  const sheetXml = sheets.map((sh) => {
    const rows = sh.rows
      .map((row, r) => {
        const cells = row
          .map((c, ci) => {
            if (c === null) return '';
            const ref = `${colLetters(ci)}${r + 1}`;
            if (typeof c === 'string') {
              let k = index.get(c);
              if (k === undefined) {
                k = shared.length;
                shared.push(c);
                index.set(c, k);
              }
              return `<c r="${ref}" t="s"><v>${k}</v></c>`;
            }
            return `<c r="${ref}"${c.fmt ? ` s="${styleOf(c.fmt)}"` : ''}><v>${c.n}</v></c>`;
          })
          .join('');
        return `<row r="${r + 1}">${cells}</row>`;
      })
      .join('');
    return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
  });
  const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
  const workbook = `<?xml version="1.0" encoding="UTF-8"?>\n<workbook ${ns}><sheets>${sheets.map((s, i) => `<sheet name="${esc(s.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('')}</sheets></workbook>`;
  const rels = `<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('')}</Relationships>`;
  const sst = `<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${shared.length}" uniqueCount="${shared.length}">${shared.map((s) => `<si><t xml:space="preserve">${esc(s)}</t></si>`).join('')}</sst>`;
  const types = `<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`;
  const styles = `<?xml version="1.0" encoding="UTF-8"?>\n<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="${formats.length}">${formats.map((f, i) => `<numFmt numFmtId="${164 + i}" formatCode="${esc(f)}"/>`).join('')}</numFmts><cellXfs count="${formats.length + 1}"><xf numFmtId="0"/>${formats.map((_, i) => `<xf numFmtId="${164 + i}" applyNumberFormat="1"/>`).join('')}</cellXfs></styleSheet>`;
  return makeZip([
    { name: '[Content_Types].xml', data: Buffer.from(types) },
    ...(formats.length ? [{ name: 'xl/styles.xml', data: Buffer.from(styles) }] : []),
    // Shared strings written after the sheets, as some writers do: the reader must not depend on order.
    ...sheetXml.map((x, i) => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data: Buffer.from(x) })),
    { name: 'xl/workbook.xml', data: Buffer.from(workbook) },
    { name: 'xl/_rels/workbook.xml.rels', data: Buffer.from(rels) },
    { name: 'xl/sharedStrings.xml', data: Buffer.from(sst) },
  ]);
}

/** An ODS spreadsheet; numbers as office:value floats. `repeat` adds a row of empty cells repeated that often. */
export function makeOds(sheets: { name: string; rows: Cell[][] }[], repeat = 0): Buffer {
  const body = sheets
    .map((sh) => {
      const rows = sh.rows
        .map(
          (row) =>
            `<table:table-row>${row
              .map((c) =>
                c === null
                  ? '<table:table-cell/>'
                  : typeof c === 'string'
                    ? `<table:table-cell office:value-type="string"><text:p>${esc(c)}</text:p></table:table-cell>`
                    : `<table:table-cell office:value-type="float" office:value="${c.n}"><text:p>${c.n}</text:p></table:table-cell>`,
              )
              .join('')}</table:table-row>`,
        )
        .join('');
      const bomb = repeat ? `<table:table-row table:number-rows-repeated="${repeat}"><table:table-cell table:number-columns-repeated="${repeat}"/></table:table-row>` : '';
      return `<table:table table:name="${esc(sh.name)}">${rows}${bomb}</table:table>`;
    })
    .join('');
  const content = `<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>${body}</office:spreadsheet></office:body></office:document-content>`;
  return makeZip([
    { name: 'mimetype', data: Buffer.from('application/vnd.oasis.opendocument.spreadsheet') },
    { name: 'content.xml', data: Buffer.from(content) },
    { name: 'META-INF/manifest.xml', data: Buffer.from('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>') },
  ]);
}

/** An ODT text document: one paragraph per string. */
export function makeOdt(paragraphs: string[]): Buffer {
  const content = `<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>${paragraphs.map((p) => `<text:p>${esc(p).replace(/ {2}/g, ' <text:s/>')}</text:p>`).join('')}</office:text></office:body></office:document-content>`;
  return makeZip([
    { name: 'mimetype', data: Buffer.from('application/vnd.oasis.opendocument.text') },
    { name: 'content.xml', data: Buffer.from(content) },
  ]);
}

/** A DOCX: one paragraph per string, each split into two runs (as Word does after edits). */
export function makeDocx(paragraphs: string[]): Buffer {
  const body = paragraphs
    .map((p) => {
      const cut = Math.floor(p.length / 2);
      return `<w:p><w:r><w:t xml:space="preserve">${esc(p.slice(0, cut))}</w:t></w:r><w:r><w:t xml:space="preserve">${esc(p.slice(cut))}</w:t></w:r></w:p>`;
    })
    .join('');
  return makeZip([
    { name: '[Content_Types].xml', data: Buffer.from('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>') },
    { name: 'word/document.xml', data: Buffer.from(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`) },
  ]);
}

/** A PDF with one page per list of lines (Helvetica, WinAnsi text); `flate` compresses the content streams. */
export function makePdf(pages: string[][], opts: { flate?: boolean; extraStream?: Buffer } = {}): Buffer {
  const objs: Buffer[] = [];
  const add = (s: string | Buffer): number => objs.push(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  add('<< /Type /Catalog /Pages 2 0 R >>');
  const kids = pages.map((_, i) => `${3 + i * 2} 0 R`).join(' ');
  add(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  const fontId = 3 + pages.length * 2;
  pages.forEach((lines, i) => {
    add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${fontId} 0 R >> >> /Contents ${4 + i * 2} 0 R >>`);
    const content = Buffer.from(`BT /F1 10 Tf 40 760 Td 12 TL ${lines.map((l) => `(${l.replace(/[()\\]/g, (m) => '\\' + m)}) Tj T*`).join(' ')} ET`, 'latin1');
    const data = opts.flate ? deflateSync(content) : content;
    add(Buffer.concat([Buffer.from(`<< /Length ${data.length}${opts.flate ? ' /Filter /FlateDecode' : ''} >>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream', 'latin1')]));
  });
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  if (opts.extraStream) add(Buffer.concat([Buffer.from(`<< /Length ${opts.extraStream.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'), opts.extraStream, Buffer.from('\nendstream', 'latin1')]));
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let size = parts[0]!.length;
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(size);
    const b = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), o, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(b);
    size += b.length;
  });
  const xref = `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${size}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

/** Quoted-printable (RFC 2045 §6.7) with soft line breaks at 76 characters. */
export function quotedPrintable(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  let line = 0;
  for (const b of bytes) {
    let piece: string;
    if (b === 10) {
      out += '\r\n';
      line = 0;
      continue;
    }
    if ((b >= 33 && b <= 126 && b !== 61) || b === 32) piece = String.fromCharCode(b);
    else piece = `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line + piece.length > 75) {
      out += '=\r\n';
      line = 0;
    }
    out += piece;
    line += piece.length;
  }
  return out;
}

/** An RFC 5322 message: a quoted-printable UTF-8 body and base64 attachments (multipart/mixed). */
export function makeEml(opts: { from: string; to: string; subject: string; body: string; attachments?: { name: string; type: string; data: Buffer }[] }): Buffer {
  const boundary = `----=_Part_${Buffer.from(opts.subject).toString('hex').slice(0, 12)}`;
  const head = [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: =?UTF-8?B?${Buffer.from(opts.subject).toString('base64')}?=`,
    'Date: Tue, 03 Mar 2026 10:00:00 +0000',
    'Message-ID: <gen@example.org>',
    'MIME-Version: 1.0',
  ];
  const body = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', quotedPrintable(opts.body)].join('\r\n');
  if (!opts.attachments?.length) return Buffer.from([...head, body].join('\r\n') + '\r\n');
  const parts = [
    body,
    ...opts.attachments.map((a) =>
      [
        `Content-Type: ${a.type}; name="${a.name}"`,
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: attachment; filename="${a.name}"`,
        '',
        a.data.toString('base64').replace(/.{76}/g, '$&\r\n'),
      ].join('\r\n'),
    ),
  ];
  return Buffer.from([...head, `Content-Type: multipart/mixed; boundary="${boundary}"`, '', ...parts.map((p) => `--${boundary}\r\n${p}`), `--${boundary}--`, ''].join('\r\n'));
}

/** An mbox (mboxrd) of messages. */
export function makeMbox(messages: Buffer[]): Buffer {
  return Buffer.concat(
    messages.map((m) =>
      Buffer.concat([
        Buffer.from('From sender@example.org Tue Mar  3 10:00:00 2026\n'),
        Buffer.from(
          m
            .toString('latin1')
            .replace(/\r\n/g, '\n')
            .replace(/^(>*From )/gm, '>$1'),
          'latin1',
        ),
        Buffer.from('\n'),
      ]),
    ),
  );
}

/** A minimal RTF document, one paragraph per string, with a font table to skip. */
export function makeRtf(paragraphs: string[]): Buffer {
  const body = paragraphs.map((p) => p.replace(/[\\{}]/g, (m) => '\\' + m).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0)}?`) + '\\par\n').join('');
  return Buffer.from(`{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}{\\*\\generator gen;}\\f0\\fs24 ${body}}`, 'latin1');
}

/** An Outlook message's parts: body as plain text, HTML or RTF; attachments; embedded messages. */
export interface MsgSpec {
  subject: string;
  from: string;
  to: string;
  body?: string;
  html?: string;
  /** An RTF body, stored as PidTagRtfCompressed in its uncompressed ("MELA") form. */
  rtf?: string;
  attachments?: { name: string; data: Buffer }[];
  embedded?: MsgSpec[];
}

/** An Outlook .msg ([MS-OXMSG]): MAPI properties as `__substg1.0_` streams in a compound file. */
export function makeMsg(spec: MsgSpec): Buffer {
  const cfb = CFB.utils.cfb_new();
  const u16 = (t: string): Buffer => Buffer.from(t + '\0', 'utf16le');
  // [MS-OXMSG] 2.4: the property stream's header is 32 bytes at the top, 24 in an embedded message, 8 elsewhere.
  const message = (root: string, m: MsgSpec, top: boolean): void => {
    const add = (name: string, data: Buffer): void => void CFB.utils.cfb_add(cfb, `${root}/${name}`, data);
    add('__properties_version1.0', Buffer.alloc(top ? 32 : 24));
    add('__substg1.0_0037001F', u16(m.subject));
    add('__substg1.0_0C1A001F', u16(m.from));
    if (m.body !== undefined) add('__substg1.0_1000001F', u16(m.body));
    if (m.html !== undefined) add('__substg1.0_10130102', Buffer.from(m.html, 'utf8'));
    if (m.rtf !== undefined) {
      const raw = Buffer.from(m.rtf, 'latin1');
      const head = Buffer.alloc(16);
      head.writeUInt32LE(raw.length + 12, 0);
      head.writeUInt32LE(raw.length, 4);
      head.writeUInt32LE(0x414c454d, 8);
      add('__substg1.0_10090102', Buffer.concat([head, raw]));
    }
    add('__recip_version1.0_#00000000/__properties_version1.0', Buffer.alloc(8));
    add('__recip_version1.0_#00000000/__substg1.0_3001001F', u16(m.to));
    add('__recip_version1.0_#00000000/__substg1.0_39FE001F', u16(m.to));
    let i = 0;
    const slot = (): string => `__attach_version1.0_#${(i++).toString(16).toUpperCase().padStart(8, '0')}`;
    for (const a of m.attachments ?? []) {
      const at = slot();
      add(`${at}/__properties_version1.0`, Buffer.alloc(8));
      add(`${at}/__substg1.0_3707001F`, u16(a.name));
      add(`${at}/__substg1.0_37010102`, a.data);
    }
    for (const e of m.embedded ?? []) {
      const at = slot();
      add(`${at}/__properties_version1.0`, Buffer.alloc(8));
      add(`${at}/__substg1.0_3001001F`, u16(e.subject));
      message(`${root}/${at}/__substg1.0_3701000D`, e, false);
    }
  };
  message('', spec, true);
  // cfb_new adds a placeholder stream of its own; a real message has none.
  CFB.utils.cfb_del(cfb, '/\u0001Sh33tJ5');
  return Buffer.from(CFB.write(cfb, { type: 'buffer' }) as Uint8Array);
}
