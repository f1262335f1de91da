/**
 * Rule regular expressions: Sigma's PCRE subset translated to JavaScript, and made safe against
 * hostile text, without changing what a plain JavaScript RegExp would answer.
 *
 * Hostile text must not stall matching. V8 runs a regex on its backtracking engine and, with
 * `--enable-experimental-regexp-engine-on-excessive-backtracks`, switches that execution to its
 * linear-time engine once it backtracks too much. The linear engine does not support the `i`
 * flag, so a case-insensitive rule regex is rewritten into its case-closed equivalent: every
 * character and class becomes the set of code units the `i` flag would let it match (the
 * ECMAScript `Canonicalize` of non-unicode patterns), read from the parsed pattern, so escapes
 * (`\x41`, `\u0041`, `\101`) and ranges (`[A-z]`) keep their meaning. Patterns the linear
 * engine cannot run at all (large counted repetitions, look-arounds, back-references) only ever
 * see a bounded prefix of a value (LIMITS.regexBacktrackingInputMax).
 */
import { applyV8Flags } from '../core/v8flags.js';
import { RegExpParser, type AST } from '@eslint-community/regexpp';
import { LIMITS } from '../core/limits.js';

// Set at the program's entry (src/core/v8flags.ts); again here for library use, before any rule regex.
applyV8Flags();

/** A compiled rule regex and how it must be fed. */
export interface SafeRegex {
  /** Runs on the value as it is (a case-insensitive pattern is already case-closed). */
  re: RegExp;
  /** The linear engine cannot run it: feed it a bounded prefix only. */
  bounded: boolean;
  /**
   * Set when the pattern is only literal text joined by `.*` (`\\+.*\\+.*\\+`): its literal pieces,
   * tested by a left-to-right search instead of the regex engine, which backtracks on such
   * patterns (every `.*` retries every split) until its budget runs out. `folded`: the pieces are
   * lower-cased ASCII and are searched in the lower-cased value.
   */
  chain?: { pieces: string[]; dotAll: boolean; folded: boolean };
}

/** ECMAScript 2024, the syntax Node 20's RegExp accepts; Annex B (web-compatible) syntax allowed. */
const parser = new RegExpParser({ ecmaVersion: 2024, strict: false });

/**
 * Translate a Sigma regex into a safe JS RegExp. A leading inline flag group such as `(?i)`
 * becomes flags (Node 20 has no inline modifiers); `(?x)` and other PCRE flags are refused
 * rather than ignored. Throws SyntaxError when the pattern is invalid.
 */
export function compileRuleRegex(pattern: string, flags: string): SafeRegex {
  let src = pattern;
  let f = flags;
  const inline = /^\(\?([A-Za-z]+)\)/.exec(src);
  if (inline) {
    for (const c of inline[1]!) {
      if (!'ims'.includes(c)) throw new SyntaxError(`inline flag '${c}' in '${inline[0]}' is not supported (only i, m and s are)`);
      if (!f.includes(c)) f += c;
    }
    src = src.slice(inline[0].length);
  }
  new RegExp(src, f); // validate the pattern as written
  const unicode = f.includes('u') || f.includes('v');
  let ast: AST.Pattern | undefined;
  if (!unicode) {
    try {
      ast = parser.parsePattern(src, 0, src.length, { unicode: false });
    } catch {
      ast = undefined; // V8 accepts what the parser does not: keep the pattern as written
    }
  }
  let out = src;
  const ignoreCase = f.includes('i');
  if (ast && ignoreCase && !hasBackreference(ast)) {
    out = caseClosed(ast);
    f = f.replace('i', '');
  }
  const chain = ast && !f.includes('y') && !f.includes('g') ? dotStarPieces(ast, ignoreCase) : undefined;
  return { re: new RegExp(out, f), bounded: !linearCapable(out, f), ...(chain ? { chain: { pieces: chain, dotAll: f.includes('s'), folded: ignoreCase } } : {}) };
}

