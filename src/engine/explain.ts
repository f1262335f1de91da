/**
 * Why did a rule fire? The fields (and their values) of the detection items that were true in a
 * positive position of the condition. Run only for detections, so it uses the plain interpreter.
 */
import type { Event, Scalar } from '../events/event.js';
import type { ConditionNode, SearchExpr, SigmaRule } from '../sigma/model.js';
import { evalCondition, evalItem, evalSearch, type FieldMap } from './interpret.js';
import { toText } from './values.js';

/** Event field name → value text, for the items that made the rule match. */
export function matchedFields(rule: SigmaRule, ev: Event, fieldMap: FieldMap = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const collect = (e: SearchExpr) => {
    if (e.kind === 'item') {
      if (e.negate || !evalItem(e, ev, fieldMap)) return;
      if (e.field === null) return void (out['(keywords)'] ??= e.values.length ? 'matched' : '');
      const name = fieldMap[e.field] ?? e.field;
      const v = ev.get(name);
      if (v !== undefined) out[name] = Array.isArray(v) ? v.map((x: Scalar) => toText(x)).join(', ') : toText(v as Scalar);
      return;
    }
    if (e.kind === 'and' || evalSearch(e, ev, fieldMap)) e.items.forEach(collect);
  };
  const walk = (n: ConditionNode) => {
    switch (n.kind) {
      case 'ref':
        if (evalSearch(rule.searches[n.name]!, ev, fieldMap)) collect(rule.searches[n.name]!);
        break;
      case 'of':
        n.names.forEach((name) => walk({ kind: 'ref', name }));
        break;
      case 'not':
        break; // fields under `not` did not make the rule match
      default:
        n.items.forEach((i) => {
          if (evalCondition(i, (name) => evalSearch(rule.searches[name]!, ev, fieldMap))) walk(i);
        });
    }
  };
  walk(rule.condition);
  return out;
}
