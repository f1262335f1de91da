/**
 * Rule regular expressions: Sigma's PCRE subset translated to JavaScript, and made safe against
 * hostile text.
 */
import v8 from 'node:v8';
import { LIMITS } from '../core/limits.js';

/**
 * Hostile text must not stall matching. V8 can switch a backtracking regex to its linear-time
 * engine after excessive backtracking; enable that before any rule regex is compiled. Patterns
 * the linear engine cannot run (look-arounds, back-references) are only given a bounded prefix
 * of the value (LIMITS.regexBacktrackingInputMax).
 */
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
v8.setFlagsFromString('--regexp-backtracks-before-fallback=10000');

/** A compiled rule regex plus whether it may backtrack without bound. */
export interface SafeRegex {
  re: RegExp;
  /** True when V8's linear engine cannot take over: feed it a bounded prefix only. */
  bounded: boolean;
}

/**
 * Translate a Sigma (PCRE-subset) regex into a JS RegExp. Leading inline flags such as `(?i)`
 * become JS flags (Node 20 has no inline modifiers). Throws SyntaxError when invalid.
 */
export function compileRuleRegex(pattern: string, flags: string): SafeRegex {
  let src = pattern;
  let f = flags;
  const inline = /^\(\?([imsx]+)\)/.exec(src);
  if (inline) {
    for (const c of inline[1]!) if (c !== 'x' && !f.includes(c)) f += c;
    src = src.slice(inline[0].length);
  }
  const re = new RegExp(src, f);
  return { re, bounded: !linearCapable(src, f) };
}

/** Whether V8's linear-time engine supports this pattern (no look-arounds/back-references). */
function linearCapable(src: string, flags: string): boolean {
  return !/\(\?[=!<]|\\[1-9]|\\k</.test(src) && !flags.includes('y');
}

export function testRegex(r: SafeRegex, text: string): boolean {
  return r.re.test(r.bounded && text.length > LIMITS.regexBacktrackingInputMax ? text.slice(0, LIMITS.regexBacktrackingInputMax) : text);
}

