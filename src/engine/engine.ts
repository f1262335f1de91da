/**
 * The matching engine: routes each event to the rules whose logsource can apply to it
 * (by channel and event ID), then runs their compiled predicates. Single-event matching is a
 * pure function of (rules, event); stateful correlation lives elsewhere.
 *
 * Work is done lazily: a rule is compiled the first time an event can reach it, and the
 * literal prefilter (one Aho-Corasick automaton per field) is built once per channel, the
 * first time that channel is seen. Rules for log sources absent from the evidence cost nothing.
 */
import type { Event, Scalar } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';
import { AhoCorasick } from './aho-corasick.js';
import { compileRule, MatchContext, type Predicate } from './compile.js';
import { interpretRule, type FieldMap } from './interpret.js';
import { loadLogsourceMap, resolveLogsource, type EventSourceSpec, type LogsourceMap } from './logsource.js';
import { ruleRequirement, type Requirement } from './prefilter.js';
import { fold, toText } from './values.js';

export interface Detection {
  rule: SigmaRule;
  event: Event;
  /** Field renames of the log source the rule matched through (e.g. 4688 names). */
  fieldMap: FieldMap;
}

export interface EngineOptions {
  logsources?: LogsourceMap;
  /**
   * `interpreted` runs the reference interpreter, without the literal prefilter, instead of
   * compiled closures behind it (for tests and benchmarks).
   */
  mode?: 'compiled' | 'interpreted';
}

/** One rule reachable through one log source (a rule with two sources has two entries). */
class Entry {
  private compiled: Predicate | undefined;
  private req: Requirement | null = null;
  readonly conditions: [string, string][];
  constructor(
    readonly rule: SigmaRule,
    readonly fieldMap: FieldMap,
    conditions: Record<string, string | number>,
    private readonly interpreted: boolean,
    /** Event IDs this entry applies to (null: any). */
    readonly eventIds: ReadonlySet<number> | null,
  ) {
    this.conditions = Object.entries(conditions).map(([k, v]) => [k, String(v)]);
  }
  get pred(): Predicate {
    if (!this.compiled) {
      const { rule, fieldMap } = this;
      this.compiled = this.interpreted ? (ctx) => interpretRule(rule, ctx.ev, fieldMap) : compileRule(rule, fieldMap);
    }
    return this.compiled;
  }
  get requirement(): Requirement {
    if (this.req === null) this.req = this.interpreted ? undefined : ruleRequirement(this.rule, this.fieldMap);
    return this.req;
  }
}

/**
 * Every entry that can apply to one channel, with the prefilter over all of them: entries with
 * no literal requirement always run; the others run when a field scan found one of their
 * literals. Per event ID, `byEventId` lists the entry indices that apply.
 */
class ChannelIndex {
  readonly always: Uint8Array;
  readonly fields: { field: string; ac: AhoCorasick; owners: Int32Array[] }[] = [];
  readonly stamp: Int32Array;
  epoch = 0;
  private readonly byEventId = new Map<number, Int32Array>();

  constructor(
    readonly entries: Entry[],
    prefilter: boolean,
  ) {
    this.always = new Uint8Array(entries.length);
    this.stamp = new Int32Array(entries.length);
    const byField = new Map<string, Map<string, number[]>>();
    entries.forEach((e, i) => {
      const req = prefilter ? e.requirement : undefined;
      if (!req) return void (this.always[i] = 1);
      for (const { field, text } of req) {
        let needles = byField.get(field);
        if (!needles) byField.set(field, (needles = new Map()));
        const owners = needles.get(text);
        if (!owners) needles.set(text, [i]);
        else if (owners[owners.length - 1] !== i) owners.push(i);
      }
    });
    for (const [field, needles] of byField) this.fields.push({ field, ac: new AhoCorasick([...needles.keys()]), owners: [...needles.values()].map((o) => Int32Array.from(o)) });
  }

  /** Indices of the entries that apply to an event ID. */
  forEventId(eid: number): Int32Array {
    let list = this.byEventId.get(eid);
    if (!list) {
      const idx: number[] = [];
      this.entries.forEach((e, i) => {
        if (e.eventIds === null || e.eventIds.has(eid)) idx.push(i);
      });
      list = Int32Array.from(idx);
      // Hostile input can invent endless event IDs: keep the cache bounded.
      if (this.byEventId.size < 4096) this.byEventId.set(eid, list);
    }
    return list;
  }

