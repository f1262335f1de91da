/**
 * Stories: detections joined into incidents across hosts and accounts (docs/stories.md).
 *
 * Each detection is judged first (./judge.ts): routine when the baselines learnt from the data
 * explain it (./routine.ts: management hosts, familiar logon pairs, common programs and
 * detections, habits of a host), in which case it joins no story and is only noted beside the
 * story of its host; otherwise it names entities (its host, logon IDs, process GUIDs, outside
 * addresses; accounts, services and files when it is suspicious: ./entities.ts, driven by
 * data/domain.yml). Two detections belong to the same story when they share an entity seen within
 * its window (./graph.ts). Movement between hosts joins the source's story only with evidence
 * that it is part of the intrusion (a suspicious technique, suspicious activity on the source
 * before or on the target after it); without it, it is context. What a story accumulates is
 * ./aggregate.ts; whether it earns its place, its score and where it started are ./scoring.ts;
 * the finished story is ./assemble.ts and its words ./narrative.ts.
 *
 * For a live stream (`live`), `changed()` returns the stories that grew, merged or closed since
 * the last call, keyed by their component. The baselines keep learning from the detections (and
 * from `learnRoutine`), and export to JSON for a server to store.
 *
 * This is a stateful stage with bounded memory: entities expire after their window, closed
 * components that do not earn their place are dropped, and every per-story list is capped;
 * `stats()` says what was dropped.
 */
import { LIMITS } from '../core/limits.js';
import { isoMs } from '../core/time.js';
import { readAttackTags, techniqueRef, type AttackTags, type TechniqueRef } from '../detections/attack.js';
import type { DetectionRecord, RoutineSubject } from '../detections/record.js';
import { hostKey, hostName } from '../events/addresses.js';
import { defaultDomain, type Domain } from '../events/domain.js';
import type { FieldValue } from '../events/event.js';
import type { Level } from '../sigma/model.js';
import { AddressBook } from './addressbook.js';
import { Agg, rank, StoryAggregator } from './aggregate.js';
import { assembleStory } from './assemble.js';
import { entityKeys, numberOf, stringOf, type Kind, type Observation } from './entities.js';
import { detectionFact, factKey, type RoutineFact } from './facts.js';
import { ComponentGraph } from './graph.js';
import { Judge } from './judge.js';
import type { Story } from './model.js';
import { Routine, type RoutineOptions, type RoutineState } from './routine.js';
import { aggScore, earned } from './scoring.js';
import { isMovementTechnique } from './techniques.js';

export interface StoryOptions {
  /** Two detections sharing a host, account, address, service or file join within this (ms). Default 2 h. */
  windowMs?: number;
  /** Window for unique identifiers (process GUIDs, logon IDs), which never collide by chance. Default 24 h. */
  strongWindowMs?: number;
  /** Detections below this level are not joined (default `low`: informational rules are ignored). */
  minLevel?: Level;
  /** A movement detection without a source attaches to an incoming edge this close in time (ms). Default 15 min. */
  attachMs?: number;
  /** Suspicious activity on a source this long before a move out of it is evidence for the move (ms). Default: `windowMs`. */
  beforeMs?: number;
  /** Suspicious activity on a target this long after a move into it, by its account or session, is evidence (ms). Default 30 min. */
  afterMs?: number;
  /** The routine baselines: a `Routine` (e.g. imported from stored state) or options for a new one. */
  routine?: Routine | RoutineOptions;
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
   * Learn routine from each detection as it is added (default true: a live server has no other
   * source). A hunt's workers send every detection's fact with the events' facts before the first
   * detection is added (./facts.ts), so a hunt turns this off rather than work each one out twice.
   */
  learnFromDetections?: boolean;
  /**
   * Live use (`serve`): stories are reported as they grow (`changed()`), and a closed story is
   * reported once more and then forgotten instead of being kept for `finish()`. `merged` is told
   * when one component folds into another, `dropped` when one closes without earning its place
   * (it is never reported: whatever the caller keeps for it can go).
   */
  live?: { merged(into: number, from: number): void; dropped?(key: number): void };
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
  /** Detections the baselines explain: joined into no story (docs/stories.md, "Routine"). */
  routine: number;
  /** Components closed because they did not earn their place (lone alerts). */
  discarded: number;
  /** Qualifying stories dropped because more than `maxStories` qualified (lowest scores). */
  storiesDropped: number;
  /** Live: routine facts learnt before event time reached them, because more than LIMITS.stories.pendingFacts waited. */
  factsEarly: number;
  /** Live: routine facts waiting for event time to reach them. */
  factsPending: number;
  /** Components closed before their window ended because `maxOpen` was reached. */
  closedEarly: number;
  /** Entities not remembered because `maxEntities` was reached. */
  entitiesDropped: number;
  entities: number;
  open: number;
  addresses: number;
  addressesDropped: number;
  /** Hosts whose recent suspicious activity and arrivals are remembered, and those not remembered (bound reached). */
  judgedHosts: number;
  judgedHostsDropped: number;
  /** What the baselines hold (./routine.ts `RoutineStats`), prefixed `routine.`. */
  [routineStat: `routine.${string}`]: number;
}

