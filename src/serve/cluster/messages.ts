/**
 * What travels through the streams, and how it is checked when read back. Messages come from
 * other Firebreak nodes, but a stream is shared (anyone with the credentials can publish to its
 * subjects) and a node may be older: a message that is not what it should be becomes an error
 * naming the stream sequence, and the rest goes on.
 *
 * - An events message: the records one ingest request gave one partition (at most
 *   `recordsPerMessage`), as JSON. A record's number is `sequence × recordsPerMessage + index`:
 *   stable across redeliveries, so detections of it have the same identity wherever they are made.
 * - A result message: what a detect node made of one events message (detections, the stories'
 *   address claims and routine facts, record errors, the latest event time), split into parts
 *   when it would not fit in one message.
 */
import { LIMITS } from '../../core/limits.js';
import type { DetectionRecord } from '../../detections/record.js';
import { LEVELS } from '../../sigma/model.js';
import type { RoutineFact } from '../../stories/facts.js';
import type { DetectResult } from '../detect-worker.js';
import { INGEST_PROTOCOLS, type IngestRecord } from '../record.js';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The number of record `index` of events message `seq`. */
export function recordNumber(seq: number, index: number): number {
  return seq * LIMITS.cluster.recordsPerMessage + index;
}

/** The events message a record number belongs to. */
export function messageOf(recordNumber: number): number {
  return Math.floor(recordNumber / LIMITS.cluster.recordsPerMessage);
}

/** One record's encoded form (what an events message holds), for sizing before packing. */
export function encodeRecord(r: IngestRecord): string {
  return JSON.stringify(r);
}

/** Records (already encoded one by one) as an events message. */
export function eventsMessage(encoded: readonly string[]): Uint8Array {
  return enc.encode(`{"v":1,"records":[${encoded.join(',')}]}`);
}

/** Bytes an events message of these encoded records takes. */
export const EVENTS_ENVELOPE_BYTES = '{"v":1,"records":[]}'.length;

function checkRecord(v: unknown): IngestRecord | string {
  if (!isObj(v)) return 'a record is not an object';
  if (typeof v.source !== 'string' || !v.source) return 'a record has no source';
  if (!(INGEST_PROTOCOLS as readonly unknown[]).includes(v.protocol)) return `a record has an unknown protocol ${JSON.stringify(v.protocol)?.slice(0, 40)}`;
  if (typeof v.receivedAt !== 'number' || !Number.isFinite(v.receivedAt)) return 'a record has no arrival time';
  if (v.kind !== 'json' && v.kind !== 'text') return 'a record has an unknown kind';
  if (typeof v.body !== 'string') return 'a record has no body';
  if (v.meta !== undefined && !isObj(v.meta)) return "a record's meta is not an object";
  return v as unknown as IngestRecord;
}

/** An events message read back: its records, or why it cannot be read (each bad record is an error at its index). */
export function readEventsMessage(data: Uint8Array): { records: (IngestRecord | string)[] } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (e) {
    return { error: `not a Firebreak events message (${(e as Error).message.slice(0, 80)})` };
  }
  if (!isObj(v) || v.v !== 1 || !Array.isArray(v.records)) return { error: 'not a Firebreak events message (version 1 with records)' };
  if (v.records.length > LIMITS.cluster.recordsPerMessage) return { error: `${v.records.length} records in one message; at most ${LIMITS.cluster.recordsPerMessage}` };
  return { records: v.records.map(checkRecord) };
}

/** One part of a result message. */
export interface ResultPart {
  v: 1;
  /** The events message's stream sequence. */
  seq: number;
  /** Its partition (host subject). */
  partition: number;
  part: number;
  parts: number;
  /** The detect node that made it. */
  node: string;
  /** Part 0 only: records and events read, the latest event time (ms, null if none), the newest arrival. */
  records: number;
  eventCount: number;
  maxTime: number | null;
  receivedAt: number | null;
  detections: DetectionRecord[];
  claims: DetectResult['claims'];
  facts: RoutineFact[];
  errors: DetectResult['errors'];
}

/** A whole result: every part of one events message's result put together. */
export type Result = Omit<ResultPart, 'part' | 'parts' | 'v'>;

/**
 * A result as messages no larger than `maxBytes` each: detections, claims, facts and errors packed
 * in order into as few parts as fit. An item that alone is larger than a part is replaced by a
 * record error saying so (it cannot travel; it is not silently lost).
 */
