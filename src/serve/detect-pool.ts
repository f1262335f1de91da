/**
 * The detection workers of `serve`: a pool of threads (./detect-worker.ts) that compile the rules
 * once and turn ingest records into events and detections. The embedded processor feeds it log
 * batches, keeping one syslog source's text on one worker (its stream state: audit records of one
 * event joined across batches); a scaled-out detect node feeds it one stream message at a time,
 * each task flushed at its end, so a node holds no state a crash could lose.
 */
import { workerRules } from '../pipeline/worker-rules.js';
import { availableParallelism } from 'node:os';
import { WorkerPool } from '../core/pool.js';
import { defaultDomainHandoff } from '../events/domain.js';
import type { DetectionRecord } from '../detections/record.js';
import type { DetectionPlan } from '../pipeline/plan.js';
import type { DetectInit, DetectResult, DetectTask } from './detect-worker.js';
import type { IngestRecord } from './record.js';

export interface DetectPoolOptions {
  /** Worker threads (default: the machine's cores). */
  threads?: number;
  /** Return the events for an event store. */
  storeEvents: boolean;
  /** Linux syslog time zone for time stamps without one. */
  timeZone?: string;
  /** Each routine fact once per worker (default), or with every task that sees it (./detect-worker.ts). */
  dedupFacts?: boolean;
}

/** A record and the number it is stored under (log offset; message sequence and index in a stream). */
export interface NumberedRecord {
  offset: number;
  record: IngestRecord;
}

export class DetectPool {
  private readonly pool: WorkerPool<DetectTask, DetectResult>;
  private readonly syslogKeys = new Set<string>();
  readonly threads: number;

  constructor(plan: DetectionPlan, o: DetectPoolOptions) {
    this.threads = Math.max(1, o.threads ?? availableParallelism());
    const rulesForWorkers = workerRules(plan);
    this.pool = new WorkerPool<DetectTask, DetectResult>({
      url: new URL('./detect-worker.js', import.meta.url),
      size: this.threads,
      depth: 2,
      describe: (t) => (t.records.length ? `log records ${t.records[0]!.offset}–${t.records[t.records.length - 1]!.offset}` : 'a flush'),
      workerData: (): DetectInit => ({
        rules: rulesForWorkers,
        logsources: plan.logsources,
        slim: plan.slim,
        unexplained: plan.unexplained,
        storeEvents: o.storeEvents,
        wantClaims: plan.wantStories,
        domain: defaultDomainHandoff(),
        timeZone: o.timeZone,
        dedupFacts: o.dedupFacts ?? true,
      }),
    });
  }

  /** Start the workers (compiling the rules) before the first task. */
  warm(): void {
    this.pool.warm();
  }

  /** Resolves once every worker has compiled its rules and reported ready; rejects when they cannot start. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** One log batch → detection tasks: syslog text of one source on one worker (its stream state), the rest anywhere. */
  submit(entries: readonly NumberedRecord[]): Promise<DetectResult> {
    const stateless: NumberedRecord[] = [];
    const bySource = new Map<string, NumberedRecord[]>();
    for (const e of entries) {
      if (e.record.protocol === 'syslog' || e.record.kind === 'text' || e.record.body.includes('"_TRANSPORT"')) {
        const list = bySource.get(e.record.source) ?? [];
        list.push(e);
        bySource.set(e.record.source, list);
      } else stateless.push(e);
    }
    const tasks: Promise<DetectResult>[] = [];
    for (const [source, list] of bySource) {
      this.syslogKeys.add(source);
      tasks.push(this.pool.submit(toTask(list), `syslog:${source}`));
    }
    const per = Math.max(1, Math.ceil(stateless.length / this.threads));
    for (let i = 0; i < stateless.length; i += per) tasks.push(this.pool.submit(toTask(stateless.slice(i, i + per))));
    return Promise.all(tasks).then(mergeResults);
  }

  /**
   * Records matched on any worker with no state kept: the task's own pending audit records are
   * released at its end (a Linux event whose records straddle two tasks is read as two).
   */
  submitStateless(records: readonly NumberedRecord[]): Promise<DetectResult> {
    return this.pool.submit({ ...toTask(records), flush: true });
  }

  /** Input went quiet: the audit events the syslog workers still wait on. */
  async flush(): Promise<DetectResult> {
    const flushes = [...this.syslogKeys].map((k) => this.pool.submit({ records: [], flush: true }, `syslog:${k}`));
    return mergeResults(await Promise.all(flushes));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Only the record and its number go to a worker (structured clone copies whatever the entry holds). */
const toTask = (list: readonly NumberedRecord[]): DetectTask => ({ records: list.map((e) => ({ offset: e.offset, record: e.record })) });

/** Results of several tasks as one, in log order (as one worker would have returned them). */
export function mergeResults(results: DetectResult[]): DetectResult {
  if (results.length === 1) return results[0]!;
  const out: DetectResult & { facts: NonNullable<DetectResult['facts']> } = { events: [], detections: [], claims: [], facts: [], errors: [], eventCount: 0, maxTime: Number.NaN };
  for (const r of results) {
    for (const e of r.events) out.events.push(e);
    for (const d of r.detections) out.detections.push(d);
    for (const c of r.claims) out.claims.push(c);
    for (const f of r.facts ?? []) out.facts.push(f);
    for (const e of r.errors) out.errors.push(e);
    out.eventCount += r.eventCount;
    if (!Number.isNaN(r.maxTime) && (Number.isNaN(out.maxTime) || r.maxTime > out.maxTime)) out.maxTime = r.maxTime;
  }
  out.events.sort((a, b) => a.offset - b.offset);
  out.detections.sort((a, b) => offsetOf(a) - offsetOf(b));
  return out;
}

/** The log offset a detection's event came from (`source#offset`). */
export function offsetOf(d: DetectionRecord): number {
  const i = d.sourceFile.lastIndexOf('#');
  return i < 0 ? 0 : Number(d.sourceFile.slice(i + 1));
}
