/**
 * International Bank Account Numbers: country code, two check digits, then the country's BBAN,
 * printed plain or in groups of four. A candidate must have exactly its country's length (the
 * SWIFT IBAN registry) and pass the ISO 7064 mod-97-10 check, which rejects 99% of random strings:
 * medium on its own, high with a banking word or an account/IBAN column header.
 */
import { contextWord, evidence, isWordAt, lineAllowed, validatedFinding, type FindOptions, type ValidatedDetector } from './validated.js';
import type { RawFinding } from '../engine/finding.js';

/** IBAN length per country code (SWIFT IBAN registry). */
export const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** ISO 7064 mod-97-10 over an IBAN without spaces: true when the remainder is 1. */
export function ibanChecksumValid(iban: string): boolean {
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const c = ch.charCodeAt(0);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

const CONTEXT = /\b(?:iban|bank|account|acct|swift|bic|sepa|transfer|beneficiary|konto|rekening|compte)/i;

function isUpper(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 65 && c <= 90;
}

function isUpperAlnum(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
}

export const iban: ValidatedDetector = {
  id: 'iban',
  description: 'International Bank Account Number (mod-97 valid, correct length for its country)',
  tags: ['pii', 'financial', 'iban'],
  examples: {
    truePositives: [
      'IBAN: DE89 3704 0044 0532 0130 00', // gitleaks:allow (ECBS example)
      'pay to GB82WEST12345698765432 today', // gitleaks:allow
      'iban=FR1420041010050500013M02606', // gitleaks:allow
      'NO9386011117947', // gitleaks:allow
      'MT84MALT011000012345MTLCAST001S', // gitleaks:allow
    ],
    falsePositives: ['DE89 3704 0044 0532 0130 01', 'GB82WEST1234569876543', 'GB82WEST123456987654321', 'XX89370400440532013000', 'ABDE89370400440532013000', 'DE89370400440532013000X'], // gitleaks:allow (lookalikes the tests check are NOT reported)
  },
  find(text: string, digitRuns: ArrayLike<number>, _opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const d = digitRuns[ri]!;
      const start = d - 2;
      if (start < 0 || !isUpper(text, start) || !isUpper(text, start + 1) || isWordAt(text, start - 1)) continue;
      const len = IBAN_LENGTHS[text.slice(start, start + 2)];
      if (!len) continue;
      // Collect exactly `len` characters, allowing one space between groups of four.
      let compact = '';
      let i = start;
      while (compact.length < len && i < text.length) {
        if (isUpperAlnum(text, i)) compact += text[i++];
        else if (text[i] === ' ' && compact.length % 4 === 0 && compact.length > 0 && isUpperAlnum(text, i + 1)) i++;
        else break;
      }
      if (compact.length !== len || isWordAt(text, i)) continue;
      if (!/^[A-Z]{2}\d{2}/.test(compact) || !ibanChecksumValid(compact)) continue;
      if (lineAllowed(text, start)) continue;
      const reasons = ['ISO 7064 mod-97 check', `length ${len} for ${compact.slice(0, 2)}`];
      out.push(validatedFinding(iban, text, start, i, evidence('iban', 2, reasons, contextWord(text, start, i, CONTEXT), { dense: true })));
    }
    return out;
  },
};
