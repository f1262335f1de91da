/** The outputs a hunt writes (--csv, --jsonl, --report, --db), opened up front so a bad path fails early. */
import { UsageError } from '../core/errors.js';
import type { DetectionSink, EventSink } from './run.js';

export interface OutputPaths {
  csv?: string;
  jsonl?: string;
  report?: string;
  db?: string;
}

export interface OpenOutputs {
  sinks: DetectionSink[];
  events?: EventSink;
  /** Lines for the summary naming what was written where. */
  describe(): string[];
  /** Release anything still open (after close or on failure). */
  abort(): Promise<void>;
}

export async function openOutputs(paths: OutputPaths): Promise<OpenOutputs> {
  const sinks: DetectionSink[] = [];
  // The writers exist (src/output) but are not connected to hunt yet: refuse rather than ignore.
  for (const [flag, p] of Object.entries(paths)) if (p) throw new UsageError(`--${flag} is not connected to hunt in this build yet`);
  const written: string[] = [];
  for (const [flag, p] of Object.entries(paths)) if (p) written.push(`  ${flag.padEnd(7)} ${p}`);
  return {
    sinks,
    describe: () => (written.length ? ['', 'Written', ...written] : []),
    abort: async () => undefined,
  };
}
