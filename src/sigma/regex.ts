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
  return { re: new RegExp(src, f), foldInput, bounded: !linearCapable(src, f) };
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
  return r.re.test(r.bounded && input.length > LIMITS.regexBacktrackingInputMax ? input.slice(0, LIMITS.regexBacktrackingInputMax) : input);
}