function hasBackreference(n: AST.Node): boolean {
  switch (n.type) {
    case 'Backreference':
      return true;
    case 'Pattern':
    case 'Group':
    case 'CapturingGroup':
      return n.alternatives.some(hasBackreference);
    case 'Assertion':
      return (n.kind === 'lookahead' || n.kind === 'lookbehind') && n.alternatives.some(hasBackreference);
    case 'Alternative':
      return n.elements.some(hasBackreference);
    case 'Quantifier':
      return hasBackreference(n.element);
    default:
      return false;
  }
}

// ---- case closure (ECMAScript Canonicalize for non-unicode, case-insensitive patterns) ----

/** Code units that `i` makes equal, grouped: each group lists every member (size ≥ 2). */
let caseGroups: { groupOf: Int32Array; members: number[][] } | undefined;

function groups(): { groupOf: Int32Array; members: number[][] } {
  if (caseGroups) return caseGroups;
  // Canonicalize(ch): the upper case of ch when it is one code unit, except that a non-ASCII
  // character never maps to ASCII (ECMA-262 §22.2.2.7.3, non-unicode branch).
  const byCanon = new Map<number, number[]>();
  for (let ch = 0; ch <= 0xffff; ch++) {
    const u = String.fromCharCode(ch).toUpperCase();
    const cu = u.length === 1 ? u.charCodeAt(0) : ch;
    const canon = ch >= 128 && cu < 128 ? ch : cu;
    const list = byCanon.get(canon);
    if (list) list.push(ch);
    else byCanon.set(canon, [ch]);
  }
  const groupOf = new Int32Array(0x10000).fill(-1);
  const members: number[][] = [];
  for (const list of byCanon.values()) {
    if (list.length < 2) continue;
    for (const ch of list) groupOf[ch] = members.length;
    members.push(list);
  }
  return (caseGroups = { groupOf, members });
}

const unit = (c: number) => `\\u${c.toString(16).padStart(4, '0')}`;

/** Regex source for a set of code units given as sorted, disjoint [lo, hi] ranges. */
function rangesSource(ranges: readonly [number, number][]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? unit(lo) : `${unit(lo)}-${unit(hi)}`)).join('');
}