const L = LIMITS.stories;
const HOUR = 3_600_000;
const MIN = 60_000;
const SWEEP_EVERY = 1024;

/** The movement techniques a rule's tags name, by the tags as `readAttackTags` shares them (frozen: read once per rule). */
const MOVEMENT = new WeakMap<AttackTags, readonly TechniqueRef[]>();
function movementTags(tags: readonly string[]): readonly TechniqueRef[] {
  const read = readAttackTags(tags);
  let m = MOVEMENT.get(read);
  if (!m) MOVEMENT.set(read, (m = Object.freeze(read.techniques.filter(isMovementTechnique).map((t) => Object.freeze(techniqueRef(t))))));
  return m;
}

/** Joins detections into stories; feed it detections in time order, then call `finish` (or `take` as you go). */
export class StoryBuilder {
  private readonly minRank: number;
  private readonly maxStories: number;
  private readonly cap: number;
  private readonly domain: Domain;
  private readonly book: AddressBook;
  private readonly graph: ComponentGraph<Agg>;
  private readonly agg: StoryAggregator;
  private readonly judge: Judge;
  /** The routine baselines (learning continuously; export them with `routine.export()`). */
  readonly routine: Routine;
  private closed: Agg[] = [];
  private readonly dirty = new Set<number>();
  private readonly closing = new Map<number, Agg>();
  private sinceSweep = 0;
  private sinceSettle = 0;
  private unsettled = false;
  private readonly st = { seen: 0, used: 0, hidden: 0, belowLevel: 0, untimed: 0, correlations: 0, routine: 0, discarded: 0, storiesDropped: 0, factsEarly: 0 };
  /**
   * Live: routine facts not yet learnt, from `pendingHead` on (sorted when `pendingSorted`): each
   * is learnt when event time reaches it (a detection at or after it, or the watermark), so the
   * verdicts depend on event time alone, not on how far the facts of a batch ran ahead of its
   * detections (a server's log batches, a cluster's partitions).
   */
  private pending: RoutineFact[] = [];
  private pendingHead = 0;
  private pendingSorted = true;

  private readonly liveHooks: StoryOptions['live'];
  private readonly learnFromDetections: boolean;

  constructor(options: StoryOptions = {}) {
    this.liveHooks = options.live;
    this.learnFromDetections = options.learnFromDetections ?? true;
    const window = options.windowMs ?? 2 * HOUR;
    this.minRank = rank(options.minLevel ?? 'low');
    this.maxStories = options.maxStories ?? L.maxStories;
    this.cap = options.maxPerStory ?? L.maxPerStory;
    this.domain = options.domain ?? defaultDomain();
    this.book = new AddressBook(options.maxAddresses ?? L.maxAddresses);
    this.routine = options.routine instanceof Routine ? options.routine : new Routine(options.routine);
    this.judge = new Judge({ beforeMs: options.beforeMs ?? window, afterMs: options.afterMs ?? 30 * MIN, attachMs: options.attachMs ?? 15 * MIN }, this.domain, this.book, this.routine);
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
    this.unsettled = true;
  }

  /**
   * Learn routine from facts read from the events (./facts.ts `eventFacts`; a hunt's workers send
   * them). A hunt learns them at once: it learns from the whole evidence before its first
   * detection. Live, they wait until event time reaches them (see `pending`).
   */
  learnRoutine(facts: Iterable<RoutineFact>): void {
    if (!this.liveHooks) {
      this.routine.learn(facts);
      this.unsettled = true;
      return;
    }
    for (const f of facts) this.pending.push(f);
    this.pendingSorted = false;
    const over = this.pending.length - this.pendingHead - L.pendingFacts;
    if (over > 0) {
      this.sortPending();
      this.st.factsEarly += over;
      this.learnPending(this.pending[this.pendingHead + over - 1]!.t);
    }
  }

  /** Live: learn the pending facts up to event time `t` (ms), in time order. */
  private learnPending(t: number): void {
    if (this.pendingHead >= this.pending.length) return;
    this.sortPending();
    const from = this.pendingHead;
    let i = from;
    while (i < this.pending.length && this.pending[i]!.t <= t) i++;
    if (i === from) return;
    this.routine.learn(this.pending.slice(from, i));
    this.pendingHead = i;
    if (i === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    }
    this.unsettled = true;
  }

