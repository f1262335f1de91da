/**
 * E-mail addresses and phone numbers, reported only in bulk: one address in a config file is
 * not a breach, a file holding hundreds is a customer or staff list. The scanner counts the
 * distinct values per file and reports one finding with the count when there are at least
 * `bulk.min` of them (see engine/assess.ts).
 */
import { evidence, isDigitAt, isWordAt, validatedFinding, type FindOptions, type ValidatedDetector } from './validated.js';
import type { RawFinding } from '../engine/finding.js';

/** Distinct values a file must hold before its contacts are reported. */
export const BULK_MIN = 100;

const LOCAL = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-") LOCAL[c.charCodeAt(0)] = 1;
const DOMAIN = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-') DOMAIN[c.charCodeAt(0)] = 1;

export const emailAddresses: ValidatedDetector = {
  id: 'email-addresses',
  description: 'E-mail addresses in bulk (a file holding a list of people)',
  tags: ['pii', 'contact', 'email'],
  keywords: ['@'],
  bulk: { min: BULK_MIN },
  examples: {
    truePositives: Array.from({ length: BULK_MIN }, (_, i) => `customer${i}@example.org`)
      .join('\n')
      .split('\0'),
    falsePositives: ['contact: support@example.com', 'git@github.com:org/repo.git', 'npm i @types/node@20', 'user@localhost', Array.from({ length: 20 }, (_, i) => `dev${i}@example.org`).join('\n')],
  },
  find(text: string, _digitRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    let lastEnd = 0;
    for (const end of opts.keywordEnds) {
      const at = end - 1;
      if (at < lastEnd) continue;
      let s = at;
      while (s > 0 && s > at - 64 && LOCAL[text.charCodeAt(s - 1)] === 1) s--;
      while (s < at && text[s] === '.') s++;
      if (s === at) continue;
      let e = at + 1;
      let dot = -1;
      while (e < text.length && e < at + 256 && DOMAIN[text.charCodeAt(e)] === 1) {
        if (text[e] === '.') dot = e;
        e++;
      }
      while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--;
      if (dot < 0 || dot >= e - 2) continue;
      const tld = text.slice(text.lastIndexOf('.', e - 1) + 1, e);
      if (!/^[A-Za-z]{2,24}$/.test(tld) || text[e] === '@' || text[e] === '/' || text[e] === ':') continue;
      lastEnd = e;
      out.push(validatedFinding(emailAddresses, text, s, e, evidence('email', 2, ['address syntax'], null)));
    }
    return out;
  },
};

export const phoneNumbers: ValidatedDetector = {
  id: 'phone-numbers',
  description: 'Phone numbers in bulk (a file holding a list of people)',
  tags: ['pii', 'contact', 'phone'],
  bulk: { min: BULK_MIN },
  examples: {
    truePositives: Array.from({ length: BULK_MIN }, (_, i) => `+44 20 7946 ${String(1000 + i)}`)
      .join('\n')
      .split('\0'),
    falsePositives: [
      'call (212) 555-0142',
      '2023-11-26 12:34:56',
      'v1.2.3.4',
      '10.0.0.1',
      Array.from({ length: 30 }, (_, i) => `+1 212 555 ${String(1000 + i)}`).join('\n'),
      // ISO 6709 coordinates, as in the tz database's zone.tab: a list of them is not a list of people.
      Array.from({ length: 150 }, (_, i) => `AG\t+${1700 + i}-0${6100 + i}\tAmerica/Antigua`).join('\n'),
      Array.from({ length: 150 }, (_, i) => `CA\t+${434000 + i}-0${790000 + i}\tAmerica/Toronto`).join('\n'),
    ],
  },
  find(text: string, digitRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    const lens = opts.runLengths;
    let lastEnd = -1;
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const d = digitRuns[ri]!;
      if (d < lastEnd) continue;
      // Cheap refusal first (most digit runs are not phones): "+", "(", or a group of three then a separator.
      const pc = text.charCodeAt(d - 1);
      if (pc !== 43 && pc !== 40) {
        if (lens && lens[ri] !== 3) continue;
        const c3 = text.charCodeAt(d + 3);
        if (!isDigitAt(text, d + 2) || isDigitAt(text, d + 3) || (c3 !== 45 && c3 !== 46 && c3 !== 32)) continue;
      }
      // International: "+" then 7-15 digits in groups; North American: (NXX) NXX-XXXX or NXX-NXX-XXXX.
      const plus = text[d - 1] === '+';
      const paren = text[d - 1] === '(';
      const start = plus || paren ? d - 1 : d;
      if (isWordAt(text, start - 1) || text[start - 1] === '.' || text[start - 1] === '-' || text[start - 1] === '/') continue;
      let i = d;
      let digits = '';
      let groups = 0;
      while (i < text.length && digits.length <= 15) {
        const g0 = i;
        while (isDigitAt(text, i)) digits += text[i++];
        if (i > g0) groups++;
        const c = text[i];
        if ((c === ' ' || c === '-' || c === '.') && isDigitAt(text, i + 1)) i++;
        else if (c === ')' && paren && groups === 1 && text[i + 1] === ' ' && isDigitAt(text, i + 2)) i += 2;
        else if (c === ')' && paren && groups === 1 && isDigitAt(text, i + 1)) i++;
        else break;
      }
      if (isWordAt(text, i) || ((text[i] === '.' || text[i] === ':') && isDigitAt(text, i + 1))) continue;
      let ok = false;
      if (plus) ok = digits.length >= 8 && digits.length <= 15 && groups >= 2 && digits[0] !== '0';
      else if (digits.length === 10) ok = /^(?:\([2-9]\d\d\) ?|[2-9]\d\d[-. ])[2-9]\d\d[-. ]\d{4}$/.test(text.slice(start, i));
      if (!ok) continue;
      // ISO 6709 latitude and longitude (±DDMM[SS]±DDDMM[SS], the tz database's zone.tab).
      if (plus && /^\+\d{4}(?:\d{2})?-\d{5}(?:\d{2})?$/.test(text.slice(start, i))) continue;
      lastEnd = i;
      out.push(validatedFinding(phoneNumbers, text, start, i, evidence('phone', 2, [plus ? 'international format' : 'North American format'], null)));
    }
    return out;
  },
};
