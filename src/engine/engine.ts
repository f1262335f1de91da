/**
 * The matching engine: routes each event to the rules whose logsource can apply to it
 * (by channel and event ID), then runs their compiled predicates. Single-event matching is a
 * pure function of (rules, event); stateful correlation lives elsewhere.
 *
 * Work is done lazily: a rule is compiled the first time an event can reach it, and the
 * literal prefilter (one Aho-Corasick automaton per field) is built once per channel, the
 * first time that channel is seen. Rules for log sources absent from the evidence cost nothing.
 */
import type { Event, FieldValue, Scalar } from '../events/event.js';
import type { SigmaRule } from '../sigma/model.js';
import { prepareCaseClosure } from '../sigma/regex.js';
import { AhoCorasick } from './aho-corasick.js';
import { compileRule, MatchContext, type Predicate } from './compile.js';
import { interpretRule, type FieldMap } from './interpret.js';
import { loadLogsourceMap, resolveLogsource, type EventSourceSpec, type LogsourceMap } from './logsource.js';
import { ANY_VALUE, ruleEventIds, ruleRequirement, type Requirement } from './prefilter.js';
import { ASCII, asciiLiteralScreen, fold, toText } from './values.js';

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
  private ids: ReadonlySet<number> | null | undefined;
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
  /** Event IDs the rule's own detection pins down (null: any); see `ruleEventIds`. */
  get detectionEventIds(): ReadonlySet<number> | null {
    if (this.ids === undefined) this.ids = this.interpreted ? null : ruleEventIds(this.rule, this.fieldMap);
    return this.ids;
  }
  /** Can this entry match an event whose ID no entry of its route names? */
  appliesToOther(): boolean {
    return this.eventIds === null && this.detectionEventIds === null;
  }
  /** Can this entry match an event with this numeric ID (-1: the event has none)? */
  appliesTo(eid: number): boolean {
    if (eid < 0) return this.eventIds === null;
    if (this.eventIds !== null && !this.eventIds.has(eid)) return false;
    const ids = this.detectionEventIds;
    return ids === null || ids.has(eid);
  }
  get requirement(): Requirement {
    if (this.req === null) this.req = this.interpreted ? undefined : ruleRequirement(this.rule, this.fieldMap);
    return this.req;
  }
}

/** One prefilter field: its automaton, what a found literal marks, and (keywords) an ASCII screen. */
interface FieldScan {
  field: string;
  ac: AhoCorasick;
  hit: (needle: number) => void;
  screen?: RegExp;
}

/**
 * Keyword literals are scanned for in every value of an event, most of which hold none: one
 * native case-insensitive regex of the ASCII literals rejects such an ASCII value first (a
 * non-ASCII literal cannot occur in the lower-cased text of an ASCII value). Non-ASCII values
 * always take the full scan.
 */
function anyValueScreen(needles: readonly string[]): RegExp {
  const ascii = needles.filter((n) => ASCII.test(n));
  return ascii.length ? asciiLiteralScreen(ascii) : /(?!)/;
}

/** Scan one value's lower-cased text (lowered on the fly when it is ASCII, the common case). */
function scanText(f: FieldScan, text: string): void {
  if (f.screen && ASCII.test(text) && !f.screen.test(text)) return;
  if (!f.ac.scanAsciiLowered(text, f.hit)) f.ac.scan(fold(text), f.hit);
}

/** Scan a field's value, or each element of a list. */
function scanValue(f: FieldScan, v: FieldValue): void {
  if (Array.isArray(v)) for (const x of v as Scalar[]) scanText(f, toText(x));
  else scanText(f, toText(v as Scalar));
}

/**
 * Every entry that can apply to one (channel, event ID), with the prefilter over all of them:
 * entries with no literal requirement always run; the others run when a field scan found one of
 * their literals.
 */
class ChannelIndex {
  /** Entries that run on every event of the index (no literal requirement), ascending. */
  readonly always: Int32Array;
  /** Entries whose literal was found by the last `mark`, in the order found. */
  readonly hits: number[] = [];
  /** The entries to run for the last `mark` (reused: one event is matched at a time). */
  private readonly run: number[] = [];
  readonly fields: FieldScan[] = [];
  readonly stamp: Int32Array;
  epoch = 0;

