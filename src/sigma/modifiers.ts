/**
 * The value-modifier registry (spec v2.1 appendix "Modifiers"; pySigma `sigma/modifiers.py`).
 * Each modifier is one small unit grouped by kind; adding a modifier touches this file only.
 *
 * Modifiers apply left to right to each value. A value flows through them as a `ModValue`
 * and ends as a `ValueMatcher` (model.ts). Modifiers that turn one value into several
 * (windash, base64offset, expand) produce an `alt` whose branches are always OR-ed, even under
 * `|all` (pySigma `SigmaExpansion`).
 */
import { FirebreakError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { DatePart, StrPart, ValueMatcher } from './model.js';
import { concatParts, endsWithStar, hasWildcards, parseSigmaString, plainText, startsWithStar } from './strings.js';
import { parseCidr } from './cidr.js';
import { compileRuleRegex } from './regex.js';

/** A value while modifiers are being applied. `raw` is the untouched YAML text, for `re`/`cidr`. */
export type ModValue =
  | { t: 'str'; parts: StrPart[]; raw?: string }
  | { t: 'bytes'; data: Buffer }
  | { t: 'num'; n: number }
  | { t: 'bool'; b: boolean }
  | { t: 'null' }
  | { t: 're'; pattern: string; flags: string }
  | { t: 'datepart'; part: DatePart }
  | { t: 'done'; m: ValueMatcher }
  | { t: 'alt'; values: ModValue[] };

/** Per-item state shared by the chain: list-level flags and where placeholders come from. */
export interface ModifierContext {
  field: string | null;
  /** Modifiers of the chain, in order, and the index of the one being applied. */
  chain: readonly string[];
  index: number;
  all: boolean;
  negate: boolean;
  cased: boolean;
  placeholders: ReadonlyMap<string, readonly string[]> | undefined;
  usedPlaceholders: Set<string>;
}

export class ModifierError extends FirebreakError {}

type Kind = 'generic' | 'string' | 'regex' | 'encoding' | 'numeric' | 'time' | 'ip' | 'specific';
interface Modifier {
  kind: Kind;
  /** Applied once per item before values are touched (list modifiers: all, neq, cased). */
  flag?: (ctx: ModifierContext) => void;
  /** Applied to each value. */
  value?: (v: ModValue, ctx: ModifierContext) => ModValue;
}

const fail = (code: string, message: string): never => {
  throw new ModifierError(code, message);
};

/** Apply `fn` to every branch of an alternative, else to the value itself. */
function each(v: ModValue, fn: (v: ModValue) => ModValue): ModValue {
  if (v.t === 'alt') return alt(v.values.map((x) => each(x, fn)));
  return fn(v);
}

function alt(values: ModValue[]): ModValue {
  if (values.length > LIMITS.maxExpandedValues) fail('modifier-expansion', `modifier expansion yields ${values.length} values (limit ${LIMITS.maxExpandedValues})`);
  return values.length === 1 ? values[0]! : { t: 'alt', values };
}

/** The string form of a value for string modifiers (numbers become their text; bytes latin1). */
function asParts(v: ModValue, mod: string): StrPart[] {
  switch (v.t) {
    case 'str':
      return v.parts;
    case 'num':
      return [String(v.n)];
    case 'bytes':
      return [v.data.toString('latin1')];
    default:
      return fail('modifier-type', `'${mod}' needs a string value, got ${describe(v)}`);
  }
}

/** Bytes of a value for encoding modifiers: strings as UTF-8, no wildcards allowed. */
function asBytes(v: ModValue, mod: string): Buffer {
  if (v.t === 'bytes') return v.data;
  const parts = asParts(v, mod);
  const text = plainText(parts);
  if (text === undefined) return fail('modifier-wildcard', `'${mod}' cannot encode a value with wildcards`);
  return Buffer.from(text, 'utf8');
}

function describe(v: ModValue): string {
  return { str: 'a string', bytes: 'bytes', num: 'a number', bool: 'a boolean', null: 'null', re: 'a regex', datepart: 'a date part', done: 'a finished matcher', alt: 'alternatives' }[v.t];
}

function positional(where: 'contains' | 'startswith' | 'endswith') {
  return (v: ModValue): ModValue =>
    each(v, (x) => {
      if (x.t === 're') {
        // Regexes are searched (unanchored); startswith/endswith anchor one end. The whole pattern
        // is wrapped (`^a|b` anchors only `a`, `a\$` ends in a literal dollar) after any leading
        // inline flag group, which must stay first.
        if (where === 'contains') return x;
        const head = /^\(\?[A-Za-z]+\)/.exec(x.pattern)?.[0] ?? '';
        const body = x.pattern.slice(head.length);
        return { ...x, pattern: where === 'startswith' ? `${head}^(?:${body})` : `${head}(?:${body})$` };
      }
      if (x.t === 'done' && x.m.kind === 'fieldref') {
        const position = where === 'contains' ? 'contains' : where === 'startswith' ? 'start' : 'end';
        return { t: 'done', m: { ...x.m, position } };
      }
      const parts = asParts(x, where);
      const star: StrPart = { wildcard: '*' };
      const head = where !== 'startswith' && !startsWithStar(parts) ? [star] : [];
      const tail = where !== 'endswith' && !endsWithStar(parts) ? [star] : [];
      return { t: 'str', parts: concatParts(head, parts, tail) };
    });
}

const WINDASH = ['-', '/', '\u2013', '\u2014', '\u2015'];
/** pySigma: a dash or slash where a flag starts (non-word before, word after). */
const WINDASH_POSITION = /\B[-/\u2013\u2014\u2015]\b/g;

function windash(v: ModValue): ModValue {
  return each(v, (x) => {
    const parts = asParts(x, 'windash');
    let variants: StrPart[][] = [[]];
    for (const p of parts) {
      if (typeof p !== 'string') {
        variants = variants.map((vv) => [...vv, p]);
        continue;
      }
      const pieces = p.split(WINDASH_POSITION);
      let texts = [pieces[0]!];
      for (let i = 1; i < pieces.length; i++) {
        texts = texts.flatMap((t) => WINDASH.map((d) => t + d + pieces[i]));
        if (texts.length * variants.length > LIMITS.maxExpandedValues) fail('modifier-expansion', `windash expansion exceeds ${LIMITS.maxExpandedValues} values`);
      }
      variants = variants.flatMap((vv) => texts.map((t) => concatParts(vv, [t])));
    }
    return alt(variants.map((parts) => ({ t: 'str', parts })));
  });
}

/** pySigma `SigmaBase64OffsetModifier`: the value at byte offsets 0, 1 and 2 of a base64 blob. */
export function base64Offsets(data: Buffer): string[] {
  const start = [0, 2, 3];
  const end = [0, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i, 0x20), data]).toString('base64');
    const e = end[(data.length + i) % 3]!;
    out.push(enc.slice(start[i], e === 0 ? undefined : e));
  }
  return out;
}

