/**
 * Confidence for personal and financial identifiers (cards, IBANs, national numbers, bulk
 * contacts). A finding carries a score built from evidence, each step with a reason:
 *
 *   form     a checksum-valid value in its usual printed form (grouped card, dashed SSN, IBAN) = 2;
 *            valid but bare digits = 1 (card) or 0 (nine bare digits: needs context to exist at all)
 *   context  a word that names the kind near the value: +1 (+2 for a value that needs context)
 *   header   the column header names the kind: +2
 *   density  most values of the file or column are valid identifiers of the kind: high
 *   place    source code, test data, a numeric table, strings of a binary (lookalikes live
 *            there): low, unless a header or density names the value
 *
 * Score 3 or more is high, 2 medium, 1 low; a value whose evidence is demoted below 1 stays low
 * (with its reasons), and a value that needed context and got none is not reported.
 */

export const LEVELS = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof LEVELS)[number];

/** The kinds of identifier a column header or a context word can name. */
export type PiiKind = 'card' | 'ssn' | 'itin' | 'nino' | 'sin' | 'iban' | 'bic' | 'routing' | 'email' | 'phone';

/** What a validated detector says about one value before the file around it is known. */
export interface PiiEvidence {
  kind: PiiKind;
  /** Score from the value and the words next to it. */
  score: number;
  reasons: string[];
  /** The value is reported only when context (a word or a header) lifts it. */
  needsLift?: boolean;
  /** Counts toward file/column density (a strong form: grouped card, dashed SSN, IBAN). */
  dense?: boolean;
  /** The context word that raised the score, and by how much (a table judges it again: see assess.ts). */
  context?: { word: string; bonus: number };
}

export function levelOf(score: number): Confidence {
  return score >= 3 ? 'high' : score >= 2 ? 'medium' : 'low';
}

export function levelRank(c: Confidence): number {
  return LEVELS.indexOf(c);
}

/** Header words, several languages, per kind: a header naming the kind lifts every value under it. */
const HEADER_WORDS: [PiiKind | 'personal', RegExp][] = [
  [
    'card',
    /\b(?:credit ?card|debit ?card|card ?(?:no|num|number|nr|#)?|cc ?(?:no|num|number)?|ccnum|pan|kreditkarte(?:nnummer)?|kartennummer|karte|carte(?: bancaire| de cr[ée]dit)?|num[ée]ro de (?:la )?carte|tarjeta|n[úu]mero de tarjeta|cart[ãa]o|carta(?: di credito)?|numero carta|creditcard|kaartnummer|kortnummer|visa|mastercard|amex)\b/i,
  ],
  ['ssn', /\b(?:ssn|social ?security(?: ?(?:no|num|number|#))?|soc ?sec|ss ?#|ss ?no|n[úu]mero de seguro social)\b/i],
  ['itin', /\b(?:itin|individual taxpayer|taxpayer id|tax ?id|tin)\b/i],
  ['nino', /\b(?:nino|ni ?(?:no|number)|national insurance(?: number| no)?)\b/i],
  ['sin', /\b(?:sin|social insurance(?: number| no)?|nas|num[ée]ro d.assurance sociale)\b/i],
  ['iban', /\b(?:iban|bank ?account|account ?(?:no|number|nr)?|acct|konto(?:nummer)?|compte(?: bancaire)?|cuenta|conto(?: corrente)?|rekening(?:nummer)?|kontonr)\b/i],
  ['bic', /\b(?:bic|swift(?: ?code)?|bic ?code)\b/i],
  ['routing', /\b(?:routing(?: ?(?:no|number|#))?|aba(?: ?(?:no|number|routing))?|rtn|transit(?: ?number)?)\b/i],
  ['email', /\b(?:e-?mail(?: ?address)?|mail|courriel|correo(?: electr[óo]nico)?|e-?mailadresse)\b/i],
  ['phone', /\b(?:phone|tel|telephone|t[ée]l[ée]phone|tel[ée]fono|telefon(?:nummer)?|mobile|cell|handy|fax)\b/i],
  [
    'personal',
    /\b(?:salary|salaire|gehalt|salario|sueldo|stipendio|wage|pay ?rate|dob|date of birth|birth ?date|geburtsdatum|date de naissance|fecha de nacimiento|diagnosis|medical|patient|passport|driver.?s? licen[cs]e|address|adresse|direcci[óo]n)\b/i,
  ],
];

/** The kinds a header cell names (a "Card number / PAN" header names card). */
export function headerKinds(header: string): (PiiKind | 'personal')[] {
  const h = header.replace(/[_.]+/g, ' ').trim();
  if (!h || h.length > 64) return [];
  return HEADER_WORDS.filter(([, re]) => re.test(h)).map(([k]) => k);
}

const SOURCE_EXT =
  /\.(?:c|cc|cpp|cxx|h|hh|hpp|cs|java|kt|kts|scala|groovy|go|rs|swift|m|mm|py|pyi|pyx|rb|php|pl|pm|js|mjs|cjs|jsx|ts|tsx|vue|svelte|lua|r|jl|dart|ex|exs|erl|hs|ml|fs|clj|sh|bash|zsh|ps1|psm1|sql|asm|s|pyc|class)$/i;
const TEST_DIR = /(?:^|[/\\!])(?:tests?|spec|specs|__tests__|testdata|test[-_]data|fixtures?|examples?|samples?|mocks?|__mocks__|testing)(?:[/\\!]|$)/i;
const TEST_NAME = /(?:^|[/\\!])(?:test_[^/\\!]*|[^/\\!]*_test\.[a-z]+|[^/\\!]*\.(?:test|spec)\.[a-z]+|conftest\.py)$/i;

/** Where lookalikes live: reasons that lower a finding in this file (path below the scanned root). */
export function placeReasons(relativePath: string): string[] {
  const out: string[] = [];
  const inner = relativePath.split('!').pop()!;
  if (SOURCE_EXT.test(inner)) out.push('source code');
  if (TEST_DIR.test(relativePath) || TEST_NAME.test(relativePath)) out.push('test data');
  return out;
}

/**
 * Is this text a numeric table (Unicode collation data, lookup tables, matrices)? Most of its
 * lines are three or more numbers and little else, so digit runs that pass Luhn are chance.
 */
export function isNumericTable(sample: string): boolean {
  let lines = 0;
  let numeric = 0;
  for (const line of sample.split('\n', 200)) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    lines++;
    const tokens = t.split(/[\s,;|:]+/).filter(Boolean);
    if (tokens.length < 3) continue;
    const nums = tokens.filter((x) => /^[-+]?(?:0x)?[0-9A-Fa-f]+(?:\.[0-9]+)?$/.test(x) && /\d/.test(x)).length;
    if (nums >= 3 && nums / tokens.length >= 0.7) numeric++;
  }
  return lines >= 5 && numeric / lines >= 0.6;
}
