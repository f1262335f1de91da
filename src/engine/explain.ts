/**
 * Why did a rule fire? The fields (and their values) of the detection items that were true in a
 * positive position of the condition. Run only for detections, with the rule's parts compiled
 * (the same predicates the engine runs; the interpreter re-ran every regex at a fifth of the speed).
 */
import type { Event, Scalar } from '../events/event.js';
import type { ConditionNode, SearchExpr, SigmaRule } from '../sigma/model.js';
import { MatchContext, NO_RENAMES, ruleParts } from './compile.js';
import type { FieldMap } from './interpret.js';
import { toText } from './values.js';

/** Event field name → value text, for the items that made the rule match. */
export function matchedFields(rule: SigmaRule, ev: Event, fieldMap: FieldMap = NO_RENAMES): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = ruleParts(rule, fieldMap);
  const ctx = new MatchContext(ev);
  const collect = (e: SearchExpr) => {
    if (e.kind === 'item') {
      if (e.negate || !parts.expr(e)(ctx)) return;
      if (e.field === null) return void (out['(keywords)'] ??= e.values.length ? 'matched' : '');
      const name = fieldMap[e.field] ?? e.field;
      const v = ev.get(name);
      if (v !== undefined) out[name] = Array.isArray(v) ? v.map((x: Scalar) => toText(x)).join(', ') : toText(v as Scalar);
      return;
    }
    if (e.kind === 'and' || parts.expr(e)(ctx)) e.items.forEach(collect);
  };
  const walk = (n: ConditionNode) => {
    switch (n.kind) {
      case 'ref':
        if (parts.search(n.name)(ctx)) collect(rule.searches[n.name]!);
        break;
      case 'of':
        n.names.forEach((name) => walk({ kind: 'ref', name }));
        break;
      case 'not':
        break; // fields under `not` did not make the rule match
      default:
        n.items.forEach((i) => {
          if (parts.condition(i)(ctx)) walk(i);
        });
    }
  };
  walk(rule.condition);
  return out;
}