function utf16(order: 'le' | 'be', bom: boolean) {
  return (v: ModValue, ctx: ModifierContext): ModValue =>
    each(v, (x) => {
      const text = x.t === 'bytes' ? x.data.toString('utf8') : plainText(asParts(x, ctx.chain[ctx.index]!));
      if (text === undefined) return fail('modifier-wildcard', `'${ctx.chain[ctx.index]}' cannot encode a value with wildcards`);
      const le = Buffer.from(text, 'utf16le');
      if (order === 'be') le.swap16();
      return { t: 'bytes', data: bom ? Buffer.concat([Buffer.from(order === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]), le]) : le };
    });
}

function regexFlag(flag: string) {
  return (v: ModValue, ctx: ModifierContext): ModValue =>
    each(v, (x) => (x.t === 're' ? { ...x, flags: x.flags.includes(flag) ? x.flags : x.flags + flag } : fail('modifier-order', `'${ctx.chain[ctx.index]}' must follow 're'`)));
}

function compare(op: 'lt' | 'lte' | 'gt' | 'gte') {
  return (v: ModValue, ctx: ModifierContext): ModValue =>
    each(v, (x) => {
      if (x.t === 'datepart') return fail('modifier-order', `'${op}' must come before the value of a date part; write '${ctx.field}|${x.part}|${op}: N'`);
      if (x.t !== 'num') return fail('modifier-type', `'${op}' needs a number, got ${describe(x)}`);
      const prev = ctx.chain[ctx.index - 1];
      if (prev && DATE_PARTS.includes(prev as DatePart)) return { t: 'done', m: { kind: 'datepart', part: prev as DatePart, op, value: x.n } };
      return { t: 'done', m: { kind: 'compare', op, value: x.n } };
    });
}

