/**
 * Sigma correlation rules (specification v2.1, with pySigma's `value_median`) over a stream of
 * detection records. This is the stateful stage after single-event matching: it owns bounded
 * per-group windows, expires them, and counts everything it had to drop (see docs/correlations.md).
 *
 * Semantics in brief:
 * - Sliding windows: each time a detection arrives at time t, its group's aggregate is taken over
 *   the group's detections in (t − timespan, t] and the condition is checked. Nothing is pending
 *   between events, so a condition is met at the exact event that completes it.
 * - After a group fires, the detections up to the completing one are consumed: the group starts
 *   again from the detections after it (no re-firing for every further event of the same burst).
 * - Detections are expected in time order; out-of-order ones up to one timespan behind the newest
 *   timestamp seen (the watermark) are inserted in place and every window they fall into is
 *   checked; older ones are `late` and dropped. Detections without a timestamp are counted.
 * - A detection missing a group-by field is not grouped (counted in `missingGroupField`), as
 *   Splunk's `stats by` and Elasticsearch's terms aggregation do by default.
 * - `generate: false` (the default): every rule a correlation references, single-event rule or
 *   correlation, is an intermediate result and is marked `hidden` (pySigma `disable_output()`).
 *   A rule referenced by several correlations is hidden if any of them has `generate: false`.
 */
import { LIMITS } from '../core/limits.js';
import { defaultDomain, type Domain } from '../events/domain.js';
import { lookupPath, type FieldValue } from '../events/event.js';
import type { Contributor, CorrelationDetail, DetectionRecord } from '../detections/record.js';
import type { SigmaCorrelation, SigmaRule } from '../sigma/model.js';
import { aggregateName, conditionMet, formatAggregate, newAccumulator, numericValue, type Accumulator, type Entry } from './aggregate.js';

export interface CorrelationOptions {
  /**
   * Live groups per correlation (default: LIMITS.correlation). A new group beyond it first expires groups
   * that can no longer fire, then drops the least recently updated one (`droppedGroups`).
   */
  maxGroups?: number;
  /**
   * Detections kept per group (default: LIMITS.correlation): bounds memory when a group sees a flood that
   * never meets its condition. Beyond it the oldest tenth are dropped (`droppedEvents`).
   */
  maxEventsPerGroup?: number;
  /** Contributors listed on one correlation detection (default: LIMITS.correlation); the rest are `omitted`. */
  maxContributors?: number;
  /**
   * Domain knowledge (default: the bundled data/domain.yml): its identity fields are kept on
   * every contributor (they identify the event in a report, and those constant over a window are
   * carried into the correlation's own detection, so a correlation consuming it can group on them).
   */
  domain?: Domain;
}

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

type Doc = SigmaRule | SigmaCorrelation;

/** Default bounds (src/core/limits.ts gives their reasons). */
const DEFAULTS = LIMITS.correlation;
const MAX_CHAIN_DEPTH = LIMITS.correlation.maxChainDepth;
/** Every this many pushes, idle correlations are swept for expired groups too. */
const SWEEP_EVERY = 1024;
interface Group {
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
class CorrelationState {
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

/** Streaming evaluator of Sigma correlation rules over detection records. */
export class CorrelationEngine {
  /** Correlations left out because a reference did not resolve, with the references. */
  readonly unresolved: { correlation: SigmaCorrelation; refs: string[] }[] = [];
  private readonly states: CorrelationState[] = [];
  private readonly byId = new Map<string, Doc>();
  private readonly byName = new Map<string, Doc[]>();
  private readonly byFileKey = new Map<string, Doc>();
  /** Consumers of each single-event rule or correlation. */
  private readonly consumersOf = new Map<Doc, CorrelationState[]>();
  private readonly hiddenDocs = new Set<Doc>();
  private readonly stateOf = new Map<SigmaCorrelation, CorrelationState>();
  private readonly maxGroups: number;
  private readonly maxEvents: number;
  private readonly maxContributors: number;
  private readonly identityFields: readonly string[];
  /** Detections this engine made: pushing one back must not count it twice. */
  private readonly produced = new WeakSet<DetectionRecord>();
  private watermark = -Infinity;
  private seq = 0;
  private pushes = 0;
  private readonly s: Omit<CorrelationStats, 'correlations' | 'groups'> = {
    consumed: 0,
    fired: 0,
    expired: 0,
    droppedGroups: 0,
    droppedEvents: 0,
    late: 0,
    noTimestamp: 0,
    missingGroupField: 0,
    missingField: 0,
    nonNumeric: 0,
    duplicates: 0,
  };

