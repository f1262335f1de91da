/**
 * `hunt` orchestration: load and select rules, discover evidence, fan files out to worker
 * threads, aggregate the summary, keep detections in time order (spilling to disk), and hand
 * them to the outputs. Memory stays bounded whatever the size of the evidence.
 */
import { defaultDomainHandoff } from '../events/domain.js';
import { availableParallelism } from 'node:os';
import type { DetectionRecord, EventRecord } from '../detections/record.js';
import type { HuntError, HuntSummary } from '../output/records.js';
import type { DetectionSink } from '../output/stage.js';
import { detectionStages, planDetection } from '../pipeline/plan.js';
import type { RuleFilter } from '../pipeline/select.js';
import { workerRules } from '../pipeline/worker-rules.js';
import { LEVELS, type Level } from '../sigma/model.js';
import type { Story } from '../stories/model.js';
import { discoverFiles } from './discover.js';
import { DetectionSorter } from './sorter.js';
import { ruleRef } from '../detections/convert.js';
import { FirebreakError } from '../core/errors.js';
import { TaskLostError, WorkerPool } from '../core/pool.js';
import type { FileBatch, FileDone, FileTask, FromWorker, ToWorker, WorkerInit, WorkerRest } from './worker.js';

export type { DetectionSink };

type FromWorkerFacts = FileBatch['facts'];

/** Receives every event as it is read (for --db). */
export interface EventSink {
  writeEvents(events: EventRecord[]): void | Promise<void>;
  /** Take back the events of one source file (it is read again after its worker died). */
  retract?(sourceFile: string): Promise<unknown>;
}

