/**
 * The rule compiler: rule model → closures built once at load. Cheapest operations first:
 * exact values become one Set lookup, `*`-only wildcards become startsWith/endsWith/includes on
 * a value lower-cased once per event, regexes run last. The reference interpreter
 * (interpret.ts) defines the semantics; the differential test holds the two together.
 */
import { isList, type Event, type Scalar } from '../events/event.js';
import type { ConditionNode, DetectionItem, SearchExpr, SigmaRule, StrPart, ValueMatcher } from '../sigma/model.js';
import { inNetwork, parseCidr, parseIp } from '../sigma/cidr.js';
import { partsToRegexSource } from '../sigma/strings.js';
import { AhoCorasick } from './aho-corasick.js';
import { valueLiterals } from './prefilter.js';
import type { FieldMap } from './interpret.js';
import { ASCII, asciiLiteralScreen, compareNumbers, compileRuleRegex, datePartOf, fold, testRegex, toNumber, toText } from './values.js';

/** Per-event state shared by every rule evaluated on that event (folded values cache). */
export class MatchContext {
  private readonly folded = new Map<string, string>();
  private all: { raw: Scalar[]; folded: string[] } | undefined;
  private raw: { raw: Scalar[]; text: string[] } | undefined;
  constructor(readonly ev: Event) {}

  /** The lower-cased text of a scalar field, computed once per event. */
  foldField(field: string, v: Scalar): string {
    let f = this.folded.get(field);
    if (f === undefined) {
      f = fold(toText(v));
      this.folded.set(field, f);
    }
    return f;
  }

  /** Every value of the event, raw and as text (for keyword searches). */
  rawValues(): { raw: Scalar[]; text: string[] } {
    if (!this.raw) {
      const raw: Scalar[] = [];
      const fields = this.ev.fields;
      const names = this.ev.keywordFields;
      if (names) {
        for (const k of names) {
          const v = fields[k];
          if (v === undefined) continue;
          if (Array.isArray(v)) for (const x of v as Scalar[]) raw.push(x);
          else raw.push(v as Scalar);
        }
      } else
        for (const k in fields) {
          const v = fields[k]!;
          if (Array.isArray(v)) for (const x of v as Scalar[]) raw.push(x);
          else raw.push(v as Scalar);
        }
      this.raw = { raw, text: raw.map(toText) };
    }
    return this.raw;
  }

  /** Every value of the event, raw and lower-cased (for keyword searches). */
  allValues(): { raw: Scalar[]; folded: string[] } {
    if (!this.all) {
      const { raw, text } = this.rawValues();
      this.all = { raw, folded: text.map(fold) };
    }
    return this.all;
  }
}

export type Predicate = (ctx: MatchContext) => boolean;
/** Tests one scalar; `folded` is its lower-cased text. */
type ScalarTest = (v: Scalar, folded: string, ctx: MatchContext) => boolean;

interface Compiled {
  pred: Predicate;
  cost: number;
}

/**
 * Compile a rule (with the field renames of one log source) into a predicate. Its parts are kept
 * (see `RuleParts`), so explaining a detection reuses them.
 */
export function compileRule(rule: SigmaRule, fieldMap: FieldMap = NO_RENAMES): Predicate {
  return ruleParts(rule, fieldMap).condition(rule.condition);
}

/**
 * A rule's searches, search expressions and condition nodes, each compiled on its own and kept
 * (for explaining a match: which parts of the rule were true). Built only for rules that fired.
 */
export class RuleParts {
  private readonly exprs = new Map<SearchExpr, Compiled>();
  private readonly nodes = new Map<ConditionNode, Predicate>();
  constructor(
    private readonly rule: SigmaRule,
    private readonly fieldMap: FieldMap,
  ) {}