  constructor(correlations: readonly SigmaCorrelation[], rules: readonly SigmaRule[], options: CorrelationOptions = {}) {
    this.maxGroups = Math.max(1, options.maxGroups ?? DEFAULTS.maxGroups);
    this.maxEvents = Math.max(1, options.maxEventsPerGroup ?? DEFAULTS.maxEventsPerGroup);
    this.maxContributors = Math.max(1, options.maxContributors ?? DEFAULTS.maxContributors);
    this.identityFields = (options.domain ?? defaultDomain()).identityFields;
    for (const d of [...rules, ...correlations]) {
      if (d.id && !this.byId.has(d.id)) this.byId.set(d.id, d);
      if (d.name) this.byName.set(d.name, [...(this.byName.get(d.name) ?? []), d]);
      this.byFileKey.set(fileKey(d.file, d.name, d.title), d);
    }
    for (const c of correlations) this.resolve(c);
    // Keep only correlations whose referenced correlations are themselves usable.
    let changed = true;
    while (changed) {
      changed = false;
      for (const st of [...this.states]) {
        const lost = st.refs.filter((r) => r.kind === 'correlation' && !this.stateOf.has(r));
        if (!lost.length) continue;
        this.unresolved.push({ correlation: st.corr, refs: lost.map((r) => r.id ?? r.name ?? r.title) });
        this.states.splice(this.states.indexOf(st), 1);
        this.stateOf.delete(st.corr);
        changed = true;
      }
    }
    for (const st of this.states) {
      st.refs.forEach((r, i) => {
        const list = this.consumersOf.get(r) ?? [];
        list.push(st);
        this.consumersOf.set(r, list);
        if (r.kind === 'correlation') this.stateOf.get(r)!.consumers.push(st);
        if (!st.corr.generate) this.hiddenDocs.add(r);
        for (const f of st.groupFields[i]!) st.keep.add(f);
        const vf = st.valueFields[i];
        if (vf) st.keep.add(vf);
      });
    }
    for (const st of this.states) st.hidden = this.hiddenDocs.has(st.corr);
    // A correlation's own event must carry what its consumers read from it, through whole chains.
    changed = true;
    while (changed) {
      changed = false;
      for (const st of this.states) {
        st.refs.forEach((r, i) => {
          if (r.kind !== 'correlation') return;
          const inner = this.stateOf.get(r)!;
          for (const f of [...st.keep, ...st.groupFields[i]!, st.valueFields[i]]) {
            if (f !== undefined && !inner.keep.has(f)) {
              inner.keep.add(f);
              changed = true;
            }
          }
        });
      }
    }
  }

  private resolve(c: SigmaCorrelation): void {
    const st = new CorrelationState(c, this.identityFields);
    const missing: string[] = [];
    for (const ref of c.rules) {
      const doc = this.lookup(ref, c.file);
      if (!doc) {
        missing.push(ref);
        continue;
      }
      let i = st.refs.indexOf(doc);
      if (i < 0) {
        i = st.refs.push(doc) - 1;
        const aliased = (name: string) => {
          const map = c.aliases[name];
          if (!map) return name;
          const key = Object.keys(map).find((k) => this.lookup(k, c.file) === doc);
          return key === undefined ? name : map[key]!;
        };
        st.groupFields.push(c.groupBy.map(aliased));
        st.valueFields.push(c.field === undefined ? undefined : aliased(c.field));
      }
      st.order.push(i);
    }
    if (missing.length) return void this.unresolved.push({ correlation: c, refs: missing });
    this.states.push(st);
    this.stateOf.set(c, st);
  }

