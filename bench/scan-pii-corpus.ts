/**
 * A generated corpus of the personal and financial data that leaves in a breach, with its ground
 * truth: payroll and staff spreadsheets (XLSX with numeric cells and floats, ODS, multilingual
 * headers), a customer CSV export, a TSV of bare SSNs, a card list, a bank statement PDF, mail
 * with a zipped spreadsheet attached, a Latin-1 base64 message, an Outlook .msg with an
 * attachment and a forwarded message, a mailbox, a call log of grouped cards with no word for
 * them; and the haystack where lookalikes live (application logs
 * full of Luhn-valid trace ids, source code and test fixtures with test card numbers, a numeric
 * table). Every value is synthetic and made here at run time: this file holds none.
 *
 * The corpus holds values that look real, so it is written only under
 * test/fixtures/secrets/generated/ (ignored by git, excluded from self-scans).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../src/core/rng.js';
import { makeZip } from '../test/scan/helpers/archives.js';
import { makeDocx, makeEml, makeMbox, makeMsg, makeOds, makeOdt, makePdf, makeRtf, makeXlsx, type Cell } from '../test/scan/helpers/documents.js';

/** Where generated corpora live: the one folder self-scans leave out. */
export const GENERATED_ROOT = fileURLToPath(new URL('../../test/fixtures/secrets/generated/', import.meta.url));

/** A value the scanner must find: file (as the scanner names it), rule id, value (letters and digits only). */
export interface Truth {
  file: string;
  ruleId: string;
  value: string;
}

/** A file that must be reported as holding a list of contacts, with at least `count` values. */
export interface BulkTruth {
  file: string;
  ruleId: string;
  count: number;
}

export interface Corpus {
  dir: string;
  truth: Truth[];
  bulk: BulkTruth[];
  files: number;
}

type R = () => number;
const digits = (r: R, n: number): string => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = body.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** A Luhn-valid card in a real issuer range (Visa, Mastercard 51-55 and 2-series, Amex, Discover). */
export function genCard(r: R): string {
  const [prefix, len] = pick(r, [
    ['4', 16],
    ['5' + String(1 + Math.floor(r() * 5)), 16],
    ['2' + String(221 + Math.floor(r() * 499)), 16],
    ['3' + pick(r, ['4', '7']), 15],
    ['6011', 16],
  ] as const);
  const body = prefix + digits(r, len - prefix.length - 1);
  return body + luhnDigit(body);
}

export function groupCard(c: string, sep = ' '): string {
  return c.length === 15 ? [c.slice(0, 4), c.slice(4, 10), c.slice(10)].join(sep) : c.replace(/(\d{4})(?=\d)/g, `$1${sep}`);
}

/** A valid SSN by the SSA's rules (area 001-899 except 666, group 01-99, serial 0001-9999). */
export function genSsn(r: R): string {
  let area = 1 + Math.floor(r() * 899);
  if (area === 666) area = 667;
  return String(area).padStart(3, '0') + String(1 + Math.floor(r() * 99)).padStart(2, '0') + String(1 + Math.floor(r() * 9999)).padStart(4, '0');
}

export function genItin(r: R): string {
  const group = pick(r, [50, 57, 65, 70, 78, 88, 90, 92, 94, 99]);
  return '9' + digits(r, 2) + String(group) + String(1 + Math.floor(r() * 9999)).padStart(4, '0');
}

export function genNino(r: R): string {
  const first = 'ABCEGHJKLMNPRSTWXYZ';
  const second = 'ABCEGHJKLMNPRSTWXYZ';
  let p = pick(r, [...first]) + pick(r, [...second]);
  if (['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(p)) p = 'AB';
  return p + digits(r, 6) + pick(r, ['A', 'B', 'C', 'D']);
}

export function genSin(r: R): string {
  const body = pick(r, ['1', '2', '3', '4', '5', '6', '7', '9']) + digits(r, 7);
  return body + luhnDigit(body);
}

/** An IBAN for one of a few countries, check digits computed (ISO 7064 mod 97-10). */
export function genIban(r: R): string {
  const [cc, bban] = pick(r, [
    ['DE', () => digits(r, 18)],
    ['FR', () => digits(r, 23)],
    ['ES', () => digits(r, 20)],
    ['GB', () => pick(r, ['NWBK', 'BARC', 'LOYD', 'MIDL']) + digits(r, 14)],
    ['NL', () => pick(r, ['ABNA', 'INGB', 'RABO']) + digits(r, 10)],
  ] as const);
  const b = bban();
  const numeric = (b + cc + '00').replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55));
  let rem = 0;
  for (const ch of numeric) rem = (rem * 10 + Number(ch)) % 97;
  return cc + String(98 - rem).padStart(2, '0') + b;
}

