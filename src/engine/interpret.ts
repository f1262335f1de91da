/**
 * The reference interpreter: evaluates the rule model directly, written for obviousness, not
 * speed. The compiled matchers (compile.ts) must agree with it on every event; the
 * differential test checks that.
 */
import { isList, type Event, type FieldValue, type Scalar } from '../events/event.js';
import type { ConditionNode, DetectionItem, SearchExpr, SigmaRule, StrPart, ValueMatcher } from '../sigma/model.js';
import { partsToRegexSource } from '../sigma/strings.js';
import { inNetwork, parseCidr, parseIp } from '../sigma/cidr.js';
import { compareNumbers, compileRuleRegex, datePartOf, fold, testRegex, toNumber, toText } from './values.js';

/** Rule field name → event field name, for event types that use other names (4688). */
export type FieldMap = Readonly<Record<string, string>>;

export function interpretRule(rule: SigmaRule, ev: Event, fieldMap: FieldMap = {}): boolean {
  return evalCondition(rule.condition, (name) => evalSearch(rule.searches[name]!, ev, fieldMap));
}

export function evalCondition(node: ConditionNode, ref: (name: string) => boolean): boolean {
  switch (node.kind) {
    case 'ref':
      return ref(node.name);
    case 'and':
      return node.items.every((i) => evalCondition(i, ref));
    case 'or':
      return node.items.some((i) => evalCondition(i, ref));
    case 'not':
      return !evalCondition(node.item, ref);
    case 'of':
      return node.quantifier === 'all' ? node.names.every(ref) : node.names.some(ref);
  }
}

export function evalSearch(e: SearchExpr, ev: Event, fieldMap: FieldMap): boolean {
  if (e.kind === 'item') return evalItem(e, ev, fieldMap);
  return e.kind === 'and' ? e.items.every((i) => evalSearch(i, ev, fieldMap)) : e.items.some((i) => evalSearch(i, ev, fieldMap));
}

export function evalItem(item: DetectionItem, ev: Event, fieldMap: FieldMap): boolean {
  let result: boolean;
  if (item.field === null) {
    const values = [...ev.values()];
    const one = (m: ValueMatcher) => values.some((v) => testScalar(m, v, ev, fieldMap));
    result = item.all ? item.values.every(one) : item.values.some(one);
  } else {
    const v = ev.get(fieldMap[item.field] ?? item.field);
    const one = (m: ValueMatcher) => testField(m, v, ev, fieldMap);
    result = item.all ? item.values.every(one) : item.values.some(one);
  }
  return item.negate ? !result : result;
}

function testField(m: ValueMatcher, v: FieldValue | undefined, ev: Event, fieldMap: FieldMap): boolean {
  if (m.kind === 'anyOf') return m.values.some((x) => testField(x, v, ev, fieldMap));
  if (m.kind === 'exists') return (v !== undefined) === m.value;
  if (v === undefined) return m.kind === 'null';
  if (isList(v)) return m.kind === 'null' && v.length === 0 ? true : v.some((x) => testScalar(m, x, ev, fieldMap));
  return testScalar(m, v, ev, fieldMap);
}

function testScalar(m: ValueMatcher, v: Scalar, ev: Event, fieldMap: FieldMap): boolean {
  switch (m.kind) {
    case 'anyOf':
      return m.values.some((x) => testScalar(x, v, ev, fieldMap));
    case 'exists':
      return m.value;
    case 'null':
      return v === null || v === '';
    case 'string':
      return wildcardMatch(m.parts, toText(v), m.cased);
    case 'regex':
      return testRegex(
        memo(m, () => compileRuleRegex(m.pattern, m.flags)),
        toText(v),
        fold(toText(v)),
      );
    case 'number':
      return typeof v === 'number' ? v === m.value : toText(v).trim() === String(m.value);
    case 'bool':
      return v === m.value || fold(toText(v)) === String(m.value);
    case 'compare': {
      const n = toNumber(v);
      return !Number.isNaN(n) && compareNumbers(n, m.op, m.value);
    }
    case 'datepart': {
      const n = datePartOf(v, m.part);
      return !Number.isNaN(n) && compareNumbers(n, m.op, m.value);
    }
    case 'cidr': {
      const ip = parseIp(toText(v));
      return ip !== undefined && inNetwork(ip, parseCidr(m.network)!);
    }
    case 'fieldref': {
      const other = ev.get(fieldMap[m.field] ?? m.field);
      if (other === undefined) return false;
      const others: readonly Scalar[] = isList(other) ? other : [other];
      const a = m.cased ? toText(v) : fold(toText(v));
      return others.some((o) => {
        const b = m.cased ? toText(o) : fold(toText(o));
        return m.position === 'exact' ? a === b : m.position === 'start' ? a.startsWith(b) : m.position === 'end' ? a.endsWith(b) : a.includes(b);
      });
    }
  }
}

/** Whole-value wildcard match through a regular expression: the plainest correct form. */
function wildcardMatch(parts: readonly StrPart[], text: string, cased: boolean): boolean {
  const re = memo(parts, () => new RegExp(partsToRegexSource(cased ? parts : parts.map((p) => (typeof p === 'string' ? fold(p) : p))), 'su'));
  return re.test(cased ? text : fold(text));
}

/** Regexes are built once per rule value (a cache, not an optimisation of the semantics). */
const regexMemo = new WeakMap<object, unknown>();
function memo<T>(key: object, make: () => T): T {
  let v = regexMemo.get(key) as T | undefined;
  if (v === undefined) regexMemo.set(key, (v = make()));
  return v;
}
