/**
 * US Social Security Numbers and Individual Taxpayer Identification Numbers.
 *
 * SSN rules from the SSA: area 001–899 except 666, group 01–99, serial 0001–9999; numbers the SSA
 * or advertisers made public (078-05-1120, 219-09-9999) and the textbook 123-45-6789 are refused.
 * ITIN rules from the IRS: nine digits starting with 9, the fourth and fifth in 50–65, 70–88,
 * 90–92 or 94–99 (so an ITIN is never a valid SSN: areas 900–999 are not issued).
 *
 * Dashed (123-45-6789) is the form both are written in: medium on its own. Nine bare digits are
 * most often something else (ids, amounts), so they are reported only when an SSN/ITIN word or
 * a column header names them.
 */
import { allDigits, contextWord, evidence, isDigitAt, isWordAt, lineAllowed, validatedFinding, type FindOptions, type ValidatedDetector } from './validated.js';
import type { RawFinding } from '../engine/finding.js';

/** Where a bare SSN/ITIN may be: near these (the context regexes below decide). */
const SSN_KEYWORDS = ['ssn', 'social', 'soc sec', 'soc-sec', 'soc_sec', 'soc.sec', 'ss#', 'ss no', 'ss-no', 'ss_no'];
const ITIN_KEYWORDS = ['itin', 'taxpayer', 'tin', 'tax id', 'tax-id', 'tax_id', 'taxid'];
const PUBLIC_NUMBERS = new Set(['078051120', '219099999', '123456789']);
const SSN_CONTEXT = /(?:\bssn|social[ _-]?security|social[ _-]?sec\b|\bsoc[ _.-]?sec\b|\bss#|\bss[ _-]?no\b)/i;
const ITIN_CONTEXT = /(?:\bitin\b|\btaxpayer|\btin\b|\btax[ _-]?id)/i;

/** SSA validity rules over nine digits. */
export function ssnValid(d: string): boolean {
  const area = Number(d.slice(0, 3));
  const group = Number(d.slice(3, 5));
  const serial = Number(d.slice(5));
  return area > 0 && area < 900 && area !== 666 && group > 0 && serial > 0 && !PUBLIC_NUMBERS.has(d);
}

/** IRS ITIN rules over nine digits. */
export function itinValid(d: string): boolean {
  if (d[0] !== '9' || Number(d.slice(5)) === 0) return false;
  const g = Number(d.slice(3, 5));
  return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || (g >= 94 && g <= 99);
}

/** A 3-2-4 (dashed or spaced) or bare 9-digit number at digit-run start `s`, or null. */
export function nineDigits(text: string, s: number): { end: number; digits: string; sep: string } | null {
  const c3 = text.charCodeAt(s + 3);
  if (!isDigitAt(text, s + 1) || !isDigitAt(text, s + 2)) return null;
  if (c3 !== 45 && c3 !== 32 && !(isDigitAt(text, s + 8) && !isDigitAt(text, s + 9))) return null;
  const pc = text[s - 1];
  if (isWordAt(text, s - 1) || pc === '.' || pc === '-' || pc === '+' || pc === '/' || pc === ':') return null;
  let end: number;
  let digits: string;
  const sep = text[s + 3]!;
  if ((sep === '-' || sep === ' ') && text[s + 6] === sep && allDigits(text, s, 3) && allDigits(text, s + 4, 2) && allDigits(text, s + 7, 4)) {
    end = s + 11;
    digits = text.slice(s, s + 3) + text.slice(s + 4, s + 6) + text.slice(s + 7, s + 11);
  } else if (allDigits(text, s, 9)) {
    end = s + 9;
    digits = text.slice(s, end);
  } else return null;
  if (isWordAt(text, end) || ((text[end] === '-' || text[end] === '.' || text[end] === ':' || text[end] === '/') && isDigitAt(text, end + 1))) return null;
  return { end, digits, sep: end - s === 9 ? '' : sep };
}

function nineDigitDetector(d: {
  id: string;
  description: string;
  kind: 'ssn' | 'itin';
  valid: (d: string) => boolean;
  context: RegExp;
  rule: string;
}): (text: string, runs: ArrayLike<number>, opts: FindOptions) => RawFinding[] {
  const self = { id: d.id, description: d.description, tags: ['pii', d.kind] };
  return (text, digitRuns, opts) => {
    const out: RawFinding[] = [];
    const named = opts.named.has(d.kind);
    const ends = opts.keywordEnds;
    let k = 0;
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const s = digitRuns[ri]!;
      const len = opts.runLengths?.[ri];
      if (len !== undefined && len !== 3 && len !== 9) continue;
      // ITINs start with 9, SSNs never do: one comparison refuses most runs for one of the two.
      if ((text.charCodeAt(s) === 57) !== (d.kind === 'itin')) continue;
      // Bare nine digits count only near a word for them (the keyword pass found where those are)
      // or under a header naming them; the dashed and spaced forms count anywhere.
      const c3 = text.charCodeAt(s + 3);
      if (c3 !== 45 && c3 !== 32 && !named) {
        while (k < ends.length && ends[k]! + 64 < s) k++;
        if (k >= ends.length || ends[k]! > s + 48) continue;
      }
      const n = nineDigits(text, s);
      if (!n || !d.valid(n.digits)) continue;
      const word = contextWord(text, s, n.end, d.context);
      const bare = !n.sep;
      if (bare && !word && !named) continue;
      if (lineAllowed(text, s)) continue;
      const reasons = [d.rule, bare ? 'bare digits' : n.sep === '-' ? 'dashed 3-2-4' : 'spaced 3-2-4'];
      out.push(validatedFinding(self, text, s, n.end, evidence(d.kind, bare ? 0 : n.sep === '-' ? 2 : 1, reasons, word, { needsLift: bare, dense: n.sep === '-' })));
    }
    return out;
  };
}