const DATE_PARTS: DatePart[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];

function datePart(part: DatePart) {
  return (v: ModValue, ctx: ModifierContext): ModValue =>
    each(v, (x) => {
      const next = ctx.chain[ctx.index + 1];
      if (next && ['lt', 'lte', 'gt', 'gte'].includes(next)) return x; // the comparison consumes the part
      if (x.t !== 'num') return fail('modifier-type', `'${part}' needs a number, got ${describe(x)}`);
      return { t: 'done', m: { kind: 'datepart', part, op: 'eq', value: x.n } };
    });
}

/** Substitute `%name%` placeholders in literal text (spec "Placeholders"; `\%` escapes a percent). */
function expand(v: ModValue, ctx: ModifierContext): ModValue {
  return each(v, (x) => {
    if (x.t !== 'str') return fail('modifier-type', `'expand' needs a string, got ${describe(x)}`);
    let variants: StrPart[][] = [[]];
    for (const p of x.parts) {
      if (typeof p !== 'string') {
        variants = variants.map((vv) => [...vv, p]);
        continue;
      }
      // Split literal text into runs and placeholder names.
      const pieces = p.split(/(?<!\\)%([A-Za-z0-9_.-]+)%/);
      for (let i = 0; i < pieces.length; i++) {
        if (i % 2 === 0) {
          const text = pieces[i]!.replace(/\\%/g, '%');
          if (text) variants = variants.map((vv) => concatParts(vv, [text]));
          continue;
        }
        const name = pieces[i]!;
        const values = ctx.placeholders?.get(name);
        if (!values) return fail('unresolved-placeholder', `placeholder %${name}% has no values (give them with --placeholders FILE)`);
        ctx.usedPlaceholders.add(name);
        variants = variants.flatMap((vv) => values.map((val) => concatParts(vv, parseSigmaString(val))));
        if (variants.length > LIMITS.maxExpandedValues) fail('modifier-expansion', `placeholder expansion exceeds ${LIMITS.maxExpandedValues} values`);
      }
    }
    return alt(variants.map((parts) => ({ t: 'str', parts })));
  });
}

export const MODIFIERS: Readonly<Record<string, Modifier>> = {
  // generic
  contains: { kind: 'generic', value: positional('contains') },
  startswith: { kind: 'generic', value: positional('startswith') },
  endswith: { kind: 'generic', value: positional('endswith') },
  all: { kind: 'generic', flag: (c) => void (c.all = true) },
  cased: { kind: 'generic', flag: (c) => void (c.cased = true) },
  neq: { kind: 'generic', flag: (c) => void (c.negate = true) },
  exists: {
    kind: 'generic',
    value: (v, ctx) => {
      if (ctx.field === null) fail('modifier-field', `'exists' must be bound to a field`);
      if (ctx.chain.length !== 1) fail('modifier-order', `'exists' cannot be combined with other modifiers`);
      return v.t === 'bool' ? { t: 'done', m: { kind: 'exists', value: v.b } } : fail('modifier-type', `'exists' needs true or false, got ${describe(v)}`);
    },
  },
  // string
  windash: { kind: 'string', value: windash },
  // regex
  re: {
    kind: 'regex',
    value: (v, ctx) => {
      if (ctx.index !== 0) fail('modifier-order', `'re' must be the first modifier`);
      return each(v, (x) => (x.t === 'str' && x.raw !== undefined ? { t: 're', pattern: x.raw, flags: '' } : fail('modifier-type', `'re' needs a string, got ${describe(x)}`)));
    },
  },
  i: { kind: 'regex', value: regexFlag('i') },
  ignorecase: { kind: 'regex', value: regexFlag('i') },
  m: { kind: 'regex', value: regexFlag('m') },
  multiline: { kind: 'regex', value: regexFlag('m') },
  s: { kind: 'regex', value: regexFlag('s') },
  dotall: { kind: 'regex', value: regexFlag('s') },
  // encoding
  base64: { kind: 'encoding', value: (v) => each(v, (x) => ({ t: 'str', parts: [asBytes(x, 'base64').toString('base64')] })) },
  base64offset: { kind: 'encoding', value: (v) => each(v, (x) => alt(base64Offsets(asBytes(x, 'base64offset')).map((s) => ({ t: 'str', parts: [s] })))) },
  utf16le: { kind: 'encoding', value: utf16('le', false) },
  wide: { kind: 'encoding', value: utf16('le', false) },
  utf16be: { kind: 'encoding', value: utf16('be', false) },
  utf16: { kind: 'encoding', value: utf16('le', true) },
  // numeric
  lt: { kind: 'numeric', value: compare('lt') },
  lte: { kind: 'numeric', value: compare('lte') },
  gt: { kind: 'numeric', value: compare('gt') },
  gte: { kind: 'numeric', value: compare('gte') },
  // time
  ...Object.fromEntries(DATE_PARTS.map((p) => [p, { kind: 'time', value: datePart(p) } satisfies Modifier])),
  // ip
  cidr: {
    kind: 'ip',
    value: (v, ctx) => {
      if (ctx.index !== 0) fail('modifier-order', `'cidr' must be the first modifier`);
      return each(v, (x) => {
        const text = x.t === 'str' ? (x.raw ?? plainText(x.parts)) : undefined;
        if (text === undefined) return fail('modifier-type', `'cidr' needs a network such as 10.0.0.0/8, got ${describe(x)}`);
        const net = parseCidr(text);
        if (!net) return fail('bad-cidr', `'${text}' is not a valid IPv4 or IPv6 network`);
        return { t: 'done', m: { kind: 'cidr', network: text } };
      });
    },
  },
  // specific
  expand: { kind: 'specific', value: expand },
  fieldref: {
    kind: 'specific',
    value: (v) =>
      each(v, (x) => {
        const text = x.t === 'str' ? (x.raw ?? plainText(x.parts)) : undefined;
        if (text === undefined || hasWildcards(parseSigmaString(text))) return fail('modifier-type', `'fieldref' needs a plain field name`);
        return { t: 'done', m: { kind: 'fieldref', field: text, position: 'exact', cased: false } };
      }),
  },
};

