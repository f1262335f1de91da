/**
 * Scanning on every core: the inputs are expanded to a file list up front and handed, one file
 * a task, to the program's worker pool (src/core/pool.ts), whose workers each compile the rules
 * once and run a Scanner. Results come back per file and are put back in file order, so a report
 * does not depend on timing. A worker that dies (killed, out of memory) is replaced and its file
 * scanned again; a file that keeps killing workers is reported as a `worker-lost` issue and the
 * rest of the scan goes on. A failing worker (it cannot build its scanner) or a throwing event
 * callback stops every worker and rejects the scan.
 * Standard input and single files stay on the calling thread (nothing to share).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { TaskLostError, WorkerPool } from '../core/pool.js';
import type { Finding } from './engine/finding.js';
import type { Issue } from './sources/types.js';
import type { ScanLimits } from './sources/limits.js';
import type { ScanEvents, ScanResult } from './scanner.js';
import type { Confidence } from './engine/confidence.js';
import type { LeafNote } from './engine/assess.js';

/** What a worker needs to build the same scanner as the caller (all of it serialisable). */
export interface WorkerSpec {
  configPath?: string;
  only: string[];
  limits: ScanLimits;
  maxDecodeDepth: number;
  baseline: string[];
  minConfidence?: Confidence;
  binaryStrings?: boolean;
}

export interface WorkerRequest {
  index: number;
  path: string;
}

export interface WorkerReply {
  index: number;
  findings: Finding[];
  issues: Issue[];
  leaves: number;
  bytes: number;
  notes: LeafNote[];
}

/** Regular files under `inputs`, in walk order; unreadable inputs become issues. */
export async function listFiles(inputs: string[], issues: Issue[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string): Promise<void> => {
    let st;
    try {
      st = await fs.lstat(p);
    } catch (err) {
      issues.push({ path: p, kind: 'unreadable', message: (err as Error).message });
      return;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = (await fs.readdir(p)).sort();
      } catch (err) {
        issues.push({ path: p, kind: 'unreadable', message: (err as Error).message });
        return;
      }
      for (const n of names) await visit(join(p, n));
    } else if (st.isFile()) {
      out.push(p);
    }
  };
  for (const i of inputs) await visit(i);
  return out;
}

/** A worker's message while it works on a file: it has started it (progress shows the path). */
export interface FileStarted {
  type: 'start';
  index: number;
  path: string;
}

export interface ScanParallelOptions {
  /** Fault injection for tests: terminate the worker when this returns true for a message it sent. */
  testFaults?: { killWorkerWhen?: (m: FileStarted, from: { instance: number }, task: WorkerRequest | undefined) => boolean };
}

/** Scan `inputs` (paths, not '-') with `workers` threads. */
export async function scanParallel(inputs: string[], spec: WorkerSpec, workers: number, events: ScanEvents = {}, o: ScanParallelOptions = {}): Promise<ScanResult> {
  const issues: Issue[] = [];
  const files = await listFiles(inputs, issues);
  for (const i of issues) events.issue?.(i);
  const replies = new Array<WorkerReply | undefined>(files.length);
  const stats = { leaves: 0, bytes: 0 };
  const pool = new WorkerPool<WorkerRequest, WorkerReply, FileStarted>({
    url: new URL('./worker.js', import.meta.url),
    size: Math.max(1, Math.min(workers, files.length)),
    // Two files queued per worker, so it never waits for the next one.
    depth: 2,
    workerData: () => spec,
    describe: (t) => t.path,
    killWhen: o.testFaults?.killWorkerWhen,
    onMessage: (m) => events.progress?.(stats, m.path),
    onDone: (task, reply) => {
      replies[task.index] = reply;
      stats.leaves += reply.leaves;
      stats.bytes += reply.bytes;
      for (const f of reply.findings) events.finding?.(f);
      for (const i of reply.issues) events.issue?.(i);
      events.progress?.(stats, task.path);
    },
  });
  const submit = (req: WorkerRequest): Promise<void> =>
    pool.submit(req).then(
      () => undefined,
      (e: unknown) => {
        // A file that kept killing workers is reported in its place; anything else stops the scan.
        if (!(e instanceof TaskLostError)) throw e;
        const issue: Issue = { path: req.path, kind: 'worker-lost', message: e.message };
        replies[req.index] = { index: req.index, findings: [], issues: [issue], leaves: 0, bytes: 0, notes: [] };
        events.issue?.(issue);
      },
    );
  try {
    await Promise.all(files.map((path, index) => submit({ index, path })));
    await pool.close();
  } catch (e) {
    await pool.terminate(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
  const findings: Finding[] = [];
  const notes: LeafNote[] = [];
  for (const r of replies) {
    if (!r) continue;
    findings.push(...r.findings);
    issues.push(...r.issues);
    notes.push(...r.notes);
  }
  return { findings, issues, stats, notes };
}