/** Sorted, merged ranges. */
function normalise(ranges: [number, number][]): [number, number][] {
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** The ranges plus every code unit `i` makes equal to a member of them. */
function closeRanges(ranges: [number, number][]): [number, number][] {
  const { groupOf, members } = groups();
  // The groups the ranges touch: looked up unit by unit for small ranges (a character, `[a-z]`),
  // by scanning every group only for a range wider than there are groups (`[\u0000-\uffff]`).
  const touched = new Set<number>();
  for (const [lo, hi] of ranges) {
    if (hi - lo < members.length)
      for (let c = lo; c <= hi; c++) {
        const g = groupOf[c]!;
        if (g >= 0) touched.add(g);
      }
    else members.forEach((group, g) => group.some((c) => c >= lo && c <= hi) && touched.add(g));
  }
  if (!touched.size) return normalise(ranges);
  const extra: [number, number][] = [];
  for (const g of touched) for (const c of members[g]!) extra.push([c, c]);
  return normalise([...ranges, ...extra]);
}

/** Build the case groups now (a table over every code unit, dear the first time), e.g. while a worker starts. */
export function prepareCaseClosure(): void {
  groups();
}

/**
 * The pattern rewritten so that, without `i`, it matches exactly what it matched with `i`.
 * `\d \w \s` and their negations are already closed under non-unicode case folding, and `.`,
 * anchors and `\b` do not depend on case.
 */
function caseClosed(n: AST.Node): string {
  const alts = (xs: AST.Alternative[]) => xs.map(caseClosed).join('|');
  switch (n.type) {
    case 'Pattern':
      return alts(n.alternatives);
    case 'Alternative':
      return n.elements.map(caseClosed).join('');
    case 'Group':
      return `(?:${alts(n.alternatives)})`;
    case 'CapturingGroup':
      return `(${n.name !== null ? `?<${n.name}>` : ''}${alts(n.alternatives)})`;
    case 'Assertion':
      if (n.kind === 'lookahead' || n.kind === 'lookbehind') return `(?${n.kind === 'lookbehind' ? '<' : ''}${n.negate ? '!' : '='}${alts(n.alternatives)})`;
      return n.raw;
    case 'Quantifier':
      return caseClosed(n.element) + n.raw.slice(n.element.end - n.start);
    case 'Character': {
      const closed = closeRanges([[n.value, n.value]]);
      return closed.length === 1 && closed[0]![0] === closed[0]![1] ? unit(n.value) : `[${rangesSource(closed)}]`;
    }
    case 'CharacterClass': {
      const ranges: [number, number][] = [];
      let sets = '';
      for (const e of n.elements) {
        if (e.type === 'Character') ranges.push([e.value, e.value]);
        else if (e.type === 'CharacterClassRange') ranges.push([e.min.value, e.max.value]);
        else sets += e.raw; // \d \w \s \D \W \S
      }
      return `[${n.negate ? '^' : ''}${sets}${rangesSource(closeRanges(ranges))}]`;
    }
    default:
      // `.`, \d \w \s outside classes; back-references never reach here.
      return n.raw;
  }
}

// ---- literal pieces joined by .* ----

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;
/** Characters whose lower case contains ASCII although they are not ASCII (Kelvin sign, İ). */
const FOLDS_TO_ASCII = /[\u0130\u212a]/;

/**
 * The literal pieces of a pattern made only of literal characters (in any escape form) and
 * `.*` / `.*?`, when it has at least one `.*`; undefined for anything else. With `ignoreCase`,
 * only ASCII pieces qualify, lower-cased.
 */
function dotStarPieces(ast: AST.Pattern, ignoreCase: boolean): string[] | undefined {
  if (ast.alternatives.length !== 1) return undefined;
  const pieces: string[] = [''];
  for (const e of ast.alternatives[0]!.elements) {
    if (e.type === 'Character') {
      const c = String.fromCharCode(e.value);
      if (LINE_TERMINATOR.test(c) || (ignoreCase && e.value > 0x7f)) return undefined;
      pieces[pieces.length - 1] += ignoreCase ? c.toLowerCase() : c;
    } else if (e.type === 'Quantifier' && e.min === 0 && e.max === Infinity && e.element.type === 'CharacterSet' && e.element.kind === 'any') {
      pieces.push('');
    } else {
      return undefined;
    }
  }
  if (pieces.length < 2) return undefined;
  return pieces.filter((p) => p.length > 0);
}

/** The literal pieces of a case-sensitive pattern of literal text joined by `.*` (see SafeRegex.chain). */
export function dotStarChain(src: string): string[] | undefined {
  try {
    return dotStarPieces(parser.parsePattern(src, 0, src.length, { unicode: false }), false);
  } catch {
    return undefined;
  }
}

/** Do the pieces occur in order within one line (or anywhere, with dotAll)? */
function chainTest(pieces: readonly string[], text: string, dotAll: boolean): boolean {
  if (!inOrder(pieces, text)) return false;
  if (dotAll || !LINE_TERMINATOR.test(text)) return true;
  // `.` does not cross line terminators: the whole match must lie within one line.
  return text.split(/[\n\r\u2028\u2029]/).some((line) => inOrder(pieces, line));
}

/** Leftmost occurrences in order: if any placement exists, this one does. */
function inOrder(pieces: readonly string[], text: string): boolean {
  let pos = 0;
  for (let i = 0; i < pieces.length; i++) {
    const at = text.indexOf(pieces[i]!, pos);
    if (at < 0) return false;
    pos = at + pieces[i]!.length;
  }
  return true;
}

function linearCapable(src: string, flags: string): boolean {
  try {
    new RegExp(src, flags + 'l');
    return true;
  } catch {
    return false;
  }
}

/**
 * Test a value; `folded` is its lower-cased form. A case-insensitive chain searches the folded
 * value, which for ASCII pieces is exact unless the value holds a character that lower-cases
 * into ASCII without being ASCII (then the case-closed regex decides).
 */
export function testRegex(r: SafeRegex, text: string, folded: string): boolean {
  const c = r.chain;
  if (c && !c.folded) return chainTest(c.pieces, text, c.dotAll);
  if (c && !FOLDS_TO_ASCII.test(text)) return chainTest(c.pieces, folded, c.dotAll);
  return r.re.test(r.bounded && text.length > LIMITS.regexBacktrackingInputMax ? text.slice(0, LIMITS.regexBacktrackingInputMax) : text);
}
