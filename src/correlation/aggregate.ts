/**
 * The aggregates of Sigma correlation rules (spec v2.1 and pySigma's `value_median`), each as a
 * small accumulator over the entries of one time window: entries are added at the back and
 * removed from the front as the window slides, so a group's aggregate is kept up to date in
 * O(1) (counts, sums) or O(log n) + a move (ordered values) per event, never recomputed.
 */
import type { Contributor } from '../detections/record.js';
import type { CorrelationOp, CorrelationType, SigmaCorrelation } from '../sigma/model.js';

/** One detection inside a group's window, reduced to what the aggregate and the output need. */
export interface Entry {
  /** Event time, milliseconds since the epoch. */
  t: number;
  /** Arrival order: breaks ties between equal timestamps (earlier arrival = earlier event). */
  seq: number;
  /** Which referenced rule produced it (index into the correlation's resolved rule list). */
  ref: number;
  /** value_count: the `field` value as text. */
  key?: string;
  /** Metric types: the numeric `field` value. */
  num?: number;
  contributor: Contributor;
}

export interface Accumulator {
  add(e: Entry): void;
  /** Remove an entry previously added (the window's oldest, in practice). */
  remove(e: Entry): void;
  /** The aggregate, or undefined when it has no value (an average of nothing). */
  value(): number | undefined;
}

/** `event_count`: the number of events. */
class CountAcc implements Accumulator {
  private n = 0;
  add(): void {
    this.n++;
  }
  remove(): void {
    this.n--;
  }
  value(): number {
    return this.n;
  }
}

/** `value_count`: the number of distinct `field` values. */
class DistinctAcc implements Accumulator {
  private readonly counts = new Map<string, number>();
  add(e: Entry): void {
    if (e.key === undefined) return;
    this.counts.set(e.key, (this.counts.get(e.key) ?? 0) + 1);
  }
  remove(e: Entry): void {
    if (e.key === undefined) return;
    const n = (this.counts.get(e.key) ?? 0) - 1;
    if (n > 0) this.counts.set(e.key, n);
    else this.counts.delete(e.key);
  }
  value(): number {
    return this.counts.size;
  }
}

/** `value_sum` and `value_avg`. */
class SumAcc implements Accumulator {
  private sum = 0;
  private n = 0;
  constructor(private readonly average: boolean) {}
  add(e: Entry): void {
    if (e.num === undefined) return;
    this.sum += e.num;
    this.n++;
  }
  remove(e: Entry): void {
    if (e.num === undefined) return;
    this.n--;
    // An empty window restarts from an exact zero, so float drift cannot outlive a window.
    this.sum = this.n === 0 ? 0 : this.sum - e.num;
  }
  value(): number | undefined {
    if (this.average) return this.n ? this.sum / this.n : undefined;
    return this.sum;
  }
}

/** `value_percentile` and `value_median`: the values kept sorted. */
class PercentileAcc implements Accumulator {
  private readonly sorted: number[] = [];
  constructor(private readonly p: number) {}
  add(e: Entry): void {
    if (e.num === undefined) return;
    this.sorted.splice(lowerBound(this.sorted, e.num), 0, e.num);
  }
  remove(e: Entry): void {
    if (e.num === undefined) return;
    const i = lowerBound(this.sorted, e.num);
    if (this.sorted[i] === e.num) this.sorted.splice(i, 1);
  }
  value(): number | undefined {
    return percentile(this.sorted, this.p);
  }
}

/** `temporal`: how many of the referenced rules have at least one event in the window. */
class TemporalAcc implements Accumulator {
  private readonly perRef: number[];
  private present = 0;
  constructor(refs: number) {
    this.perRef = new Array<number>(refs).fill(0);
  }
  add(e: Entry): void {
    const n = this.perRef[e.ref]!;
    this.perRef[e.ref] = n + 1;
    if (n === 0) this.present++;
  }
  remove(e: Entry): void {
    const n = this.perRef[e.ref]! - 1;
    this.perRef[e.ref] = n;
    if (n === 0) this.present--;
  }
  value(): number {
    return this.present;
  }
}

