/**
 * Payment card numbers (PANs): 13–19 digits, plain or grouped by spaces or dashes, with a valid
 * Luhn check digit and a prefix in a real issuer range for that length. The traps that make naive
 * detectors noisy are refused by construction: epoch timestamps (13/16/19 digits starting with 1,
 * which no issuer uses), floats and version strings (a '.' next to the run), and serial numbers
 * (digits glued to letters, or a serial/IMEI/tracking label just before). A number printed the
 * way its issuer prints cards (4-4-4-4, Amex 4-6-5) is medium on its own; a bare run of digits is
 * low (trace ids and order numbers pass Luhn one time in ten) until a card word, a column header
 * or a file full of cards lifts it.
 */
import { contextWord, evidence, isDigitAt, isWordAt, lineAllowed, validatedFinding, type FindOptions, type ValidatedDetector } from './validated.js';
import type { RawFinding } from '../engine/finding.js';

interface Issuer {
  name: string;
  /** Inclusive prefix ranges, compared on the first `digits` digits. */
  ranges: [number, number, number][];
  lengths: number[];
}

// Ranges from the issuers' published IIN tables (ISO/IEC 7812); Mastercard's 2221–2720 series
// has been issued since 2017 and must be recognised.
const ISSUERS: Issuer[] = [
  { name: 'visa', ranges: [[1, 4, 4]], lengths: [13, 16, 19] },
  {
    name: 'mastercard',
    ranges: [
      [2, 51, 55],
      [4, 2221, 2720],
    ],
    lengths: [16],
  },
  {
    name: 'amex',
    ranges: [
      [2, 34, 34],
      [2, 37, 37],
    ],
    lengths: [15],
  },
  {
    name: 'discover',
    ranges: [
      [4, 6011, 6011],
      [3, 644, 649],
      [2, 65, 65],
      [6, 622126, 622925],
    ],
    lengths: [16, 17, 18, 19],
  },
  { name: 'jcb', ranges: [[4, 3528, 3589]], lengths: [16, 17, 18, 19] },
  {
    name: 'diners',
    ranges: [
      [3, 300, 305],
      [2, 36, 36],
      [2, 38, 39],
    ],
    lengths: [14, 15, 16, 17, 18, 19],
  },
  { name: 'unionpay', ranges: [[2, 62, 62]], lengths: [16, 17, 18, 19] },
  {
    name: 'maestro',
    ranges: [
      [4, 5018, 5018],
      [4, 5020, 5020],
      [4, 5038, 5038],
      [4, 5893, 5893],
      [4, 6304, 6304],
      [4, 6759, 6763],
    ],
    lengths: [13, 14, 15, 16, 17, 18, 19],
  },
  { name: 'mir', ranges: [[4, 2200, 2204]], lengths: [16] },
];

/** The issuer of a PAN, or null when no issuer uses that prefix at that length. */
export function cardIssuer(pan: string): string | null {
  for (const is of ISSUERS) {
    if (!is.lengths.includes(pan.length)) continue;
    for (const [n, lo, hi] of is.ranges) {
      const p = Number(pan.slice(0, n));
      if (p >= lo && p <= hi) return is.name;
    }
  }
  return null;
}

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, dbl = false; i >= 0; i--, dbl = !dbl) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const CONTEXT = /\b(?:credit|debit|card|cc|ccnum|cardnumber|card_number|pan|visa|mastercard|amex|american express|discover|jcb|maestro|unionpay|payment|cardholder|cvv|cvc|expir)/i;
const NOT_A_CARD = /\b(?:serial|s\/n|sn|imei|iccid|tracking|isbn|timestamp|epoch|uuid|order)\b[^\n]{0,24}$/i;

