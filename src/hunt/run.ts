/**
 * `hunt` orchestration: load and select rules, discover evidence, fan files out to worker
 * threads, aggregate the summary, keep detections in time order (spilling to disk), and hand
 * them to the outputs. Memory stays bounded whatever the size of the evidence.
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { DetectionRecord, EventRecord } from '../detections/record.js';
import type { HuntError, HuntSummary } from '../output/records.js';
import type { DetectionSink } from '../output/stage.js';
import { detectionStages, planDetection } from '../pipeline/plan.js';
import { forWorker, type RuleFilter } from '../pipeline/select.js';
import { LEVELS, type Level } from '../sigma/model.js';
import type { Story } from '../stories/model.js';
import { discoverFiles } from './discover.js';
import { DetectionSorter } from './sorter.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker.js';

export type { DetectionSink };

/** Receives every event as it is read (for --db). */
export interface EventSink {
  writeEvents(events: EventRecord[]): void | Promise<void>;
}

export interface HuntConfig {
  paths: string[];
  /** Rule files/folders; default: the bundled SigmaHQ set. */
  rulePaths?: string[];
  placeholders?: string;
  filter: RuleFilter;
  /** ISO-8601 bounds on event time. */
  from?: string;
  to?: string;
  threads?: number;
  sinks?: DetectionSink[];
  /** Evaluate correlation rules (default true; false runs the single-event rules only). */
  correlations?: boolean;
  /** Build stories (default true). */
  stories?: boolean;
  /** Receives the stories at the end (before the sinks close). */
  onStories?: (stories: Story[]) => void | Promise<void>;
  eventSink?: EventSink;
  /** Detections as they arrive, unordered (e.g. for --fail-on). */
  onDetection?: (d: DetectionRecord) => void;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  events: number;
  detections: number;
}

const SAMPLE_ERRORS = 50;

/** Detections handed to the stages at a time (the time sort yields them one by one). */
const PIPELINE_BATCH = 512;

/**
 * Between full collections V8 lets a heap grow to up to four times what survived the last one
 * (more when collections are fast). Over millions of events that headroom, filled with dead
 * events, set the hunt's peak memory: the threads' live heaps were under 100 MB each while their
 * heaps reached 250–380 MB. A fixed growing factor of 1.5 (the flag is process-wide and read at
 * every collection, so it holds for the workers too) cut peak RSS from 985 to 631 MiB on 495,300
 * events with no loss of speed (wall time 0.96× in the same run).
 */
const HEAP_GROWING_PERCENT = 50;