export interface HuntConfig {
  paths: string[];
  /** Rule files/folders; default: the bundled SigmaHQ set. */
  rulePaths?: string[];
  placeholders?: string;
  filter: RuleFilter;
  /** ISO-8601 bounds on event time. */
  from?: string;
  /** Linux readers: zone and year of syslog time stamps written without them. */
  linux?: { timeZone?: string; year?: number };
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
  /** Fault injection for tests: kill the worker that sent a message when this returns true. */
  testFaults?: { killWorkerWhen?: (m: FromWorker, from: { instance: number }, task: { path: string } | undefined) => boolean };
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

export async function hunt(cfg: HuntConfig): Promise<HuntSummary> {
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
  // The workers send each detection's routine fact with the events' facts (./worker.ts), before
  // the first detection reaches the stories: they need not work it out again.
  const { pipeline, counts, stories } = detectionStages(plan, { sinks, onDetection: cfg.onDetection, stories: { learnFromDetections: false } });

  const { files, unreadable } = discoverFiles(cfg.paths);
  for (const u of unreadable) summary.files.skipped.push({ file: u.file, reason: u.reason });
  files.sort((a, b) => b.size - a.size); // largest first balances the workers
  const bytesTotal = files.reduce((s, f) => s + f.size, 0);
  const progress: Progress = { bytesDone: 0, bytesTotal, filesDone: 0, filesTotal: files.length, events: 0, detections: 0 };

  // The workers write a detection's rule as its place in this list (./sorter.ts `sortItemOfRule`).
  // Every detection of a rule comes back from the sort with this one reference, its tags frozen:
  // readers may key on the array (readAttackTags).
  const sorter = new DetectionSorter(
    undefined,
    undefined,
    plan.rules.map((r) => {
      const ref = ruleRef(r);
      return { ...ref, tags: Object.freeze([...ref.tags]) as string[] };
    }),
  );
  const exclude = await readAll(cfg, plan, files, sorter, summary, progress, addError, stories);

  // Detections in time order through the stages: correlation (sees every rule's matches, even
  // those it hides), counts, stories, outputs.
  let batch: DetectionRecord[] = [];
  for (const d of sorter.drain(exclude)) {
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

/** What one file added to the summary and progress (taken back if the file is read again). */
interface FileTally {
  events: number;
  filtered: number;
  detections: number;
  errors: number;
  done: boolean;
}

/**
 * Read every file on the worker pool: counts, events for --db and address claims as they come,
 * detections into the time sort. A worker that dies is replaced; the files it had not finished,
 * and those it finished since it last wrote a run (their detections were in its memory), are
 * read again from the start: what they added is taken back, and the dead worker's detections of
 * them are left out of the sort. A file that kills workers twice is reported, not read.
 */
async function readAll(
  cfg: HuntConfig,
  plan: ReturnType<typeof planDetection>,
  files: { path: string; size: number }[],
  sorter: DetectionSorter,
  summary: HuntSummary,
  progress: Progress,
  addError: (e: HuntError) => void,
  stories: { learn(c: { ip: string; host: string; at: string | null }[]): void; learnRoutine(f: FromWorkerFacts): void } | undefined,
): Promise<(origin: number, file: string) => boolean> {
  const excluded = new Map<number, Set<string>>();
  const exclude = (origin: number, file: string) => excluded.get(origin)?.has(file) ?? false;
  if (!files.length) return exclude;
  const failedFiles = new Set<string>();
  const threads = Math.max(1, Math.min(cfg.threads && cfg.threads > 0 ? cfg.threads : availableParallelism(), files.length));
  const sizeOf = new Map(files.map((f) => [f.path, f.size]));
  // Each worker sorts its own detections; together they hold about what one sort would.
  const share = (limit: number, floor: number) => Math.max(floor, Math.floor(limit / threads));
  const sortShare = { dir: sorter.directory(), items: share(sorter.memoryLimit, 5_000), chars: share(sorter.charLimit, 8 * 2 ** 20) };
  const rulesForWorkers = workerRules(plan);
  const tallies = new Map<string, FileTally>();
  const tally = (file: string): FileTally => {
    let t = tallies.get(file);
    if (!t) tallies.set(file, (t = { events: 0, filtered: 0, detections: 0, errors: 0, done: false }));
    return t;
  };
  /** Per worker instance: files finished since its last run (their detections are in its memory). */
  const sinceRun = new Map<number, Set<string>>();
  const errorsOf = new Map<string, HuntError[]>();

  /** Take back what a file added, and leave the dead worker's detections of it out of the sort. */
  const forget = async (file: string, origin: number) => {
    const t = tally(file);
    summary.events -= t.events;
    progress.events -= t.events;
    progress.detections -= t.detections;
    summary.errors.count -= t.errors;
    summary.errors.sample = summary.errors.sample.filter((e) => e.file !== file || !errorsOf.get(file)?.includes(e));
    errorsOf.delete(file);
    if (failedFiles.delete(file)) summary.files.skipped = summary.files.skipped.filter((s) => s.file !== file);
    if (t.done) {
      summary.files.read--;
      progress.filesDone--;
      progress.bytesDone -= sizeOf.get(file) ?? 0;
    }
    tallies.delete(file);
    if (t.events && cfg.eventSink) {
      if (!cfg.eventSink.retract) throw new FirebreakError('worker-lost', `a worker thread died while reading ${file}, and the event store cannot take back its events`);
      await cfg.eventSink.retract(file);
    }
    let set = excluded.get(origin);
    if (!set) excluded.set(origin, (set = new Set()));
    set.add(file);
  };

  /** Count a batch (its events, if any, are stored already). */
  const take = (m: FileBatch) => {
    const t = tally(m.file);
    t.events += m.eventCount;
    t.filtered += m.filtered;
    t.detections += m.detections;
    summary.events += m.eventCount;
    progress.events += m.eventCount;
    if (m.first && (!summary.firstEvent || m.first < summary.firstEvent)) summary.firstEvent = m.first;
    if (m.last && (!summary.lastEvent || m.last > summary.lastEvent)) summary.lastEvent = m.last;
    stories?.learn(m.claims);
    stories?.learnRoutine(m.facts);
    progress.detections += m.detections;
  };

  const pending: Promise<void>[] = [];
  const pool: WorkerPool<FileTask, FileDone, FromWorker> = new WorkerPool<FileTask, FileDone, FromWorker>({
    url: new URL('./worker.js', import.meta.url),
    size: threads,
    // Each worker has up to two files queued, so it never waits for the next one.
    depth: 2,
    describe: (t) => t.path,
    workerData: (instance): WorkerInit => ({
      rules: rulesForWorkers,
      logsources: plan.logsources,
      from: cfg.from,
      to: cfg.to,
      linux: cfg.linux,
      wantEvents: !!cfg.eventSink,
      wantClaims: !!stories,
      domain: defaultDomainHandoff(),
      slim: plan.slim,
      unexplained: plan.unexplained,
      // Matched fields are read by outputs and by a caller's `onDetection`; the summary,
      // correlations and stories never read them. A hunt with neither does not work them out.
      explain: (cfg.sinks?.length ?? 0) > 0 || cfg.onDetection !== undefined,
      sort: { ...sortShare, prefix: `w${instance}`, origin: instance },
    }),
    killWhen: cfg.testFaults?.killWorkerWhen,
    // A file's last batch comes with its result: a fault on it hits there.
    killWhenDone: (done, from, task) => !!done.last && !!cfg.testFaults?.killWorkerWhen?.(done.last, from, task),
    onMessage: async (m, from) => {
      switch (m.type) {
        case 'error': {
          const list = errorsOf.get(m.error.file) ?? [];
          list.push(m.error);
          errorsOf.set(m.error.file, list);
          tally(m.error.file).errors++;
          if (m.error.kind === 'file') {
            failedFiles.add(m.error.file);
            summary.files.skipped.push({ file: m.error.file, reason: m.error.message });
          }
          return addError(m.error);
        }
        case 'batch':
          if (m.events.length && cfg.eventSink) await cfg.eventSink.writeEvents(m.events);
          // Acknowledged once the events are stored (the database is the one slow consumer).
          from.post({ type: 'ack' } satisfies ToWorker);
          return take(m);
        case 'run':
          sinceRun.get(from.instance)?.clear();
          return sorter.addRun(m.path);
      }
    },
    onDone: (task, done) => {
      if (done.last) take(done.last);
      const t = tally(task.path);
      t.done = true;
      let set = sinceRun.get(done.origin);
      if (!set) sinceRun.set(done.origin, (set = new Set()));
      set.add(task.path);
      if (!failedFiles.has(task.path)) summary.files.read++;
      progress.filesDone++;
      progress.bytesDone += sizeOf.get(task.path) ?? 0;
      cfg.onProgress?.({ ...progress });
    },
    onDeath: async (from, held) => {
      const finished = [...(sinceRun.get(from.instance) ?? [])];
      sinceRun.delete(from.instance);
      for (const t of held) await forget(t.path, from.instance);
      for (const f of finished) {
        await forget(f, from.instance);
        pending.push(submit({ path: f }));
      }
      return held;
    },
    onStopped: (rest) => {
      const run = (rest as WorkerRest).run;
      if (run) sorter.addRun(run);
    },
  });
  const submit = (task: FileTask): Promise<void> =>
    pool.submit(task).then(
      () => undefined,
      (e: unknown) => {
        // A file that kept killing workers is reported; anything else stops the hunt.
        if (!(e instanceof TaskLostError)) throw e;
        failedFiles.add(task.path);
        summary.files.skipped.push({ file: task.path, reason: e.message });
        addError({ kind: 'file', file: task.path, code: e.code, message: e.message });
      },
    );
  try {
    for (const f of files) pending.push(submit({ path: f.path }));
    // Files read again after a death join `pending` while we wait.
    for (let done = 0; done < pending.length;) {
      const upTo = pending.length;
      await Promise.all(pending.slice(done, upTo));
      done = upTo;
    }
    await pool.close();
  } catch (e) {
    await pool.terminate(e instanceof Error ? e : new Error(String(e)));
    sorter.dispose(); // the temporary folder, with any runs the workers wrote
    throw e;
  }
  return exclude;
}
