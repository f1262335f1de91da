/**
 * Seeded generators for the regex differential test: random Sigma-style regex patterns that
 * exercise every escape and construct JavaScript's non-unicode syntax has, and candidate texts
 * sampled from a pattern's own syntax tree (so that a fair share of them match), then mutated
 * (case flips, insertions, deletions, characters whose case mapping is unusual).
 */
import { RegExpParser, type AST } from '@eslint-community/regexpp';

export type Rand = () => number;

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * Characters whose case mapping is unusual: Kelvin sign and long s (upper-case to ASCII), dotted
 * capital I (lower-cases to two code units), dotless i, final sigma, micro sign, sharp s, Cyrillic.
 */
export const ODD_CHARS = ['\u212a', '\u017f', '\u0130', '\u0131', 'ς', 'σ', 'Σ', 'µ', 'μ', 'ß', 'ẞ', 'é', 'É', 'ж', 'Ж'];
const LETTERS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const TEXT_EXTRA = [...ODD_CHARS, ' ', '\n', '\r', '\u2028', '\t', '-', '_', '.', '+', '(', ')', '\\', '/', ':', '0', '7', '9', '{', '}'];

/** A literal-ish atom: plain or escaped characters, every escape form that names a character. */
function literalAtom(r: Rand): string {
  const c = pick(r, LETTERS);
  switch (int(r, 0, 11)) {
    case 0:
      return `\\x${hex(c.charCodeAt(0), 2)}`;
    case 1:
      return `\\x${hex(c.charCodeAt(0), 2).toUpperCase()}`;
    case 2:
      return `\\u${hex(c.charCodeAt(0), 4)}`;
    case 3:
      return `\\u${hex(pick(r, ODD_CHARS).charCodeAt(0), 4)}`;
    case 4:
      return pick(r, ODD_CHARS);
    case 5:
      return pick(r, ['\\.', '\\+', '\\(', '\\)', '\\\\', '\\/', '\\-', '\\$', '\\{', '\\}', '\\|', '-', ' ', ':', '_', '0', '9']);
    case 6:
      // Annex B octal escapes (`\101` is `A`), control escapes, whitespace escapes.
      return pick(r, ['\\101', '\\141', '\\7', '\\cJ', '\\cj', '\\t', '\\n', '\\0']);
    default:
      return c;
  }
}

function classItem(r: Rand): string {
  switch (int(r, 0, 8)) {
    case 0:
      return pick(r, ['a-f', 'A-F', 'k-s', 'K-S', 'A-z', '0-9', 'x-z']);
    case 1:
      return pick(r, ['\\x41-\\x46', '\\x61-\\x66', '\\u00c0-\\u00ff', '\\u0100-\\u017f', '\\u2100-\\u212f', '\\u0400-\\u044f']);
    case 2:
      return pick(r, ['\\d', '\\w', '\\s', '\\D', '\\W', '\\S', '\\b']);
    case 3:
      return pick(r, ['\\\\', '\\]', '\\-', '-', '.', '^', '$', '|', '(', '*']);
    default:
      return literalAtom(r).replace(/^\\([\\/])$/, '\\$1');
  }
}

interface GenState {
  groups: number;
  names: string[];
}

function atom(r: Rand, depth: number, st: GenState): string {
  const k = r();
  if (k < 0.5) return literalAtom(r);
  if (k < 0.6) return pick(r, ['\\d', '\\w', '\\s', '\\D', '\\W', '\\S', '.']);
  if (k < 0.75) return '[' + (r() < 0.3 ? '^' : '') + Array.from({ length: int(r, 1, 3) }, () => classItem(r)).join('') + ']';
  if (k < 0.9 && depth < 3) {
    const open = pick(r, ['(', '(', '(?:', '(?=', '(?!', '(?<=', '(?<!', '(?<g>']);
    let o = open;
    if (open === '(?<g>') {
      const name = `g${st.names.length}`;
      o = `(?<${name}>`;
      st.names.push(name);
    }
    if (o === '(' || o.startsWith('(?<g')) st.groups++;
    return o + alternation(r, depth + 1, st) + ')';
  }
  if (k < 0.95 && st.groups > 0) return r() < 0.5 || !st.names.length ? `\\${int(r, 1, st.groups)}` : `\\k<${pick(r, st.names)}>`;
  return pick(r, ['\\b', '\\B', '^', '$']);
}