/** Turn a YAML scalar into the starting ModValue. */
export function fromYaml(v: unknown): ModValue {
  if (v === null || v === undefined) return { t: 'null' };
  if (typeof v === 'string') return { t: 'str', parts: parseSigmaString(v), raw: v };
  if (typeof v === 'number') return { t: 'num', n: v };
  if (typeof v === 'boolean') return { t: 'bool', b: v };
  return fail('value-type', `values must be strings, numbers, booleans or null, got ${Array.isArray(v) ? 'a list' : 'a map'}`);
}

/** Apply a modifier chain to one value and finish it into a matcher. */
export function applyModifiers(value: ModValue, ctx: ModifierContext): ModValue {
  let v = value;
  for (ctx.index = 0; ctx.index < ctx.chain.length; ctx.index++) {
    const name = ctx.chain[ctx.index]!;
    const mod = MODIFIERS[name];
    if (!mod) return fail('unknown-modifier', `unknown modifier '${name}'`);
    if (mod.value) v = mod.value(v, ctx);
  }
  return v;
}

/** Run list-level flags (all, cased, neq) for a chain; validates names. */
export function applyFlags(ctx: ModifierContext): void {
  for (ctx.index = 0; ctx.index < ctx.chain.length; ctx.index++) {
    const name = ctx.chain[ctx.index]!;
    const mod = MODIFIERS[name];
    if (!mod) fail('unknown-modifier', `unknown modifier '${name}'`);
    mod!.flag?.(ctx);
  }
}

/** The final matcher for a modified value. */
export function finish(v: ModValue, cased: boolean): ValueMatcher {
  switch (v.t) {
    case 'str':
      return { kind: 'string', parts: v.parts, cased };
    case 'bytes':
      return { kind: 'string', parts: [v.data.toString('latin1')], cased: true };
    case 'num':
      return { kind: 'number', value: v.n };
    case 'bool':
      return { kind: 'bool', value: v.b };
    case 'null':
      return { kind: 'null' };
    case 're':
      try {
        compileRuleRegex(v.pattern, v.flags);
      } catch (e) {
        return fail('bad-regex', `invalid regular expression /${v.pattern}/: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
      }
      return { kind: 'regex', pattern: v.pattern, flags: v.flags };
    case 'datepart':
      return fail('modifier-type', `date part '${v.part}' needs a number`);
    case 'done':
      return v.m.kind === 'fieldref' ? { ...v.m, cased } : v.m;
    case 'alt':
      return { kind: 'anyOf', values: v.values.map((x) => finish(x, cased)) };
  }
}
