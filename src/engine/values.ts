/**
 * Value semantics shared by the compiled matchers and the reference interpreter, so the two
 * can only differ in speed: how a field value becomes text, numbers, dates and IPs, and how a
 * rule regex becomes a safe JavaScript RegExp.
 */
import v8 from 'node:v8';
import { LIMITS } from '../core/limits.js';
import type { Scalar } from '../events/event.js';
import type { DatePart } from '../sigma/model.js';

/**
 * Hostile text must not stall matching. V8 can switch a backtracking regex to its linear-time
 * engine after excessive backtracking; enable that before any rule regex is compiled. Patterns
 * the linear engine cannot run (look-arounds, back-references) are only given a bounded prefix
 * of the value (LIMITS.regexBacktrackingInputMax).
 */
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
v8.setFlagsFromString('--regexp-backtracks-before-fallback=10000');

/** Field value as text: null is the empty string, booleans and numbers their JS text. */
export function toText(v: Scalar): string {
  return v === null ? '' : typeof v === 'string' ? v : String(v);
}

/** Field value as a number: numbers, decimal text, or `0x` hex text (Windows prints hex). */
export function toNumber(v: Scalar): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const t = v.trim();
  if (/^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  return NaN;
}

/** A date part (UTC) of a timestamp value, NaN when the value is not a date. */
export function datePartOf(v: Scalar, part: DatePart): number {
  let d: Date;
  if (typeof v === 'number') d = new Date(v > 1e11 ? v : v * 1000);
  else if (typeof v === 'string' && v.trim()) d = new Date(/^\d{4}-\d\d-\d\d \d/.test(v) ? v.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? '' : 'Z') : v);
  else return NaN;
  const t = d.getTime();
  if (Number.isNaN(t)) return NaN;
  switch (part) {
    case 'minute':
      return d.getUTCMinutes();
    case 'hour':
      return d.getUTCHours();
    case 'day':
      return d.getUTCDate();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'year':
      return d.getUTCFullYear();
    case 'week': {
      // ISO-8601 week number.
      const x = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      const day = x.getUTCDay() || 7;
      x.setUTCDate(x.getUTCDate() + 4 - day);
      const yearStart = Date.UTC(x.getUTCFullYear(), 0, 1);
      return Math.ceil(((x.getTime() - yearStart) / 86400000 + 1) / 7);
    }
  }
}

export function compareNumbers(a: number, op: 'lt' | 'lte' | 'gt' | 'gte' | 'eq', b: number): boolean {
  switch (op) {
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'eq':
      return a === b;
  }
}

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

/** Case folding used for case-insensitive comparisons (full Unicode lower-casing). */
export function fold(s: string): string {
  return s.toLowerCase();
}
