/**
 * A scan worker thread on the program's pool (src/core/pool-worker.ts): builds the scanner from
 * its spec once (a failure here is a failing worker: the pool stops the scan), then scans one
 * file per task.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../core/pool-worker.js';
import { Scanner } from './scanner.js';
import { selectRules } from './rules/select.js';
import type { FileStarted, WorkerReply, WorkerRequest, WorkerSpec } from './parallel.js';

const spec = workerData as WorkerSpec;
const rules = selectRules(spec.configPath, spec.only);
const scanner = new Scanner({
  ruleSet: rules.ruleSet,
  validated: rules.validated,
  keystores: rules.keystores,
  limits: spec.limits,
  maxDecodeDepth: spec.maxDecodeDepth,
  baseline: new Set(spec.baseline),
  minConfidence: spec.minConfidence,
  binaryStrings: spec.binaryStrings,
});
const noStdin = (async function* (): AsyncGenerator<Buffer> {})();

serveTasks<WorkerRequest, WorkerReply>(async (req, ctx) => {
  ctx.post({ type: 'start', index: req.index, path: req.path } satisfies FileStarted);
  try {
    const r = await scanner.scan([req.path], noStdin);
    return { index: req.index, findings: r.findings, issues: r.issues, leaves: r.stats.leaves, bytes: r.stats.bytes, notes: r.notes };
  } catch (err) {
    // Scanner reports input trouble as issues; anything else is a bug, reported against the file.
    return {
      index: req.index,
      findings: [],
      issues: [{ path: req.path, kind: 'corrupt', message: `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` }],
      leaves: 0,
      bytes: 0,
      notes: [],
    };
  }
});