export function resultMessages(r: Result, maxBytes: number): Uint8Array[] {
  const kinds = ['detections', 'claims', 'facts', 'errors'] as const;
  const items: { kind: (typeof kinds)[number]; json: string }[] = [];
  const tooBig: DetectResult['errors'] = [];
  const base = 512;
  for (const kind of kinds) {
    for (const it of r[kind] as unknown[]) {
      const json = JSON.stringify(it);
      if (json.length + base > maxBytes) {
        tooBig.push({
          offset: null,
          source: '',
          code: 'cluster-result-too-large',
          message: `a ${kind.slice(0, -1)} of ${json.length} bytes does not fit in one NATS message (max_payload ${maxBytes}); it was left out`,
        });
        continue;
      }
      items.push({ kind, json });
    }
  }
  for (const e of tooBig) items.push({ kind: 'errors', json: JSON.stringify(e) });
  const groups: (typeof items)[] = [[]];
  let size = base;
  for (const it of items) {
    if (size + it.json.length + 1 > maxBytes && groups[groups.length - 1]!.length) {
      groups.push([]);
      size = base;
    }
    groups[groups.length - 1]!.push(it);
    size += it.json.length + 1;
  }
  return groups.map((g, part) => {
    const head = {
      v: 1,
      seq: r.seq,
      partition: r.partition,
      part,
      parts: groups.length,
      node: r.node,
      records: part ? 0 : r.records,
      eventCount: part ? 0 : r.eventCount,
      maxTime: part ? null : r.maxTime,
      receivedAt: part ? null : r.receivedAt,
    };
    const lists = kinds.map(
      (k) =>
        `"${k}":[${g
          .filter((i) => i.kind === k)
          .map((i) => i.json)
          .join(',')}]`,
    );
    return enc.encode(`${JSON.stringify(head).slice(0, -1)},${lists.join(',')}}`);
  });
}

const intIn = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const numOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

function checkDetection(d: unknown): string | undefined {
  if (!isObj(d)) return 'a detection is not an object';
  const rule = d.rule;
  if (!isObj(rule) || typeof rule.title !== 'string' || (rule.kind !== 'sigma' && rule.kind !== 'correlation') || typeof rule.file !== 'string' || !Array.isArray(rule.tags)) {
    return 'a detection has no rule';
  }
  if (!(LEVELS as readonly unknown[]).includes(d.level)) return 'a detection has an unknown level';
  if (typeof d.sourceFile !== 'string' || !(d.timestamp === null || typeof d.timestamp === 'string')) return 'a detection has no source or time';
  if (!isObj(d.event) || !isObj(d.matched)) return 'a detection has no event';
  return undefined;
}

/** A result part read back, or why it cannot be used. */
export function readResultPart(data: Uint8Array): ResultPart | { error: string; seq?: number } {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (e) {
    return { error: `not a Firebreak result message (${(e as Error).message.slice(0, 80)})` };
  }
  if (!isObj(v) || v.v !== 1) return { error: 'not a Firebreak result message (version 1)' };
  const seq = intIn(v.seq, 1, Number.MAX_SAFE_INTEGER) ? v.seq : undefined;
  const bad = (why: string) => ({ error: `result message${seq === undefined ? '' : ` for events message ${seq}`}: ${why}`, ...(seq === undefined ? {} : { seq }) });
  if (seq === undefined) return bad('no sequence');
  if (!intIn(v.parts, 1, LIMITS.cluster.recordsPerMessage * 16) || !intIn(v.part, 0, v.parts - 1)) return bad('bad part numbers');
  if (!intIn(v.partition, 0, LIMITS.cluster.partitionsMax - 1)) return bad('bad partition');
  if (typeof v.node !== 'string' || !intIn(v.records, 0, LIMITS.cluster.recordsPerMessage) || !intIn(v.eventCount, 0, Number.MAX_SAFE_INTEGER)) return bad('bad counts');
  if (!numOrNull(v.maxTime) || !numOrNull(v.receivedAt)) return bad('bad times');
  for (const k of ['detections', 'claims', 'facts', 'errors'] as const) if (!Array.isArray(v[k])) return bad(`no ${k}`);
  for (const d of v.detections as unknown[]) {
    const why = checkDetection(d);
    if (why) return bad(why);
  }
  for (const c of v.claims as unknown[]) if (!isObj(c) || typeof c.ip !== 'string' || typeof c.host !== 'string') return bad('a bad address claim');
  for (const f of v.facts as unknown[]) if (!isObj(f) || typeof f.kind !== 'string') return bad('a bad routine fact');
  for (const e of v.errors as unknown[]) if (!isObj(e) || typeof e.message !== 'string') return bad('a bad record error');
  return v as unknown as ResultPart;
}
