/**
 * Hostile documents get a clear report and bounded work, and the scan goes on: a PDF whose
 * compressed stream inflates to gigabytes, encrypted PDFs, mail nested far deeper than any real
 * forward chain, MIME parts nested hundreds deep, spreadsheets declaring billions of cells.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync, inflateRawSync } from 'node:zlib';
import { makeOds, makePdf, makeXlsx } from './helpers/documents.js';
import { makeZip, SECRET_LINE } from './helpers/archives.js';
import { scanFile } from './helpers/scan-string.js';
import { LIMITS } from '../../src/core/limits.js';
import { bigSheet, deepMime, forwardChain, manyPartsMail } from './helpers/hostile.js';

const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/documents/${name}`, import.meta.url)));

test('PDF bomb: a Flate stream inflating far past the ratio limit is refused before the PDF is parsed', async () => {
  const bomb = deflateSync(Buffer.alloc(512 << 20), { level: 9 });
  const pdf = makePdf([[SECRET_LINE.toString().trim()]], { extraStream: bomb });
  const rss0 = process.memoryUsage().rss;
  const r = await scanFile(pdf, { name: 'invoice.pdf' });
  assert.deepEqual(
    r.issues.map((i) => i.kind),
    ['zip-bomb'],
  );
  assert.match(r.issues[0]!.message, /inflates past .* bytes .*PDF bomb/);
  assert.ok(process.memoryUsage().rss - rss0 < 400 << 20, 'memory stays bounded');
});

test('encrypted PDFs: one that needs a password is an issue; one with an empty user password is read', async () => {
  const locked = await scanFile(fixture('encrypted-aes256.pdf'), { name: 'locked.pdf' });
  assert.deepEqual(
    locked.issues.map((i) => [i.kind, i.message]),
    [['encrypted', 'PDF is encrypted and needs a password; not scanned']],
  );
  const open = await scanFile(fixture('owner-only-aes256.pdf'), { name: 'open.pdf' });
  assert.deepEqual(open.issues, []);
  assert.equal(open.stats.leaves, 1, 'its one page was read');
});

test('PDF pages past pdfMaxPages are not read, and that is reported; a /Count far past the real pages is not believed', async () => {
  const card = '4012 8888 8888 1881';
  const limits = LIMITS as { pdfMaxPages: number };
  const saved = limits.pdfMaxPages;
  limits.pdfMaxPages = 2;
  try {
    const r = await scanFile(makePdf([['cover'], ['contents'], [`card ${card}`]]), { name: 'long.pdf' });
    assert.deepEqual(
      r.issues.map((i) => [i.kind, i.message]),
      [['too-large', 'PDF has 3 pages; pages after 2 not read (limit pdfMaxPages)']],
    );
    assert.deepEqual(r.findings, [], 'the third page was not read');
  } finally {
    limits.pdfMaxPages = saved;
  }
  // A page tree that claims a billion pages over two real ones: the real pages are read, the
  // claim costs neither a billion page lookups nor a billion issues.
  const lie = await scanFile(makePdf([['cover'], [`card ${card}`]], { count: 1_000_000_000 }), { name: 'lie.pdf' });
  assert.deepEqual(
    lie.findings.map((f) => [f.ruleId, f.location?.page]),
    [['credit-card', 2]],
  );
  assert.ok(lie.issues.length <= 1, JSON.stringify(lie.issues));
});

test('PDF objects nested a million deep: reported as corrupt, bounded, the scan goes on', async () => {
  for (const nested of ['<< /A '.repeat(1_000_000) + '1' + ' >>'.repeat(1_000_000), '['.repeat(1_000_000) + ']'.repeat(1_000_000)]) {
    const r = await scanFile(makePdf([['card 4012 8888 8888 1881']], { catalogExtra: `/X ${nested}` }), { name: 'nested.pdf' });
    assert.deepEqual(
      r.issues.map((i) => i.kind),
      ['corrupt'],
    );
  }
  // Nested a thousand deep (deep, but a parser can hold it) the document is read as usual.
  const fine = await scanFile(makePdf([['card 4012 8888 8888 1881']], { catalogExtra: `/X ${'['.repeat(1000)}${']'.repeat(1000)}` }), { name: 'nested.pdf' });
  assert.deepEqual(
    fine.findings.map((f) => f.ruleId),
    ['credit-card'],
  );
  // A page's content stream nested 200,000 deep: that page gives nothing, the next is read.
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  const pages = await scanFile(makePdf([['x'], ['y']], { content: (i) => (i === 0 ? `BT /F1 10 Tf ${deep} ET` : 'BT /F1 10 Tf 40 760 Td (card 4012 8888 8888 1881) Tj ET') }), { name: 'content.pdf' });
  assert.deepEqual(
    pages.findings.map((f) => [f.ruleId, f.location?.page]),
    [['credit-card', 2]],
  );
});

test('a corrupt PDF is reported, not thrown', async () => {
  const pdf = makePdf([['hello']]);
  const r = await scanFile(Buffer.concat([pdf.subarray(0, 200), Buffer.from('garbage')]), { name: 'cut.pdf' });
  assert.ok(r.issues.length === 1 && r.issues[0]!.kind === 'corrupt', JSON.stringify(r.issues));
});

test('mail forwarded inside mail, deeper than the archive depth limit: reported as too deep', async () => {
  const r = await scanFile(forwardChain(12), { name: 'chain.eml' });
  assert.deepEqual(
    r.issues.map((i) => i.kind),
    ['too-deep'],
  );
  assert.deepEqual(r.findings, []);
});

test('MIME parts nested hundreds deep: postal-mime refuses past the nesting cap, reported as an issue', async () => {
  const r = await scanFile(deepMime(300), { name: 'deep.eml' });
  assert.deepEqual(
    r.issues.map((i) => i.kind),
    ['too-deep'],
  );
  assert.match(r.issues[0]!.message, /EMAXNESTINGDEPTH/);
});

test('huge spreadsheets: ODS repeats of a billion cells are clamped; XLSX cell references past the last column are not expanded', async () => {
  const ods = await scanFile(
    makeOds(
      [
        {
          name: 'S',
          rows: [
            ['Name', 'Card'],
            ['x', SECRET_LINE.toString().trim()],
          ],
        },
      ],
      1_000_000_000,
    ),
    { name: 'big.ods' },
  );
  assert.deepEqual(ods.issues, []);
  assert.equal(ods.findings.length, 1, 'the real cells are still scanned');
  // A sheet whose cells reference column XFD+ (beyond Excel's last column) is not expanded to it.
  const zipped = makeZip([
    { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
    { name: 'xl/workbook.xml', data: Buffer.from('<workbook><sheets><sheet name="S" r:id="rId1"/></sheets></workbook>') },
    { name: 'xl/_rels/workbook.xml.rels', data: Buffer.from('<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>') },
    {
      name: 'xl/worksheets/sheet1.xml',
      data: Buffer.from(
        `<worksheet><sheetData><row r="1"><c r="ZZZ999999" t="inlineStr"><is><t>far away</t></is></c><c r="A1" t="inlineStr"><is><t>${SECRET_LINE.toString().trim()}</t></is></c></row></sheetData></worksheet>`,
      ),
    },
  ]);
  const r = await scanFile(zipped, { name: 'wide.xlsx' });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(
    r.findings.map((f) => [f.ruleId, f.location?.column]),
    [['aws-access-token', 'A']],
  );
});

/** An office zip with one part replaced: its real bytes, or a bomb declaring what it likes. */
function officeWith(base: Buffer, part: string, data: Buffer, declaredSize?: number): Buffer {
  // Rebuild the zip from the generator's parts: makeXlsx/makeDocx write plain deflated entries.
  const entries = zipEntries(base).map((e) => (e.name === part ? { name: part, data, ...(declaredSize !== undefined ? { declaredSize } : {}) } : e));
  return makeZip(entries);
}

