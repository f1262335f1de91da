/**
 * What a hunt reports besides its detections: the problems it met and the summary the terminal,
 * the report header and `--summary-json` show. The detection shapes are in src/detections.
 */
import type { CorrelationStats } from '../correlation/engine.js';
import type { Level } from '../sigma/model.js';
import type { Story } from '../stories/model.js';

/** A problem met during the hunt: an unreadable file, a bad record, a rule that did not load. */
export interface HuntError {
  kind: 'file' | 'record' | 'rule';
  file: string;
  message: string;
  code: string;
}

/** What the hunt saw, for the terminal summary and the report header. */
export interface HuntSummary {
  startedAt: string;
  elapsedMs: number;
  files: { read: number; skipped: { file: string; reason: string }[] };
  events: number;
  /** Earliest and latest event timestamps (ISO), null when no event had one. */
  firstEvent: string | null;
  lastEvent: string | null;
  detections: number;
  byLevel: Record<Level, number>;
  topRules: { id: string | null; title: string; level: Level; count: number }[];
  topHosts: { computer: string; count: number }[];
  /** Rules run, correlation rules run, rules that failed to load, rules no event log can feed. */
  rules: { loaded: number; correlations?: number; failed: number; unmapped: number };
  /** What the correlation stage saw and had to drop (see docs/correlations.md). */
  correlation?: CorrelationStats;
  errors: { count: number; sample: HuntError[] };
  eventsPerSecond: number;
  /** Stories found (see docs/stories.md): how many, and the five highest-scored. */
  stories?: { count: number; top: Story[] };
  /** Peak resident memory of the whole hunt process (main thread and workers), in bytes. */
  peakRssBytes?: number;
}