  private compiled(e: SearchExpr): Compiled {
    let c = this.exprs.get(e);
    if (!c) {
      c =
        e.kind === 'item'
          ? compileItem(e, this.fieldMap)
          : combine(
              e.kind,
              e.items.map((i) => this.compiled(i)),
            );
      this.exprs.set(e, c);
    }
    return c;
  }
  /** A search expression (an item, or an AND/OR of them) as a predicate. */
  expr(e: SearchExpr): Predicate {
    return this.compiled(e).pred;
  }
  /** A named search as a predicate. */
  search(name: string): Predicate {
    return this.compiled(this.rule.searches[name]!).pred;
  }
  /** A condition node as a predicate. */
  condition(n: ConditionNode): Predicate {
    let p = this.nodes.get(n);
    if (!p) {
      p = compileCondition(n, (name) => this.compiled(this.rule.searches[name]!)).pred;
      this.nodes.set(n, p);
    }
    return p;
  }
}

/** The field map of a rule used without log-source renames (one object, so the parts cache hits). */
export const NO_RENAMES: FieldMap = Object.freeze({});

const partsCache = new WeakMap<SigmaRule, Map<FieldMap, RuleParts>>();
export function ruleParts(rule: SigmaRule, fieldMap: FieldMap): RuleParts {
  let byMap = partsCache.get(rule);
  if (!byMap) partsCache.set(rule, (byMap = new Map<FieldMap, RuleParts>()));
  let parts = byMap.get(fieldMap);
  if (!parts) byMap.set(fieldMap, (parts = new RuleParts(rule, fieldMap)));
  return parts;
}

function compileCondition(node: ConditionNode, search: (name: string) => Compiled): Compiled {
  switch (node.kind) {
    case 'ref':
      return search(node.name);
    case 'not': {
      const inner = compileCondition(node.item, search);
      return { pred: (ctx) => !inner.pred(ctx), cost: inner.cost };
    }
    case 'of':
      return combine(node.quantifier === 'all' ? 'and' : 'or', node.names.map(search));
    default:
      return combine(
        node.kind,
        node.items.map((i) => compileCondition(i, search)),
      );
  }
}

/** AND/OR of parts, cheapest first (both are commutative without side effects). */
function combine(kind: 'and' | 'or', parts: Compiled[]): Compiled {
  const sorted = [...parts].sort((a, b) => a.cost - b.cost);
  const cost = sorted.reduce((s, p) => s + p.cost, 0);
  const preds = sorted.map((p) => p.pred);
  if (preds.length === 1) return sorted[0]!;
  if (preds.length === 2) {
    const [a, b] = preds as [Predicate, Predicate];
    return { pred: kind === 'and' ? (ctx) => a(ctx) && b(ctx) : (ctx) => a(ctx) || b(ctx), cost };
  }
  if (kind === 'and')
    return {
      pred: (ctx) => {
        for (let i = 0; i < preds.length; i++) if (!preds[i]!(ctx)) return false;
        return true;
      },
      cost,
    };
  return {
    pred: (ctx) => {
      for (let i = 0; i < preds.length; i++) if (preds[i]!(ctx)) return true;
      return false;
    },
    cost,
  };
}

/**
 * For a keyword list whose every value needs an ASCII literal (the prefilter's literals): one
 * case-insensitive regex of them all. On ASCII text it rejects exactly the values that cannot
 * match (ASCII case folding is the same in the regex and `fold`); other text takes the full test.
 */
function keywordScreen(values: readonly ValueMatcher[]): RegExp | undefined {
  const lits: string[] = [];
  for (const m of values) {
    const l = valueLiterals(m);
    if (!l || !l.every((x) => ASCII.test(x))) return undefined;
    lits.push(...l);
  }
  if (!lits.length) return undefined;
  return asciiLiteralScreen(lits);
}