  /** Mark the entries whose literal requirement the event meets (plus those that always run). */
  mark(ev: Event, ctx: MatchContext): number {
    const epoch = ++this.epoch;
    const stamp = this.stamp;
    for (const f of this.fields) {
      const v = ev.get(f.field);
      if (v === undefined) continue;
      const owners = f.owners;
      const hit = (id: number) => {
        const o = owners[id]!;
        for (let k = 0; k < o.length; k++) stamp[o[k]!] = epoch;
      };
      if (Array.isArray(v)) for (const x of v as Scalar[]) f.ac.scan(fold(toText(x)), hit);
      else f.ac.scan(ctx.foldField(f.field, v as Scalar), hit);
    }
    return epoch;
  }
}

export class Engine {
  /** Windows rules that no event log can feed, with the reason (reported, never silent). */
  readonly unmapped: { rule: SigmaRule; reason: string }[] = [];
  readonly ruleCount: number;
  private readonly prefilter: boolean;
  private readonly interpreted: boolean;
  /** Entries per lower-cased channel name. */
  private readonly byChannel = new Map<string, Entry[]>();
  /** Windows rules with no channel constraint (product: windows only). */
  private readonly anyChannel: Entry[] = [];
  /** Rules for non-Windows events (no Channel field). */
  private readonly generic: Entry[] = [];
  private readonly indexes = new Map<string, ChannelIndex>();

  constructor(rules: readonly SigmaRule[], opts: EngineOptions = {}) {
    const map = opts.logsources ?? loadLogsourceMap();
    this.interpreted = opts.mode === 'interpreted';
    this.prefilter = !this.interpreted;
    this.ruleCount = rules.length;
    for (const rule of rules) {
      const res = resolveLogsource(rule.logsource, map);
      if (res.kind === 'unmapped') this.unmapped.push({ rule, reason: res.reason });
      else if (res.kind === 'generic') this.generic.push(new Entry(rule, {}, {}, this.interpreted, null));
      else for (const src of res.sources) this.addSource(rule, src);
    }
  }

  private addSource(rule: SigmaRule, src: EventSourceSpec): void {
    const entry = new Entry(rule, src.fields, src.conditions, this.interpreted, src.eventIds ? new Set(src.eventIds) : null);
    if (src.channels === null) return void this.anyChannel.push(entry);
    for (const ch of src.channels) {
      const key = ch.toLowerCase();
      const list = this.byChannel.get(key);
      if (list) list.push(entry);
      else this.byChannel.set(key, [entry]);
    }
  }

  private index(channel: string | undefined): ChannelIndex {
    const key = channel === undefined ? '\u0000generic' : channel.toLowerCase();
    let idx = this.indexes.get(key);
    if (!idx) {
      const entries = channel === undefined ? this.generic : [...(this.byChannel.get(key) ?? []), ...this.anyChannel];
      idx = new ChannelIndex(entries, this.prefilter);
      // Hostile input could invent endless channel names: unknown channels share no state.
      if (this.indexes.size < 1024 || this.byChannel.has(key)) this.indexes.set(key, idx);
    }
    return idx;
  }

  /** The rule entries an event is routed to. */
  candidates(ev: Event): readonly { rule: SigmaRule; fieldMap: FieldMap }[] {
    const idx = this.index(ev.channel);
    return Array.from(idx.forEventId(ev.eventId ?? -1), (i) => idx.entries[i]!);
  }

  /** All detections for one event. */
  match(ev: Event): Detection[] {
    const idx = this.index(ev.channel);
    const list = ev.channel === undefined ? undefined : idx.forEventId(ev.eventId ?? -1);
    if (list && list.length === 0) return [];
    if (!idx.entries.length) return [];
    const ctx = new MatchContext(ev);
    const epoch = idx.mark(ev, ctx);
    const out: Detection[] = [];
    const n = list ? list.length : idx.entries.length;
    for (let k = 0; k < n; k++) {
      const i = list ? list[k]! : k;
      if (idx.stamp[i] !== epoch && !idx.always[i]) continue;
      const e = idx.entries[i]!;
      if (e.conditions.length && !e.conditions.every(([f, v]) => String(ev.get(f) ?? '') === v)) continue;
      if (!e.pred(ctx)) continue;
      if (out.some((d) => d.rule === e.rule)) continue; // one rule, two sources, same event
      out.push({ rule: e.rule, event: ev, fieldMap: e.fieldMap });
    }
    return out;
  }
}
