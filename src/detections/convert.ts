/** Engine detections and events → the output record shapes. */
import type { Detection } from '../engine/engine.js';
import { matchedFields } from '../engine/explain.js';
import type { Event } from '../events/event.js';
import type { DetectionRecord, EventRecord } from './record.js';
import type { SigmaRule } from '../sigma/model.js';

/** Who, where and when: the identity fields every record carries. */
function identity(ev: Event): Pick<EventRecord, 'timestamp' | 'computer' | 'channel' | 'provider' | 'eventId' | 'recordId' | 'sourceFile'> {
  return {
    timestamp: normaliseTime(ev.timestamp),
    computer: ev.computer ?? null,
    channel: ev.channel ?? null,
    provider: ev.provider ?? null,
    eventId: ev.eventId ?? null,
    recordId: ev.recordId ?? null,
    sourceFile: ev.source.file,
  };
}

/**
 * Records share the event's field object instead of copying it: nothing mutates an event after
 * it was read, and detections of one event then cost one copy when they are posted together.
 */
export function toEventRecord(ev: Event): EventRecord {
  return { ...identity(ev), fields: ev.fields };
}

/**
 * `explain: false` leaves `matched` empty (for detections that are never output); `rule` is the
 * rule's reference when the caller keeps one per rule (else one is made).
 */
export function toDetectionRecord(d: Detection, explain = true, rule: DetectionRecord['rule'] = ruleRef(d.rule)): DetectionRecord {
  const ev = d.event;
  return {
    ...identity(ev),
    level: rule.level,
    rule,
    matched: explain ? matchedFields(d.rule, ev, d.fieldMap) : {},
    event: ev.fields,
  };
}

/** A Sigma rule as detection records name it. */
export function ruleRef(r: SigmaRule): DetectionRecord['rule'] {
  const level = r.level ?? 'medium';
  return { id: r.id ?? null, name: r.name ?? null, title: r.title, level, status: r.status ?? null, tags: r.tags, file: r.file, kind: 'sigma' };
}

/** Timestamps as ISO-8601 UTC (`2026-01-02T03:04:05.678Z` style, sub-ms digits kept), or null. */
export function normaliseTime(t: string | undefined): string | null {
  if (!t) return null;
  // An event's time is asked for again for each of its detections: the last answer is kept.
  if (t === lastTime.raw) return lastTime.iso;
  let iso: string | null = t;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(t)) {
    const d = new Date(/^\d{4}-\d\d-\d\d \d/.test(t) ? t.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? '' : 'Z') : t);
    iso = Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  lastTime.raw = t;
  lastTime.iso = iso;
  return iso;
}

const lastTime: { raw: string | undefined; iso: string | null } = { raw: undefined, iso: null };

/** A rule's identity in detection records (file, id and title; a file may hold several rules). */
export function ruleKey(r: { file: string; id?: string | null; title: string }): string {
  return `${r.file}\u0000${r.id ?? ''}\u0000${r.title}`;
}