  /** Sort what is pending by time (then by fact, so facts of one instant are learnt in one order whatever their arrival). */
  private sortPending(): void {
    if (this.pendingSorted) return;
    const rest = this.pending.slice(this.pendingHead);
    const key = new Map<RoutineFact, string>();
    const keyOf = (f: RoutineFact) => {
      let k = key.get(f);
      if (k === undefined) key.set(f, (k = `${factKey(f)}\u0000${f.kind === 'program' || f.kind === 'detection' ? f.label : ''}`));
      return k;
    };
    rest.sort((a, b) => a.t - b.t || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    this.pending = rest;
    this.pendingHead = 0;
    this.pendingSorted = true;
  }

  /** The baselines' state as plain JSON (for a server to store; `importRoutine` reads it back). */
  exportRoutine(): RoutineState {
    this.settle(true);
    return this.routine.export();
  }

  /**
   * Replace the baselines by stored state (`exportRoutine`'s, parsed): a server restoring them on
   * start, before it feeds anything. Damaged state is refused (a FirebreakError naming the
   * mistake) and the baselines stay as they were.
   */
  importRoutine(state: unknown): void {
    this.routine.load(state);
    this.unsettled = true;
  }

  /** Add one detection (in time order; `hidden` ones are ignored). Returns the story component it joined. */
  add(d: DetectionRecord): number | undefined {
    this.st.seen++;
    if (d.hidden) return void this.st.hidden++;
    const context = rank(d.level) < this.minRank && this.isContext(d);
    if (rank(d.level) < this.minRank && !context) return void this.st.belowLevel++;
    const t = d.timestamp ? isoMs(d.timestamp) : NaN;
    if (Number.isNaN(t)) return void this.st.untimed++;
    this.st.used++;
    this.learnPending(t);
    this.settle(false);

    const corr = d.rule.kind === 'correlation';
    // Live, the baselines learn from the detections as they come (a hunt has them all already).
    if (!corr && this.learnFromDetections) {
      const fact = detectionFact(d.rule.id ?? d.rule.title, d.event, d.computer, t, this.domain);
      if (fact) this.routine.learnOne(fact);
    }
    // A hunt worker sends the subject it taught the baselines, worked out from the whole event.
    const obs: Observation[] = [this.observation(d.computer, t, d.event, d.eventId, d.channel, d.provider, d.rule.id, d.rule.title, d.routine)];
    if (corr) this.st.correlations++;
    for (const c of d.correlation?.contributors ?? []) {
      const ct = c.timestamp ? isoMs(c.timestamp) : NaN;
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
          c.ruleId,
          c.ruleTitle,
        ),
      );
    }
    // A correlation over several hosts (a spray, a fan-out) is not on the host it happened to end on.
    if (obs.length > 1 && obs.slice(1).some((o) => o.host !== obs[0]!.host)) obs[0] = { ...obs[0]!, host: null, hostName: null };

    const tagMovement = movementTags(d.rule.tags);
    const v = this.judge.judge(d.level, d.rule.kind, obs, tagMovement);
    if (v.routine) {
      this.st.routine++;
      // Noted beside the story its host is in, if one is open: context, not a join.
      const host = obs[0]!.host;
      const c = host ? this.graph.peek('h:' + host, t) : undefined;
      if (c && earned(c)) this.agg.note(c, v.routine.why);
      this.sweepMaybe();
      return;
    }

