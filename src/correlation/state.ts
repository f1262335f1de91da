/**
 * The state the correlation engine keeps per correlation rule: its resolved references, the event
 * fields it reads, and its live groups (each a sorted run of detections with a running aggregate);
 * and the counters of what the engine saw and dropped.
 */
import type { SigmaCorrelation, SigmaRule } from '../sigma/model.js';
import { aggregateName, newAccumulator, type Accumulator, type Entry } from './aggregate.js';

/** What the engine saw and what it had to drop; nothing is dropped without being counted here. */
export interface CorrelationStats {
  correlations: number;
  /** Detections consumed (one per correlation that references the detection's rule). */
  consumed: number;
  /** Correlation detections produced (hidden intermediate ones included). */
  fired: number;
  /** Groups alive now. */
  groups: number;
  /** Groups that ended normally: their newest detection is older than the watermark − 2 × timespan. */
  expired: number;
  /** Groups dropped to stay under `maxGroups`, with their detections. */
  droppedGroups: number;
  /** Detections dropped from a full group (`maxEventsPerGroup`) or with a dropped group. */
  droppedEvents: number;
  /** Detections older than the watermark − timespan: their windows were already decided. */
  late: number;
  /** Detections without a usable timestamp: they cannot be placed in a window. */
  noTimestamp: number;
  /** Detections missing a group-by field (after aliases). */
  missingGroupField: number;
  /** value_count and metric detections without the condition's `field`. */
  missingField: number;
  /** Metric detections whose `field` is not a number. */
  nonNumeric: number;
  /** The same event reached one count/metric correlation through two of its rules: counted once. */
  duplicates: number;
}

/** The counters the engine keeps as it goes (`CorrelationStats` minus what it computes on demand). */
export type CorrelationCounters = Omit<CorrelationStats, 'correlations' | 'groups'>;

/** A document a correlation may reference: a single-event rule or another correlation. */
export type Doc = SigmaRule | SigmaCorrelation;

export interface Group {
  key: string;
  /** Group-by values, in group-by order. */
  values: string[];
  /** The group's detections, sorted by (t, seq); only the tail from `start` is in the window. */
  entries: Entry[];
  start: number;
  acc: Accumulator;
  /** Newest timestamp the group has seen (ms). */
  latest: number;
}

/** One correlation with its resolved references and its groups. */
export class CorrelationState {
  readonly spanMs: number;
  /** Distinct referenced documents; entries name them by index. */
  readonly refs: Doc[] = [];
  /** `correlation.rules` as indices into `refs` (temporal_ordered). */
  readonly order: number[] = [];
  /** Per ref: the event field read for each group-by name (aliases applied). */
  readonly groupFields: string[][] = [];
  /** Per ref: the event field read for the condition's `field` (aliases applied). */
  readonly valueFields: (string | undefined)[] = [];
  /** Fields contributors keep: the domain's identity fields, grown with what consuming correlations need. */
  readonly keep: Set<string>;
  readonly groups = new Map<string, Group>();
  readonly aggName: string;
  readonly countsOnce: boolean;
  /** Correlations that consume this one's detections (chains). */
  readonly consumers: CorrelationState[] = [];
  hidden = false;
  /** Identity of the last event consumed, to count an event matched by two rules once. */
  lastEvent = '';

  constructor(
    readonly corr: SigmaCorrelation,
    identityFields: readonly string[],
  ) {
    this.keep = new Set(identityFields);
    this.spanMs = corr.timespan * 1000;
    this.aggName = aggregateName(corr);
    this.countsOnce = corr.type !== 'temporal' && corr.type !== 'temporal_ordered';
  }

  newAcc(): Accumulator {
    return newAccumulator(this.corr.type, this.refs.length, this.order, this.corr.percentile);
  }
}
