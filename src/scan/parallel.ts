/**
 * Scanning on every core: the inputs are expanded to a file list up front and handed, one file
 * at a time, to worker threads that each compile the rules once and run a Scanner. Results come
 * back per file and are put back in file order, so a report does not depend on timing.
 * Standard input and single files stay on the calling thread (nothing to share).
 */
import { Worker } from 'node:worker_threads';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
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

/** Scan `inputs` (paths, not '-') with `workers` threads. */
export async function scanParallel(inputs: string[], spec: WorkerSpec, workers: number, events: ScanEvents = {}): Promise<ScanResult> {
  const issues: Issue[] = [];
  const files = await listFiles(inputs, issues);
  for (const i of issues) events.issue?.(i);
  const replies = new Array<WorkerReply | undefined>(files.length);
  const stats = { leaves: 0, bytes: 0 };
  let next = 0;
  const n = Math.max(1, Math.min(workers, files.length));
  await Promise.all(
    Array.from({ length: n }, async () => {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: spec });
      try {
        for (;;) {
          const index = next++;
          if (index >= files.length) break;
          const reply = await new Promise<WorkerReply>((res, rej) => {
            const onMessage = (m: WorkerReply): void => {
              w.off('error', rej);
              res(m);
            };
            w.once('message', onMessage);
            w.once('error', rej);
            w.postMessage({ index, path: files[index]! } satisfies WorkerRequest);
          });
          replies[index] = reply;
          stats.leaves += reply.leaves;
          stats.bytes += reply.bytes;
          for (const f of reply.findings) events.finding?.(f);
          for (const i of reply.issues) events.issue?.(i);
          events.progress?.(stats, files[index]!);
        }
      } finally {
        await w.terminate();
      }
    }),
  );
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