export async function hunt(cfg: HuntConfig): Promise<HuntSummary> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const started = Date.now();
  const summary: HuntSummary = {
    startedAt: new Date(started).toISOString(),
    elapsedMs: 0,
    files: { read: 0, skipped: [] },
    events: 0,
    firstEvent: null,
    lastEvent: null,
    detections: 0,
    byLevel: Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<Level, number>,
    topRules: [],
    topHosts: [],
    rules: { loaded: 0, correlations: 0, failed: 0, unmapped: 0 },
    errors: { count: 0, sample: [] },
    eventsPerSecond: 0,
  };
  const addError = (e: HuntError) => {
    summary.errors.count++;
    if (summary.errors.sample.length < SAMPLE_ERRORS) summary.errors.sample.push(e);
  };

  const sinks = cfg.sinks ?? [];
  const plan = planDetection({
    rulePaths: cfg.rulePaths,
    placeholders: cfg.placeholders,
    filter: cfg.filter,
    correlations: cfg.correlations,
    stories: cfg.stories,
    fullEvents: sinks.some((s) => s.needsEvent),
  });
  for (const e of plan.ruleErrors) addError({ kind: 'rule', file: e.location.file, code: e.code, message: e.format() });
  summary.rules = plan.counts;
  const { pipeline, counts, stories } = detectionStages(plan, { sinks, onDetection: cfg.onDetection });

  const { files, unreadable } = await discoverFiles(cfg.paths);
  for (const u of unreadable) summary.files.skipped.push({ file: u.file, reason: u.reason });
  files.sort((a, b) => b.size - a.size); // largest first balances the workers
  const bytesTotal = files.reduce((s, f) => s + f.size, 0);
  const sizeOf = new Map(files.map((f) => [f.path, f.size]));
  const progress: Progress = { bytesDone: 0, bytesTotal, filesDone: 0, filesTotal: files.length, events: 0, detections: 0 };

  const sorter = new DetectionSorter();
  const failedFiles = new Set<string>();

  const threads = Math.max(1, Math.min(cfg.threads && cfg.threads > 0 ? cfg.threads : availableParallelism(), files.length || 1));
  // Each worker sorts its own detections; together they hold about what one sort would.
  const share = (limit: number, floor: number) => Math.max(floor, Math.floor(limit / threads));
  const sortShare = { dir: sorter.directory(), items: share(sorter.memoryLimit, 5_000), chars: share(sorter.charLimit, 8 * 2 ** 20) };
  const workerRules = plan.rules.map(forWorker);
  const init = (i: number): WorkerInit => ({
    rules: workerRules,
    logsources: plan.logsources,
    from: cfg.from,
    to: cfg.to,
    wantEvents: !!cfg.eventSink,
    wantClaims: !!stories,
    slim: plan.slim,
    unexplained: plan.unexplained,
    sort: { ...sortShare, prefix: `w${i}` },
  });
  const pending = [...files];
  let chain = Promise.resolve();

  try {
    await new Promise<void>((resolve, reject) => {
      if (!pending.length) return resolve();
      let live = 0;
      for (let i = 0; i < threads; i++) {
        const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init(i) });
        live++;
        // Each worker has up to two files queued, so it never waits for the next one.
        let queued = 0;
        let stopped = false;
        const sendNext = () => {
          while (queued < 2 && !stopped) {
            const f = pending.shift();
            if (f) {
              queued++;
              w.postMessage({ type: 'file', path: f.path } satisfies ToWorker);
            } else {
              stopped = true;
              w.postMessage({ type: 'stop' } satisfies ToWorker);
            }
          }
        };
        w.on('message', (m: FromWorker) => {
          // Handle messages strictly in order; batches are acknowledged once their events are stored.
          chain = chain
            .then(async () => {
              switch (m.type) {
                case 'ready':
                  return sendNext();
                case 'error':
                  if (m.error.kind === 'file') {
                    failedFiles.add(m.error.file);
                    summary.files.skipped.push({ file: m.error.file, reason: m.error.message });
                  }
                  return addError(m.error);
                case 'batch': {
                  summary.events += m.eventCount;
                  progress.events += m.eventCount;
                  if (m.first && (!summary.firstEvent || m.first < summary.firstEvent)) summary.firstEvent = m.first;
                  if (m.last && (!summary.lastEvent || m.last > summary.lastEvent)) summary.lastEvent = m.last;
                  if (m.events.length && cfg.eventSink) await cfg.eventSink.writeEvents(m.events);
                  // Acknowledged once the events are stored (the database is the one slow consumer).
                  w.postMessage({ type: 'ack' } satisfies ToWorker);
                  stories?.learn(m.claims);
                  progress.detections += m.detections;
                  return;
                }
                case 'run':
                  return sorter.addRun(m.path);
                case 'rest':
                  for (const d of m.detections) sorter.add(d);
                  return;
                case 'done':
                  queued--;
                  if (!failedFiles.has(m.path)) summary.files.read++;
                  progress.filesDone++;
                  progress.bytesDone += sizeOf.get(m.path) ?? 0;
                  cfg.onProgress?.({ ...progress });
                  return sendNext();
              }
            })
            .catch(reject);
        });
        w.on('error', reject);
        w.on('exit', () => {
          if (--live === 0) chain.then(resolve, reject);
        });
      }
    });
    await chain;
  } catch (e) {
    sorter.dispose(); // the temporary folder, with any runs the workers wrote
    throw e;
  }

  // Detections in time order through the stages: correlation (sees every rule's matches, even
  // those it hides), counts, stories, outputs.
  let batch: DetectionRecord[] = [];
  for (const d of sorter.drain()) {
    batch.push(d);
    if (batch.length >= PIPELINE_BATCH) {
      await pipeline.push(batch);
      batch = [];
    }
  }
  if (batch.length) await pipeline.push(batch);
  await pipeline.finish();
  const c = counts.counts();
  summary.detections = c.detections;
  summary.byLevel = c.byLevel;
  summary.topRules = c.topRules;
  summary.topHosts = c.topHosts;
  if (plan.correlationEngine) summary.correlation = plan.correlationEngine.stats();
  if (stories) {
    const found = stories.stories();
    summary.stories = { count: found.length, top: found.slice(0, 5) };
    await cfg.onStories?.(found);
  }
  summary.elapsedMs = Date.now() - started;
  summary.eventsPerSecond = summary.elapsedMs ? Math.round(summary.events / (summary.elapsedMs / 1000)) : 0;
  for (const s of sinks) await s.close(summary);
  summary.peakRssBytes = process.resourceUsage().maxRSS * 1024;
  return summary;
}