  /** A reference by id, else by name (preferring a document of the same file). */
  private lookup(ref: string, file: string): Doc | undefined {
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const named = this.byName.get(ref);
    return named?.find((d) => d.file === file) ?? named?.[0];
  }

  private docOf(d: DetectionRecord): Doc | undefined {
    if (d.rule.id) {
      const doc = this.byId.get(d.rule.id);
      if (doc) return doc;
    }
    return this.byFileKey.get(fileKey(d.rule.file, d.rule.name ?? undefined, d.rule.title));
  }

  /**
   * The event fields the correlations read from a rule's detections (group-by, `field`, aliases,
   * the contributors' identity fields), for a rule that is only a building block (hidden):
   * nothing else of its events is ever used, so a producer may drop the rest. Undefined for a
   * rule whose detections are output or not consumed at all.
   */
  fieldsUsed(rule: SigmaRule): string[] | undefined {
    return this.hiddenDocs.has(rule) ? this.fieldsRead(rule) : undefined;
  }

  /** The event fields the correlations read from a rule's detections (empty when none consume it). */
  fieldsRead(rule: SigmaRule): string[] {
    const doc = rule as Doc;
    const out = new Set<string>();
    for (const st of this.consumersOf.get(doc) ?? []) for (const f of st.keep) out.add(f);
    for (const st of this.consumersOf.get(doc) ?? [])
      st.refs.forEach((r, i) => {
        if (r !== doc) return;
        for (const f of st.groupFields[i] ?? []) out.add(f);
        const vf = st.valueFields[i];
        if (vf) out.add(vf);
      });
    // A dotted name may be read inside a nested JSON field: keep its first segment too.
    for (const f of [...out]) if (f.includes('.')) out.add(f.slice(0, f.indexOf('.')));
    return [...out];
  }

  /**
   * True when the detection's rule is only a building block: a correlation references it with
   * `generate: false`, so it must not be an output of its own.
   */
  hides(d: DetectionRecord): boolean {
    const doc = this.docOf(d);
    return doc !== undefined && this.hiddenDocs.has(doc);
  }

  /**
   * Consume one detection (of a single-event rule, or a correlation detection made elsewhere;
   * the ones this engine returned were already fed to the correlations that consume them, and
   * pushing them back is a no-op).
   * Sets `d.hidden = true` when a correlation consumes its rule with `generate: false`. Returns
   * the correlation detections it completes, chained ones included, in the order they were made;
   * intermediate ones of a chain come back with `hidden: true`.
   */
  push(d: DetectionRecord): DetectionRecord[] {
    const doc = this.docOf(d);
    if (!doc) return [];
    if (this.hiddenDocs.has(doc)) d.hidden = true;
    const consumers = this.consumersOf.get(doc);
    if (!consumers) return [];
    if (this.produced.has(d)) return []; // already fed to its consumers when it was made
    const out: DetectionRecord[] = [];
    this.feed(d, doc, consumers, out, 0);
    if (++this.pushes % SWEEP_EVERY === 0) for (const st of this.states) this.sweep(st);
    return out;
  }

  /**
   * End of input. Windows are evaluated as each detection arrives, so nothing is pending: this
   * only releases all state (its groups count as expired).
   */
  finish(): void {
    for (const st of this.states) {
      this.s.expired += st.groups.size;
      st.groups.clear();
    }
  }

  /**
   * Move the watermark to an event time (ms) without a detection, e.g. a live stream's progress, and
   * expire the groups that can no longer fire.
   */
  advance(watermark: number): void {
    if (!Number.isNaN(watermark) && watermark > this.watermark) this.watermark = watermark;
    for (const st of this.states) this.sweep(st);
  }

  stats(): CorrelationStats {
    let groups = 0;
    for (const st of this.states) groups += st.groups.size;
    return { correlations: this.states.length, groups, ...this.s };
  }

