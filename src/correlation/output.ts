/**
 * What the correlation engine makes and reads of detections: the correlation detection for a
 * completed window (group values, aggregate, the fields constant over the window, a bounded list
 * of contributors), each contributor's kept fields, and field lookups on a detection's flat event.
 */
import { lookupPath, type FieldValue } from '../events/event.js';
import type { Contributor, CorrelationDetail, DetectionRecord } from '../detections/record.js';
import { formatAggregate, numericValue, type Entry } from './aggregate.js';
import type { CorrelationState, Group } from './state.js';

/**
 * The correlation detection for `window` (the entries of group `g` that met the condition with
 * `value`), listing at most `maxContributors` contributors: the first and last halves, the rest
 * `omitted`.
 */
export function correlationRecord(st: CorrelationState, g: Group, window: readonly Entry[], value: number, maxContributors: number): DetectionRecord {
  const c = st.corr;
  const last = window[window.length - 1]!;
  const event: Record<string, FieldValue> = {};
  for (const f of st.keep) {
    const v = constantValue(window, f);
    if (v !== undefined) event[f] = v;
  }
  const group: Record<string, string | null> = {};
  const matched: Record<string, string> = {};
  c.groupBy.forEach((name, i) => {
    group[name] = g.values[i]!;
    matched[name] = g.values[i]!;
    event[name] = g.values[i]!;
  });
  matched[st.aggName] = formatAggregate(value);
  event[st.aggName] = value;
  const max = maxContributors;
  const contributors: Contributor[] =
    window.length <= max ? window.map((e) => e.contributor) : [...window.slice(0, Math.ceil(max / 2)), ...window.slice(window.length - Math.floor(max / 2))].map((e) => e.contributor);
  const detail: CorrelationDetail = {
    type: c.type,
    group,
    value,
    windowStart: window[0]!.contributor.timestamp!,
    windowEnd: last.contributor.timestamp!,
    contributors,
    omitted: window.length - contributors.length,
  };
  const gi = c.groupBy.indexOf('Computer');
  const level = c.level ?? 'medium';
  const record: DetectionRecord = {
    timestamp: last.contributor.timestamp,
    computer: gi >= 0 ? g.values[gi]! : last.contributor.computer,
    channel: typeof event.Channel === 'string' ? event.Channel : null,
    provider: typeof event.Provider_Name === 'string' ? event.Provider_Name : null,
    eventId: numericValue(event.EventID) ?? null,
    recordId: null,
    level,
    rule: { id: c.id ?? null, name: c.name ?? null, title: c.title, level, status: c.status ?? null, tags: c.tags, file: c.file, kind: 'correlation' },
    matched,
    sourceFile: last.contributor.sourceFile,
    event,
    correlation: detail,
  };
  if (st.hidden) record.hidden = true;
  return record;
}

/** A detection as a contributor to a correlation: its identity and the fields the correlation keeps. */
export function contributorOf(st: CorrelationState, d: DetectionRecord): Contributor {
  const fields: Record<string, FieldValue> = {};
  for (const f of st.keep) {
    const v = fieldOf(d.event, f);
    if (v !== undefined) fields[f] = v;
  }
  return { timestamp: d.timestamp, computer: d.computer, ruleId: d.rule.id, ruleTitle: d.rule.title, recordId: d.recordId, sourceFile: d.sourceFile, fields };
}

/**
 * A field of a record's flat event. Nested JSON objects are stored there as JSON text, so a
 * dotted name (`destination.ip`) that is not a literal key is looked up inside them.
 */
export function fieldOf(event: Record<string, FieldValue>, f: string): FieldValue | undefined {
  const v = event[f];
  if (v !== undefined || !f.includes('.')) return v;
  const parts = f.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const outer = event[parts.slice(0, i).join('.')];
    if (typeof outer !== 'string' || !outer.startsWith('{')) continue;
    try {
      return lookupPath(JSON.parse(outer) as unknown, parts.slice(i).join('.'));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A field value as group text; absent, null and empty values are missing. */
export function groupText(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.length ? JSON.stringify(v) : undefined;
  return String(v);
}

/** The value a field has in every entry of a window, or undefined when it differs or is absent. */
function constantValue(window: readonly Entry[], f: string): FieldValue | undefined {
  const first = window[0]!.contributor.fields[f];
  if (first === undefined) return undefined;
  const text = JSON.stringify(first);
  for (let i = 1; i < window.length; i++) {
    const v = window[i]!.contributor.fields[f];
    if (v !== first && JSON.stringify(v) !== text) return undefined;
  }
  return first;
}
