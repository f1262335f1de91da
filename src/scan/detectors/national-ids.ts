/**
 * National identifiers beyond the US: the UK National Insurance number (HMRC's allocation rules)
 * and the Canadian Social Insurance Number (Luhn, the first digit names the region).
 */
import { allDigits, contextWord, evidence, isDigitAt, isWordAt, lineAllowed, runsNearKeywords, validatedFinding, type FindOptions, type ValidatedDetector } from './validated.js';
import { luhnValid } from './payment-card.js';
import type { RawFinding } from '../engine/finding.js';

// HMRC: neither prefix letter is D, F, I, Q, U or V; the second is not O; these pairs are never allocated.
const NINO_FIRST = /[A-CEGHJ-PR-TW-Z]/;
const NINO_SECOND = /[A-CEGHJ-NPR-TW-Z]/;
const NINO_UNUSED = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);
const NINO_CONTEXT = /(?:national[ _-]?insurance|\bnino\b|\bni[ _-]?(?:no|number|num)\b|\bnin\b)/i;

/** HMRC's rules for a NINO prefix. */
export function ninoPrefixValid(p: string): boolean {
  return p.length === 2 && NINO_FIRST.test(p[0]!) && NINO_SECOND.test(p[1]!) && !NINO_UNUSED.has(p);
}

function isUpperAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 65 && c <= 90;
}

export const ukNino: ValidatedDetector = {
  id: 'uk-nino',
  description: 'UK National Insurance number (HMRC prefix rules, suffix A-D)',
  tags: ['pii', 'nino'],
  examples: {
    truePositives: [
      'NI number: AB 12 34 56 C', // gitleaks:allow
      'nino=JG103759A', // gitleaks:allow
      'employee CE 12 34 56 D', // gitleaks:allow
      'national insurance no. PX123456', // gitleaks:allow
    ],
    falsePositives: ['QQ 12 34 56 C', 'GB123456A', 'DA123456A', 'AO123456A', 'AB123456E', 'XAB123456C', 'AB1234567C', 'part PX123456 shipped'], // gitleaks:allow (lookalikes the tests check are NOT reported)
  },
  find(text: string, digitRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const d = digitRuns[ri]!;
      const len = opts.runLengths?.[ri];
      if (len !== undefined && len !== 6 && len !== 2) continue;
      // Compact (QQ123456C) or spaced (QQ 12 34 56 C, HMRC's example): the prefix ends 2 or 3 chars before the digits.
      const spaced = text.charCodeAt(d - 1) === 32;
      const start = spaced ? d - 3 : d - 2;
      if (start < 0 || !isUpperAt(text, start) || !isUpperAt(text, start + 1) || isWordAt(text, start - 1)) continue;
      const prefix = text.slice(start, start + 2);
      if (!ninoPrefixValid(prefix)) continue;
      let i: number;
      if (spaced) {
        if (!(allDigits(text, d, 2) && text[d + 2] === ' ' && allDigits(text, d + 3, 2) && text[d + 5] === ' ' && allDigits(text, d + 6, 2))) continue;
        i = d + 8;
      } else {
        if (!allDigits(text, d, 6)) continue;
        i = d + 6;
      }
      if (isDigitAt(text, i)) continue;
      let suffix = '';
      const sfx = spaced && text[i] === ' ' ? i + 1 : i;
      if (/[A-D]/.test(text[sfx] ?? '') && !isWordAt(text, sfx + 1)) {
        suffix = text[sfx]!;
        i = sfx + 1;
      } else if (isWordAt(text, i)) continue;
      const word = contextWord(text, start, i, NINO_CONTEXT);
      if (!suffix && !word && !opts.named.has('nino')) continue;
      if (lineAllowed(text, start)) continue;
      const reasons = ['HMRC prefix rules', suffix ? `suffix ${suffix}` : 'no suffix letter'];
      out.push(validatedFinding(ukNino, text, start, i, evidence('nino', suffix ? 2 : 0, reasons, word, { needsLift: !suffix, dense: !!suffix })));
    }
    return out;
  },
};

const SIN_CONTEXT = /(?:social[ _-]?insurance|\bsin\b(?!\s*\()|\bnas\b|assurance[ _-]sociale)/i;

export const caSin: ValidatedDetector = {
  id: 'ca-sin',
  description: 'Canadian Social Insurance Number (Luhn, region digit 1-7 or 9)',
  tags: ['pii', 'sin'],
  // Outside a table a SIN needs its name before it: only runs near these words are looked at.
  keywords: ['sin', 'social insurance', 'nas', 'assurance sociale'],
  kind: 'sin',
  examples: {
    truePositives: [
      'SIN: 130 692 544', // gitleaks:allow
      'social insurance number 130-692-544', // gitleaks:allow
      'NAS 130692544', // gitleaks:allow
      'sin=527 336 721', // gitleaks:allow
    ],
    falsePositives: ['130 692 545', 'ref 130 692 544', '830 692 546', 'SIN: 000 000 000', 'math.sin(130692544)', '130692544'], // gitleaks:allow (lookalikes the tests check are NOT reported)
  },
  find(text: string, allRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    const digitRuns = opts.named.has('sin') ? allRuns : runsNearKeywords(allRuns, opts.keywordEnds);
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const s = digitRuns[ri]!;
      const first = text.charCodeAt(s);
      // 0 is never assigned and 8 is the business-number range; 1-7 are regions, 9 temporary residents.
      if (first === 48 || first === 56) continue;
      const pc = text[s - 1];
      if (isWordAt(text, s - 1) || pc === '.' || pc === '-' || pc === '+') continue;
      let end: number;
      let digits: string;
      const sep = text[s + 3];
      if ((sep === ' ' || sep === '-') && text[s + 7] === sep && allDigits(text, s, 3) && allDigits(text, s + 4, 3) && allDigits(text, s + 8, 3)) {
        end = s + 11;
        digits = text.slice(s, s + 3) + text.slice(s + 4, s + 7) + text.slice(s + 8, s + 11);
      } else if (allDigits(text, s, 9) && !isDigitAt(text, s + 9)) {
        end = s + 9;
        digits = text.slice(s, end);
      } else continue;
      if (isWordAt(text, end) || ((text[end] === '-' || text[end] === '.') && isDigitAt(text, end + 1))) continue;
      if (!luhnValid(digits)) continue;
      const word = contextWord(text, s, end, SIN_CONTEXT);
      const bare = end - s === 9;
      // Luhn alone passes one number in ten: a SIN needs its name nearby, or a header.
      if (!word && !opts.named.has('sin')) continue;
      if (lineAllowed(text, s)) continue;
      const reasons = ['Luhn check digit', bare ? 'bare digits' : 'grouped 3-3-3'];
      out.push(validatedFinding(caSin, text, s, end, evidence('sin', bare ? 0 : 1, reasons, word, { needsLift: true })));
    }
    return out;
  },
};