/** The entries of a zip written by makeZip (no data descriptors, deflate). */
function zipEntries(zip: Buffer): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50;) {
    const comp = zip.readUInt32LE(at + 18);
    const nameLen = zip.readUInt16LE(at + 26);
    const extra = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 30, at + 30 + nameLen);
    const start = at + 30 + nameLen + extra;
    out.push({ name, data: inflateRawSync(zip.subarray(start, start + comp)) });
    at = start + comp;
  }
  return out;
}

// 64 MiB of spaces: about 64 KiB deflated, far past the 200:1 ratio once past the 8 MiB floor.
const BOMB = (): Buffer => Buffer.alloc(64 << 20, 0x20);

test('zip bombs inside a DOCX and an XLSX: refused by ratio (honest headers) or while inflating (lying ones); the other parts are read', async () => {
  const secret = SECRET_LINE.toString().trim();
  const xlsx = makeXlsx([
    { name: 'Keys', rows: [['Key'], [secret]] },
    { name: 'Pad', rows: [['x']] },
  ]);
  // The second sheet is the bomb; the first (and its shared strings) still give the key.
  const books = [undefined, 1000].map((declared) => ({ declared, data: officeWith(xlsx, 'xl/worksheets/sheet2.xml', BOMB(), declared) }));
  for (const { declared, data } of books) {
    const rss0 = process.memoryUsage().rss;
    const r = await scanFile(data, { name: 'book.xlsx' });
    assert.deepEqual(
      r.issues.map((i) => [i.kind, i.path.replace(/^.*book\.xlsx/, 'book.xlsx')]),
      [['zip-bomb', 'book.xlsx!xl/worksheets/sheet2.xml']],
      `declared ${declared}`,
    );
    assert.deepEqual(
      r.findings.map((f) => [f.ruleId, f.location?.sheet]),
      [['aws-access-token', 'Keys']],
    );
    assert.ok(process.memoryUsage().rss - rss0 < 400 << 20, 'memory stays bounded');
  }
  // The shared strings part is read whole: a bomb there is refused too, and the workbook is reported.
  const shared = await scanFile(officeWith(xlsx, 'xl/sharedStrings.xml', BOMB(), 1000), { name: 'shared.xlsx' });
  assert.deepEqual(
    shared.issues.map((i) => i.kind),
    ['zip-bomb'],
  );
  const docx = makeZip([
    { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
    { name: 'word/document.xml', data: BOMB(), declaredSize: 2000 },
    { name: 'docProps/core.xml', data: Buffer.from(`<cp:coreProperties><dc:description>${secret}</dc:description></cp:coreProperties>`) },
  ]);
  const d = await scanFile(docx, { name: 'memo.docx' });
  assert.deepEqual(
    d.issues.map((i) => [i.kind, i.path.replace(/^.*memo\.docx/, 'memo.docx')]),
    [['zip-bomb', 'memo.docx!word/document.xml']],
  );
  assert.deepEqual(
    d.findings.map((f) => f.file.replace(/^.*memo\.docx/, 'memo.docx')),
    ['memo.docx!docProps/core.xml'],
  );
});

test('a 200,000-row XLSX is read to its last row with memory bounded', async () => {
  const book = bigSheet(200_000);
  const rss0 = process.memoryUsage().rss;
  const r = await scanFile(book, { name: 'big.xlsx' });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(
    r.findings.map((f) => [f.ruleId, f.location?.row, f.location?.column]),
    [['aws-access-token', 200_002, 'B']],
  );
  assert.ok(process.memoryUsage().rss - rss0 < 400 << 20, 'memory stays bounded');
});

test('a mail of more parts than the cap is refused as an issue, not read part by part', async () => {
  const r = await scanFile(manyPartsMail(10_050), { name: 'many.eml' });
  assert.deepEqual(
    r.issues.map((i) => i.kind),
    ['too-many-entries'],
  );
  assert.match(r.issues[0]!.message, /EMAXPARTCOUNT/);
});
