/**
 * The field filter: a small language for analysts, compiled to parameterised SQL over the stored
 * JSON fields (docs/serve.md "Search"). Terms are separated by spaces and all must hold:
 *
 *     EventID=4624 TargetUserName=adm* -Computer=WS00* LogonType>=3 "mimikatz"
 *
 * | term | meaning |
 * |---|---|
 * | `field=value` | a value of the field matches (case-insensitive; `*` is any run of characters) |
 * | `field!=value` | no value of the field matches (also true when the field is missing) |
 * | `field=*` / `field!=*` | the field is present / absent |
 * | `field>n` `field>=n` `field<n` `field<=n` | a value of the field is a number in that range |
 * | `word`, `"some words"` | the text appears anywhere in the event (names and values) |
 * | `-term` | the term does not hold |
 * | `@source=name` | the ingest source (not a field of the event) |
 *
 * A value (or a field name) with spaces or operators is quoted: `CommandLine="* -enc *"`. As in
 * Sigma, `\` escapes only `*`, `"` and `\`, so paths need no doubling except before a wildcard:
 * `Image=C:\Windows\System32\cmd.exe`, `Image=C:\Windows\\*`. A field holding a list matches
 * when any element matches.
 *
 * Values and field names never become SQL text: each is a bound parameter (field names as JSON
 * pointers, RFC 6901).
 */
import { FirebreakError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';

/** A filter that cannot be read; `column` is 1-based. */
export class FilterError extends FirebreakError {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super('filter-syntax', `filter column ${column}: ${message}`);
  }
}

export type Op = '=' | '!=' | '>' | '>=' | '<' | '<=';

/**
 * A value or free-text pattern: literal pieces with a wildcard between each two (`adm*` is
 * `['adm', '']`, a plain value is one piece).
 */
export type Pattern = string[];

export type Term = { kind: 'field'; field: string; op: Op; pattern: Pattern; negate: boolean } | { kind: 'text'; pattern: Pattern; negate: boolean };

/** Compiled filter: a boolean SQL expression over the day-table columns, and its parameters (`$1`…) in order. */
export interface CompiledFilter {
  sql: string;
  params: (string | number)[];
}

/** Characters that end a bare field name. */
const NAME_END = new Set([' ', '\t', '\n', '\r', '=', '!', '<', '>', '"']);
const SPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Read a filter into terms; throws FilterError naming the column of the problem. */
export function parseFilter(text: string): Term[] {
  if (text.length > LIMITS.store.filterMaxChars) throw new FilterError(`longer than ${LIMITS.store.filterMaxChars} characters`, LIMITS.store.filterMaxChars + 1);
  const terms: Term[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (SPACE.has(text[i]!)) {
      i++;
      continue;
    }
    const start = i;
    let negate = false;
    if (text[i] === '-' && i + 1 < n && !SPACE.has(text[i + 1]!)) {
      negate = true;
      i++;
    }
    // A field name (bare or quoted) followed by an operator, or else a free-text term.
    const quoted = text[i] === '"';
    const head = quoted ? readQuoted(text, i) : readBare(text, i, NAME_END);
    i = head.end;
    const op = readOp(text, i);
    if (!op) {
      if (i < n && !SPACE.has(text[i]!)) throw new FilterError(`unexpected '${text[i]}' after ${quoted ? 'a quoted phrase' : `'${text.slice(start, i)}'`}`, i + 1);
      if (head.pattern.join('') === '' && head.pattern.length === 1) throw new FilterError('empty term', start + 1);
      terms.push({ kind: 'text', pattern: head.pattern, negate });
    } else {
      const field = head.pattern.join('*');
      // A quoted "" names the empty key (JSON allows it; hostile senders use it).
      if (!field && !quoted) throw new FilterError(`a field name must come before '${op}'`, i + 1);
      i += op.length;
      const valueQuoted = text[i] === '"';
      const v = valueQuoted ? readQuoted(text, i) : readBare(text, i, SPACE);
      i = v.end;
      if (valueQuoted && i < n && !SPACE.has(text[i]!)) throw new FilterError(`unexpected '${text[i]}' after the quoted value`, i + 1);
      if (op !== '=' && op !== '!=') {
        const num = v.pattern.length === 1 ? v.pattern[0]! : '';
        if (!NUMBER.test(num) || !Number.isFinite(Number(num))) throw new FilterError(`'${op}' compares numbers; '${text.slice(start, i)}' has no number after it`, start + 1);
        if (field === '@source') throw new FilterError(`@source takes = or !=`, start + 1);
      } else if (!valueQuoted && v.pattern.length === 1 && v.pattern[0] === '') {
        throw new FilterError(`no value after '${op}' (write ${field}="" for an empty value, ${field}=* for any)`, i + 1);
      }
      terms.push({ kind: 'field', field, op, pattern: v.pattern, negate });
    }
    if (terms.length > LIMITS.store.filterMaxTerms) throw new FilterError(`more than ${LIMITS.store.filterMaxTerms} terms`, start + 1);
  }
  return terms;
}