function compileItem(item: DetectionItem, fieldMap: FieldMap): Compiled {
  const { test, cost } = item.all ? allOf(item.values.map((m) => compileMatcher(m, fieldMap))) : anyOfMerged(item.values, fieldMap);
  let pred: Predicate;
  if (item.field === null) {
    const screen = item.all ? undefined : keywordScreen(item.values);
    pred = (ctx) => {
      if (screen) {
        // Most values are plain ASCII and hold none of the literals: rejected natively, unfolded.
        const { raw, text } = ctx.rawValues();
        for (let i = 0; i < raw.length; i++) {
          const t = text[i]!;
          if (ASCII.test(t) && !screen.test(t)) continue;
          if (test(raw[i]!, fold(t), ctx)) return true;
        }
        return false;
      }
      const { raw, folded } = ctx.allValues();
      if (!item.all) {
        for (let i = 0; i < raw.length; i++) if (test(raw[i]!, folded[i]!, ctx)) return true;
        return false;
      }
      // |all on keywords: every keyword somewhere in the event, not all in one value.
      return item.values.every((m) => {
        const t = compileMatcherCached(m, fieldMap);
        for (let i = 0; i < raw.length; i++) if (t(raw[i]!, folded[i]!, ctx)) return true;
        return false;
      });
    };
  } else {
    const field = fieldMap[item.field] ?? item.field;
    const absent = item.all ? item.values.every(absentResult) : item.values.some(absentResult);
    const emptyList = item.all ? item.values.every(emptyArrayResult) : item.values.some(emptyArrayResult);
    pred = (ctx) => {
      const v = ctx.ev.get(field);
      if (v === undefined) return absent;
      if (Array.isArray(v)) {
        if (v.length === 0) return emptyList;
        return arrayTest(item, v as Scalar[], ctx, fieldMap);
      }
      return test(v as Scalar, ctx.foldField(field, v as Scalar), ctx);
    };
  }
  return { pred: item.negate ? (ctx) => !pred(ctx) : pred, cost: item.field === null ? cost * 20 : cost };
}

/** A multi-valued field matches a value when any element does (per value under |all). */
function arrayTest(item: DetectionItem, v: Scalar[], ctx: MatchContext, fieldMap: FieldMap): boolean {
  const one = (m: ValueMatcher) => {
    const t = compileMatcherCached(m, fieldMap);
    return v.some((x) => t(x, fold(toText(x)), ctx));
  };
  return item.all ? item.values.every(one) : item.values.some(one);
}

/** What a matcher says about a field that is an empty list. */
function emptyArrayResult(m: ValueMatcher): boolean {
  if (m.kind === 'exists') return m.value;
  if (m.kind === 'anyOf') return m.values.some(emptyArrayResult);
  return m.kind === 'null';
}
/** What a matcher says about a field the event does not have. */
function absentResult(m: ValueMatcher): boolean {
  if (m.kind === 'exists') return !m.value;
  if (m.kind === 'anyOf') return m.values.some(absentResult);
  return m.kind === 'null';
}

function allOf(tests: { test: ScalarTest; cost: number }[]): { test: ScalarTest; cost: number } {
  const ts = tests.map((t) => t.test);
  return {
    test: (v, f, ctx) => {
      for (let i = 0; i < ts.length; i++) if (!ts[i]!(v, f, ctx)) return false;
      return true;
    },
    cost: tests.reduce((s, t) => s + t.cost, 0),
  };
}

/**
 * OR of many values on one field, merged by kind: all exact strings in one Set, prefixes,
 * suffixes and substrings in flat arrays, everything else as individual tests after them.
 */
function anyOfMerged(values: readonly ValueMatcher[], fieldMap: FieldMap): { test: ScalarTest; cost: number } {
  const flat: ValueMatcher[] = [];
  const flatten = (m: ValueMatcher) => (m.kind === 'anyOf' ? m.values.forEach(flatten) : flat.push(m));
  values.forEach(flatten);
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  const infixes: string[] = [];
  const others: ScalarTest[] = [];
  let cost = 0;
  for (const m of flat) {
    const shape = m.kind === 'string' && !m.cased ? literalShape(m.parts) : undefined;
    if (!shape) {
      const c = compileMatcher(m, fieldMap);
      others.push(c.test);
      cost += c.cost;
      continue;
    }
    const needle = fold(shape.text);
    if (shape.kind === 'exact') exact.add(needle);
    else if (shape.kind === 'prefix') prefixes.push(needle);
    else if (shape.kind === 'suffix') suffixes.push(needle);
    else infixes.push(needle);
  }
  cost += (exact.size ? 1 : 0) + Math.min(prefixes.length, 4) * 0.2 + Math.min(suffixes.length, 4) * 0.2 + Math.min(infixes.length, 8) * 0.5;
  const hasExact = exact.size > 0;
  const prefixTest = affixTest(prefixes, 'prefix');
  const suffixTest = affixTest(suffixes, 'suffix');
  // Many substrings on one value: one Aho-Corasick pass instead of one `includes` each.
  const ac = infixes.length > MANY ? new AhoCorasick(infixes) : undefined;
  const test: ScalarTest = (v, f, ctx) => {
    if (hasExact && exact.has(f)) return true;
    if (suffixTest && suffixTest(f)) return true;
    if (prefixTest && prefixTest(f)) return true;
    if (ac) {
      if (ac.test(f)) return true;
    } else for (let i = 0; i < infixes.length; i++) if (f.includes(infixes[i]!)) return true;
    for (let i = 0; i < others.length; i++) if (others[i]!(v, f, ctx)) return true;
    return false;
  };
  return { test, cost: Math.max(cost, 1) };
}

