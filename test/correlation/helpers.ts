/** Helpers for correlation tests: events → Engine → detection records → CorrelationEngine. */
import assert from 'node:assert/strict';
import { CorrelationEngine, type CorrelationOptions } from '../../src/correlation/engine.js';
import { Engine } from '../../src/engine/engine.js';
import { Event, type Fields } from '../../src/events/event.js';
import { toDetectionRecord } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { eventFromJson } from '../../src/readers/json.js';
import type { RuleCollection } from '../../src/sigma/collection.js';
import { collection } from '../helpers.js';

/** All test timelines start here; `at(s)` is that instant plus s seconds. */
export const T0 = Date.parse('2026-03-02T10:00:00.000Z');
export const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** A rule pack from YAML text; fails the test on any rule error. */
export function pack(yaml: string): RuleCollection {
  const c = collection(yaml);
  assert.deepEqual(
    c.errors.map((e) => e.format()),
    [],
  );
  return c;
}

let recordId = 0;

/** A flat event; `time` in seconds from T0 (null: no timestamp). Gets a fresh EventRecordID. */
export function flat(time: number | null, fields: Record<string, unknown>): Event {
  const f: Record<string, unknown> = { EventRecordID: ++recordId, ...fields };
  if (time !== null) f.TimeCreated_SystemTime = at(time);
  return new Event(f as Fields, { file: 'test.json' }, f);
}

/** A Windows event in the evtx-crate JSON shape, through the JSON reader's normalisation. */
export function win(channel: string, eventId: number, time: number, computer: string, data: Record<string, unknown>, opts: { provider?: string; userData?: string } = {}): Event {
  const provider = opts.provider ?? 'Microsoft-Windows-Security-Auditing';
  const body = opts.userData ? { UserData: { [opts.userData]: { '#attributes': { xmlns: 'http://manifests.microsoft.com/win/2004/08/windows/eventlog' }, ...data } } } : { EventData: data };
  const doc = {
    Event: {
      '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
      System: {
        Provider: { '#attributes': { Name: provider } },
        EventID: eventId,
        TimeCreated: { '#attributes': { SystemTime: at(time) } },
        EventRecordID: ++recordId,
        Channel: channel,
        Computer: computer,
      },
      ...body,
    },
  };
  const ev = eventFromJson(doc, { file: `${computer}.evtx` });
  assert.ok(ev);
  return ev;
}

export interface Run {
  /** Every correlation detection, hidden intermediate ones included. */
  correlations: DetectionRecord[];
  /** What a hunt would output: single-event and correlation detections not hidden. */
  visible: DetectionRecord[];
  /** Single-event detections (hidden or not). */
  base: DetectionRecord[];
  ce: CorrelationEngine;
}

/** Run events (in the order given) through the single-event engine and the correlation engine. */
export function run(col: RuleCollection, events: Event[], opts: CorrelationOptions = {}, engine = new Engine(col.rules)): Run {
  const ce = new CorrelationEngine(col.correlations, col.rules, opts);
  assert.deepEqual(ce.unresolved, []);
  const out: Run = { correlations: [], visible: [], base: [], ce };
  for (const ev of events) {
    for (const d of engine.match(ev)) {
      const rec = toDetectionRecord(d);
      const made = ce.push(rec);
      out.base.push(rec);
      for (const r of [rec, ...made]) if (!r.hidden) out.visible.push(r);
      out.correlations.push(...made);
    }
  }
  ce.finish();
  return out;
}

/** Titles of correlation detections, in order. */
export const titles = (rs: readonly DetectionRecord[]): string[] => rs.map((r) => r.rule.title);
