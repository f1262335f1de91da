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
 *
 * This module holds the engine: resolving references, routing detections to the correlations
 * that consume them, chains, and the watermark. ./state.ts holds per-correlation state,
 * ./window.ts window evaluation and bounds, ./output.ts the detections it makes, ./aggregate.ts
 * the aggregates and conditions.
 */
import { LIMITS } from '../core/limits.js';
import { defaultDomain, type Domain } from '../events/domain.js';
import type { DetectionRecord } from '../detections/record.js';
import type { SigmaCorrelation, SigmaRule } from '../sigma/model.js';
import { numericValue, type Entry } from './aggregate.js';
import { contributorOf, fieldOf, groupText } from './output.js';
import { CorrelationState, type CorrelationCounters, type CorrelationStats, type Doc } from './state.js';
import { GroupWindows } from './window.js';
import { isoMs } from '../core/time.js';

export type { CorrelationStats } from './state.js';

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

/** Default bounds (src/core/limits.ts gives their reasons). */
const DEFAULTS = LIMITS.correlation;
const MAX_CHAIN_DEPTH = LIMITS.correlation.maxChainDepth;
/** Every this many pushes, idle correlations are swept for expired groups too. */
const SWEEP_EVERY = 1024;

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
  private readonly windows: GroupWindows;
  private readonly identityFields: readonly string[];
  /** Detections this engine made: pushing one back must not count it twice. */
  private readonly produced = new WeakSet<DetectionRecord>();
  private seq = 0;
  private pushes = 0;
  private readonly s: CorrelationCounters = {
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
    this.windows = new GroupWindows(
      {
        maxGroups: Math.max(1, options.maxGroups ?? DEFAULTS.maxGroups),
        maxEvents: Math.max(1, options.maxEventsPerGroup ?? DEFAULTS.maxEventsPerGroup),
        maxContributors: Math.max(1, options.maxContributors ?? DEFAULTS.maxContributors),
      },
      this.s,
    );
    // What identifies a contributor, and what tells its meaning to the stories (docs/stories.md).
    const domain = options.domain ?? defaultDomain();
    this.identityFields = [...new Set([...domain.identityFields, ...domain.meaningFields])];
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
    if (++this.pushes % SWEEP_EVERY === 0) for (const st of this.states) this.windows.sweep(st);
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
    if (!Number.isNaN(watermark) && watermark > this.windows.watermark) this.windows.watermark = watermark;
    for (const st of this.states) this.windows.sweep(st);
  }

  stats(): CorrelationStats {
    let groups = 0;
    for (const st of this.states) groups += st.groups.size;
    return { correlations: this.states.length, groups, ...this.s };
  }

  private feed(d: DetectionRecord, doc: Doc, consumers: readonly CorrelationState[], out: DetectionRecord[], depth: number): void {
    const t = d.timestamp ? isoMs(d.timestamp) : Number.NaN;
    if (Number.isNaN(t)) {
      this.s.noTimestamp++;
      return;
    }
    if (t > this.windows.watermark) this.windows.watermark = t;
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
    if (t < this.windows.watermark - st.spanMs) {
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
    const e: Entry = { t, seq, ref, contributor: contributorOf(st, d) };
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
    return this.windows.add(st, values, e);
  }
}

function fileKey(file: string, name: string | undefined | null, title: string): string {
  return `${file}\u0000${name ?? ''}\u0000${title}`;
}
