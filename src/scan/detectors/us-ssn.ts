/**
 * US Social Security Numbers. Validity rules from the SSA: area 001–899 except 666, group 01–99,
 * serial 0001–9999; numbers the SSA or advertisers made public (078-05-1120, 219-09-9999) and the
 * textbook 123-45-6789 are refused. Dashed or spaced forms are reported; a bare nine-digit number
 * only with an SSN context word nearby, since nine digits alone are mostly other identifiers.
 */
import { isDigitAt, isWordAt, lineAllowed, nearWord, validatedFinding, type ValidatedDetector } from './validated.js';
import type { RawFinding } from '../engine/finding.js';

const PUBLIC_NUMBERS = new Set(['078051120', '219099999', '123456789']);
const CONTEXT = /(?:\bssn|social[ _-]?security|social[ _-]?sec\b|\bsocial\b|\btaxpayer|\btin\b|\bss#)/i;

/** SSA validity rules over nine digits. */
export function ssnValid(d: string): boolean {
  const area = Number(d.slice(0, 3));
  const group = Number(d.slice(3, 5));
  const serial = Number(d.slice(5));
  return area > 0 && area < 900 && area !== 666 && group > 0 && serial > 0 && !PUBLIC_NUMBERS.has(d);
}

export const usSsn: ValidatedDetector = {
  id: 'us-ssn',
  description: 'US Social Security Number (SSA area/group/serial rules)',
  tags: ['pii', 'ssn'],
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
    ],
  },
  find(text: string, digitRuns: ArrayLike<number>): RawFinding[] {
    const out: RawFinding[] = [];
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const s = digitRuns[ri]!;
      // Cheap refusal: 3 digits then '-' or ' ', or a run of exactly 9 digits.
      const c3 = text.charCodeAt(s + 3);
      if (!isDigitAt(text, s + 1) || !isDigitAt(text, s + 2)) continue;
      if (c3 !== 45 && c3 !== 32 && !(isDigitAt(text, s + 8) && !isDigitAt(text, s + 9))) continue;
      const pc = text[s - 1];
      if (isWordAt(text, s - 1) || pc === '.' || pc === '-') continue;
      let end: number;
      let digits: string;
      const sep = text[s + 3];
      if ((sep === '-' || sep === ' ') && text[s + 6] === sep && allDigits(text, s, 3) && allDigits(text, s + 4, 2) && allDigits(text, s + 7, 4)) {
        end = s + 11;
        digits = text.slice(s, s + 3) + text.slice(s + 4, s + 6) + text.slice(s + 7, s + 11);
      } else if (allDigits(text, s, 9)) {
        end = s + 9;
        digits = text.slice(s, end);
      } else continue;
      if (isWordAt(text, end) || (text[end] === '-' && isDigitAt(text, end + 1)) || (text[end] === '.' && isDigitAt(text, end + 1))) continue;
      if (!ssnValid(digits)) continue;
      const context = nearWord(text, s, end, CONTEXT);
      if (end - s === 9 && !context) continue;
      if (lineAllowed(text, s)) continue;
      out.push(validatedFinding(usSsn, text, s, end, context ? 'high' : 'medium'));
    }
    return out;
  },
};

function allDigits(text: string, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (!isDigitAt(text, i)) return false;
  return true;
}