export const paymentCard: ValidatedDetector = {
  id: 'credit-card',
  description: 'Payment card number (Luhn-valid, in a real issuer range)',
  tags: ['pii', 'financial', 'card'],
  examples: {
    truePositives: [
      'card: 4111 1111 1111 1111', // gitleaks:allow (Visa test number)
      'Visa 4012888888881881', // gitleaks:allow
      'mc=5555-5555-5555-4444', // gitleaks:allow
      'new Mastercard 2-series 2223003122003222', // gitleaks:allow
      'amex 3782 822463 10005', // gitleaks:allow
      'Visa 19-digit 4000000000000000006 on file', // gitleaks:allow
      'jcb,3530111333300000,', // gitleaks:allow
      'unionpay 6212345678901232', // gitleaks:allow
      'paid with 4012-8888-8888-1881 yesterday', // gitleaks:allow (grouped, no card word)
    ],
    falsePositives: [
      'ts=1700000000000 took 12ms',
      'created_at 1700000000000000000',
      'value 3.4111111111111111 rounded',
      'version 4111111111111111.2',
      'serial 4111111111111111',
      'SN4111111111111111',
      'id 4111111111111112 failed',
      'order 5555555555554444 shipped',
      'x 1234567890123456',
      '"trace":"4012888888881881"',
      '4111111111111111abc',
      'phone 0044 1234 5678 90',
    ],
  },
  find(text: string, digitRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const start = digitRuns[ri]!;
      // Cheap refusals first (most digit runs are short numbers): issuers start with 2-6, and a
      // PAN is one run of 13-19 digits or a first group of 4 (6 for Amex) then a separator.
      const first = text.charCodeAt(start);
      if (first < 50 || first > 54) continue;
      let n = opts.runLengths?.[ri] ?? 1;
      if (n === 1) while (n < 20 && isDigitAt(text, start + n)) n++;
      if (n > 20) n = 20;
      if (n < 13 && !(n === 4 && isSeparatorAt(text, start + n))) continue;
      const prev = start - 1;
      if (isWordAt(text, prev)) continue;
      const pc = text[prev];
      // A run that continues an earlier group, a float's fraction or a signed number is not a PAN start.
      if (pc === '.' || pc === '+' || ((pc === '-' || pc === ' ') && isDigitAt(text, prev - 1))) continue;
      // Walk digit groups separated by one space or one dash (the same one throughout).
      let i = start;
      let digits = '';
      let sep = '';
      const groups: number[] = [];
      for (;;) {
        const g0 = i;
        while (i < text.length && isDigitAt(text, i) && digits.length < 20) digits += text[i++];
        groups.push(i - g0);
        const c = text[i];
        if ((c === ' ' || c === '-') && isDigitAt(text, i + 1) && (sep === '' || sep === c) && digits.length < 19) {
          sep = c;
          i++;
          continue;
        }
        break;
      }
      if (digits.length < 13 || digits.length > 19 || !groupedLikeACard(groups)) continue;
      // Glued to more word characters (`-rc1`, `.5`, `abc`) it is part of an identifier or number.
      if (isWordAt(text, i) || ((text[i] === '.' || text[i] === '-') && isWordAt(text, i + 1))) continue;
      if (/^(\d)\1+$/.test(digits) || !luhnValid(digits) || !cardIssuer(digits)) continue;
      if (NOT_A_CARD.test(text.slice(Math.max(0, start - 40), start))) continue;
      if (lineAllowed(text, start)) continue;
      const issuer = cardIssuer(digits)!;
      const grouping = sep ? groups.join('-') : '';
      const reasons = ['Luhn check digit', `${issuer} issuer range`, sep ? `grouped ${grouping}` : 'bare digits'];
      out.push(validatedFinding(paymentCard, text, start, i, evidence('card', sep ? 2 : 1, reasons, contextWord(text, start, i, CONTEXT), { dense: true })));
    }
    return out;
  },
};

function isSeparatorAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return (c === 32 || c === 45) && isDigitAt(text, i + 1);
}

// Printed PANs are one run, groups of four (the last may be shorter), or Amex/Diners 4-6-5/4-6-4.
function groupedLikeACard(groups: number[]): boolean {
  if (groups.length === 1) return true;
  const key = groups.join('-');
  if (key === '4-6-5' || key === '4-6-4') return true;
  return groups.slice(0, -1).every((g) => g === 4) && groups[groups.length - 1]! >= 1 && groups[groups.length - 1]! <= 4;
}
