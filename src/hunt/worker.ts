/**
 * A hunt worker thread: compiles the rules it is given once, then reads whole evidence files.
 * Its detections go to its share of the time sort (`RunSpiller`: sorted runs written to the
 * hunt's temporary folder, their paths posted to the main thread; what is left is posted at the
 * end). Counts, address claims and (for --db) every event are posted in batches, which the main
 * thread acknowledges, so a slow output cannot make memory grow.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks, type TaskContext } from '../core/pool-worker.js';
import { FirebreakError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { readShared, type SharedValue } from '../core/shared-value.js';
import { Engine } from '../engine/engine.js';
import { readEventBatches } from '../readers/detect.js';
import type { DetectionRecord, EventRecord } from '../detections/record.js';
import type { HuntError } from '../output/records.js';
import { RunSpiller, sortItem, sortItemOfRule } from './sorter.js';
import type { SigmaRule } from '../sigma/model.js';
import type { LogsourceMap } from '../engine/logsource.js';
import { addressClaims } from '../events/addresses.js';
import { adoptDefaultDomain, defaultDomain, type DomainHandoff } from '../events/domain.js';
import { EventRoutine, factKey, type RoutineFact } from '../stories/facts.js';
import { normaliseTime, ruleKey, ruleRef, toDetectionRecord, toEventRecord } from '../detections/convert.js';
import { isoMs } from '../core/time.js';

export interface WorkerInit {
  /** The rules to compile, serialised once for every worker (src/core/shared-value.ts), in the order of the plan's list: detections name their rule by its place in it. */
  rules: SharedValue<SigmaRule[]>;
  logsources?: LogsourceMap;
  from?: string;
  to?: string;
  /** Linux readers' options (syslog zone and year). */
  linux?: { timeZone?: string; year?: number };
  wantEvents: boolean;
  /** Collect IP → host claims and routine facts (for stories). */
  wantClaims: boolean;
  /** The bundled domain data as the main thread validated it (not read and validated again here). */
  domain?: DomainHandoff;
  /** Rules whose detections only feed correlations (by `ruleKey`) → the event fields to send. */
  slim: Record<string, string[]>;
  /** Rules (by `ruleKey`) whose detections are never output: their matched fields are not worked out. */
  unexplained: string[];
  /** False when nothing reads any detection's matched fields (a hunt with no output): none are worked out. */
  explain: boolean;
  /** The folder this worker's sorted runs of detections go to, the runs' name prefix, its share of the sort's memory, and the origin its runs are marked with. */
  sort: { dir: string; prefix: string; items: number; chars: number; origin: number };
}

/** A file to read (the pool's task) and what the worker says when it is done with it. */
export interface FileTask {
  path: string;
}

/** A batch of what a file's reading found (`FromWorker` of type `batch`). */
export type FileBatch = Extract<FromWorker, { type: 'batch' }>;

/**
 * A file is read: its detections are in this worker's share of the sort (marked with `origin`).
 * The file's last batch comes with it when it holds no events to store (most files fit in one
 * batch: a batch message and its acknowledgement less for each).
 */
export interface FileDone {
  origin: number;
  last?: FileBatch;
}

/** Acknowledgement of a batch (credit-based flow control). */
export type ToWorker = { type: 'ack' };

/** Messages streamed while a file is read (the file they belong to is named). */
export type FromWorker =
  | {
      type: 'batch';
      file: string;
      /** Detections found in this batch (they are in the worker's share of the sort). */
      detections: number;
      events: EventRecord[];
      /** IP → host claims first seen in this batch (for stories). */
      claims: { ip: string; host: string; at: string | null }[];
      /** Routine facts first seen in this batch (for stories: who reaches which host, which program runs where). */
      facts: RoutineFact[];
      eventCount: number;
      first: string | null;
      last: string | null;
      filtered: number;
    }
  | { type: 'error'; error: HuntError }
  /** A sorted run of detections written to the sort's folder (everything the worker held). */
  | { type: 'run'; path: string };

/**
 * The worker's last words: the run it wrote of the detections it still held (none when it held
 * none). Written and sorted here, in parallel with the other workers, they are read back by the
 * main thread's merge a block at a time: sent as a message, they were cloned whole into the main
 * thread's heap and sorted again there, all while the workers were idle.
 */
export interface WorkerRest {
  run?: string;
}

const BATCH = LIMITS.worker.batch;
/** Batches a worker may have in flight before it waits for the main thread to store them. */
export const WINDOW = LIMITS.worker.window;

const init = workerData as WorkerInit;
const rules = readShared(init.rules);
const engine = new Engine(rules, { logsources: init.logsources });
const from = init.from ?? null;
const to = init.to ?? null;
// Credit-based flow control: up to WINDOW batches unacknowledged, then wait for an ack.
let inFlight = 0;
let waiting: (() => void) | undefined;
const spiller = new RunSpiller(init.sort.dir, init.sort.prefix, init.sort.items, init.sort.chars);
const seenClaims = new Set<string>();
const seenFacts = new Set<string>();
adoptDefaultDomain(init.domain);
const routine = new EventRoutine(defaultDomain());
const slimmed = new Map<SigmaRule, string[]>();
const unexplainedKeys = new Set(init.unexplained);
const unexplained = new Set<SigmaRule>();
/** Each rule's place in the hunt's rule list (the same order as the main thread's): the sort carries it instead of the rule. */
const ruleIndex = new Map<SigmaRule, number>(rules.map((r, i) => [r, i]));
/** One reference per rule for its detections' records (the sort then carries its index instead). */
const refs = new Map<SigmaRule, DetectionRecord['rule']>();
const refOf = (r: SigmaRule): DetectionRecord['rule'] => {
  let ref = refs.get(r);
  if (!ref) refs.set(r, (ref = ruleRef(r)));
  return ref;
};
for (const r of rules) {
  const key = ruleKey(r);
  const keep = init.slim[key];
  if (keep) slimmed.set(r, keep);
  if (unexplainedKeys.has(key)) unexplained.add(r);
}

