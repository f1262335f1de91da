/**
 * Rule prefilter: for each rule, a set of (field, literal) pairs at least one of which must occur
 * in the event for the rule to possibly match. The engine scans each field once with one
 * Aho-Corasick automaton for all literals of all routed rules, and only evaluates the rules
 * whose requirement was met (plus rules with no requirement). Derived from the rule model, so it
 * can only skip rules that could not have matched.
 */
import type { ConditionNode, DetectionItem, SearchExpr, SigmaRule, StrPart, ValueMatcher } from '../sigma/model.js';
import type { FieldMap } from './interpret.js';
import { ASCII, fold } from './values.js';

/** At least one of these (event field, lower-cased literal) must occur; undefined = no constraint. */
export type Requirement = { field: string; text: string }[] | undefined;

/**
 * The requirement's field name for keyword searches: the literal may occur in any value of the
 * event (the engine scans every value for these).
 */
export const ANY_VALUE = '\u0000any value';

/** Literals shorter than this would occur in nearly every value: no constraint instead. */
const MIN_LITERAL = 3;

export function ruleRequirement(rule: SigmaRule, fieldMap: FieldMap): Requirement {
  const memo = new Map<string, Requirement>();
  const search = (name: string): Requirement => {
    if (!memo.has(name)) memo.set(name, searchReq(rule.searches[name]!, fieldMap));
    return memo.get(name);
  };
  return condReq(rule.condition, search);
}

function condReq(node: ConditionNode, search: (name: string) => Requirement): Requirement {
  switch (node.kind) {
    case 'ref':
      return search(node.name);
    case 'not':
      return undefined;
    case 'of': {
      const parts = node.names.map(search);
      return node.quantifier === 'all' ? best(parts) : union(parts);
    }
    case 'and':
      return best(node.items.map((i) => condReq(i, search)));
    case 'or':
      return union(node.items.map((i) => condReq(i, search)));
  }
}

function searchReq(e: SearchExpr, fieldMap: FieldMap): Requirement {
  if (e.kind === 'item') return itemReq(e, fieldMap);
  const parts = e.items.map((i) => searchReq(i, fieldMap));
  return e.kind === 'and' ? best(parts) : union(parts);
}

function itemReq(item: DetectionItem, fieldMap: FieldMap): Requirement {
  if (item.negate) return undefined;
  const field = item.field === null ? ANY_VALUE : (fieldMap[item.field] ?? item.field);
  const literals = item.values.map(valueLiterals);
  if (item.all) {
    // Every value must match: any single value's literals are necessary; take the best.
    return best(literals.map((l) => l?.map((text) => ({ field, text }))));
  }
  if (literals.some((l) => l === undefined)) return undefined;
  return (literals as string[][]).flat().map((text) => ({ field, text }));
}

/** Alternatives (one literal each) one of which a value must contain; undefined if none. */
export function valueLiterals(m: ValueMatcher): string[] | undefined {
  if (m.kind === 'anyOf') {
    const parts = m.values.map(valueLiterals);
    return parts.some((p) => p === undefined) ? undefined : (parts as string[][]).flat();
  }
  // Case-sensitive values are skipped: lower-casing is not always substring-preserving.
  if (m.kind !== 'string' || m.cased) return undefined;
  const longest = longestLiteral(m.parts);
  // Non-ASCII text (an emoji, a symbol) is rare enough in logs to be a literal however short; at
  // worst the rule then runs as often as it would with no requirement at all.
  return longest.length >= MIN_LITERAL || !ASCII.test(longest) ? [fold(longest)] : undefined;
}

function longestLiteral(parts: readonly StrPart[]): string {
  let best = '';
  for (const p of parts) if (typeof p === 'string' && p.length > best.length) best = p;
  return best;
}

/** AND: any one child's requirement is necessary; choose the most selective. */
function best(parts: Requirement[]): Requirement {
  let chosen: Requirement;
  for (const p of parts) if (p && (!chosen || score(p) > score(chosen))) chosen = p;
  return chosen;
}

/** OR: every branch must have a requirement; the union is necessary. */
function union(parts: Requirement[]): Requirement {
  if (parts.some((p) => p === undefined)) return undefined;
  return (parts as NonNullable<Requirement>[]).flat();
}

/** Longer shortest literal and fewer alternatives = fewer false activations. */
function score(r: NonNullable<Requirement>): number {
  const shortest = Math.min(...r.map((n) => n.text.length));
  return Math.min(shortest, 12) * 100 - r.length;
}

/**
 * The event IDs a rule can match, read from its detection (`EventID: 4728` in every branch of
 * the condition), or null when the condition does not pin them down. Used to route events by ID
 * as the logsource mapping does: an event with a numeric EventID outside the set cannot match,
 * since the item compares the same field the event's ID is read from.
 */
export function ruleEventIds(rule: SigmaRule, fieldMap: FieldMap): ReadonlySet<number> | null {
  const memo = new Map<string, Set<number> | null>();
  const search = (name: string): Set<number> | null => {
    if (!memo.has(name)) memo.set(name, searchIds(rule.searches[name]!, fieldMap));
    return memo.get(name)!;
  };
  return condIds(rule.condition, search);
}

type Ids = Set<number> | null;

function condIds(node: ConditionNode, search: (name: string) => Ids): Ids {
  switch (node.kind) {
    case 'ref':
      return search(node.name);
    case 'not':
      return null;
    case 'of': {
      const parts = node.names.map(search);
      return node.quantifier === 'all' ? intersectIds(parts) : unionIds(parts);
    }
    case 'and':
      return intersectIds(node.items.map((i) => condIds(i, search)));
    case 'or':
      return unionIds(node.items.map((i) => condIds(i, search)));
  }
}

function searchIds(e: SearchExpr, fieldMap: FieldMap): Ids {
  if (e.kind !== 'item') {
    const parts = e.items.map((i) => searchIds(i, fieldMap));
    return e.kind === 'and' ? intersectIds(parts) : unionIds(parts);
  }
  if (e.negate || e.field === null || (fieldMap[e.field] ?? e.field) !== 'EventID') return null;
  if (e.all && e.values.length !== 1) return null;
  const ids = new Set<number>();
  for (const m of e.values) {
    if (m.kind === 'number' && Number.isInteger(m.value) && m.value >= 0) ids.add(m.value);
    else if (m.kind === 'string' && m.parts.length === 1 && typeof m.parts[0] === 'string' && /^\d{1,9}$/.test(m.parts[0])) ids.add(Number(m.parts[0]));
    else if (m.kind === 'string' && m.parts.length === 1 && typeof m.parts[0] === 'string')
      continue; // non-numeric text: never an ID
    else return null;
  }
  return ids;
}

/** AND: every constrained branch must hold. */
function intersectIds(parts: Ids[]): Ids {
  let out: Set<number> | null = null;
  for (const p of parts) {
    if (!p) continue;
    if (!out) out = new Set(p);
    else for (const x of out) if (!p.has(x)) out.delete(x);
  }
  return out;
}

/** OR: constrained only when every branch is. */
function unionIds(parts: Ids[]): Ids {
  if (parts.some((p) => p === null)) return null;
  const out = new Set<number>();
  for (const p of parts) for (const x of p!) out.add(x);
  return out;
}