/** Above this many needles of one kind, a merged structure beats a loop. */
const MANY = 8;

/**
 * Many prefixes or suffixes: one Set per needle length, so a value costs one slice and lookup per
 * distinct length instead of one comparison per needle.
 */
function affixTest(needles: readonly string[], kind: 'prefix' | 'suffix'): ((f: string) => boolean) | undefined {
  if (!needles.length) return undefined;
  if (needles.length <= MANY)
    return kind === 'prefix'
      ? (f) => {
          for (let i = 0; i < needles.length; i++) if (f.startsWith(needles[i]!)) return true;
          return false;
        }
      : (f) => {
          for (let i = 0; i < needles.length; i++) if (f.endsWith(needles[i]!)) return true;
          return false;
        };
  const byLength = new Map<number, Set<string>>();
  for (const n of needles) {
    let set = byLength.get(n.length);
    if (!set) byLength.set(n.length, (set = new Set()));
    set.add(n);
  }
  const groups = [...byLength].sort((a, b) => a[0] - b[0]);
  return kind === 'prefix'
    ? (f) => {
        for (const [len, set] of groups) {
          if (len > f.length) return false;
          if (set.has(f.slice(0, len))) return true;
        }
        return false;
      }
    : (f) => {
        for (const [len, set] of groups) {
          if (len > f.length) return false;
          if (set.has(f.slice(f.length - len))) return true;
        }
        return false;
      };
}

type Shape = { kind: 'exact' | 'prefix' | 'suffix' | 'infix'; text: string };

/** `abc`, `abc*`, `*abc`, `*abc*` — the shapes a plain string operation can test. */
function literalShape(parts: readonly StrPart[]): Shape | undefined {
  const star = (p: StrPart | undefined) => p !== undefined && typeof p !== 'string' && p.wildcard === '*';
  const lit = (p: StrPart | undefined): p is string => typeof p === 'string';
  if (parts.length === 0) return { kind: 'exact', text: '' };
  if (parts.length === 1 && lit(parts[0])) return { kind: 'exact', text: parts[0] };
  if (parts.length === 2 && lit(parts[0]) && star(parts[1])) return { kind: 'prefix', text: parts[0] };
  if (parts.length === 2 && star(parts[0]) && lit(parts[1])) return { kind: 'suffix', text: parts[1] };
  if (parts.length === 3 && star(parts[0]) && lit(parts[1]) && star(parts[2])) return { kind: 'infix', text: parts[1] };
  if (parts.length === 1 && star(parts[0])) return { kind: 'prefix', text: '' };
  return undefined;
}

const matcherCache = new WeakMap<ValueMatcher, Map<FieldMap, ScalarTest>>();
function compileMatcherCached(m: ValueMatcher, fieldMap: FieldMap): ScalarTest {
  let byMap = matcherCache.get(m);
  if (!byMap) matcherCache.set(m, (byMap = new Map<FieldMap, ScalarTest>()));
  let t = byMap.get(fieldMap);
  if (!t) byMap.set(fieldMap, (t = compileMatcher(m, fieldMap).test));
  return t;
}

