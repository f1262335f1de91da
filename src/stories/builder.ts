/**
 * Stories: detections joined into incidents across hosts and accounts (docs/stories.md).
 *
 * Each detection names entities (its host, accounts, remote addresses and workstations, logon
 * IDs, process GUIDs, service names, file paths: ./entities.ts, driven by data/domain.yml). Two
 * detections belong to the same story when they share an entity seen within the proximity window
 * of each other; stories are the connected components of that graph (./graph.ts). Movement
 * between hosts (spread edges) comes from the source address or workstation a detection names,
 * resolved to a host through addresses learnt from the events (./addressbook.ts), and from the
 * contributors of correlation detections. What a story accumulates is ./aggregate.ts; how it is
 * judged, scored and where it started is ./scoring.ts; the finished story is ./assemble.ts and
 * its words ./narrative.ts.
 *
 * This is a stateful stage with bounded memory: entities expire after their window, closed
 * components that fail the noise rule are dropped, and every per-story list is capped; `stats()`
 * says what was dropped.
 */
import { LIMITS } from '../core/limits.js';
import type { DetectionRecord } from '../detections/record.js';
import { hostKey, hostName } from '../events/addresses.js';
import { defaultDomain, type Domain } from '../events/domain.js';
import type { FieldValue } from '../events/event.js';
import type { Level } from '../sigma/model.js';
import { AddressBook } from './addressbook.js';
import { Agg, rank, StoryAggregator } from './aggregate.js';
import { assembleStory } from './assemble.js';
import { entityKeys, numberOf, sourcesOf, stringOf, type Kind, type Observation } from './entities.js';
import { ComponentGraph } from './graph.js';
import type { Story } from './model.js';
import { qualifies, score } from './scoring.js';

export interface StoryOptions {
  /** Two detections sharing a host, account, address, service or file join within this (ms). Default 2 h. */
  windowMs?: number;
  /** Window for unique identifiers (process GUIDs, logon IDs), which never collide by chance. Default 24 h. */
  strongWindowMs?: number;
  /** Detections below this level are not joined (default `low`: informational rules are ignored). */
  minLevel?: Level;
  /** A movement detection without a source attaches to an incoming edge this close in time (ms). Default 15 min. */
  attachMs?: number;
  /** Entities remembered at once (default: LIMITS.stories). */
  maxEntities?: number;
  /** Components open at once before the oldest are closed early (default: LIMITS.stories). */
  maxOpen?: number;
  /** Stories kept (the highest scores; default: LIMITS.stories). */
  maxStories?: number;
  /** Detections listed per story timeline (default: LIMITS.stories). */
  maxTimeline?: number;
  /** Hosts, accounts, addresses, edges and distinct rules kept per story (default: LIMITS.stories). */
  maxPerStory?: number;
  /** IP addresses whose owner is remembered (default: LIMITS.stories). */
  maxAddresses?: number;
  /** Domain knowledge (default: the bundled data/domain.yml). */
  domain?: Domain;
  /**
   * Live use (`serve`): stories are reported as they grow (`changed()`), and a closed story is
   * reported once more and then forgotten instead of being kept for `finish()`.
   */
  live?: { merged(into: number, from: number): void };
}

/** A story that changed since the last `changed()` call, keyed by its component. */
export interface LiveStory {
  /** The component's id: stable while the story grows; a merge folds one key into another. */
  key: number;
  story: Story;
  /** False once the story can never grow again (this is its last report). */
  open: boolean;
}

export interface StoryStats {
  /** Detections passed to `add`. */
  seen: number;
  /** Joined into components. */
  used: number;
  hidden: number;
  belowLevel: number;
  untimed: number;
  correlations: number;
  /** Components closed because they failed the noise rule (lone low-severity detections). */
  discarded: number;
  /** Qualifying stories dropped because more than `maxStories` qualified (lowest scores). */
  storiesDropped: number;
  /** Components closed before their window ended because `maxOpen` was reached. */
  closedEarly: number;
  /** Entities not remembered because `maxEntities` was reached. */
  entitiesDropped: number;
  entities: number;
  open: number;
  addresses: number;
  addressesDropped: number;
}

const L = LIMITS.stories;
const HOUR = 3_600_000;
const MIN = 60_000;
const SWEEP_EVERY = 1024;