export function groupIban(iban: string): string {
  return iban.replace(/(.{4})(?=.)/g, '$1 ');
}

export function genAba(r: R): string {
  const prefix = String(pick(r, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 22, 26, 31, 32, 61, 67])).padStart(2, '0');
  const b = prefix + digits(r, 6);
  const n = [...b].map(Number);
  const sum = 3 * (n[0]! + n[3]! + n[6]!) + 7 * (n[1]! + n[4]! + n[7]!) + (n[2]! + n[5]!);
  return b + String((10 - (sum % 10)) % 10);
}

export function genBic(r: R): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return (
    Array.from({ length: 4 }, () => pick(r, [...letters])).join('') + pick(r, ['DE', 'GB', 'FR', 'US', 'NL', 'CH']) + pick(r, [...letters]) + pick(r, ['2', 'X', 'M', 'L']) + (r() < 0.5 ? 'XXX' : '')
  );
}

const FIRST = ['Ana', 'Ben', 'Chloé', 'David', 'Elif', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Liam', 'Mei', 'Noah', 'Olga', 'Pavel'];
const LAST = ['Smith', 'García', 'Müller', 'Okafor', 'Rossi', 'Dubois', 'Kowalski', 'Tanaka', 'Silva', 'Novak'];
const person = (r: R): string => `${pick(r, FIRST)} ${pick(r, LAST)}`;
const salary = (r: R): string => String(30000 + Math.floor(r() * 120000));
const dob = (r: R): string => `19${50 + Math.floor(r() * 50)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
const email = (i: number): string => `person${i}@corp-example.org`;
const phone = (i: number): string => `+44 20 7946 ${String(i % 10000).padStart(4, '0')}`;
/** A number as Excel writes it when it is stored as a float: 4.111111111111111E+15. */
const asFloat = (v: string): string => Number(v).toExponential().toUpperCase();

/** Build the corpus under `dir` (emptied first). `scale` = rows of the payroll sheet. */
export function generatePiiCorpus(dir: string, opts: { seed?: number; scale?: number } = {}): Corpus {
  if (!dir.startsWith(GENERATED_ROOT)) throw new Error(`generated PII corpora live under ${GENERATED_ROOT} only`);
  const r = rng(opts.seed ?? 7);
  const scale = opts.scale ?? 200;
  rmSync(dir, { recursive: true, force: true });
  const truth: Truth[] = [];
  const bulk: BulkTruth[] = [];
  let files = 0;
  const put = (rel: string, data: Buffer | string): string => {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
    files++;
    return p;
  };
  const t = (file: string, ruleId: string, value: string): void => void truth.push({ file, ruleId, value: value.replace(/[^0-9A-Za-z]/g, '').toUpperCase() });

  // 1. Payroll workbook: numbers stored as numbers (SSNs as integers, cards as floats), header in the shared strings.
  const payrollPath = join(dir, 'hr/payroll-2025.xlsx');
  const payroll: Cell[][] = [['Employee', 'SSN', 'Salary', 'Date of birth', 'Card number', 'IBAN', 'E-mail', 'Phone']];
  for (let i = 0; i < scale; i++) {
    const ssn = genSsn(r);
    const card = genCard(r);
    const iban = genIban(r);
    // SSNs stored as numbers (leading zeros dropped) and shown through Excel's SSN format.
    payroll.push([person(r), { n: String(Number(ssn)), fmt: '000\\-00\\-0000' }, { n: salary(r) }, dob(r), { n: i % 2 ? asFloat(card) : card }, iban, email(i), phone(i)]);
    t(payrollPath, 'us-ssn', ssn);
    t(payrollPath, 'credit-card', card);
    t(payrollPath, 'iban', iban);
  }
  bulk.push({ file: payrollPath, ruleId: 'email-addresses', count: scale }, { file: payrollPath, ruleId: 'phone-numbers', count: scale });
  // A second sheet with headers in French, Spanish and German, values as text.
  const contractors: Cell[][] = [['Nom', 'Número de seguro social', 'Numéro de carte', 'Kontonummer']];
  for (let i = 0; i < Math.ceil(scale / 10); i++) {
    const ssn = genSsn(r);
    const card = genCard(r);
    const iban = genIban(r);
    contractors.push([person(r), ssn, card, iban]);
    t(payrollPath, 'us-ssn', ssn);
    t(payrollPath, 'credit-card', card);
    t(payrollPath, 'iban', iban);
  }
  put(
    'hr/payroll-2025.xlsx',
    makeXlsx([
      { name: 'Payroll', rows: payroll },
      { name: 'Contractors', rows: contractors },
    ]),
  );

  // 2. Staff in an ODS: UK and Canadian identifiers, bank routing and BIC columns.
  const staffPath = join(dir, 'hr/staff-uk-ca.ods');
  const staff: Cell[][] = [['Name', 'NI number', 'SIN', 'Routing number', 'BIC', 'ITIN']];
  for (let i = 0; i < Math.ceil(scale / 4); i++) {
    const nino = genNino(r);
    const sin = genSin(r);
    const aba = genAba(r);
    const bic = genBic(r);
    const itin = genItin(r);
    staff.push([person(r), nino, { n: sin }, aba, bic, `${itin.slice(0, 3)}-${itin.slice(3, 5)}-${itin.slice(5)}`]);
    t(staffPath, 'uk-nino', nino);
    t(staffPath, 'ca-sin', sin);
    t(staffPath, 'us-bank-routing', aba);
    t(staffPath, 'swift-bic', bic);
    t(staffPath, 'us-itin', itin);
  }
  put('hr/staff-uk-ca.ods', makeOds([{ name: 'Staff', rows: staff }]));

  // 3. A CRM export: grouped cards, no card word anywhere but the header.
  const crmPath = join(dir, 'exports/customers.csv');
  const crm = ['id,name,email,phone,card_number,expiry'];
  for (let i = 0; i < scale; i++) {
    const card = genCard(r);
    crm.push(`${100000 + i},"${person(r)}",${email(10000 + i)},${phone(5000 + i)},${i % 3 ? groupCard(card, '-') : card},0${1 + (i % 9)}/2${7 + (i % 3)}`);
    t(crmPath, 'credit-card', card);
  }
  put('exports/customers.csv', crm.join('\n') + '\n');
  bulk.push({ file: crmPath, ruleId: 'email-addresses', count: scale }, { file: crmPath, ruleId: 'phone-numbers', count: scale });

  // 4. A bare list of card numbers, one per line (a dump): only density says what they are.
  const dumpPath = join(dir, 'exports/dump-0425.txt');
  const dump: string[] = [];
  for (let i = 0; i < Math.ceil(scale / 4); i++) {
    const card = genCard(r);
    dump.push(card);
    t(dumpPath, 'credit-card', card);
  }
  put('exports/dump-0425.txt', dump.join('\n') + '\n');

  // 5. A bank statement PDF over three pages.
  const pdfPath = join(dir, 'finance/statement-march.pdf');
  const pages: string[][] = [];
  for (let p = 0; p < 3; p++) {
    const lines = [`Statement page ${p + 1}`, 'Account holder details'];
    const iban = genIban(r);
    lines.push(`IBAN: ${groupIban(iban)}`);
    t(pdfPath, 'iban', iban);
    for (let i = 0; i < 4; i++) {
      const card = genCard(r);
      lines.push(`Card payment ${groupCard(card)} amount ${(r() * 500).toFixed(2)}`);
      t(pdfPath, 'credit-card', card);
    }
    const ssn = genSsn(r);
    lines.push(`Tax reference SSN ${ssn.slice(0, 3)}-${ssn.slice(3, 5)}-${ssn.slice(5)}`);
    t(pdfPath, 'us-ssn', ssn);
    pages.push(lines);
  }
  put('finance/statement-march.pdf', makePdf(pages, { flate: true }));

  // 6. Mail with a zipped spreadsheet attached (nested archive inside an attachment).
  const emlPath = join(dir, 'mail/offboarding.eml');
  const bodySsns = Array.from({ length: 3 }, () => genSsn(r));
  for (const s of bodySsns) t(emlPath, 'us-ssn', s);
  const attached: Cell[][] = [['Name', 'Social Security Number', 'Credit card']];
  const innerXlsx = `${emlPath}!records.zip!leavers.xlsx`;
  for (let i = 0; i < 12; i++) {
    const ssn = genSsn(r);
    const card = genCard(r);
    attached.push([person(r), `${ssn.slice(0, 3)}-${ssn.slice(3, 5)}-${ssn.slice(5)}`, groupCard(card)]);
    t(innerXlsx, 'us-ssn', ssn);
    t(innerXlsx, 'credit-card', card);
  }
  put(
    'mail/offboarding.eml',
    makeEml({
      from: 'HR <hr@corp-example.org>',
      to: 'Payroll <payroll@corp-example.org>',
      subject: 'Leavers – final pay',
      body: `Hi,\n\nPlease close the accounts of:\n${bodySsns.map((s, i) => `- ${person(r)}, SSN ${s.slice(0, 3)}-${s.slice(3, 5)}-${s.slice(5)}${i === 0 ? ' (urgent)' : ''}`).join('\n')}\n\nRecords attached.\n`,
      attachments: [{ name: 'records.zip', type: 'application/zip', data: makeZip([{ name: 'leavers.xlsx', data: makeXlsx([{ name: 'Leavers', rows: attached }]) }]) }],
    }),
  );

  // 7. A mailbox of three messages: a card in each, an ITIN in one.
  const mboxPath = join(dir, 'mail/archive.mbox');
  const msgs: Buffer[] = [];
  for (let m = 1; m <= 3; m++) {
    const card = genCard(r);
    t(`${mboxPath}!message-${m}`, 'credit-card', card);
    let body = `Customer called about card ${groupCard(card)}, please refund.`;
    if (m === 2) {
      const itin = genItin(r);
      body += `\nTheir ITIN is ${itin.slice(0, 3)}-${itin.slice(3, 5)}-${itin.slice(5)}.`;
      t(`${mboxPath}!message-${m}`, 'us-itin', itin);
    }
    msgs.push(makeEml({ from: `support${m}@corp-example.org`, to: 'billing@corp-example.org', subject: `Ticket ${m}`, body }));
  }
  put('mail/archive.mbox', makeMbox(msgs));

  // 8. Free text where the value has less around it: a memo (DOCX, runs split by edits) with a bare
  // nine-digit SSN and no word for it (not reported at any level: nine digits alone are not enough)
  // and a card written as bare digits (low); a letter (RTF) and an HTML page with context.
  const memoPath = join(dir, 'notes/memo.docx!word/document.xml');
  const memoSsn = genSsn(r);
  const memoCard = genCard(r);
  t(memoPath, 'us-ssn', memoSsn);
  t(memoPath, 'credit-card', memoCard);
  put('notes/memo.docx', makeDocx([`Call Jane back about ${memoSsn} before Friday.`, `She paid with ${memoCard} last week.`]));
  const letterPath = join(dir, 'notes/letter.rtf');
  const letterSsn = genSsn(r);
  t(letterPath, 'us-ssn', letterSsn);
  put('notes/letter.rtf', makeRtf(['Dear Sir,', `Your social security number ${letterSsn.slice(0, 3)}-${letterSsn.slice(3, 5)}-${letterSsn.slice(5)} was updated.`, 'Regards']));
  const pagePath = join(dir, 'web/orders.html');
  const rows: string[] = [];
  for (let i = 0; i < 8; i++) {
    const card = genCard(r);
    t(pagePath, 'credit-card', card);
    rows.push(`<tr><td>${1000 + i}</td><td>${person(r)}</td><td>${groupCard(card)}</td></tr>`);
  }
  put('web/orders.html', `<!DOCTYPE html><html><body><table><tr><th>Order</th><th>Name</th><th>Card</th></tr>${rows.join('')}</table></body></html>\n`);
  const odtPath = join(dir, 'notes/handover.odt!content.xml');
  const odtIban = genIban(r);
  t(odtPath, 'iban', odtIban);
  put('notes/handover.odt', makeOdt(['Handover notes', `Refunds go to ${groupIban(odtIban)} from now on.`]));

  // 8b. A TSV export of staff: SSNs as nine bare digits, named only by the header.
  const tsvPath = join(dir, 'exports/staff-ssn.tsv');
  const tsv = ['employee_id\tfull_name\tssn\tdob'];
  for (let i = 0; i < Math.ceil(scale / 4); i++) {
    const ssn = genSsn(r);
    tsv.push(`E${7000 + i}\t${person(r)}\t${ssn}\t${dob(r)}`);
    t(tsvPath, 'us-ssn', ssn);
  }
  put('exports/staff-ssn.tsv', tsv.join('\n') + '\n');

  // 8c. A call log: grouped card numbers in free text with no card word anywhere.
  const callPath = join(dir, 'notes/call-log.txt');
  const calls: string[] = [];
  for (let i = 0; i < 12; i++) {
    const c = genCard(r);
    calls.push(`${dob(r).replace(/^19/, '20')} ${person(r)} phoned, paid with ${groupCard(c, i % 2 ? '-' : ' ')}, follow up Tuesday.`);
    t(callPath, 'credit-card', c);
  }
  put('notes/call-log.txt', calls.join('\n') + '\n');

  // 8d. A message in Latin-1, base64-encoded (charset and transfer encoding both undone by the reader).
  const latinPath = join(dir, 'mail/remboursement.eml');
  const latinCard = genCard(r);
  const latinIban = genIban(r);
  t(latinPath, 'credit-card', latinCard);
  t(latinPath, 'iban', latinIban);
  const latinBody = Buffer.from(`Bonjour,\nNuméro de carte bancaire : ${groupCard(latinCard)}\nRemboursement sur le compte IBAN ${groupIban(latinIban)}.\nCordialement\n`, 'latin1');
  put(
    'mail/remboursement.eml',
    [
      'From: Service client <client@corp-example.org>',
      'To: compta@corp-example.org',
      'Subject: =?ISO-8859-1?Q?Remboursement_re=E7u?=',
      'Date: Tue, 03 Mar 2026 11:00:00 +0100',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=ISO-8859-1',
      'Content-Transfer-Encoding: base64',
      '',
      latinBody.toString('base64').replace(/.{76}/g, '$&\n'),
      '',
    ].join('\r\n'),
  );

  // 8e. An Outlook message: an SSN in the body, a CSV of cards attached, a forwarded message with an IBAN.
  const msgPath = join(dir, 'mail/outlook-export.msg');
  const msgSsn = genSsn(r);
  t(msgPath, 'us-ssn', msgSsn);
  const msgCards = Array.from({ length: 8 }, () => genCard(r));
  for (const c of msgCards) t(`${msgPath}!refunds.csv`, 'credit-card', c);
  const fwdIban = genIban(r);
  t(`${msgPath}!Fwd: bank details.msg`, 'iban', fwdIban);
  put(
    'mail/outlook-export.msg',
    makeMsg({
      subject: 'Refunds',
      from: 'Billing',
      to: 'finance@corp-example.org',
      body: `Please process. Employee SSN ${msgSsn.slice(0, 3)}-${msgSsn.slice(3, 5)}-${msgSsn.slice(5)} approved.`,
      attachments: [{ name: 'refunds.csv', data: Buffer.from(['customer,card number,amount', ...msgCards.map((c, i) => `C${i},${c},${(10 + i * 3).toFixed(2)}`)].join('\n') + '\n') }],
      embedded: [{ subject: 'Fwd: bank details', from: 'Supplier', to: 'billing@corp-example.org', html: `<p>Our new account: IBAN <b>${groupIban(fwdIban)}</b></p>` }],
    }),
  );

  // The haystack: nothing in it is personal data.
  // 9. Application logs: trace ids of 16 digits (one in ten passes Luhn), epoch millis, order ids, nine-digit ids.
  const log: string[] = [];
  let ts = 1_760_000_000_000;
  for (let i = 0; i < scale * 20; i++) {
    ts += Math.floor(r() * 3000);
    log.push(
      `${new Date(ts).toISOString()} INFO request trace=${digits(r, 16)} span=${digits(r, 12)} order=${digits(r, 9)} ts=${ts} user=u${Math.floor(r() * 1e6)} took=${(r() * 900).toFixed(3)}ms v=1.${i % 20}.${i % 7}`,
    );
  }
  put('logs/app-2025-03-03.log', log.join('\n') + '\n');
  // 10. Source code and its tests with the card networks' test numbers (lookalikes by design).
  const testCards = Array.from({ length: 6 }, () => genCard(r));
  put(
    'app/src/billing/payment.py',
    [
      'import re',
      'CARD_RE = re.compile(r"\\d{13,19}")',
      `SANDBOX_CARD = "${groupCard(testCards[0]!)}"  # card used by the payment sandbox`,
      `def mask(card):`,
      `    return card[-4:]`,
      `EXAMPLE_SSN = "${(() => {
        const s = genSsn(r);
        return `${s.slice(0, 3)}-${s.slice(3, 5)}-${s.slice(5)}`;
      })()}"`,
      '',
    ].join('\n'),
  );
  put('app/tests/fixtures/cards.json', JSON.stringify({ cards: testCards.slice(1).map((c) => groupCard(c)) }, null, 2) + '\n');
  // 11. A numeric table (collation weights, four-digit hex-free groups): digit groups that may pass Luhn.
  const table: string[] = ['# code point weights'];
  for (let i = 0; i < scale; i++) table.push(`${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)} ${digits(r, 4)} ; ${digits(r, 2)} ${digits(r, 3)}`);
  put('data/collation-weights.txt', table.join('\n') + '\n');
  // 12. A README with a few contacts (not a list of people).
  put('app/README.md', `# Billing\n\nOwners: ${email(1)}, ${email(2)}; on call ${phone(1)}.\nSee docs for the API.\n`);
  return { dir, truth, bulk, files };
}