  constructor(
    readonly entries: Entry[],
    prefilter: boolean,
    automata: Map<string, AhoCorasick>,
  ) {
    const always: number[] = [];
    this.stamp = new Int32Array(entries.length);
    const byField = new Map<string, Map<string, number[]>>();
    entries.forEach((e, i) => {
      const req = prefilter ? e.requirement : undefined;
      if (!req) return void always.push(i);
      for (const { field, text } of req) {
        let needles = byField.get(field);
        if (!needles) byField.set(field, (needles = new Map<string, number[]>()));
        const owners = needles.get(text);
        if (!owners) needles.set(text, [i]);
        else if (owners[owners.length - 1] !== i) owners.push(i);
      }
    });
    this.always = Int32Array.from(always);
    for (const [field, needles] of byField) {
      const owners = [...needles.values()].map((o) => Int32Array.from(o));
      const stamp = this.stamp;
      const hits = this.hits;
      // Each entry is listed once per event however many of its literals occur.
      const hit = (needle: number) => {
        const o = owners[needle]!;
        for (let k = 0; k < o.length; k++) {
          const e = o[k]!;
          if (stamp[e] !== this.epoch) {
            stamp[e] = this.epoch;
            hits.push(e);
          }
        }
      };
      const list = [...needles.keys()];
      // Indexes often look for the same literals (Sysmon's process creation and Security's 4688
      // through the field map, an event ID's rules and those of the channel's other IDs): one
      // automaton serves them all.
      const key = list.map((n) => `${n.length}:${n}`).join('');
      let ac = automata.get(key);
      if (!ac) automata.set(key, (ac = new AhoCorasick(list)));
      this.fields.push({ field, ac, hit, screen: field === ANY_VALUE ? anyValueScreen(list) : undefined });
    }
  }

  /** Mark the entries whose literal requirement the event meets (plus those that always run). */
  mark(ev: Event): ArrayLike<number> {
    this.epoch++;
    const hits = this.hits;
    hits.length = 0;
    for (const f of this.fields) {
      if (f.field === ANY_VALUE) {
        // Keyword searches: every value of the event (of its keyword fields, when it names them).
        const fields = ev.fields;
        const names = ev.keywordFields;
        if (names) {
          for (const k of names) {
            const v = fields[k];
            if (v !== undefined) scanValue(f, v);
          }
        } else for (const k in fields) scanValue(f, fields[k]!);
        continue;
      }
      const v = ev.get(f.field);
      if (v !== undefined) scanValue(f, v);
    }
    // The entries to run, ascending (so detections come out in one stable order).
    const always = this.always;
    if (!hits.length) return always;
    hits.sort((a, b) => a - b);
    const out = this.run;
    out.length = 0;
    let i = 0;
    let j = 0;
    while (i < always.length || j < hits.length) {
      if (j >= hits.length || (i < always.length && always[i]! < hits[j]!)) out.push(always[i++]!);
      else out.push(hits[j++]!);
    }
    return out;
  }
}

/** The entries of one (product, channel), the event IDs they name, and an index per event ID. */
interface Route {
  entries: Entry[];
  named: Set<number>;
  byId: Map<number, ChannelIndex>;
}