/** Joins detections into stories; feed it detections in time order, then call `finish`. */
export class StoryBuilder {
  private readonly minRank: number;
  private readonly maxStories: number;
  private readonly attach: number;
  private readonly cap: number;
  private readonly domain: Domain;
  private readonly book: AddressBook;
  private readonly graph: ComponentGraph<Agg>;
  private readonly agg: StoryAggregator;
  private closed: Agg[] = [];
  private readonly dirty = new Set<number>();
  private readonly closing = new Map<number, Agg>();
  private sinceSweep = 0;
  private readonly st = { seen: 0, used: 0, hidden: 0, belowLevel: 0, untimed: 0, correlations: 0, discarded: 0, storiesDropped: 0 };

  private readonly liveHooks: StoryOptions['live'];

  constructor(options: StoryOptions = {}) {
    this.liveHooks = options.live;
    const window = options.windowMs ?? 2 * HOUR;
    this.minRank = rank(options.minLevel ?? 'low');
    this.attach = options.attachMs ?? 15 * MIN;
    this.maxStories = options.maxStories ?? L.maxStories;
    this.cap = options.maxPerStory ?? L.maxPerStory;
    this.domain = options.domain ?? defaultDomain();
    this.book = new AddressBook(options.maxAddresses ?? L.maxAddresses);
    this.agg = new StoryAggregator({ cap: this.cap, maxTimeline: options.maxTimeline ?? L.maxTimeline }, this.book, this.domain);
    this.graph = new ComponentGraph<Agg>(
      { window, strongWindow: Math.max(window, options.strongWindowMs ?? 24 * HOUR), maxEntities: options.maxEntities ?? L.maxEntities, maxOpen: options.maxOpen ?? L.maxOpen },
      {
        create: (id) => new Agg(id),
        merge: (a, b) => {
          this.agg.merge(a, b);
          if (!options.live) return;
          this.dirty.delete(b.id);
          this.dirty.add(a.id);
          options.live.merged(a.id, b.id);
        },
        close: (a) => this.close(a),
      },
    );
  }

  /** Remember that `ip` belonged to `host` (at `at`, ISO; any time when omitted). */
  learnAddress(ip: string, host: string, at?: string): void {
    this.book.learn(ip, host, at);
  }

  /** Add one detection (in time order; `hidden` ones are ignored). Returns the story component it joined. */
  add(d: DetectionRecord): number | undefined {
    this.st.seen++;
    if (d.hidden) return void this.st.hidden++;
    const context = rank(d.level) < this.minRank && this.isContext(d);
    if (rank(d.level) < this.minRank && !context) return void this.st.belowLevel++;
    const t = d.timestamp ? Date.parse(d.timestamp) : NaN;
    if (Number.isNaN(t)) return void this.st.untimed++;
    this.st.used++;

    const obs: Observation[] = [this.observation(d.computer, t, d.event, d.eventId, d.channel, d.provider, d.rule.tags, d.rule.id, d.rule.title)];
    if (d.rule.kind === 'correlation') this.st.correlations++;
    for (const c of d.correlation?.contributors ?? []) {
      const ct = c.timestamp ? Date.parse(c.timestamp) : NaN;
      const fields = { ...c.fields };
      // The group (e.g. {IpAddress: 10.1.2.3}) applies to every contributor.
      for (const [k, v] of Object.entries(d.correlation!.group)) if (v !== null && fields[k] === undefined) fields[k] = v;
      obs.push(
        this.observation(
          c.computer,
          Number.isNaN(ct) ? t : ct,
          fields,
          numberOf(fields.EventID) ?? null,
          stringOf(fields.Channel) ?? null,
          stringOf(fields.Provider_Name) ?? null,
          d.rule.tags,
          d.rule.id,
          d.rule.title,
        ),
      );
    }

    const keys = new Map<string, Kind>();
    for (const o of obs) entityKeys(o, sourcesOf(o, this.book, this.domain), this.domain, keys);
    if (context) this.contextKeys(keys, obs[0]!);
    const agg = this.graph.join(keys, t);
    this.agg.record(agg, d, t, obs);
    if (this.live) this.dirty.add(agg.id);

    if (++this.sinceSweep >= SWEEP_EVERY || this.graph.full()) {
      this.sinceSweep = 0;
      this.graph.sweep();
    }
    return agg.id;
  }

