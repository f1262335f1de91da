/**
 * The matching engine: routes each event to the rules whose logsource can apply to it
 * (by channel and event ID), then runs their compiled predicates. Single-event matching is a
 * pure function of (rules, event); stateful correlation lives elsewhere.
 */
import type { Event } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';
import { compileRule, MatchContext, type Predicate } from './compile.js';
import { interpretRule, type FieldMap } from './interpret.js';
import { AhoCorasick } from './aho-corasick.js';
import { loadLogsourceMap, resolveLogsource, type EventSourceSpec, type LogsourceMap } from './logsource.js';
import { ruleRequirement, type Requirement } from './prefilter.js';
import { fold, toText } from './values.js';
import type { Scalar } from '../events/event.js';

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

interface Entry {
  rule: SigmaRule;
  pred: Predicate;
  fieldMap: FieldMap;
  conditions: [string, string][];
  requirement: Requirement;
}

/**
 * The rules routed to one (channel, event ID), with the prefilter built over them: rules with no
 * literal requirement always run; the others run when one field scan found one of their literals.
 */
interface Plan {
  entries: Entry[];
  always: number[];
  fields: { field: string; ac: AhoCorasick; owners: number[][] }[];
  stamp: Int32Array;
  epoch: number;
}

function buildPlan(entries: Entry[], prefilter: boolean): Plan {
  const always: number[] = [];
  const byField = new Map<string, Map<string, number[]>>();
  entries.forEach((e, i) => {
    if (!prefilter || !e.requirement) return void always.push(i);
    for (const { field, text } of e.requirement) {
      let needles = byField.get(field);
      if (!needles) byField.set(field, (needles = new Map()));
      const owners = needles.get(text);
      if (!owners) needles.set(text, [i]);
      else if (owners[owners.length - 1] !== i) owners.push(i);
    }
  });
  const fields = [...byField].map(([field, needles]) => ({ field, ac: new AhoCorasick([...needles.keys()]), owners: [...needles.values()] }));
  return { entries, always, fields, stamp: new Int32Array(entries.length), epoch: 0 };
}

interface ChannelRoute {
  byEventId: Map<number, Entry[]>;
  anyEventId: Entry[];
}

export class Engine {
  /** Windows rules that no event log can feed, with the reason (reported, never silent). */
  readonly unmapped: { rule: SigmaRule; reason: string }[] = [];
  readonly ruleCount: number;
  private readonly channels = new Map<string, ChannelRoute>();
  /** Windows rules with no channel constraint (product: windows only). */
  private readonly anyChannel: { eventIds: Set<number> | null; entry: Entry }[] = [];
  /** Rules for non-Windows events (no Channel field). */
  private readonly generic: Entry[] = [];
  private readonly routeCache = new Map<string, Plan>();
  private readonly prefilter: boolean;
  private genericPlan: Plan | undefined;

  constructor(rules: readonly SigmaRule[], opts: EngineOptions = {}) {
    const map = opts.logsources ?? loadLogsourceMap();
    const interpreted = opts.mode === 'interpreted';
    this.prefilter = !interpreted;
    this.ruleCount = rules.length;
    for (const rule of rules) {
      const res = resolveLogsource(rule.logsource, map);
      if (res.kind === 'unmapped') {
        this.unmapped.push({ rule, reason: res.reason });
        continue;
      }
      if (res.kind === 'generic') {
        this.generic.push(makeEntry(rule, {}, {}, interpreted));
        continue;
      }
      for (const src of res.sources) this.addSource(rule, src, interpreted);
    }
  }

  private addSource(rule: SigmaRule, src: EventSourceSpec, interpreted: boolean): void {
    const entry = makeEntry(rule, src.fields, src.conditions, interpreted);
    if (src.channels === null) {
      this.anyChannel.push({ eventIds: src.eventIds ? new Set(src.eventIds) : null, entry });
      return;
    }
    for (const ch of src.channels) {
      const key = ch.toLowerCase();
      let route = this.channels.get(key);
      if (!route) this.channels.set(key, (route = { byEventId: new Map(), anyEventId: [] }));
      if (src.eventIds === null) route.anyEventId.push(entry);
      else
        for (const id of src.eventIds) {
          const list = route.byEventId.get(id);
          if (list) list.push(entry);
          else route.byEventId.set(id, [entry]);
        }
    }
  }

  /** The rules an event is routed to. */
  candidates(ev: Event): readonly Entry[] {
    return this.plan(ev).entries;
  }

  private plan(ev: Event): Plan {
    const channel = ev.channel;
    if (channel === undefined) return (this.genericPlan ??= buildPlan(this.generic, this.prefilter));
    const eid = ev.eventId ?? -1;
    const key = `${channel}\u0000${eid}`;
    let plan = this.routeCache.get(key);
    if (!plan) {
      const route = this.channels.get(channel.toLowerCase());
      const list = [...(route?.byEventId.get(eid) ?? []), ...(route?.anyEventId ?? []), ...this.anyChannel.filter((a) => a.eventIds === null || a.eventIds.has(eid)).map((a) => a.entry)];
      plan = buildPlan(list, this.prefilter);
      // Hostile input could invent endless channel names: keep the cache bounded.
      if (this.routeCache.size < 10_000) this.routeCache.set(key, plan);
    }
    return plan;
  }

  /** All detections for one event. */
  match(ev: Event): Detection[] {
    const plan = this.plan(ev);
    const entries = plan.entries;
    if (!entries.length) return [];
    const ctx = new MatchContext(ev);
    const epoch = ++plan.epoch;
    const stamp = plan.stamp;
    for (const i of plan.always) stamp[i] = epoch;
    for (const f of plan.fields) {
      const v = ev.get(f.field);
      if (v === undefined) continue;
      const hit = (id: number) => {
        for (const i of f.owners[id]!) stamp[i] = epoch;
      };
      if (Array.isArray(v)) for (const x of v as Scalar[]) f.ac.scan(fold(toText(x)), hit);
      else f.ac.scan(ctx.foldField(f.field, v as Scalar), hit);
    }
    const out: Detection[] = [];
    for (let i = 0; i < entries.length; i++) {
      if (stamp[i] !== epoch) continue;
      const e = entries[i]!;
      if (e.conditions.length && !e.conditions.every(([f, v]) => String(ev.get(f) ?? '') === v)) continue;
      if (!e.pred(ctx)) continue;
      if (out.some((d) => d.rule === e.rule)) continue; // one rule, two sources, same event
      out.push({ rule: e.rule, event: ev, fieldMap: e.fieldMap });
    }
    return out;
  }
}

function makeEntry(rule: SigmaRule, fieldMap: FieldMap, conditions: Record<string, string | number>, interpreted: boolean): Entry {
  const pred: Predicate = interpreted ? (ctx) => interpretRule(rule, ctx.ev, fieldMap) : compileRule(rule, fieldMap);
  return { rule, pred, fieldMap, conditions: Object.entries(conditions).map(([k, v]) => [k, String(v)]), requirement: interpreted ? undefined : ruleRequirement(rule, fieldMap) };
}
