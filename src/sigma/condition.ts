/**
 * Sigma condition expressions (spec "Condition"; pySigma `sigma/conditions.py`).
 *
 * Precedence, loosest first: `or` < `and` < `not` < `x of` < parentheses; `and`/`or` are
 * left-associative. `1 of`/`any of`/`all of` take an identifier pattern with `*` wildcards or
 * `them` (every identifier not starting with `_`). The v1 pipe/aggregation syntax is rejected.
 */
import { FirebreakError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { ConditionNode } from './model.js';

export class ConditionError extends FirebreakError {
  constructor(
    code: string,
    message: string,
    /** 0-based character offset in the condition text. */
    readonly offset: number,
  ) {
    super(code, message);
  }
}

interface Token {
  text: string;
  lower: string;
  offset: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(\(|\)|\||[^\s()|]+)/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    const t = m[1]!;
    tokens.push({ text: t, lower: t.toLowerCase(), offset: m.index + m[0].length - t.length });
  }
  return tokens;
}

const IDENT = /^[A-Za-z0-9_.-]+$/;
const PATTERN = /^[A-Za-z0-9_.*-]+$/;

/** Parse a condition against the rule's search identifiers. */
export function parseCondition(text: string, identifiers: readonly string[]): ConditionNode {
  const tokens = tokenize(text);
  const pipe = tokens.find((t) => t.text === '|');
  if (pipe) throw new ConditionError('condition-pipe', `the v1 pipe/aggregation syntax ('| count() …', '| near') was removed in Sigma v2; use a correlation rule`, pipe.offset);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const end = () => text.length;
  const expect = (what: string): Token => {
    const t = tokens[pos];
    if (!t) throw new ConditionError('condition-syntax', `expected ${what} at end of condition`, end());
    pos++;
    return t;
  };

  const parseOr = (): ConditionNode => {
    const items = [parseAnd()];
    while (peek()?.lower === 'or') {
      pos++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };
  const parseAnd = (): ConditionNode => {
    const items = [parseNot()];
    while (peek()?.lower === 'and') {
      pos++;
      items.push(parseNot());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const parseNot = (): ConditionNode => {
    if (peek()?.lower === 'not') {
      pos++;
      if (++depth > LIMITS.conditionMaxDepth) throw new ConditionError('condition-depth', `condition nests deeper than ${LIMITS.conditionMaxDepth}`, tokens[pos - 1]!.offset);
      const item = parseNot();
      depth--;
      return { kind: 'not', item };
    }
    return parsePrimary();
  };
  const parsePrimary = (): ConditionNode => {
    const t = expect('an identifier, "not", "(" or "1 of"/"all of"');
    if (t.text === '(') {
      if (++depth > LIMITS.conditionMaxDepth) throw new ConditionError('condition-depth', `condition nests deeper than ${LIMITS.conditionMaxDepth}`, t.offset);
      const inner = parseOr();
      const close = expect('")"');
      if (close.text !== ')') throw new ConditionError('condition-syntax', `expected ")" but found '${close.text}'`, close.offset);
      depth--;
      return inner;
    }
    if (t.text === ')') throw new ConditionError('condition-syntax', `unexpected ")"`, t.offset);
    if ((t.lower === '1' || t.lower === 'any' || t.lower === 'all') && tokens[pos]?.lower === 'of') {
      pos++;
      const target = expect('an identifier pattern or "them"');
      return resolveOf(t.lower === 'all' ? 'all' : 'any', target);
    }
    if (/^\d+$/.test(t.text) && tokens[pos]?.lower === 'of') throw new ConditionError('condition-quantifier', `'${t.text} of' is not Sigma: only '1 of', 'any of' and 'all of' exist`, t.offset);
    if (['and', 'or', 'of', 'them'].includes(t.lower)) throw new ConditionError('condition-syntax', `unexpected '${t.text}'`, t.offset);
    if (!IDENT.test(t.text)) throw new ConditionError('condition-syntax', `'${t.text}' is not a valid identifier`, t.offset);
    if (!identifiers.includes(t.text)) throw new ConditionError('condition-unknown-identifier', `'${t.text}' is not defined in detection`, t.offset);
    return { kind: 'ref', name: t.text };
  };
  const resolveOf = (quantifier: 'any' | 'all', target: Token): ConditionNode => {
    let names: string[];
    if (target.lower === 'them') {
      names = identifiers.filter((n) => !n.startsWith('_'));
    } else {
      if (!PATTERN.test(target.text)) throw new ConditionError('condition-syntax', `'${target.text}' is not a valid identifier pattern`, target.offset);
      const re = new RegExp('^' + target.text.replace(/[.+?^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*') + '$');
      names = identifiers.filter((n) => re.test(n));
    }
    if (!names.length) throw new ConditionError('condition-unknown-identifier', `'${target.text}' matches no search identifier`, target.offset);
    return { kind: 'of', quantifier, pattern: target.text, names };
  };

  if (!tokens.length) throw new ConditionError('condition-empty', 'condition is empty', 0);
  const node = parseOr();
  if (pos < tokens.length) {
    const t = tokens[pos]!;
    throw new ConditionError('condition-syntax', `unexpected '${t.text}'${t.text === ')' ? ' (unbalanced parentheses)' : ''}`, t.offset);
  }
  return node;
}

/** Identifiers a condition refers to (for validation and explanation). */
export function conditionRefs(node: ConditionNode, out = new Set<string>()): Set<string> {
  switch (node.kind) {
    case 'ref':
      out.add(node.name);
      break;
    case 'of':
      node.names.forEach((n) => out.add(n));
      break;
    case 'not':
      conditionRefs(node.item, out);
      break;
    default:
      node.items.forEach((i) => conditionRefs(i, out));
  }
  return out;
}