    const keys = new Map<string, Kind>();
    // A correlation's contributors join through what they name, not their hosts: a spray over 30
    // hosts must not pull in everything else those hosts did within the window (its reach is its edges).
    // (A correlation whose contributors name no source, e.g. one service installed on five hosts, joins their hosts.)
    const sourced = v.moves.length > 0;
    // A contributor the baselines explain joins nothing (an administrator's install counted with an attacker's).
    obs.forEach((o, i) => {
      if (!v.routineObs[i]) entityKeys(o, { crossHost: v.suspicious || corr, host: i === 0 || !sourced }, this.domain, this.book, keys);
    });
    // Movement with evidence joins the story of the host it came from.
    for (const m of [...v.moves, ...v.upgraded]) if (m.evidence && m.from.startsWith('h:') && keys.size < L.maxKeysPerDetection) keys.set(m.from, 'weak');
    if (v.attached?.move.evidence && v.attached.move.from.startsWith('h:')) keys.set(v.attached.move.from, 'weak');
    // A context detection (sudo, su) of a session a move with evidence brought here joins that move's story.
    if (v.session) keys.set(v.session.from, 'weak');
    for (const m of v.moves) if (m.from.startsWith('ip:') && keys.size < L.maxKeysPerDetection) keys.set(m.from, 'weak');
    if (context) this.contextKeys(keys, obs[0]!);
    const agg = this.graph.join(keys, t);
    this.agg.record(agg, d, t, obs, v);
    if (this.live) this.dirty.add(agg.id);
    this.sweepMaybe();
    return agg.id;
  }

  /**
   * Event time has reached `watermark` (ms): entities past their window expire and the stories
   * they held close. Sweeps stay as rare as `add` makes them (a sweep walks every entity), which
   * changes when a story closes, never what it holds.
   */
  advance(watermark: number): void {
    this.learnPending(watermark);
    if (watermark > this.graph.now) this.graph.now = watermark;
    if (this.sinceSweep >= SWEEP_EVERY) this.sweep();
  }

  /** Counters: what was used, ignored and dropped. */
  stats(): StoryStats {
    const r = this.routine.stats();
    return {
      ...this.st,
      factsPending: this.pending.length - this.pendingHead,
      closedEarly: this.graph.closedEarly,
      entitiesDropped: this.graph.entitiesDropped,
      entities: this.graph.entityCount,
      open: this.graph.openCount,
      addresses: this.book.size,
      addressesDropped: this.book.dropped,
      judgedHosts: this.judge.hostCount,
      judgedHostsDropped: this.judge.hostsDropped,
      ...Object.fromEntries(Object.entries(r).map(([k, n]) => [`routine.${k}`, n])),
    };
  }

  /** Close everything and return the stories that earn their place, highest score first. */
  finish(): Story[] {
    this.learnPending(Infinity);
    this.graph.closeAll();
    const stories = this.closed.map((a) => assembleStory(a, this.book, { cap: this.cap }));
    this.closed = [];
    this.dirty.clear();
    return sortStories(stories);
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

  private sweepMaybe(): void {
    if (++this.sinceSweep >= SWEEP_EVERY || this.graph.full()) this.sweep();
  }

  private sweep(): void {
    this.sinceSweep = 0;
    this.graph.sweep();
    this.judge.sweep(this.graph.now);
  }

  /** Fold addresses' routine into their hosts once new claims or facts came (at most every SWEEP_EVERY detections). */
  private settle(force: boolean): void {
    this.sinceSettle++;
    if (!this.unsettled || (!force && this.sinceSettle < SWEEP_EVERY && this.settledOnce)) return;
    this.routine.settle((ip, t) => this.book.owner(ip, t));
    this.unsettled = false;
    this.settledOnce = true;
    this.sinceSettle = 0;
  }

  private settledOnce = false;

  private observation(
    computer: string | null,
    t: number,
    fields: Record<string, FieldValue>,
    eventId: number | null,
    channel: string | null,
    provider: string | null,
    ruleId: string | null,
    title: string,
    routine?: RoutineSubject,
  ): Observation {
    const name = hostName(computer ?? undefined) ?? null;
    const host = name ? hostKey(name) : null;
    if (host && name) this.book.nameHost(host, name);
    const id = eventId ?? numberOf(fields.EventID) ?? null;
    const ch = channel ?? stringOf(fields.Channel) ?? null;
    const meaning = this.domain.meaningOf({ eventId: id, channel: ch, provider, fields });
    return { t, host, hostName: name, fields, eventId: id, channel: ch, meaning, ruleId, title, routine, accounts: undefined };
  }

  /**
   * Live use: the stories that grew, merged or closed since the last call (only those that pass
   * the noise rule; a component that never does is never reported).
   */
  changed(): LiveStory[] {
    const out: LiveStory[] = [];
    for (const id of this.dirty) {
      const a = this.graph.component(id);
      if (a && earned(a)) out.push({ key: id, story: assembleStory(a, this.book, { cap: this.cap }), open: true });
    }
    this.dirty.clear();
    for (const [id, a] of this.closing) out.push({ key: id, story: assembleStory(a, this.book, { cap: this.cap }), open: false });
    this.closing.clear();
    return out;
  }

  private get live(): boolean {
    return this.liveHooks !== undefined;
  }

  private close(a: Agg): void {
    if (this.live) {
      this.dirty.delete(a.id);
      if (earned(a)) this.closing.set(a.id, a);
      else {
        this.st.discarded++;
        this.liveHooks!.dropped?.(a.id);
      }
      return;
    }
    if (!earned(a)) return void this.st.discarded++;
    this.closed.push(a);
    if (this.closed.length > this.maxStories * 2) this.trimClosed();
  }

  private trimClosed(): void {
    const scored = this.closed.map((a) => ({ a, s: aggScore(a) })).sort((x, y) => y.s - x.s);
    this.st.storiesDropped += Math.max(0, scored.length - this.maxStories);
    for (const x of scored.slice(this.maxStories)) this.dirty.delete(x.a.id);
    this.closed = scored.slice(0, this.maxStories).map((x) => x.a);
  }
}

function sortStories(stories: Story[]): Story[] {
  return stories.sort((a, b) => b.score - a.score || (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
