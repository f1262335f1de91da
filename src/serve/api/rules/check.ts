/**
 * Checking an uploaded rule before it is stored (lint: every problem at its line and column), and
 * testing rules against stored events before they are enabled: the event store's events in a time
 * range are run through the same compiled engine as the live pipeline.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { RuleError } from '../../../core/errors.js';
import { toDetectionRecord } from '../../../detections/convert.js';
import type { DetectionRecord } from '../../../detections/record.js';
import { Engine } from '../../../engine/engine.js';
import { Event, type Product } from '../../../events/event.js';
import { parseRuleText, type RuleCollection } from '../../../sigma/collection.js';
import type { SigmaCorrelation, SigmaRule } from '../../../sigma/model.js';
import type { ParseOptions } from '../../../sigma/parse.js';
import type { EventStore, StoredEvent } from '../../store/types.js';

export interface LintError {
  code: string;
  message: string;
  line: number;
  column: number;
}

const lintError = (e: RuleError): LintError => ({ code: e.code, message: e.message, line: e.location.line, column: e.location.column });

/**
 * Parses an upload and checks what a single file cannot show: rule ids already used by loaded
 * rules, and correlations naming rules that exist neither in the upload nor in the catalogue.
 */
export function lintUpload(yaml: string, fileName: string, taken: (id: string) => boolean, opts: ParseOptions = {}): { collection: RuleCollection; errors: LintError[] } {
  const col = parseRuleText(yaml, fileName, opts);
  const errors = col.errors.map(lintError);
  const own = new Set<string>();
  const docs: (SigmaRule | SigmaCorrelation)[] = [...col.rules, ...col.correlations];
  for (const d of docs) {
    for (const ref of [d.id, d.name]) {
      if (!ref) continue;
      if (taken(ref)) errors.push({ code: 'duplicate-id', message: `${d.id === ref ? 'id' : 'name'} ${ref} is already used by a loaded rule`, line: d.location.line, column: d.location.column });
      else if (own.has(ref)) errors.push({ code: 'duplicate-id', message: `${ref} is used twice in this file`, line: d.location.line, column: d.location.column });
      own.add(ref);
    }
  }
  for (const c of col.correlations) {
    const missing = c.rules.filter((r) => !own.has(r) && !taken(r));
    if (missing.length)
      errors.push({ code: 'correlation-unknown-rule', message: `correlation '${c.title}' references unknown rule(s): ${missing.join(', ')}`, line: c.location.line, column: c.location.column });
  }
  if (col.filters.length) {
    for (const f of col.filters)
      errors.push({
        code: 'filter-upload',
        message: 'Sigma filters cannot be uploaded (they change other rules); disable the rule or edit it instead',
        line: f.location.line,
        column: f.location.column,
      });
  }
  if (!docs.length && !errors.length) errors.push({ code: 'empty', message: 'the file holds no Sigma rule', line: 1, column: 1 });
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { collection: col, errors };
}

/** The reader's product for a stored event (routing needs it): Linux channels are named `linux/…` or `Linux-…`. */
function productOf(s: StoredEvent): Product | undefined {
  const ch = s.channel ?? (typeof s.fields.Channel === 'string' ? s.fields.Channel : null);
  if (ch === null) return undefined;
  return /^linux[/-]/i.test(ch) ? 'linux' : 'windows';
}

/** A stored event as the engine reads it (the identity columns fill in fields the record lacks). */
export function storedToEvent(s: StoredEvent): Event {
  const fields = { ...s.fields };
  if (fields.Computer === undefined && s.computer !== null) fields.Computer = s.computer;
  if (fields.Channel === undefined && s.channel !== null) fields.Channel = s.channel;
  if (fields.Provider_Name === undefined && s.provider !== null) fields.Provider_Name = s.provider;
  if (fields.EventID === undefined && s.eventId !== null) fields.EventID = s.eventId;
  if (fields.EventRecordID === undefined && s.recordId !== null) fields.EventRecordID = s.recordId;
  if (fields.TimeCreated_SystemTime === undefined && fields['@timestamp'] === undefined && s.timestamp !== null) fields.TimeCreated_SystemTime = s.timestamp;
  return new Event(fields, { file: `store:${s.source}`, offset: s.offset }, undefined, productOf(s));
}

export interface RuleTestResult {
  rules: { id: string | null; title: string; level: string }[];
  from: string;
  to: string;
  scanned: number;
  matched: number;
  truncated: boolean;
  byHost: { host: string | null; count: number }[];
  matches: DetectionRecord[];
  notTested: { title: string; reason: string }[];
}

/** Runs single-event rules over the stored events of a time range. */
export async function testRules(
  store: EventStore,
  rules: readonly SigmaRule[],
  correlations: readonly SigmaCorrelation[],
  range: { from: string; to: string },
  limits: { maxEvents: number; maxMatches: number },
): Promise<RuleTestResult> {
  const engine = new Engine(rules);
  const unmapped = new Set(engine.unmapped.map((u) => u.rule));
  const notTested = [
    ...engine.unmapped.map((u) => ({ title: u.rule.title, reason: u.reason })),
    ...correlations.map((c) => ({ title: c.title, reason: 'correlation rules need the live pipeline’s windows; test the rules they correlate instead' })),
  ];
  const matches: DetectionRecord[] = [];
  const byHost = new Map<string | null, number>();
  let matched = 0;
  let scanned = 0;
  const total = await store.scan(
    range.from,
    range.to,
    async (batch) => {
      for (const s of batch) {
        scanned++;
        for (const d of engine.match(storedToEvent(s))) {
          matched++;
          byHost.set(s.computer, (byHost.get(s.computer) ?? 0) + 1);
          if (matches.length < limits.maxMatches) matches.push(toDetectionRecord(d));
        }
      }
      // Other requests are served between batches.
      await yieldLoop();
    },
    limits.maxEvents,
  );
  return {
    rules: rules.filter((r) => !unmapped.has(r)).map((r) => ({ id: r.id ?? null, title: r.title, level: r.level ?? 'medium' })),
    from: range.from,
    to: range.to,
    scanned: Math.max(scanned, total),
    matched,
    truncated: Math.max(scanned, total) >= limits.maxEvents,
    byHost: [...byHost.entries()].map(([host, count]) => ({ host, count })).sort((a, b) => b.count - a.count),
    matches,
    notTested,
  };
}