async function readFile(task: FileTask, ctx: TaskContext): Promise<FileDone> {
  const post = (msg: FromWorker) => ctx.post(msg);
  const send = async (msg: FromWorker) => {
    while (inFlight >= WINDOW) await new Promise<void>((resolve) => (waiting = resolve));
    inFlight++;
    post(msg);
  };
  const path = task.path;
  let detections = 0;
  let events: EventRecord[] = [];
  let claims: { ip: string; host: string; at: string | null }[] = [];
  let facts: RoutineFact[] = [];
  const fact = (f: RoutineFact | undefined) => {
    if (!f) return;
    const key = factKey(f);
    if (seenFacts.has(key)) return;
    // Bounded: forgetting only means a fact is sent again (learning it twice changes nothing).
    if (seenFacts.size >= LIMITS.stories.seenFacts) seenFacts.clear();
    seenFacts.add(key);
    facts.push(f);
  };
  let count = 0;
  let filtered = 0;
  let first: string | null = null;
  let last: string | null = null;
  const batch = (): FileBatch => ({ type: 'batch', file: path, detections, events, claims, facts, eventCount: count, first, last, filtered });
  const flush = async () => {
    await send(batch());
    detections = 0;
    events = [];
    claims = [];
    facts = [];
    count = 0;
    filtered = 0;
    first = last = null;
  };
  const errors: HuntError[] = [];
  try {
    // An EVTX file comes a chunk of events at a time (src/readers/detect.ts `readEventBatches`).
    for await (const batch of readEventBatches(path, {
      linux: init.linux,
      onError: (e) => errors.push({ kind: 'record', file: path, code: e.code, message: 'format' in e && typeof e.format === 'function' ? (e.format as () => string)() : e.message }),
    })) {
      for (const ev of batch) {
        const ts = normaliseTime(ev.timestamp);
        if ((from && (!ts || ts < from)) || (to && (!ts || ts > to))) {
          filtered++;
          continue;
        }
        count++;
        if (ts) {
          if (!first || ts < first) first = ts;
          if (!last || ts > last) last = ts;
        }
        if (init.wantEvents) events.push(toEventRecord(ev));
        if (init.wantClaims)
          for (const c of addressClaims(ev.fields, ev.computer ?? null)) {
            const key = `${c.ip}\u0000${c.host.toLowerCase()}`;
            if (seenClaims.has(key)) continue;
            // Bounded: forgetting only means a claim is sent again.
            if (seenClaims.size >= LIMITS.worker.seenClaims) seenClaims.clear();
            seenClaims.add(key);
            claims.push({ ip: c.ip, host: c.host, at: ts });
          }
        const t = init.wantClaims && ts ? isoMs(ts) : NaN;
        routine.next(ev.fields, ev.computer ?? null, t);
        if (!Number.isNaN(t)) for (const f of routine.facts()) fact(f);
        for (const d of engine.match(ev)) {
          if (!Number.isNaN(t)) fact(routine.detection(d.rule.id ?? d.rule.title));
          const rec = toDetectionRecord(d, init.explain && !unexplained.has(d.rule), refOf(d.rule));
          if (init.wantClaims) rec.routine = routine.routine();
          const keep = slimmed.get(d.rule);
          if (keep) {
            // A field whose value is undefined would not be written to the sort's JSON either.
            const all = rec.event;
            const event: typeof rec.event = {};
            for (const f of keep) {
              const v = all[f];
              if (v !== undefined) event[f] = v;
            }
            rec.event = event;
          }
          detections++;
          const at = ruleIndex.get(d.rule);
          const run = spiller.add(at === undefined ? sortItem(rec, init.sort.origin) : sortItemOfRule(rec, init.sort.origin, at));
          if (run) post({ type: 'run', path: run });
        }
        if (count >= BATCH || detections >= BATCH) await flush();
      }
      if (errors.length) for (const error of errors.splice(0)) post({ type: 'error', error });
    }
  } catch (e) {
    const err = e instanceof FirebreakError ? e : new FirebreakError('read-failed', (e as Error).message);
    errors.push({ kind: 'file', file: path, code: err.code, message: err.message });
  }
  for (const error of errors) post({ type: 'error', error });
  if (events.length) {
    await flush();
    return { origin: init.sort.origin };
  }
  return { origin: init.sort.origin, last: batch() };
}

serveTasks<FileTask, FileDone>(readFile, {
  onMessage: (m) => {
    if ((m as ToWorker).type !== 'ack') return;
    inFlight--;
    const w = waiting;
    waiting = undefined;
    w?.();
  },
  onStop: (): WorkerRest => ({ run: spiller.flush() }),
});
