/** A scan worker thread: builds the scanner from its spec once, then scans one file per message. */
import { parentPort, workerData } from 'node:worker_threads';
import { Scanner } from './scanner.js';
import { selectRules } from './rules/select.js';
import type { WorkerReply, WorkerRequest, WorkerSpec } from './parallel.js';

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

parentPort!.on('message', (req: WorkerRequest) => {
  scanner.scan([req.path], noStdin).then(
    (r) => {
      const reply: WorkerReply = { index: req.index, findings: r.findings, issues: r.issues, leaves: r.stats.leaves, bytes: r.stats.bytes, notes: r.notes };
      parentPort!.postMessage(reply);
    },
    // Scanner reports input trouble as issues; anything else is a bug, reported against the file.
    (err: unknown) => {
      const reply: WorkerReply = {
        index: req.index,
        findings: [],
        issues: [{ path: req.path, kind: 'corrupt', message: `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` }],
        leaves: 0,
        bytes: 0,
        notes: [],
      };
      parentPort!.postMessage(reply);
    },
  );
});
