/**
 * The matching engine: routes each event to the rules whose logsource can apply to it
 * (by channel and event ID), then runs their compiled predicates. Single-event matching is a
 * pure function of (rules, event); stateful correlation lives elsewhere.
 */
import type { Event } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';
import { compileRule, MatchContext, type Predicate } from './compile.js';
import { interpretRule, type FieldMap } from './interpret.js';
import { loadLogsourceMap, resolveLogsource, type EventSourceSpec, type LogsourceMap } from './logsource.js';

export interface Detection {
  rule: SigmaRule;
  event: Event;
  /** Field renames of the log source the rule matched through (e.g. 4688 names). */
  fieldMap: FieldMap;
}

export interface EngineOptions {
  logsources?: LogsourceMap;
  /** `interpreted` runs the reference interpreter instead of compiled closures (for tests/bench). */
  mode?: 'compiled' | 'interpreted';
}

interface Entry {
  rule: SigmaRule;
  pred: Predicate;
  fieldMap: FieldMap;
  conditions: [string, string][];
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
  private readonly routeCache = new Map<string, Entry[]>();

  constructor(rules: readonly SigmaRule[], opts: EngineOptions = {}) {
    const map = opts.logsources ?? loadLogsourceMap();
    const interpreted = opts.mode === 'interpreted';
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
    const channel = ev.channel;
    if (channel === undefined) return this.generic;
    const eid = ev.eventId ?? -1;
    const key = `${channel}\u0000${eid}`;
    let list = this.routeCache.get(key);
    if (!list) {
      const route = this.channels.get(channel.toLowerCase());
      list = [...(route?.byEventId.get(eid) ?? []), ...(route?.anyEventId ?? []), ...this.anyChannel.filter((a) => a.eventIds === null || a.eventIds.has(eid)).map((a) => a.entry)];
      if (this.routeCache.size < 10_000) this.routeCache.set(key, list);
    }
    return list;
  }

  /** All detections for one event. */
  match(ev: Event): Detection[] {
    const entries = this.candidates(ev);
    if (!entries.length) return [];
    const ctx = new MatchContext(ev);
    const out: Detection[] = [];
    for (const e of entries) {
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
  return { rule, pred, fieldMap, conditions: Object.entries(conditions).map(([k, v]) => [k, String(v)]) };
}
