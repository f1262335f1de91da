/**
 * Bank identifiers that are only meaningful next to their name: US ABA routing numbers (nine
 * digits with the 3-7-1 checksum and a Federal Reserve prefix) and SWIFT/BIC codes (bank, ISO
 * country, location, optional branch). Nine digits and eight capitals are everywhere, so both are
 * reported only with a context word or a column header.
 */
import { allDigits, contextWord, evidence, isDigitAt, isWordAt, lineAllowed, runsNearKeywords, validatedFinding, type FindOptions, type ValidatedDetector } from './validated.js';
import type { RawFinding } from '../engine/finding.js';

/** ABA checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), prefix 00–12, 21–32, 61–72 or 80. */
export function abaValid(d: string): boolean {
  if (!/^\d{9}$/.test(d)) return false;
  const p = Number(d.slice(0, 2));
  if (!((p >= 0 && p <= 12) || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p === 80)) return false;
  if (/^0+$/.test(d)) return false;
  const n = [...d].map(Number);
  return (3 * (n[0]! + n[3]! + n[6]!) + 7 * (n[1]! + n[4]! + n[7]!) + (n[2]! + n[5]! + n[8]!)) % 10 === 0;
}

const ROUTING_CONTEXT = /(?:routing|\baba\b|\brtn\b|\btransit\b|\bach\b|fedwire)/i;

export const abaRouting: ValidatedDetector = {
  id: 'us-bank-routing',
  description: 'US bank routing number (ABA checksum and Federal Reserve prefix, named by context)',
  tags: ['pii', 'financial', 'routing'],
  // Outside a table a routing number needs one of these words before it: only runs near them are looked at.
  keywords: ['routing', 'aba', 'rtn', 'transit', 'ach', 'fedwire'],
  kind: 'routing',
  examples: {
    truePositives: [
      'routing number: 011000015', // gitleaks:allow (Federal Reserve Bank of Boston)
      'ABA 021000021 account 12345678', // gitleaks:allow
      'ach_routing=026009593', // gitleaks:allow
      'RTN 121000358', // gitleaks:allow
    ],
    falsePositives: ['routing number: 011000016', 'order 021000021', 'routing 991000015', 'routing 000000000', 'aba 0210000211'], // gitleaks:allow (lookalikes the tests check are NOT reported)
  },
  find(text: string, allRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    const digitRuns = opts.named.has('routing') ? allRuns : runsNearKeywords(allRuns, opts.keywordEnds);
    for (let ri = 0; ri < digitRuns.length; ri++) {
      const s = digitRuns[ri]!;
      if (!allDigits(text, s, 9) || isDigitAt(text, s + 9) || isWordAt(text, s - 1) || isWordAt(text, s + 9)) continue;
      const pc = text[s - 1];
      if (pc === '.' || pc === '-' || pc === '+' || ((text[s + 9] === '.' || text[s + 9] === '-') && isDigitAt(text, s + 10))) continue;
      const digits = text.slice(s, s + 9);
      if (!abaValid(digits)) continue;
      const word = contextWord(text, s, s + 9, ROUTING_CONTEXT);
      if (!word && !opts.named.has('routing')) continue;
      if (lineAllowed(text, s)) continue;
      out.push(validatedFinding(abaRouting, text, s, s + 9, evidence('routing', 0, ['ABA 3-7-1 checksum', 'Federal Reserve prefix'], word, { needsLift: true })));
    }
    return out;
  },
};

// ISO 3166-1 alpha-2 codes (a BIC's fifth and sixth letters), plus XK (Kosovo), which SWIFT uses.
const COUNTRIES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ ' +
    'DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT ' +
    'JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI ' +
    'NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK ' +
    'TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW'
  ).split(' '),
);

const BIC_SHAPE = /\b([A-Z]{4})([A-Z]{2})([A-Z0-9]{2})([A-Z0-9]{3})?\b/g;

/** Structure of a BIC (ISO 9362): 4 letters, an ISO country, 2 location characters, optional 3-character branch. */
export function bicValid(b: string): boolean {
  const m = /^[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?$/.exec(b);
  // Location '0' as second character marks a test BIC; '1' a passive participant: both are real codes.
  return !!m && COUNTRIES.has(m[1]!);
}

export const swiftBic: ValidatedDetector = {
  id: 'swift-bic',
  description: 'SWIFT/BIC bank identifier code (ISO 9362, named by context)',
  tags: ['pii', 'financial', 'bic'],
  keywords: ['swift', 'bic'],
  kind: 'bic',
  examples: {
    truePositives: ['SWIFT: DEUTDEFF', 'BIC NWBKGB2L', 'swift code BOFAUS3NXXX for the wire', 'bic=COBADEFFXXX'], // gitleaks:allow (published BICs)
    falsePositives: ['DEUTDEFF', 'SWIFT: DEUTQQFF', 'bic: ABCD', 'swift toolchain SWIFTLINT', 'public DEUTDEFF'], // gitleaks:allow (lookalikes the tests check are NOT reported)
  },
  find(text: string, _digitRuns: ArrayLike<number>, opts: FindOptions): RawFinding[] {
    const out: RawFinding[] = [];
    const seen = new Set<number>();
    const consider = (start: number, code: string, word: string | null): void => {
      if (seen.has(start) || !bicValid(code)) return;
      if (!word && !opts.named.has('bic')) return;
      if (lineAllowed(text, start)) return;
      seen.add(start);
      out.push(validatedFinding(swiftBic, text, start, start + code.length, evidence('bic', 0, ['ISO 9362 structure', `country ${code.slice(4, 6)}`], word, { needsLift: true })));
    };
    // After each "swift"/"bic" keyword that is a word of its own, the code follows within a few characters.
    for (const end of opts.keywordEnds) {
      const kwStart = text.slice(end - 5, end).toLowerCase() === 'swift' ? end - 5 : end - 3;
      if (isWordAt(text, kwStart - 1) || isWordAt(text, end)) continue;
      const window = text.slice(end, end + 40);
      BIC_SHAPE.lastIndex = 0;
      for (let m = BIC_SHAPE.exec(window); m; m = BIC_SHAPE.exec(window)) {
        const code = m[0];
        if (code === 'SWIFT' || /^(?:CODE|SWIFT)/.test(code)) continue;
        consider(end + m.index, code, text.slice(kwStart, end).toLowerCase());
        break;
      }
    }
    // In a table every cell of the right shape is kept: a BIC/SWIFT column header names them.
    if (opts.named.has('bic')) {
      BIC_SHAPE.lastIndex = 0;
      for (let m = BIC_SHAPE.exec(text); m; m = BIC_SHAPE.exec(text)) {
        const before = text[m.index - 1];
        const after = text[m.index + m[0].length];
        if (
          (before === undefined || before === '\t' || before === ',' || before === ';' || before === '\n' || before === '"') &&
          (after === undefined || after === '\t' || after === ',' || after === ';' || after === '\n' || after === '"' || after === '\r')
        )
          consider(m.index, m[0], null);
      }
    }
    return out;
  },
};