function sequence(r: Rand, depth: number, st: GenState): string {
  let s = '';
  for (let n = int(r, 1, 5); n > 0; n--) {
    let a = atom(r, depth, st);
    if (r() < 0.3 && !/^(\\[bB]|\^|\$|\(\?<?[=!])/.test(a)) a += pick(r, ['*', '+', '?', '{1,3}', '{2}', '*?', '+?', '??', '{0,2}?']);
    s += a;
  }
  return s;
}

function alternation(r: Rand, depth: number, st: GenState): string {
  return Array.from({ length: r() < 0.25 ? 2 : 1 }, () => sequence(r, depth, st)).join('|');
}

/** A random pattern in JavaScript's non-unicode regex syntax; may be invalid (callers skip those). */
export function randomPattern(r: Rand): string {
  const st: GenState = { groups: 0, names: [] };
  let p = (r() < 0.2 ? '^' : '') + alternation(r, 0, st) + (r() < 0.2 ? '$' : '');
  if (r() < 0.15) p = '(?i)' + p;
  return p;
}

const parser = new RegExpParser({ ecmaVersion: 2024, strict: false });
const isLineTerminator = (c: string) => /[\n\r\u2028\u2029]/.test(c);

function swapCase(r: Rand, c: string): string {
  if (r() < 0.5) return c;
  const u = c.toUpperCase();
  const l = c.toLowerCase();
  return c === u ? l : u;
}

function randomTextChar(r: Rand): string {
  return r() < 0.6 ? pick(r, LETTERS) : pick(r, TEXT_EXTRA);
}

/** Texts that a pattern likely matches: a walk of its syntax tree, choosing at random. */
export function sampleMatches(pattern: string, ignoreCase: boolean, r: Rand, count: number): string[] {
  let ast: AST.Pattern;
  try {
    ast = parser.parsePattern(pattern, 0, pattern.length, { unicode: false });
  } catch {
    return [];
  }
  const inSet = (raw: string, c: string) => new RegExp(`^${raw}$`, ignoreCase ? 'i' : '').test(c);
  const fromSet = (raw: string): string => {
    for (let i = 0; i < 30; i++) {
      const c = randomTextChar(r);
      if (inSet(raw, c)) return c;
    }
    return '';
  };
  const walk = (n: AST.Node): string => {
    switch (n.type) {
      case 'Pattern':
      case 'Group':
      case 'CapturingGroup':
        return walk(pick(r, n.alternatives));
      case 'Alternative':
        return n.elements.map(walk).join('');
      case 'Character': {
        const c = String.fromCharCode(n.value);
        return ignoreCase ? swapCase(r, c) : c;
      }
      case 'CharacterClass': {
        const e = n.elements.length && !n.negate ? pick(r, n.elements) : undefined;
        if (e?.type === 'Character') return walk(e);
        if (e?.type === 'CharacterClassRange') return String.fromCharCode(int(r, e.min.value, e.max.value));
        return fromSet(n.raw);
      }
      case 'CharacterSet':
        if (n.kind === 'any') {
          const c = randomTextChar(r);
          return isLineTerminator(c) ? 'x' : c;
        }
        return fromSet(n.raw);
      case 'Quantifier': {
        const times = n.min + int(r, 0, Math.min(n.max - n.min, 3));
        return Array.from({ length: times }, () => walk(n.element)).join('');
      }
      case 'Assertion':
        return n.kind === 'lookahead' && !n.negate ? walk(pick(r, n.alternatives)) : '';
      default:
        return '';
    }
  };
  return Array.from({ length: count }, () => walk(ast));
}

/** Mutations of a text: case flips, odd characters inserted, pieces dropped or repeated. */
export function mutate(text: string, r: Rand): string {
  const chars = [...text];
  for (let n = int(r, 1, 3); n > 0; n--) {
    const at = int(r, 0, chars.length);
    switch (int(r, 0, 4)) {
      case 0:
        chars.splice(at, 0, randomTextChar(r));
        break;
      case 1:
        chars.splice(at, 1);
        break;
      case 2:
        if (at < chars.length) chars[at] = swapCase(r, chars[at]!);
        break;
      case 3:
        chars.splice(at, 0, pick(r, ODD_CHARS));
        break;
      default:
        for (let i = 0; i < chars.length; i++) chars[i] = swapCase(r, chars[i]!);
    }
  }
  return chars.join('');
}

/** A text of random characters from the alphabet the generators use. */
export function randomText(r: Rand, maxLength: number): string {
  return Array.from({ length: int(r, 0, maxLength) }, () => randomTextChar(r)).join('');
}
