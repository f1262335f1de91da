/**
 * Value semantics shared by the compiled matchers and the reference interpreter, so the two
 * can only differ in speed: how a field value becomes text, numbers, dates and IPs, and how a
 * rule regex becomes a safe JavaScript RegExp.
 */
import type { Scalar } from '../events/event.js';
import type { DatePart } from '../sigma/model.js';
export { compileRuleRegex, testRegex } from '../sigma/regex.js';

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

/** Case folding used for case-insensitive comparisons (full Unicode lower-casing). */
export function fold(s: string): string {
  return s.toLowerCase();
}

/** Text made only of ASCII code units. */
export const ASCII = /^[\x00-\x7f]*$/;

/**
 * One case-insensitive regex matching any of the literals (ASCII literals only, non-empty list):
 * on ASCII text it finds exactly what a search of the lower-cased text for the lower-cased
 * literals finds, since ASCII case folding is the same in the regex and in `fold`.
 */
export function asciiLiteralScreen(literals: readonly string[]): RegExp {
  return new RegExp(literals.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i');
}