/** One matcher → one scalar test (string tests receive the lower-cased text). */
function compileMatcher(m: ValueMatcher, fieldMap: FieldMap): { test: ScalarTest; cost: number } {
  switch (m.kind) {
    case 'anyOf':
      return anyOfMerged(m.values, fieldMap);
    case 'string': {
      const shape = literalShape(m.parts);
      if (m.cased) {
        if (shape) {
          const t = shape.text;
          const ops = { exact: (s: string) => s === t, prefix: (s: string) => s.startsWith(t), suffix: (s: string) => s.endsWith(t), infix: (s: string) => s.includes(t) };
          const op = ops[shape.kind];
          return { test: (v) => op(toText(v)), cost: 1 };
        }
        const re = new RegExp(partsToRegexSource(m.parts), 'su');
        return { test: (v) => re.test(toText(v)), cost: 5 };
      }
      if (shape) return anyOfMerged([m], fieldMap);
      const folded = m.parts.map((p) => (typeof p === 'string' ? fold(p) : p));
      const segments = starSegments(folded);
      if (segments) return { test: (_v, f) => matchSegments(segments, f), cost: 2 };
      const re = new RegExp(partsToRegexSource(folded), 'su');
      return { test: (_v, f) => re.test(f), cost: 5 };
    }
    case 'regex': {
      const r = compileRuleRegex(m.pattern, m.flags);
      return { test: (v, f) => testRegex(r, toText(v), f), cost: 10 };
    }
    case 'number': {
      const n = m.value;
      const s = String(n);
      return { test: (v) => (typeof v === 'number' ? v === n : toText(v).trim() === s), cost: 0.5 };
    }
    case 'bool': {
      const b = m.value;
      const s = String(b);
      return { test: (v, f) => v === b || f === s, cost: 0.5 };
    }
    case 'null':
      return { test: (v) => v === null || v === '', cost: 0.5 };
    case 'exists': {
      const e = m.value;
      return { test: () => e, cost: 0.5 };
    }
    case 'compare': {
      const { op, value } = m;
      return {
        test: (v) => {
          const n = toNumber(v);
          return !Number.isNaN(n) && compareNumbers(n, op, value);
        },
        cost: 1,
      };
    }
    case 'datepart': {
      const { op, value, part } = m;
      return {
        test: (v) => {
          const n = datePartOf(v, part);
          return !Number.isNaN(n) && compareNumbers(n, op, value);
        },
        cost: 3,
      };
    }
    case 'cidr': {
      const net = parseCidr(m.network)!;
      return {
        test: (v) => {
          const ip = parseIp(toText(v));
          return ip !== undefined && inNetwork(ip, net);
        },
        cost: 3,
      };
    }
    case 'fieldref': {
      const other = fieldMap[m.field] ?? m.field;
      const { cased, position } = m;
      const cmp = (a: string, b: string) => (position === 'exact' ? a === b : position === 'start' ? a.startsWith(b) : position === 'end' ? a.endsWith(b) : a.includes(b));
      return {
        test: (v, f, ctx) => {
          const o = ctx.ev.get(other);
          if (o === undefined) return false;
          const a = cased ? toText(v) : f;
          if (isList(o)) return o.some((x) => cmp(a, cased ? toText(x) : fold(toText(x))));
          return cmp(a, cased ? toText(o) : ctx.foldField(other, o));
        },
        cost: 2,
      };
    }
  }
}

/** `a*b*c` (only `*` wildcards) as literal segments; undefined when `?` occurs. */
function starSegments(parts: readonly StrPart[]): string[] | undefined {
  const segs: string[] = [''];
  for (const p of parts) {
    if (typeof p === 'string') segs[segs.length - 1] += p;
    else if (p.wildcard === '*') segs.push('');
    else return undefined;
  }
  return segs;
}

/** Greedy left-to-right match of `seg0*seg1*…*segN` against the whole text. */
function matchSegments(segs: readonly string[], text: string): boolean {
  const first = segs[0]!;
  const last = segs[segs.length - 1]!;
  if (!text.startsWith(first)) return false;
  let pos = first.length;
  for (let i = 1; i < segs.length - 1; i++) {
    const at = text.indexOf(segs[i]!, pos);
    if (at < 0) return false;
    pos = at + segs[i]!.length;
  }
  return text.length - last.length >= pos && text.endsWith(last);
}