  private feed(d: DetectionRecord, doc: Doc, consumers: readonly CorrelationState[], out: DetectionRecord[], depth: number): void {
    const t = d.timestamp ? Date.parse(d.timestamp) : Number.NaN;
    if (Number.isNaN(t)) {
      this.s.noTimestamp++;
      return;
    }
    if (t > this.watermark) this.watermark = t;
    const seq = this.seq++;
    for (const st of consumers) {
      const fired = this.consume(st, d, doc, t, seq);
      if (!fired) continue;
      this.produced.add(fired);
      out.push(fired);
      if (st.consumers.length && depth < MAX_CHAIN_DEPTH) this.feed(fired, st.corr, st.consumers, out, depth + 1);
    }
  }

  private consume(st: CorrelationState, d: DetectionRecord, doc: Doc, t: number, seq: number): DetectionRecord | undefined {
    this.s.consumed++;
    if (t < this.watermark - st.spanMs) {
      this.s.late++;
      return undefined;
    }
    if (st.countsOnce && d.recordId !== null) {
      const id = `${d.sourceFile}\u0000${d.recordId}\u0000${d.timestamp}\u0000${d.computer}`;
      if (id === st.lastEvent) {
        this.s.duplicates++;
        return undefined;
      }
      st.lastEvent = id;
    }
    const ref = st.refs.indexOf(doc);
    const values: string[] = [];
    for (const f of st.groupFields[ref]!) {
      const v = groupText(fieldOf(d.event, f));
      if (v === undefined) {
        this.s.missingGroupField++;
        return undefined;
      }
      values.push(v);
    }
    const e: Entry = { t, seq, ref, contributor: this.contributor(st, d) };
    const vf = st.valueFields[ref];
    if (st.corr.type === 'value_count' && vf !== undefined) {
      e.key = groupText(fieldOf(d.event, vf));
      if (e.key === undefined) {
        this.s.missingField++;
        return undefined;
      }
    } else if (vf !== undefined) {
      const raw = fieldOf(d.event, vf);
      if (raw === undefined || raw === null || raw === '') {
        this.s.missingField++;
        return undefined;
      }
      e.num = numericValue(raw);
      if (e.num === undefined) {
        this.s.nonNumeric++;
        return undefined;
      }
    }
    const g = this.group(st, values);
    const last = g.entries[g.entries.length - 1];
    return last === undefined || last.t <= t ? this.inOrder(st, g, e) : this.outOfOrder(st, g, e);
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
    while (st.groups.size >= this.maxGroups) {
      const [oldKey, old] = st.groups.entries().next().value as [string, Group];
      st.groups.delete(oldKey);
      this.s.droppedGroups++;
      this.s.droppedEvents += old.entries.length;
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
    let k = 0;
    while (k < g.start && g.entries[k]!.t < horizon) k++;
    if (k > 0 && (k >= 256 || 2 * k >= g.entries.length)) {
      g.entries.splice(0, k);
      g.start -= k;
    }
    if (g.entries.length > this.maxEvents) {
      // The newest detection always stays: it is the one being evaluated.
      const drop = Math.min(g.entries.length - 1, g.entries.length - this.maxEvents + Math.ceil(this.maxEvents / 10));
      for (let i = Math.max(g.start, 0); i < Math.min(drop, g.entries.length); i++) g.acc.remove(g.entries[i]!);
      g.entries.splice(0, drop);
      g.start = Math.max(0, g.start - drop);
      this.s.droppedEvents += drop;
    }
  }

  /** Expire the least recently updated groups whose newest detection is past any window. */
  private sweep(st: CorrelationState): void {
    const horizon = this.watermark - 2 * st.spanMs;
    for (const [key, g] of st.groups) {
      if (g.latest >= horizon) break;
      st.groups.delete(key);
      this.s.expired++;
    }
  }

  /** Make the correlation detection for window [lo, hi] of a group, then consume that window. */
  private fire(st: CorrelationState, g: Group, lo: number, hi: number, value: number): DetectionRecord {
    const window = g.entries.slice(lo, hi + 1);
    const c = st.corr;
    const last = window[window.length - 1]!;
    const event: Record<string, FieldValue> = {};
    for (const f of st.keep) {
      const v = constantValue(window, f);
      if (v !== undefined) event[f] = v;
    }
    const group: Record<string, string | null> = {};
    const matched: Record<string, string> = {};
    c.groupBy.forEach((name, i) => {
      group[name] = g.values[i]!;
      matched[name] = g.values[i]!;
      event[name] = g.values[i]!;
    });
    matched[st.aggName] = formatAggregate(value);
    event[st.aggName] = value;
    const max = this.maxContributors;
    const contributors: Contributor[] =
      window.length <= max ? window.map((e) => e.contributor) : [...window.slice(0, Math.ceil(max / 2)), ...window.slice(window.length - Math.floor(max / 2))].map((e) => e.contributor);
    const detail: CorrelationDetail = {
      type: c.type,
      group,
      value,
      windowStart: window[0]!.contributor.timestamp!,
      windowEnd: last.contributor.timestamp!,
      contributors,
      omitted: window.length - contributors.length,
    };
    const gi = c.groupBy.indexOf('Computer');
    const level = c.level ?? 'medium';
    const record: DetectionRecord = {
      timestamp: last.contributor.timestamp,
      computer: gi >= 0 ? g.values[gi]! : last.contributor.computer,
      channel: typeof event.Channel === 'string' ? event.Channel : null,
      provider: typeof event.Provider_Name === 'string' ? event.Provider_Name : null,
      eventId: numericValue(event.EventID) ?? null,
      recordId: null,
      level,
      rule: { id: c.id ?? null, name: c.name ?? null, title: c.title, level, status: c.status ?? null, tags: c.tags, file: c.file, kind: 'correlation' },
      matched,
      sourceFile: last.contributor.sourceFile,
      event,
      correlation: detail,
    };
    if (st.hidden) record.hidden = true;
    this.s.fired++;
    // Consume the window: the group restarts from what came after the completing detection.
    g.entries.splice(0, hi + 1);
    if (g.entries.length) this.rebuild(st, g);
    else st.groups.delete(g.key);
    return record;
  }

  private contributor(st: CorrelationState, d: DetectionRecord): Contributor {
    const fields: Record<string, FieldValue> = {};
    for (const f of st.keep) {
      const v = fieldOf(d.event, f);
      if (v !== undefined) fields[f] = v;
    }
    return { timestamp: d.timestamp, computer: d.computer, ruleId: d.rule.id, ruleTitle: d.rule.title, recordId: d.recordId, sourceFile: d.sourceFile, fields };
  }
}

function fileKey(file: string, name: string | undefined | null, title: string): string {
  return `${file}\u0000${name ?? ''}\u0000${title}`;
}

/**
 * A field of a record's flat event. Nested JSON objects are stored there as JSON text, so a
 * dotted name (`destination.ip`) that is not a literal key is looked up inside them.
 */
function fieldOf(event: Record<string, FieldValue>, f: string): FieldValue | undefined {
  const v = event[f];
  if (v !== undefined || !f.includes('.')) return v;
  const parts = f.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const outer = event[parts.slice(0, i).join('.')];
    if (typeof outer !== 'string' || !outer.startsWith('{')) continue;
    try {
      return lookupPath(JSON.parse(outer) as unknown, parts.slice(i).join('.'));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Entry order: time, then arrival. */
function after(a: Entry, b: Entry): boolean {
  return a.t > b.t || (a.t === b.t && a.seq > b.seq);
}

/** A field value as group text; absent, null and empty values are missing. */
function groupText(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.length ? JSON.stringify(v) : undefined;
  return String(v);
}

/** The value a field has in every entry of a window, or undefined when it differs or is absent. */
function constantValue(window: readonly Entry[], f: string): FieldValue | undefined {
  const first = window[0]!.contributor.fields[f];
  if (first === undefined) return undefined;
  const text = JSON.stringify(first);
  for (let i = 1; i < window.length; i++) {
    const v = window[i]!.contributor.fields[f];
    if (v !== first && JSON.stringify(v) !== text) return undefined;
  }
  return first;
}
