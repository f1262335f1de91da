/**
 * Tables, documents and mail read as what they are: a spreadsheet's header reaches its numeric
 * cells, findings name sheet, row and column; PDF, DOCX, ODT, RTF and HTML give their text; mail
 * is MIME-decoded and its attachments (a zip holding a spreadsheet) walked, Outlook .msg too; printable strings of
 * binaries are scanned. Values are made at run time from the fixtures' generators.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genCard, genIban, genSsn, groupCard } from '../../bench/scan-pii-corpus.js';
import { rng } from '../../src/core/rng.js';
import { makeZip, SECRET_LINE } from './helpers/archives.js';
import { makeDocx, makeEml, makeMbox, makeMsg, makeOds, makeOdt, makePdf, makeRtf, makeXlsx, type Cell } from './helpers/documents.js';
import { scanFile, scanString } from './helpers/scan-string.js';
import { printableStrings } from '../../src/scan/sources/strings.js';
import { rtfToText } from '../../src/scan/sources/text-formats.js';
import { plainNumber, applyDigitPattern } from '../../src/scan/sources/sheets.js';

const r = rng(2024);
const dashed = (s: string): string => `${s.slice(0, 3)}-${s.slice(3, 5)}-${s.slice(5)}`;

test('XLSX: numeric SSN and float card columns get their header from the shared strings; findings name sheet, row, column', async () => {
  const rows: Cell[][] = [['Name', 'SSN', 'Credit card', 'Salary']];
  const ssns: string[] = [];
  const cards: string[] = [];
  for (let i = 0; i < 8; i++) {
    const ssn = genSsn(r);
    const card = genCard(r);
    ssns.push(ssn);
    cards.push(card);
    // SSNs as plain integers (leading zeros kept by the value), cards as floats, as Excel stores them.
    rows.push([`P${i}`, { n: String(Number(ssn)), fmt: '000\\-00\\-0000' }, { n: Number(card).toExponential().toUpperCase() }, { n: '52000' }]);
  }
  const res = await scanFile(
    makeXlsx([
      { name: 'Summary', rows: [['nothing here']] },
      { name: 'Payroll Q1', rows },
    ]),
    { name: 'payroll.xlsx' },
  );
  const ssnF = res.findings.filter((f) => f.ruleId === 'us-ssn');
  const cardF = res.findings.filter((f) => f.ruleId === 'credit-card');
  assert.deepEqual(ssnF.map((f) => f.secret.replace(/-/g, '')).sort(), [...ssns].sort());
  assert.deepEqual(cardF.map((f) => f.secret).sort(), [...cards].sort());
  const first = ssnF.find((f) => f.secret.replace(/-/g, '') === ssns[0])!;
  assert.deepEqual(first.location, { sheet: 'Payroll Q1', row: 2, column: 'B', header: 'SSN' });
  assert.equal(first.confidence, 'high');
  assert.ok(first.reasons!.includes('column header "SSN"'), JSON.stringify(first.reasons));
  assert.ok(first.file.endsWith('payroll.xlsx'), 'the workbook is the file; the sheet is in the location');
  assert.deepEqual(cardF.find((f) => f.secret === cards[3])!.location, { sheet: 'Payroll Q1', row: 5, column: 'C', header: 'Credit card' });
  // The salary column is personal data by its header: the summary lists it.
  assert.deepEqual(res.notes[0]?.columns, ['SSN', 'Credit card', 'Salary']);
});

test('numbers as spreadsheets store them: floats to digits, fixed-digit formats padded', () => {
  assert.equal(plainNumber('4.111111111111111E+15'), '4111111111111111');
  assert.equal(plainNumber('5.36228726E8'), '536228726');
  assert.equal(plainNumber('52000.5'), '52000.5');
  assert.equal(applyDigitPattern('12345678', '000-00-0000'), '012-34-5678');
});

test('CSV: a header names the column; bare nine digits under "SSN" count, the same digits under "order" do not', async () => {
  const lines = ['employee_id;Social Security Number;order'];
  const ssns = Array.from({ length: 6 }, () => genSsn(r));
  ssns.forEach((s, i) => lines.push(`${1000 + i};${s};${genSsn(r)}`));
  const f = await scanString(lines.join('\n') + '\n', { name: 'export.csv' });
  assert.deepEqual(f.map((x) => [x.ruleId, x.secret, x.location?.column, x.location?.header]).sort(), ssns.map((s) => ['us-ssn', s, 'B', 'Social Security Number']).sort());
  assert.ok(f.every((x) => x.confidence === 'high'));
});

test('notes with a steady number of commas are not a table whose first line is a header: a card on the first line is found', async () => {
  const cards = Array.from({ length: 4 }, () => genCard(r));
  const text = cards.map((c, i) => `2026-03-0${i + 1} ${i ? 'Ben' : 'Ana'} phoned, paid with ${groupCard(c, '-')}, call back Tuesday.`).join('\n') + '\n';
  const f = await scanString(text, { name: 'calls.txt' });
  assert.deepEqual(
    f.map((x) => x.secret.replace(/-/g, '')),
    cards,
  );
});

test('multilingual headers: Numéro de carte, Kontonummer, Número de seguro social', async () => {
  const card = genCard(r);
  const iban = genIban(r);
  const ssn = genSsn(r);
  const rows: Cell[][] = [
    ['Nom', 'Numéro de carte', 'Kontonummer', 'Número de seguro social'],
    ['A', card, iban, ssn],
  ];
  const f = await scanFile(makeOds([{ name: 'Feuille1', rows }]), { name: 'clients.ods' });
  const got = f.findings.map((x) => [x.ruleId, x.location?.header, x.location?.sheet]).sort();
  assert.deepEqual(got, [
    ['credit-card', 'Numéro de carte', 'Feuille1'],
    ['iban', 'Kontonummer', 'Feuille1'],
    ['us-ssn', 'Número de seguro social', 'Feuille1'],
  ]);
});

test('a file that is only card numbers, one per line, is high; one bare number in prose is low', async () => {
  const cards = Array.from({ length: 10 }, () => genCard(r));
  const f = await scanString(cards.join('\n') + '\n', { name: 'dump.txt' });
  assert.equal(f.length, 10);
  assert.ok(
    f.every((x) => x.confidence === 'high' && x.reasons!.some((y) => /10 of 10 lines/.test(y))),
    JSON.stringify(f[0]?.reasons),
  );
  const one = await scanString(`ref ${cards[0]} done\n`, { minConfidence: 'low' });
  assert.deepEqual(
    one.map((x) => x.confidence),
    ['low'],
  );
  assert.deepEqual(await scanString(`ref ${cards[0]} done\n`), []);
  // Printed in groups, with no card word at all: medium.
  const grouped = await scanString(`paid ${groupCard(cards[1]!, '-')} ok\n`);
  assert.deepEqual(
    grouped.map((x) => x.confidence),
    ['medium'],
  );
});

test('lookalikes in source code and test data are low, with the reason', async () => {
  const card = groupCard(genCard(r));
  const code = await scanString(`CARD = "${card}"  # visa card for the sandbox\n`, { name: 'billing.py', minConfidence: 'low' });
  assert.equal(code[0]?.confidence, 'low');
  assert.ok(code[0].reasons!.includes('in source code'));
  assert.deepEqual(await scanString(`CARD = "${card}"  # visa card\n`, { name: 'billing.py' }), []);
});

test('PDF: text per page, findings carry the page; DOCX runs and ODT paragraphs joined; RTF; HTML tables', async () => {
  const ssn = genSsn(r);
  const card = genCard(r);
  const pdf = await scanFile(makePdf([['Cover page'], ['Employee record', `SSN ${dashed(ssn)}`, `card ${groupCard(card)}`]], { flate: true }), { name: 'record.pdf' });
  assert.deepEqual(pdf.issues, []);
  assert.deepEqual(pdf.findings.map((f) => [f.ruleId, f.location?.page, f.startLine]).sort(), [
    ['credit-card', 2, 3],
    ['us-ssn', 2, 2],
  ]);
  const docx = await scanFile(makeDocx([`social security number ${dashed(ssn)}`]), { name: 'memo.docx' });
  assert.deepEqual(
    docx.findings.map((f) => [f.ruleId, f.secret]),
    [['us-ssn', dashed(ssn)]],
  );
  const odt = await scanFile(makeOdt(['Notes', `ssn  ${dashed(ssn)}`]), { name: 'notes.odt' });
  assert.deepEqual(
    odt.findings.map((f) => f.ruleId),
    ['us-ssn'],
  );
  const rtf = await scanFile(makeRtf(['Dear colleague,', `the card ${groupCard(card)} was blocked.`]), { name: 'letter.rtf' });
  assert.deepEqual(
    rtf.findings.map((f) => [f.ruleId, f.secret]),
    [['credit-card', groupCard(card)]],
  );
  assert.equal(rtfToText('{\\rtf1{\\fonttbl{\\f0 Arial;}}{\\*\\generator x;}caf\\u233?\\par x\\tab y}'), 'café\nx\ty');
  const html = await scanFile(`<!DOCTYPE html><table><tr><th>Name</th><th>Card</th></tr><tr><td>A</td><td>${card}</td></tr></table>`, { name: 'page.html', minConfidence: 'low' });
  assert.deepEqual(
    html.findings.map((f) => f.ruleId),
    ['credit-card'],
  );
});

test('mail: MIME decoded (quoted-printable, encoded words), a zipped spreadsheet attachment is read; mbox messages are entries', async () => {
  const ssns = Array.from({ length: 3 }, () => genSsn(r));
  const xlsx = makeXlsx([
    {
      name: 'Leavers',
      rows: [['Name', 'SSN'], ...ssns.map((s, i): Cell[] => [`P${i}`, s])],
    },
  ]);
  const body = `Grüße — please check SSN ${dashed(ssns[0]!)}.\n${SECRET_LINE.toString()}`;
  const eml = makeEml({
    from: 'a@example.org',
    to: 'b@example.org',
    subject: 'Leavers – März',
    body,
    attachments: [{ name: 'records.zip', type: 'application/zip', data: makeZip([{ name: 'leavers.xlsx', data: xlsx }]) }],
  });
  const res = await scanFile(eml, { name: 'mail.eml' });
  const path = res.findings[0]!.file.replace(/!.*$/, '');
  assert.deepEqual(res.findings.map((f) => [f.ruleId, f.file.slice(path.length), f.location?.row ?? null]).sort(), [
    ['aws-access-token', '', null],
    ['us-ssn', '!records.zip!leavers.xlsx', 2],
    ['us-ssn', '!records.zip!leavers.xlsx', 3],
    ['us-ssn', '!records.zip!leavers.xlsx', 4],
    ['us-ssn', '', null],
  ]);
  const mbox = await scanFile(
    makeMbox([
      makeEml({ from: 'a@x.org', to: 'b@x.org', subject: 's1', body: 'From the start, nothing' }),
      makeEml({ from: 'a@x.org', to: 'b@x.org', subject: 's2', body: `ssn ${dashed(ssns[1]!)}` }),
    ]),
    { name: 'inbox' },
  );
  assert.deepEqual(
    mbox.findings.map((f) => f.file.split('!').pop()),
    ['message-2'],
  );
});

test('Outlook .msg: plain, HTML-only and RTF-only bodies; attachments walked; an embedded message is an entry with its own attachments', async () => {
  const [s1, s2, s3] = [genSsn(r), genSsn(r), genSsn(r)];
  const card = genCard(r);
  const iban = genIban(r);
  const msg = makeMsg({
    subject: 'Payroll',
    from: 'HR',
    to: 'payroll@example.org',
    body: `SSN ${dashed(s1)}`,
    attachments: [{ name: 'cards.csv', data: Buffer.from(`name,card number\nA,${card}\n`) }],
    embedded: [
      {
        subject: 'Fwd: leavers',
        from: 'Ops',
        to: 'hr@example.org',
        html: `<html><body><p>Social security: ${dashed(s2)}</p></body></html>`,
        attachments: [{ name: 'ssn.csv', data: Buffer.from(`name,ssn\nB,${s3}\n`) }],
      },
    ],
  });
  const res = await scanFile(msg, { name: 'payroll.msg' });
  assert.deepEqual(res.issues, []);
  const base = res.findings[0]!.file.replace(/!.*$/, '');
  assert.deepEqual(res.findings.map((f) => [f.ruleId, f.file.slice(base.length), f.secret.replace(/-/g, '')]).sort(), [
    ['credit-card', '!cards.csv', card],
    ['us-ssn', '!Fwd: leavers.msg!ssn.csv', s3],
    ['us-ssn', '!Fwd: leavers.msg', s2],
    ['us-ssn', '', s1],
  ]);
  // Many messages Outlook saves carry only a compressed RTF body.
  const rtfOnly = await scanFile(makeMsg({ subject: 'bank', from: 'a', to: 'b', rtf: `{\\rtf1\\ansi Pay to IBAN ${iban}\\par}` }), { name: 'bank.msg' });
  assert.deepEqual(
    rtfOnly.findings.map((f) => [f.ruleId, f.secret]),
    [['iban', iban]],
  );
  // An RTF body past msgRtfMaxBytes is not decompressed (the decompressor holds ~8 JS numbers a byte).
  const huge = await scanFile(makeMsg({ subject: 'big', from: 'a', to: 'b', rtf: `{\\rtf1 ${'x'.repeat(5 << 20)}}` }), { name: 'big.msg' });
  assert.deepEqual(
    huge.issues.map((i) => i.kind),
    ['too-large'],
  );
  assert.match(huge.issues[0]!.message, /msgRtfMaxBytes/);
  // A compound file that is not a message, named .msg, is reported, not thrown.
  const cut = await scanFile(msg.subarray(0, 1024), { name: 'cut.msg' });
  assert.deepEqual(
    cut.issues.map((i) => i.kind),
    ['corrupt'],
  );
});

test('binaries: printable strings are scanned in place (offsets are file offsets), as gitleaks does', async () => {
  // A .pyc-like file: a magic number, marshalled code with the credential as a string constant.
  const pyc = Buffer.concat([Buffer.from([0x6f, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]), Buffer.alloc(40, 0xe3), Buffer.from([0x73, 0x20, 0, 0, 0]), SECRET_LINE, Buffer.alloc(30, 0)]);
  const res = await scanFile(pyc, { name: 'settings.cpython-312.pyc' });
  assert.deepEqual(
    res.findings.map((f) => [f.ruleId, f.location?.offset]),
    [['aws-access-token', 53 + SECRET_LINE.indexOf('AKIA')]],
  );
  // Strings split across read chunks are kept whole; short runs between binary bytes are dropped.
  const chunks = [Buffer.from('\x00\x01abc'), Buffer.from('defgh\x00xy\x00'), Buffer.from('longer-string')];
  const out: Buffer[] = [];
  for await (const c of printableStrings(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(c);
  assert.equal(Buffer.concat(out).toString('latin1'), '\n\nabcdefgh\n\n\n\nlonger-string');
});

test('a text file that merely looks like mail (an alert config) loses nothing: every header line is scanned', async () => {
  const f = await scanString(`from: alerts@example.org\nto: ops@example.org\nsubject: disk full\n${SECRET_LINE.toString()}\nbody\n`, { name: 'alert.yaml' });
  assert.deepEqual(
    f.map((x) => x.ruleId),
    ['aws-access-token'],
  );
});