  /**
   * Event time has reached `watermark` (ms): entities past their window expire and the stories
   * they held close. Sweeps stay as rare as `add` makes them (a sweep walks every entity), which
   * changes when a story closes, never what it holds.
   */
  advance(watermark: number): void {
    if (watermark > this.graph.now) this.graph.now = watermark;
    if (this.sinceSweep >= SWEEP_EVERY) {
      this.sinceSweep = 0;
      this.graph.sweep();
    }
  }

  /** Counters: what was used, ignored and dropped. */
  stats(): StoryStats {
    return {
      ...this.st,
      closedEarly: this.graph.closedEarly,
      entitiesDropped: this.graph.entitiesDropped,
      entities: this.graph.entityCount,
      open: this.graph.openCount,
      addresses: this.book.size,
      addressesDropped: this.book.dropped,
    };
  }

  /** Close everything and return the stories that pass the noise rule, highest score first. */
  finish(): Story[] {
    this.graph.closeAll();
    const stories = this.closed.map((a) => assembleStory(a, this.book, { attachMs: this.attach, cap: this.cap }));
    stories.sort((a, b) => b.score - a.score || (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0));
    this.closed = [];
    return stories;
  }

  /**
   * Below the level stories join, an event the domain data marks `context` (an SSH logon, a sudo
   * command: docs/stories.md) still joins, so a story learns where a session came from.
   */
  private isContext(d: DetectionRecord): boolean {
    if (d.rule.kind === 'correlation') return false;
    const id = d.eventId ?? numberOf(d.event.EventID) ?? null;
    const ch = d.channel ?? stringOf(d.event.Channel) ?? null;
    return this.domain.meaningOf({ eventId: id, channel: ch, provider: d.provider, fields: d.event })?.context === true;
  }

  /**
   * A context detection joins through what it names besides its own host: every administrator's
   * logon on a host with an open story would otherwise join it (and draw its source as the
   * story's origin). Its account, address and source host still join.
   */
  private contextKeys(keys: Map<string, Kind>, o: Observation): void {
    if (o.host) keys.delete('h:' + o.host);
  }

  private observation(
    computer: string | null,
    t: number,
    fields: Record<string, FieldValue>,
    eventId: number | null,
    channel: string | null,
    provider: string | null,
    tags: readonly string[],
    ruleId: string | null,
    title: string,
  ): Observation {
    const name = hostName(computer ?? undefined) ?? null;
    const host = name ? hostKey(name) : null;
    if (host && name) this.book.nameHost(host, name);
    const id = eventId ?? numberOf(fields.EventID) ?? null;
    const ch = channel ?? stringOf(fields.Channel) ?? null;
    const meaning = this.domain.meaningOf({ eventId: id, channel: ch, provider, fields });
    return { t, host, hostName: name, fields, eventId: id, channel: ch, meaning, tags, ruleId, title };
  }

  /**
   * Live use: the stories that grew, merged or closed since the last call (only those that pass
   * the noise rule; a component that never does is never reported).
   */
  changed(): LiveStory[] {
    const out: LiveStory[] = [];
    for (const id of this.dirty) {
      const a = this.graph.component(id);
      if (a && qualifies(a)) out.push({ key: id, story: assembleStory(a, this.book, { attachMs: this.attach, cap: this.cap }), open: true });
    }
    this.dirty.clear();
    for (const [id, a] of this.closing) out.push({ key: id, story: assembleStory(a, this.book, { attachMs: this.attach, cap: this.cap }), open: false });
    this.closing.clear();
    return out;
  }

  private get live(): boolean {
    return this.liveHooks !== undefined;
  }

  private close(a: Agg): void {
    if (this.live) {
      this.dirty.delete(a.id);
      if (qualifies(a)) this.closing.set(a.id, a);
      else this.st.discarded++;
      return;
    }
    if (!qualifies(a)) return void this.st.discarded++;
    this.closed.push(a);
    if (this.closed.length > this.maxStories * 2) this.trimClosed();
  }

  private trimClosed(): void {
    const scored = this.closed.map((a) => ({ a, s: score(a.levels, a.hosts.size, a.accounts.size, a.tactics.size, a.edges.size > 0) })).sort((x, y) => y.s - x.s);
    this.st.storiesDropped += Math.max(0, scored.length - this.maxStories);
    this.closed = scored.slice(0, this.maxStories).map((x) => x.a);
  }
}
