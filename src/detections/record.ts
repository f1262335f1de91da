/**
 * The detection record: one rule firing on one event (or one correlation firing on a window of
 * them), with its contributors. Every stage after matching (correlation, stories, outputs, the
 * server's stores) depends on these shapes only, never on the engine's internals.
 */
import type { FieldValue } from '../events/event.js';
import type { Level } from '../sigma/model.js';

/** One rule firing on one event. */
export interface DetectionRecord {
  /** ISO-8601 UTC timestamp of the event, or null when it has none. */
  timestamp: string | null;
  computer: string | null;
  channel: string | null;
  provider: string | null;
  eventId: number | null;
  recordId: number | null;
  level: Level;
  rule: {
    id: string | null;
    /** The rule's `name` (correlations may reference rules by it). */
    name?: string | null;
    title: string;
    level: Level;
    status: string | null;
    /** All tags (`attack.t1059.001`, `attack.execution`, `cve.…`). */
    tags: string[];
    file: string;
    /** 'sigma' for single-event rules, 'correlation' for correlation rules. */
    kind: 'sigma' | 'correlation';
  };
  /** Fields the rule matched on (event field name → value as text). */
  matched: Record<string, string>;
  /** Evidence file the event came from (inner archive paths joined with `!`). */
  sourceFile: string;
  /** The whole event, flat Sigma field names → values, for "open the event" views. */
  event: Record<string, FieldValue>;
  /**
   * Correlation detections only: the group (group-by field → value), the aggregate that met the
   * condition, the window, and the detections that made it (capped; `omitted` counts the rest).
   */
  correlation?: CorrelationDetail;
  /**
   * True for a rule's match that a correlation consumes with `generate: false`: it feeds the
   * correlation engine but is not an output of its own.
   */
  hidden?: boolean;
  /**
   * What the stories' routine baselines know this detection by (src/stories/facts.ts
   * `routineOf`), worked out where its whole event was read (a hunt worker, beside the facts it
   * teaches), so the story stage judges it by the same subject and need not work it out again.
   * Not an output.
   */
  routine?: RoutineSubject;
}

/** A detection's subject for the routine baselines: its program's shape (`program`), else its service or account, as a hash; `label` names it. */
export interface RoutineSubject {
  subject: string;
  label: string;
  program: boolean;
}

/** One detection that contributed to a correlation (enough to draw it, not the whole event). */
export interface Contributor {
  timestamp: string | null;
  computer: string | null;
  ruleId: string | null;
  ruleTitle: string;
  recordId: number | null;
  sourceFile: string;
  /** The contributing event's group-by and `field` values, and a few identity fields. */
  fields: Record<string, FieldValue>;
}

export interface CorrelationDetail {
  type: string;
  group: Record<string, string | null>;
  /** The aggregate value (count, distinct count, sum, average, percentile). */
  value: number;
  windowStart: string;
  windowEnd: string;
  contributors: Contributor[];
  omitted: number;
}

/** One event as stored in the database (every event, not only detections). */
export interface EventRecord {
  timestamp: string | null;
  computer: string | null;
  channel: string | null;
  provider: string | null;
  eventId: number | null;
  recordId: number | null;
  sourceFile: string;
  fields: Record<string, FieldValue>;
}