/**
 * `temporal_ordered`: how many of the referenced rules, in the order the correlation lists them,
 * are matched by events in that order within the window (the longest such prefix, found greedily:
 * the earliest event of the first rule, then the earliest later event of the second, …). The
 * default condition (gte: number of rules) therefore means "all of them, in order".
 */
class OrderedAcc implements Accumulator {
  private readonly window: Entry[] = [];
  private head = 0;
  constructor(private readonly order: readonly number[]) {}
  add(e: Entry): void {
    this.window.push(e);
  }
  remove(e: Entry): void {
    if (this.window[this.head] === e) this.head++;
    else {
      const i = this.window.indexOf(e, this.head);
      if (i >= 0) this.window.splice(i, 1);
    }
    if (this.head > 64 && this.head * 2 > this.window.length) {
      this.window.splice(0, this.head);
      this.head = 0;
    }
  }
  value(): number {
    let step = 0;
    for (let i = this.head; i < this.window.length && step < this.order.length; i++) {
      if (this.window[i]!.ref === this.order[step]) step++;
    }
    return step;
  }
}

/**
 * A fresh accumulator for a correlation. `refs` is the number of distinct referenced rules and
 * `order` the correlation's rule list as indices into them (temporal_ordered).
 */
export function newAccumulator(type: CorrelationType, refs: number, order: readonly number[], pct: number | undefined): Accumulator {
  switch (type) {
    case 'event_count':
      return new CountAcc();
    case 'value_count':
      return new DistinctAcc();
    case 'value_sum':
      return new SumAcc(false);
    case 'value_avg':
      return new SumAcc(true);
    case 'value_percentile':
      return new PercentileAcc(pct ?? 50);
    case 'value_median':
      return new PercentileAcc(50);
    case 'temporal':
      return new TemporalAcc(refs);
    case 'temporal_ordered':
      return new OrderedAcc(order);
  }
}

/** Every condition item holds (several items are a range: AND, spec "Condition"). */
export function conditionMet(value: number | undefined, condition: SigmaCorrelation['condition']): boolean {
  if (value === undefined || Number.isNaN(value)) return false;
  return condition.every((c) => compare(value, c.op, c.value));
}

function compare(v: number, op: CorrelationOp, x: number): boolean {
  switch (op) {
    case 'gt':
      return v > x;
    case 'gte':
      return v >= x;
    case 'lt':
      return v < x;
    case 'lte':
      return v <= x;
    case 'eq':
      return v === x;
    case 'neq':
      return v !== x;
  }
}

/**
 * The p-th percentile of sorted values by linear interpolation between closest ranks (the
 * definition of numpy's default and of SQL `percentile_cont`); undefined for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (!sorted.length) return undefined;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A field value as a number for the metric types: JSON numbers, decimal text and Windows' hex
 * text (`0x1F`). Anything else is not a number (counted by the engine, never guessed at).
 */
export function numericValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean' || typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (/^0[xX][0-9a-fA-F]{1,13}$/.test(s)) return Number.parseInt(s.slice(2), 16);
  return undefined;
}

/** The name the aggregate gets in a correlation detection's `matched` and synthetic event. */
export function aggregateName(c: SigmaCorrelation): string {
  switch (c.type) {
    case 'event_count':
      return 'count';
    case 'value_count':
      return `${c.field}_distinct`;
    case 'value_sum':
      return `${c.field}_sum`;
    case 'value_avg':
      return `${c.field}_avg`;
    case 'value_percentile':
      return `${c.field}_p${c.percentile}`;
    case 'value_median':
      return `${c.field}_median`;
    case 'temporal':
    case 'temporal_ordered':
      return 'rules';
  }
}

/** Aggregates as text: integers as they are, fractions to at most six decimals. */
export function formatAggregate(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(6)));
}
