/**
 * A correlation's contributors for story tests: one event per host, `at(i)` its time, record IDs
 * from `firstRecord`, and the fields `fields(i)` gives (what the correlation grouped and counted).
 */
import type { Contributor } from '../../src/detections/record.js';
import type { FieldValue } from '../../src/events/event.js';

export function contributorsOn(
  hosts: readonly string[],
  o: { at: (i: number) => string; ruleId: string; ruleTitle: string; firstRecord?: number; fields: (i: number) => Record<string, FieldValue> },
): Contributor[] {
  return hosts.map((computer, i) => ({
    timestamp: o.at(i),
    computer,
    ruleId: o.ruleId,
    ruleTitle: o.ruleTitle,
    recordId: (o.firstRecord ?? 0) + i,
    sourceFile: 'x',
    fields: o.fields(i),
  }));
}
