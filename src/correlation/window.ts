/**
 * Window evaluation for the correlation engine: places each detection in its group's sliding
 * window (in order, or inserted in place when out of order), checks the condition on every window
 * it completes, consumes a window that fires, and keeps groups bounded (per-group detections,
 * groups per correlation, expiry past the watermark), counting every drop.
 */
import type { DetectionRecord } from '../detections/record.js';
import { conditionMet, type Entry } from './aggregate.js';
import { correlationRecord } from './output.js';
import type { CorrelationCounters, CorrelationState, Group } from './state.js';

/** The bounds `GroupWindows` keeps groups within. */
export interface WindowBounds {
  /** Live groups per correlation. */
  maxGroups: number;
  /** Detections kept per group. */
  maxEvents: number;
  /** Contributors listed on one correlation detection. */
  maxContributors: number;
}

/** The groups' windows of every correlation of one engine, against one watermark. */
export class GroupWindows {
  /** Newest event time seen (ms): windows ending more than a timespan before it are decided. */
  watermark = -Infinity;

  constructor(
    private readonly bounds: WindowBounds,
    private readonly counts: CorrelationCounters,
  ) {}

  /**
   * Adds the entry to the group of `values` (created if needed) and evaluates the windows it
   * falls into; returns the correlation detection of the first one that meets the condition.
   */
  add(st: CorrelationState, values: string[], e: Entry): DetectionRecord | undefined {
    const g = this.group(st, values);
    const last = g.entries[g.entries.length - 1];
    return last === undefined || last.t <= e.t ? this.inOrder(st, g, e) : this.outOfOrder(st, g, e);
  }

  /** Expire the least recently updated groups whose newest detection is past any window. */
  sweep(st: CorrelationState): void {
    const horizon = this.watermark - 2 * st.spanMs;
    for (const [key, g] of st.groups) {
      if (g.latest >= horizon) break;
      st.groups.delete(key);
      this.counts.expired++;
    }
  }

  /** The group for these values, created if needed; most recently used groups move to the back. */
  private group(st: CorrelationState, values: string[]): Group {
    const key = values.length === 1 ? values[0]! : JSON.stringify(values);
    let g = st.groups.get(key);
    if (g) {
      st.groups.delete(key);
      st.groups.set(key, g);
      return g;
    }
    this.sweep(st);
    while (st.groups.size >= this.bounds.maxGroups) {
      const [oldKey, old] = st.groups.entries().next().value as [string, Group];
      st.groups.delete(oldKey);
      this.counts.droppedGroups++;
      this.counts.droppedEvents += old.entries.length;
    }
    g = { key, values, entries: [], start: 0, acc: st.newAcc(), latest: -Infinity };
    st.groups.set(key, g);
    return g;
  }

  /** The usual path: the detection is the group's newest, so the window slides forward. */
  private inOrder(st: CorrelationState, g: Group, e: Entry): DetectionRecord | undefined {
    g.entries.push(e);
    g.acc.add(e);
    g.latest = Math.max(g.latest, e.t);
    const from = e.t - st.spanMs;
    while (g.start < g.entries.length && g.entries[g.start]!.t <= from) g.acc.remove(g.entries[g.start++]!);
    this.bound(st, g);
    const v = g.acc.value();
    return conditionMet(v, st.corr.condition) ? this.fire(st, g, g.start, g.entries.length - 1, v!) : undefined;
  }

  /**
   * A detection older than the group's newest: insert it in place, rebuild the current window,
   * and check every window that contains it (those ending at it or at a later detection less than
   * one timespan after it), earliest first.
   */
  private outOfOrder(st: CorrelationState, g: Group, e: Entry): DetectionRecord | undefined {
    const entries = g.entries;
    let p = entries.length;
    while (p > 0 && after(entries[p - 1]!, e)) p--;
    entries.splice(p, 0, e);
    this.rebuild(st, g);
    this.bound(st, g);
    p = entries.indexOf(e);
    if (p < 0) return undefined; // dropped by the per-group bound
    const acc = st.newAcc();
    let lo = p;
    while (lo > 0 && entries[lo - 1]!.t > e.t - st.spanMs) lo--;
    for (let i = lo; i <= p; i++) acc.add(entries[i]!);
    for (let j = p; j < entries.length && entries[j]!.t < e.t + st.spanMs; j++) {
      if (j > p) {
        acc.add(entries[j]!);
        while (entries[lo]!.t <= entries[j]!.t - st.spanMs) acc.remove(entries[lo++]!);
      }
      const v = acc.value();
      if (conditionMet(v, st.corr.condition)) return this.fire(st, g, lo, j, v!);
    }
    return undefined;
  }

  /** Recompute the current window (ending at the group's newest detection) from scratch. */
  private rebuild(st: CorrelationState, g: Group): void {
    g.acc = st.newAcc();
    const from = g.latest - st.spanMs;
    g.start = g.entries.length;
    while (g.start > 0 && g.entries[g.start - 1]!.t > from) g.start--;
    for (let i = g.start; i < g.entries.length; i++) g.acc.add(g.entries[i]!);
  }

  /**
   * Keep a group bounded: detections older than the watermark − 2 × timespan can share no window
   * with any detection still accepted (late ones are at most one timespan old), so they go; and a
   * group over `maxEventsPerGroup` drops its oldest tenth, counted.
   */
  private bound(st: CorrelationState, g: Group): void {
    const horizon = this.watermark - 2 * st.spanMs;
    const maxEvents = this.bounds.maxEvents;
    let k = 0;
    while (k < g.start && g.entries[k]!.t < horizon) k++;
    if (k > 0 && (k >= 256 || 2 * k >= g.entries.length)) {
      g.entries.splice(0, k);
      g.start -= k;
    }
    if (g.entries.length > maxEvents) {
      // The newest detection always stays: it is the one being evaluated.
      const drop = Math.min(g.entries.length - 1, g.entries.length - maxEvents + Math.ceil(maxEvents / 10));
      for (let i = Math.max(g.start, 0); i < Math.min(drop, g.entries.length); i++) g.acc.remove(g.entries[i]!);
      g.entries.splice(0, drop);
      g.start = Math.max(0, g.start - drop);
      this.counts.droppedEvents += drop;
    }
  }

  /** Make the correlation detection for window [lo, hi] of a group, then consume that window. */
  private fire(st: CorrelationState, g: Group, lo: number, hi: number, value: number): DetectionRecord {
    const record = correlationRecord(st, g, g.entries.slice(lo, hi + 1), value, this.bounds.maxContributors);
    this.counts.fired++;
    // Consume the window: the group restarts from what came after the completing detection.
    g.entries.splice(0, hi + 1);
    if (g.entries.length) this.rebuild(st, g);
    else st.groups.delete(g.key);
    return record;
  }
}

/** Entry order: time, then arrival. */
function after(a: Entry, b: Entry): boolean {
  return a.t > b.t || (a.t === b.t && a.seq > b.seq);
}
