/**
 * Rule regular expressions: Sigma's PCRE subset translated to JavaScript, and made safe against
 * hostile text.
 *
 * Hostile text must not stall matching. V8 runs a regex on its backtracking engine and, with
 * `--enable-experimental-regexp-engine-on-excessive-backtracks`, switches that execution to its
 * linear-time engine once it backtracks too much. The linear engine does not support the `i`
 * flag, so case-insensitive rule regexes are rewritten to match lower-cased text instead (the
 * engine already has every value lower-cased). Patterns the linear engine cannot run at all (large
 * counted repetitions, look-arounds, back-references) only ever see a bounded prefix of a value
 * (LIMITS.regexBacktrackingInputMax).
 */
import v8 from 'node:v8';
import { LIMITS } from '../core/limits.js';

v8.setFlagsFromString('--enable-experimental-regexp-engine');
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
v8.setFlagsFromString('--regexp-backtracks-before-fallback=10000');

/** A compiled rule regex and how it must be fed. */
export interface SafeRegex {
  re: RegExp;
  /** Test against the lower-cased value (case-insensitive regex rewritten for the linear engine). */
  foldInput: boolean;
  /** The linear engine cannot run it: feed it a bounded prefix only. */
  bounded: boolean;
  /**
   * Set when the pattern is only literal text joined by `.*` (`\\+.*\\+.*\\+`): its literal pieces,
   * tested by a left-to-right search instead of the regex engine, which backtracks on such
   * patterns (every `.*` retries every split) until its budget runs out.
   */
  chain?: { pieces: string[]; dotAll: boolean };
}

/**
 * Translate a Sigma regex into a safe JS RegExp. Leading inline flags such as `(?i)` become flags
 * (Node 20 has no inline modifiers). Throws SyntaxError when the pattern is invalid.
 */
export function compileRuleRegex(pattern: string, flags: string): SafeRegex {
  let src = pattern;
  let f = flags;
  const inline = /^\(\?([imsx]+)\)/.exec(src);
  if (inline) {
    for (const c of inline[1]!) if (c !== 'x' && !f.includes(c)) f += c;
    src = src.slice(inline[0].length);
  }
  new RegExp(src, f); // validate the pattern as written
  let foldInput = false;
  if (f.includes('i')) {
    // Lower-case everything but escaped characters (`\S`, `\W`, `\D` keep their meaning).
    src = src.replace(/\\[\s\S]|[^\\]+/g, (m) => (m.startsWith('\\') ? m : m.toLowerCase()));
    f = f.replace('i', '');
    foldInput = true;
  }
  const chain = f.includes('u') || f.includes('y') || f.includes('g') ? undefined : dotStarChain(src);
  return { re: new RegExp(src, f), foldInput, bounded: !linearCapable(src, f), ...(chain ? { chain: { pieces: chain, dotAll: f.includes('s') } } : {}) };
}

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

/**
 * The literal pieces of a pattern made only of literal characters (plain or escaped punctuation)
 * and `.*` / `.*?`, when it has at least one `.*`; undefined for anything else.
 */
export function dotStarChain(src: string): string[] | undefined {
  const pieces: string[] = [''];
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      // Only identity escapes of punctuation: `\d`, `\b`, `\x41`, `\0`… have other meanings.
      if (n === undefined || /[\p{L}\p{N}_]/u.test(n) || LINE_TERMINATOR.test(n)) return undefined;
      pieces[pieces.length - 1] += n;
      i++;
    } else if (c === '.' && src[i + 1] === '*') {
      i += src[i + 2] === '?' ? 2 : 1;
      pieces.push('');
    } else if ('.*+?^$()[]{}|/'.includes(c) || LINE_TERMINATOR.test(c)) {
      return undefined;
    } else {
      pieces[pieces.length - 1] += c;
    }
  }
  if (pieces.length < 2) return undefined;
  return pieces.filter((p) => p.length > 0);
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

/** Test a value; `folded` is its lower-cased form (used by rewritten case-insensitive regexes). */
export function testRegex(r: SafeRegex, text: string, folded: string): boolean {
  const input = r.foldInput ? folded : text;
  if (r.chain) return chainTest(r.chain.pieces, input, r.chain.dotAll);
  return r.re.test(r.bounded && input.length > LIMITS.regexBacktrackingInputMax ? input.slice(0, LIMITS.regexBacktrackingInputMax) : input);
}
