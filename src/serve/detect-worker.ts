/**
 * A detection worker of `firebreak serve`: compiles the rules once, then turns batches of
 * write-ahead-log records into events (./decode.ts), matches them, and returns the detections,
 * the events to store, the address claims stories learn from, and what could not be read. The
 * same engine and record shapes as `hunt`'s workers; no state but the per-source Linux streams.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../core/pool-worker.js';
import { normaliseTime, ruleKey, toDetectionRecord } from '../detections/convert.js';
import type { DetectionRecord } from '../detections/record.js';
import { Engine } from '../engine/engine.js';
import type { LogsourceMap } from '../engine/logsource.js';
import { addressClaims } from '../events/addresses.js';
import type { Event } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';
import { RecordDecoder } from './decode.js';
import type { IngestRecord } from './record.js';
import type { StoredEvent } from './store/types.js';

export interface DetectInit {
  rules: SigmaRule[];
  logsources: LogsourceMap;
  slim: Record<string, string[]>;
  unexplained: string[];
  /** Return the events for the event store. */
  storeEvents: boolean;
  wantClaims: boolean;
  timeZone?: string;
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
  errors: { offset: number | null; source: string; code: string; message: string }[];
  /** Events read (some records make none, some several). */
  eventCount: number;
  /** Latest event time seen (ms), for the watermark; NaN when none had one. */
  maxTime: number;
}

const init = workerData as DetectInit;
const engine = new Engine(init.rules, { logsources: init.logsources });
const decoder = new RecordDecoder({ timeZone: init.timeZone });
const slimmed = new Map<SigmaRule, string[]>();
const unexplained = new Set<SigmaRule>();
const unexplainedKeys = new Set(init.unexplained);
for (const r of init.rules) {
  const key = ruleKey(r);
  const keep = init.slim[key];
  if (keep) slimmed.set(r, keep);
  if (unexplainedKeys.has(key)) unexplained.add(r);
}

function detect(task: DetectTask): DetectResult {
  const out: DetectResult = { events: [], detections: [], claims: [], errors: [], eventCount: 0, maxTime: Number.NaN };
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

function handle(ev: Event, out: DetectResult, offset: number, source: string, receivedAt: number): void {
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
  for (const d of engine.match(ev)) {
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

serveTasks<DetectTask, DetectResult>(detect);