export const usSsn: ValidatedDetector = {
  id: 'us-ssn',
  description: 'US Social Security Number (SSA area/group/serial rules)',
  tags: ['pii', 'ssn'],
  keywords: SSN_KEYWORDS,
  keywordsOptional: true,
  examples: {
    truePositives: [
      'SSN: 536-22-8726', // gitleaks:allow
      'employee ssn 536 22 8726', // gitleaks:allow
      'social security number 536228726', // gitleaks:allow
      'id,536-22-8726,', // gitleaks:allow
    ],
    falsePositives: [
      '666-12-3456',
      '000-12-3456',
      '912-34-5678',
      '536-00-8726',
      '536-22-0000',
      '078-05-1120',
      '123-45-6789',
      'order 536228726 shipped',
      'date 2023-11-26',
      'v1.536-22-8726',
      '1536-22-8726',
      '536-22-87261',
      'call 536 22 8726 now',
    ],
  },
  find: nineDigitDetector({
    id: 'us-ssn',
    description: 'US Social Security Number (SSA area/group/serial rules)',
    kind: 'ssn',
    valid: ssnValid,
    context: SSN_CONTEXT,
    rule: 'SSA area/group/serial rules',
  }),
};

export const usItin: ValidatedDetector = {
  id: 'us-itin',
  description: 'US Individual Taxpayer Identification Number (IRS 9XX-[50-65|70-88|90-92|94-99]-XXXX)',
  tags: ['pii', 'itin'],
  keywords: ITIN_KEYWORDS,
  keywordsOptional: true,
  examples: {
    truePositives: [
      'ITIN: 912-70-1234', // gitleaks:allow
      'taxpayer id 987654321 on form W-7', // gitleaks:allow
      'itin 900-94-0001', // gitleaks:allow
      'W-7 approved, 955-50-4321', // gitleaks:allow
    ],
    falsePositives: ['912-34-5678', '912-89-1234', '912-93-1234', '536-70-1234', '912-70-0000', 'ref 912701234 closed', '1912-70-1234'], // gitleaks:allow (lookalikes the tests check are NOT reported)
  },
  find: nineDigitDetector({
    id: 'us-itin',
    description: 'US Individual Taxpayer Identification Number (IRS 9XX-[50-65|70-88|90-92|94-99]-XXXX)',
    kind: 'itin',
    valid: itinValid,
    context: ITIN_CONTEXT,
    rule: 'IRS ITIN ranges',
  }),
};