export class Engine {
  /** Rules of a routed product (Windows, Linux) that no log source can feed, with the reason (reported, never silent). */
  readonly unmapped: { rule: SigmaRule; reason: string }[] = [];
  readonly ruleCount: number;
  private readonly prefilter: boolean;
  private readonly interpreted: boolean;
  /** The prefilter's automata by their list of literals (shared by the indexes that look for the same ones). */
  private readonly automata = new Map<string, AhoCorasick>();
  /** Entries per product, then per lower-cased channel name. */
  private readonly byChannel = new Map<string, Map<string, Entry[]>>();
  /** Per product: rules with no channel constraint (e.g. `product: windows` alone). */
  private readonly anyChannel = new Map<string, Entry[]>();
  /** Rules for events of no routed product (generic JSON without a Channel). */
  private readonly generic: Entry[] = [];
  private readonly routes = new Map<string, Route>();

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
    if (src.channels === null) {
      const list = this.anyChannel.get(src.product);
      if (list) list.push(entry);
      else this.anyChannel.set(src.product, [entry]);
      return;
    }
    let channels = this.byChannel.get(src.product);
    if (!channels) this.byChannel.set(src.product, (channels = new Map<string, Entry[]>()));
    for (const ch of src.channels) {
      const key = ch.toLowerCase();
      const list = channels.get(key);
      if (list) list.push(entry);
      else channels.set(key, [entry]);
    }
  }

  /**
   * The index for an event's product, channel and ID. Channels the rules do not name share one
   * route per product (so hostile input inventing channel names costs nothing), and within a
   * channel every event ID no rule names shares one index, so the number of indexes is bounded
   * by the rules, not the input.
   */
  private index(ev: Event): ChannelIndex {
    const channel = ev.channel;
    // A Windows event without a channel (ETW-sourced records) meets the Windows rules that name
    // no channel; an event with a Channel and no product is taken for a Windows one (JSON
    // exports); only events of no product and no channel meet the generic rules.
    const product = ev.product ?? (channel !== undefined ? 'windows' : undefined);
    // Events come in runs of one channel (a file, a batch from one source): the last route is
    // kept, so most events skip lower-casing their channel and looking its route up.
    const last = this.last;
    if (last.route && last.product === product && last.channel === channel) return this.indexIn(last.route, product, ev.eventId);
    const route = this.route(product, channel?.toLowerCase());
    this.last = { product, channel, route };
    return this.indexIn(route, product, ev.eventId);
  }

  /** The route of the last event `index` was asked about. */
  private last: { product: string | undefined; channel: string | undefined; route: Route | undefined } = { product: undefined, channel: undefined, route: undefined };

  /** The index for a product (undefined: generic), a lower-cased channel and an event ID. */
  private indexFor(product: string | undefined, lc: string | undefined, eventId: number | undefined): ChannelIndex {
    return this.indexIn(this.route(product, lc), product, eventId);
  }

  private indexIn(route: Route, product: string | undefined, eventId: number | undefined): ChannelIndex {
    // Events without an ID (generic JSON) reach every entry of the route that does not need one.
    const eid = product === undefined ? -2 : eventId === undefined ? -1 : route.named.has(eventId) ? eventId : -3;
    let idx = route.byId.get(eid);
    if (!idx) {
      const list = eid === -2 ? route.entries : route.entries.filter((e) => (eid === -3 ? e.appliesToOther() : e.appliesTo(eid)));
      idx = new ChannelIndex(list, this.prefilter, this.automata);
      route.byId.set(eid, idx);
    }
    return idx;
  }

  /** The entries for a product's channel (channels no rule names share one route), and the event IDs they name. */
  private route(product: string | undefined, lc: string | undefined): Route {
    const generic = product === undefined;
    const channels = generic ? undefined : this.byChannel.get(product);
    const named = lc !== undefined && channels?.has(lc) ? lc : undefined;
    const key = generic ? '\u0000generic' : `${product}\u0000${named ?? '\u0000other'}`;
    let route = this.routes.get(key);
    if (!route) {
      const entries = generic ? this.generic : [...((named !== undefined && channels?.get(named)) || []), ...(this.anyChannel.get(product) ?? [])];
      const ids = new Set<number>();
      for (const e of entries) for (const set of [e.eventIds, e.detectionEventIds]) if (set) for (const id of set) ids.add(id);
      route = { entries, named: ids, byId: new Map() };
      this.routes.set(key, route);
    }
    return route;
  }

  /**
   * Build now the index of every (product, channel, event ID) the rules name, which `match` would
   * build the first time such an event arrives: building one (its rules' literal requirements and
   * automata) costs far more than matching a batch, so a server that runs for weeks pays it once
   * at start rather than in the latency of the first event of each kind. Rules are still compiled
   * when first reached (most are never reached), but the case-closure table their regexes share
   * is built now too. Memory is bounded by the rules, not the input. Returns how many indexes
   * there are.
   */
  prepare(): number {
    prepareCaseClosure();
    for (const product of new Set([...this.byChannel.keys(), ...this.anyChannel.keys()])) {
      // Each named channel, and a channel no rule names (the shared route of the others).
      for (const lc of [...(this.byChannel.get(product)?.keys() ?? []), undefined]) {
        // Each event ID the route's rules name, no ID, and an ID none names.
        for (const eid of [...this.route(product, lc).named, undefined, Number.MIN_SAFE_INTEGER]) this.indexFor(product, lc, eid);
      }
    }
    if (this.generic.length) this.indexFor(undefined, undefined, undefined);
    let n = 0;
    for (const route of this.routes.values()) n += route.byId.size;
    return n;
  }

  /** The rule entries an event is routed to. */
  candidates(ev: Event): readonly { rule: SigmaRule; fieldMap: FieldMap }[] {
    return this.index(ev).entries;
  }

  /** All detections for one event. */
  match(ev: Event): Detection[] {
    const idx = this.index(ev);
    const n = idx.entries.length;
    if (!n) return [];
    const ctx = new MatchContext(ev);
    const run = idx.mark(ev);
    const out: Detection[] = [];
    for (let k = 0; k < run.length; k++) {
      const e = idx.entries[run[k]!]!;
      if (e.conditions.length && !e.conditions.every(([f, v]) => String(ev.get(f) ?? '') === v)) continue;
      if (!e.pred(ctx)) continue;
      if (out.some((d) => d.rule === e.rule)) continue; // one rule, two sources, same event
      out.push({ rule: e.rule, event: ev, fieldMap: e.fieldMap });
    }
    return out;
  }
}