function readOp(text: string, i: number): Op | null {
  const two = text.slice(i, i + 2);
  if (two === '!=' || two === '>=' || two === '<=') return two;
  const c = text[i];
  if (c === '=' || c === '>' || c === '<') return c;
  return null;
}

/** `\` escapes only these (as in Sigma): any other backslash is itself, so paths need no doubling. */
const ESCAPABLE = new Set(['*', '"', '\\']);

/** A bare token up to a character of `stop`: pieces split at unescaped `*`. */
function readBare(text: string, i: number, stop: ReadonlySet<string>): { pattern: Pattern; end: number } {
  const pattern: Pattern = [''];
  while (i < text.length && !stop.has(text[i]!)) {
    const c = text[i]!;
    if (c === '\\' && ESCAPABLE.has(text[i + 1] ?? '')) {
      pattern[pattern.length - 1] += text[i + 1]!;
      i += 2;
    } else {
      if (c === '*') pattern.push('');
      else pattern[pattern.length - 1] += c;
      i++;
    }
  }
  return { pattern, end: i };
}

/** A quoted token from `text[i] === '"'`, same escapes. */
function readQuoted(text: string, i: number): { pattern: Pattern; end: number } {
  const open = i;
  const pattern: Pattern = [''];
  i++;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') return { pattern, end: i + 1 };
    if (c === '\\' && ESCAPABLE.has(text[i + 1] ?? '')) {
      pattern[pattern.length - 1] += text[i + 1]!;
      i += 2;
    } else {
      if (c === '*') pattern.push('');
      else pattern[pattern.length - 1] += c;
      i++;
    }
  }
  throw new FilterError('unclosed quote', open + 1);
}

/** An ILIKE pattern (escape character `\`) for a pattern: wildcards → `%`, and `%` `_` `\` literal. */
export function likePattern(p: Pattern): string {
  return p.map((piece) => piece.replace(/[\\%_]/g, (c) => '\\' + c)).join('%');
}

/** A field name as a JSON pointer (RFC 6901), so no name can leave its string. */
export function jsonPointer(field: string): string {
  return '/' + field.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Text as it appears inside the stored JSON (quotes, backslashes and controls escaped as JSON.stringify does). */
function jsonInner(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** Compile terms to one SQL condition over the day-table columns `fields` and `source`. */
export function compileFilter(terms: readonly Term[], firstParam = 1): CompiledFilter {
  const params: (string | number)[] = [];
  const p = (v: string | number): string => {
    params.push(v);
    return `$${firstParam + params.length - 1}`;
  };
  const parts: string[] = [];
  for (const t of terms) {
    let sql: string;
    if (t.kind === 'text') {
      // The stored JSON text holds values JSON-escaped: look for the needle escaped the same way.
      sql = `ilike_escape(CAST(fields AS VARCHAR), ${p(`%${likePattern(t.pattern.map(jsonInner))}%`)}, '\\')`;
    } else if (t.field === '@source') {
      sql = isAny(t.pattern) ? 'true' : `ilike_escape(source, ${p(likePattern(t.pattern))}, '\\')`;
      if (t.op === '!=') sql = `NOT (${sql})`;
    } else {
      sql = fieldTerm(t, p);
    }
    parts.push(t.negate ? `NOT coalesce(${sql}, false)` : sql);
  }
  return { sql: parts.length ? parts.map((x) => `(${x})`).join(' AND ') : 'true', params };
}

const isAny = (p: Pattern): boolean => p.length === 2 && p[0] === '' && p[1] === '';

/**
 * One field term. The field's values are its list's elements, or its one scalar, as text;
 * strings compare case-insensitively (ILIKE), numbers by value. `!=` holds when no value matches.
 */
function fieldTerm(t: Extract<Term, { kind: 'field' }>, p: (v: string | number) => string): string {
  const ptr = p(jsonPointer(t.field));
  if (isAny(t.pattern) && (t.op === '=' || t.op === '!=')) {
    const present = `json_extract(fields, ${ptr}) IS NOT NULL`;
    return t.op === '=' ? present : `NOT (${present})`;
  }
  const values = `CASE WHEN json_type(fields, ${ptr}) = 'ARRAY' THEN CAST(json_extract_string(json_extract(fields, ${ptr}), '$[*]') AS VARCHAR[]) ELSE [json_extract_string(fields, ${ptr})] END`;
  const test = t.op === '=' || t.op === '!=' ? `ilike_escape(x, ${p(likePattern(t.pattern))}, '\\')` : `TRY_CAST(x AS DOUBLE) ${t.op} ${p(Number(t.pattern[0]))}`;
  const any = `coalesce(len(list_filter(${values}, lambda x: ${test})) > 0, false)`;
  return t.op === '!=' ? `NOT ${any}` : any;
}

/** Parse and compile in one step. */
export function buildFilter(text: string, firstParam = 1): CompiledFilter {
  return compileFilter(parseFilter(text), firstParam);
}
