/**
 * A detection worker of `firebreak serve`: compiles the rules once, then turns batches of
 * write-ahead-log records into events (./decode.ts), matches them, and returns the detections,
 * the events to store, the address claims and routine facts stories learn from, and what could
 * not be read. The
 * same engine and record shapes as `hunt`'s workers; no state but the per-source Linux streams.
 */
import { readShared, type SharedValue } from '../core/shared-value.js';
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../core/pool-worker.js';
import { normaliseTime, ruleKey, toDetectionRecord } from '../detections/convert.js';
import type { DetectionRecord } from '../detections/record.js';
import { Engine } from '../engine/engine.js';
import type { LogsourceMap } from '../engine/logsource.js';
import { LIMITS } from '../core/limits.js';
import { addressClaims } from '../events/addresses.js';
import { adoptDefaultDomain, defaultDomain, type DomainHandoff } from '../events/domain.js';
import { EventRoutine, factKey, type RoutineFact } from '../stories/facts.js';
import type { Event } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';
import { RecordDecoder } from './decode.js';
import type { IngestRecord } from './record.js';
import type { StoredEvent } from './store/types.js';

export interface DetectInit {
  /** The rules to compile, serialised once for every worker (src/core/shared-value.ts). */
  rules: SharedValue<SigmaRule[]>;
  logsources: LogsourceMap;
  slim: Record<string, string[]>;
  unexplained: string[];
  /** Return the events for the event store. */
  storeEvents: boolean;
  wantClaims: boolean;
  /** The bundled domain data as the main thread validated it (not read and validated again here). */
  domain?: DomainHandoff;
  timeZone?: string;
  /**
   * Send a routine fact once per worker (the embedded server). A scaled-out detect node sends each
   * message's facts with it, so where a fact arrives depends on the stream, not on which node saw
   * it first (learning it again changes nothing).
   */
  dedupFacts?: boolean;
}

export interface DetectTask {
  records: { offset: number; record: IngestRecord }[];
  /** Input went quiet: emit the audit events still waiting for records. */
  flush?: boolean;
}

export interface DetectResult {
  events: StoredEvent[];
  detections: DetectionRecord[];
  claims: { ip: string; host: string; at: string | null }[];
  /** Routine facts for the stories' baselines (who reaches which host, which program runs where; src/stories/facts.ts), when claims are wanted. */
  facts?: RoutineFact[];
  errors: { offset: number | null; source: string; code: string; message: string }[];
  /** Events read (some records make none, some several). */
  eventCount: number;
  /** Latest event time seen (ms), for the watermark; NaN when none had one. */
  maxTime: number;
}

const init = workerData as DetectInit;
const rules = readShared(init.rules);
const engine = new Engine(rules, { logsources: init.logsources });
// Before the worker reports ready: the first events of each kind then match as fast as the rest.
engine.prepare();
const decoder = new RecordDecoder({ timeZone: init.timeZone });
const slimmed = new Map<SigmaRule, string[]>();
const unexplained = new Set<SigmaRule>();
const unexplainedKeys = new Set(init.unexplained);
adoptDefaultDomain(init.domain);
const routine = init.wantClaims ? new EventRoutine(defaultDomain()) : undefined;
/** Facts sent lately (bounded: forgetting one only means it is sent again, and learning it twice changes nothing). */
const seenFacts = new Set<string>();
for (const r of rules) {
  const key = ruleKey(r);
  const keep = init.slim[key];
  if (keep) slimmed.set(r, keep);
  if (unexplainedKeys.has(key)) unexplained.add(r);
}

function detect(task: DetectTask): DetectResult {
  const out: DetectResult & { facts: RoutineFact[] } = { events: [], detections: [], claims: [], facts: [], errors: [], eventCount: 0, maxTime: Number.NaN };
  const take = (items: ReturnType<RecordDecoder['decode']>, offset: number | null, source: string, receivedAt: number) => {
    for (const it of items) {
      if (!('fields' in it)) {
        out.errors.push({ offset, source, code: it.code, message: it.format() });
        continue;
      }
      handle(it, out, offset ?? it.source.offset ?? -1, source, receivedAt);
    }
  };
  for (const { offset, record } of task.records) take(decoder.decode(offset, record), offset, record.source, record.receivedAt);
  // Held audit records released by a flush: their arrival is now, as far as the store is concerned.
  if (task.flush) take(decoder.flush(), null, '', Date.now());
  return out;
}

function handle(ev: Event, out: DetectResult & { facts: RoutineFact[] }, offset: number, source: string, receivedAt: number): void {
  out.eventCount++;
  const ts = normaliseTime(ev.timestamp);
  if (ts) {
    const t = Date.parse(ts);
    if (!(t <= out.maxTime)) out.maxTime = t;
  }
  if (init.storeEvents)
    out.events.push({
      offset,
      source,
      timestamp: ts,
      receivedAt,
      computer: ev.computer ?? null,
      channel: ev.channel ?? null,
      provider: ev.provider ?? null,
      eventId: ev.eventId ?? null,
      recordId: ev.recordId ?? null,
      fields: ev.fields,
    });
  if (init.wantClaims) for (const c of addressClaims(ev.fields, ev.computer ?? null)) out.claims.push({ ip: c.ip, host: c.host, at: ts });
  const t = routine && ts ? Date.parse(ts) : Number.NaN;
  const facts = routine && !Number.isNaN(t) ? routine : undefined;
  if (facts) {
    facts.next(ev.fields, ev.computer ?? null, t);
    for (const f of facts.facts()) fact(f, out);
  }
  for (const d of engine.match(ev)) {
    if (facts) fact(facts.detection(d.rule.id ?? d.rule.title), out);
    const rec = toDetectionRecord(d, !unexplained.has(d.rule));
    const keep = slimmed.get(d.rule);
    if (keep) {
      const event: typeof rec.event = {};
      for (const f of keep) if (f in rec.event) event[f] = rec.event[f]!;
      rec.event = event;
    }
    out.detections.push(rec);
  }
}

function fact(f: RoutineFact | undefined, out: DetectResult & { facts: RoutineFact[] }): void {
  if (!f) return;
  if (init.dedupFacts === false) {
    out.facts.push(f);
    return;
  }
  const key = factKey(f);
  if (seenFacts.has(key)) return;
  if (seenFacts.size >= LIMITS.stories.seenFacts) seenFacts.clear();
  seenFacts.add(key);
  out.facts.push(f);
}

serveTasks<DetectTask, DetectResult>(detect);
