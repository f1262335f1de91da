/**
 * What a story accumulates while it grows: its detections' levels (weighed by rarity), hosts
 * (with their first suspicious activity), accounts, addresses, spread edges (with their evidence)
 * and context edges, tactics, what earns it its place, rules, routine left out, and a capped
 * timeline. `StoryAggregator.record` adds one detection with its verdict (./judge.ts); `merge`
 * folds two components that an entity joined. Every list is capped per story, and what did not
 * fit is counted in `omitted`.
 */
import { createHash } from 'node:crypto';
import { LIMITS } from '../core/limits.js';
import { readAttackTags, type TechniqueRef } from '../detections/attack.js';
import type { DetectionRecord } from '../detections/record.js';
import { normaliseIp } from '../events/addresses.js';
import type { Domain } from '../events/domain.js';
import { LEVELS, type Level } from '../sigma/model.js';
import { Actors } from './actors.js';
import type { AddressBook } from './addressbook.js';
import { obsAccounts, stringOf, type Observation } from './entities.js';
import type { Component } from './graph.js';
import { binaryPath, type Move, type Verdict } from './judge.js';
import type { StoryDetectionRef } from './model.js';

const LEVEL_RANK: Readonly<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(LEVELS.map((l, i) => [l, i])));
export const rank = (l: Level): number => LEVEL_RANK[l] ?? 0;

const EDGE_RULES = LIMITS.stories.rulesPerEdge;
/** Distinct routine reasons noted per story. */
const ROUTINE_NOTES = 12;

/** A story's id: `st-` and 12 hex of a hash of the detection that started it. */
export function storyId(sig: string): string {
  return 'st-' + createHash('sha256').update(sig).digest('hex').slice(0, 12);
}

export interface TacticFirst {
  t: number;
  computer: string | null;
  title: string;
  strong: boolean;
  /** The rule is tagged with more than two tactics, so it says less about each. */
  broad: boolean;
}

/**
 * True when `x` should replace `prev` as a tactic's first detection: medium-or-above beats low,
 * then a rule tagged with one or two tactics beats a broad one, then earlier beats later.
 */
function earlier(x: TacticFirst, prev: TacticFirst | undefined): boolean {
  if (!prev) return true;
  if (x.strong !== prev.strong) return x.strong;
  if (x.broad !== prev.broad) return !x.broad;
  return x.t < prev.t;
}

export interface HostAcc {
  name: string;
  first: number;
  detections: number;
  maxLevel: number;
  /** The host's first suspicious activity in the story. */
  suspicious: { t: number; title: string } | null;
  /**
   * Only failed logons counted by a correlation touched it (names guessed against it): it was
   * tried, and is a host of the story only when the attempt came from outside (./assemble.ts).
   */
  tried: boolean;
}

export interface EdgeAcc {
  /** `h:key` or `ip:addr`. */
  from: string;
  to: string;
  at: number;
  techniques: Map<string, TechniqueRef>;
  detections: Map<string, { id: string | null; title: string }>;
  /** Why it is spread (null: context only). */
  evidence: string | null;
  /** Why it is context, when it is. */
  why: string;
  /** Only failed attempts were seen on it (it reached nothing). */
  attempt: boolean;
}

/**
 * What earns a story its place (docs/stories.md, "A story must earn its place"): the first
 * correlation and critical detections; progression and corroborated rare high detections are
 * counted per actor (`Agg.actors`).
 */
export interface Earned {
  correlation: string | null;
  critical: string | null;
}

/** One story while it grows (a component of the graph). */
export class Agg implements Component {
  /** The story's id (of the detection that started it; on a merge the older story's survives). */
  storyId = '';
  /** When the detection that started it happened, and its signature (the older story's id survives a merge). */
  bornT = Infinity;
  bornSig = '';
  /** Shown to a live client: its id may be reported as merged away. */
  shown = false;
  /** Ids shown before and merged into this story, not yet reported. */
  mergedAway: string[] = [];
  firstT = Infinity;
  firstSig = '';
  lastT = -Infinity;
  count = 0;
  correlations = 0;
  levels: Record<Level, number> = { informational: 0, low: 0, medium: 0, high: 0, critical: 0 };
  /** Sum of the rarity weights of the detections of each level. */
  rarity: Record<Level, number> = { informational: 0, low: 0, medium: 0, high: 0, critical: 0 };
  earned: Earned = { correlation: null, critical: null };
  /** The story's detections by actor: progression and corroboration (./actors.ts). */
  actors = new Actors();
  hosts = new Map<string, HostAcc>();
  accounts = new Map<string, string>();
  ips = new Set<string>();
  edges = new Map<string, EdgeAcc>();
  /** Routine seen on the story's hosts while it grew: reason → detections. */
  routine = new Map<string, number>();
  /** Tactic → its first detection, preferring medium-or-above ones (`strong`) over low ones. */
  tactics = new Map<string, TacticFirst>();
  techniques = new Set<string>();
  rules = new Map<string, { id: string | null; title: string; level: Level; count: number }>();
  refs: StoryDetectionRef[] = [];
  /** Index of the weakest entry of a full `refs` (-1: not known). */
  worstRef = -1;
  logCleared: { t: number; computer: string | null; title: string } | null = null;
  omitted = { timeline: 0, hosts: 0, accounts: 0, sourceIps: 0, spread: 0, rules: 0, context: 0 };

  constructor(readonly id: number) {}

  size(): number {
    return this.count + this.hosts.size + this.edges.size;
  }
}

export interface AggregateLimits {
  /** Hosts, accounts, addresses, edges and distinct rules kept per story. */
  cap: number;
  /** Detections listed per story timeline. */
  maxTimeline: number;
}

/** Adds detections to stories and merges stories. */
export class StoryAggregator {
  constructor(
    private readonly limits: AggregateLimits,
    private readonly book: AddressBook,
    private readonly domain: Domain,
  ) {}

  /** What one detection (and its observations: itself and a correlation's contributors) adds, with its verdict. */
  record(a: Agg, d: DetectionRecord, t: number, obs: readonly Observation[], v: Verdict): void {
    const cap = this.limits.cap;
    a.count++;
    if (d.rule.kind === 'correlation') a.correlations++;
    a.levels[d.level] = (a.levels[d.level] ?? 0) + 1;
    a.rarity[d.level] = (a.rarity[d.level] ?? 0) + v.rarity;
    const sig = `${d.timestamp}|${d.computer ?? ''}|${d.rule.id ?? d.rule.title}|${d.recordId ?? ''}|${d.sourceFile}`;
    if (!a.storyId) {
      a.storyId = storyId(sig);
      a.bornT = t;
      a.bornSig = sig;
    }
    if (t < a.firstT || (t === a.firstT && sig < a.firstSig)) {
      a.firstT = t;
      a.firstSig = sig;
    }
    if (t > a.lastT) a.lastT = t;

    const { tactics, techniques } = readAttackTags(d.rule.tags);
    const main = obs[0]!;
    const medium = rank(d.level) >= rank('medium');
    for (const tac of tactics) {
      const first = { t, computer: main.hostName, title: d.rule.title, strong: medium, broad: tactics.length > 2 };
      if (earlier(first, a.tactics.get(tac))) a.tactics.set(tac, first);
    }
    for (const tech of techniques) a.techniques.add(tech);
    if (this.isLogClear(d, techniques) && (!a.logCleared || t < a.logCleared.t)) a.logCleared = { t, computer: main.hostName, title: d.rule.title };
    if (d.rule.kind === 'correlation') a.earned.correlation ??= d.rule.title;
    else {
      if (d.level === 'critical') a.earned.critical ??= d.rule.title;
      const { keys, links } = this.actorKeys(main);
      a.actors.add({
        keys,
        links,
        event: { key: `${main.host ?? ''}|${d.channel ?? ''}|${d.recordId ?? t}|${d.sourceFile}`, host: main.host ?? '', channel: d.channel ?? '', t },
        suspicious: v.suspicious,
        high: d.level === 'high' ? d.rule.title : null,
        rare: d.level === 'high' && v.rareRule,
        tactics: tacticSet(tactics),
      });
    }

    const rk = d.rule.id ?? d.rule.title;
    const rule = a.rules.get(rk);
    if (rule) rule.count++;
    else if (a.rules.size < cap) a.rules.set(rk, { id: d.rule.id, title: d.rule.title, level: d.level, count: 1 });
    else a.omitted.rules++;

    this.addRef(a, {
      timestamp: d.timestamp!,
      computer: d.computer,
      title: d.rule.title,
      ruleId: d.rule.id,
      level: d.level,
      kind: d.rule.kind,
      eventId: d.eventId,
      recordId: d.recordId,
    });

    obs.forEach((o, i) => {
      // A correlation's contributor the baselines explain is not the story's (./judge.ts `routineObs`).
      if (v.routineObs[i]) return;
      if (o.host) this.touch(a, o.host, o.t, i === 0 ? d.level : null, i === 0 && v.suspicious ? d.rule.title : null, i > 0 && !!o.meaning?.guesses);
      // Names tried in failed logons are guesses, not accounts the attacker holds: they are not listed.
      for (const acc of o.meaning?.guesses ? [] : obsAccounts(o, this.domain)) {
        if (a.accounts.has(acc.key)) {
          // Prefer a display with a domain over a bare name.
          if (!a.accounts.get(acc.key)!.includes('\\') && acc.display.includes('\\')) a.accounts.set(acc.key, acc.display);
        } else if (a.accounts.size < cap) a.accounts.set(acc.key, acc.display);
        else a.omitted.accounts++;
      }
      for (const k of this.domain.addressFields) {
        const ip = normaliseIp(stringOf(o.fields[k]));
        if (!ip || a.ips.has(ip) || (o.host && this.book.owner(ip, o.t) === o.host)) continue;
        if (a.ips.size < cap) a.ips.add(ip);
        else a.omitted.sourceIps++;
      }
    });
    // Movement: spread with its evidence (an entry from an outside address needs none), else context.
    for (const m of v.moves) this.move(a, m);
    for (const m of v.upgraded) this.move(a, m);
    if (v.attached) {
      const e = a.edges.get(v.attached.move.from + '\u0000' + v.attached.move.to) ?? this.move(a, v.attached.move);
      if (e) {
        e.techniques.set(v.attached.via.id ?? v.attached.via.name, v.attached.via);
        if (e.detections.size < EDGE_RULES) e.detections.set(d.rule.id ?? d.rule.title, { id: d.rule.id, title: d.rule.title });
      }
    }
  }

  /** Routine seen on one of the story's hosts: noted, not joined. */
  note(a: Agg, why: string): void {
    const n = a.routine.get(why);
    if (n !== undefined) a.routine.set(why, n + 1);
    else if (a.routine.size < ROUTINE_NOTES) a.routine.set(why, 1);
  }

  /** Fold `b` into `a`. */
  merge(a: Agg, b: Agg): void {
    const cap = this.limits.cap;
    // The older story's id survives; the other one is reported as merged when a client saw it.
    const older = b.bornT < a.bornT || (b.bornT === a.bornT && b.bornSig < a.bornSig) ? b : a;
    const younger = older === a ? b : a;
    const survivor = { id: older.storyId, t: older.bornT, sig: older.bornSig };
    const away = [...a.mergedAway, ...b.mergedAway];
    if (younger.shown && younger.storyId) away.push(younger.storyId);
    a.storyId = survivor.id;
    a.bornT = survivor.t;
    a.bornSig = survivor.sig;
    a.mergedAway = away;
    a.shown = a.shown || b.shown;
    a.count += b.count;
    a.correlations += b.correlations;
    for (const l of LEVELS) {
      a.levels[l] += b.levels[l];
      a.rarity[l] += b.rarity[l];
    }
    a.earned.correlation ??= b.earned.correlation;
    a.earned.critical ??= b.earned.critical;
    a.actors.merge(b.actors);
    if (b.firstT < a.firstT || (b.firstT === a.firstT && b.firstSig < a.firstSig)) {
      a.firstT = b.firstT;
      a.firstSig = b.firstSig;
    }
    a.lastT = Math.max(a.lastT, b.lastT);
    for (const [k, h] of b.hosts) {
      const mine = a.hosts.get(k);
      if (mine) {
        mine.first = Math.min(mine.first, h.first);
        mine.detections += h.detections;
        mine.maxLevel = Math.max(mine.maxLevel, h.maxLevel);
        mine.tried &&= h.tried;
        if (h.suspicious && (!mine.suspicious || h.suspicious.t < mine.suspicious.t)) mine.suspicious = h.suspicious;
      } else if (a.hosts.size < cap) a.hosts.set(k, h);
      else a.omitted.hosts++;
    }
    for (const [k, v] of b.accounts) {
      if (a.accounts.has(k)) continue;
      if (a.accounts.size < cap) a.accounts.set(k, v);
      else a.omitted.accounts++;
    }
    for (const ip of b.ips) {
      if (a.ips.has(ip)) continue;
      if (a.ips.size < cap) a.ips.add(ip);
      else a.omitted.sourceIps++;
    }
    for (const [k, e] of b.edges) {
      const mine = a.edges.get(k);
      if (mine) {
        mine.at = Math.min(mine.at, e.at);
        mine.evidence ??= e.evidence;
        mine.attempt &&= e.attempt;
        for (const [tk, tv] of e.techniques) mine.techniques.set(tk, tv);
        for (const [dk, dv] of e.detections) if (mine.detections.size < EDGE_RULES) mine.detections.set(dk, dv);
      } else if (a.edges.size < cap) a.edges.set(k, e);
      else if (e.evidence) a.omitted.spread++;
      else a.omitted.context++;
    }
    for (const [why, n] of b.routine) {
      const mine = a.routine.get(why);
      if (mine !== undefined) a.routine.set(why, mine + n);
      else if (a.routine.size < ROUTINE_NOTES) a.routine.set(why, n);
    }
    for (const [k, v] of b.tactics) {
      const mine = a.tactics.get(k);
      if (earlier(v, mine)) a.tactics.set(k, v);
    }
    for (const x of b.techniques) a.techniques.add(x);
    if (b.logCleared && (!a.logCleared || b.logCleared.t < a.logCleared.t)) a.logCleared = b.logCleared;
    for (const [k, r] of b.rules) {
      const mine = a.rules.get(k);
      if (mine) mine.count += r.count;
      else if (a.rules.size < cap) a.rules.set(k, r);
      else a.omitted.rules++;
    }
    for (const k of Object.keys(a.omitted) as (keyof Agg['omitted'])[]) a.omitted[k] += b.omitted[k];
    const refs = a.refs.concat(b.refs);
    if (refs.length > this.limits.maxTimeline) {
      refs.sort((x, y) => rank(y.level) - rank(x.level) || (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : 0));
      a.omitted.timeline += refs.length - this.limits.maxTimeline;
      refs.length = this.limits.maxTimeline;
    }
    a.refs = refs;
    a.worstRef = -1;
  }

  /**
   * Who acted, as actor keys (./actors.ts): the accounts the detection names (not names guessed
   * in failed logons), its logon sessions on its host, its process GUIDs (its own and its
   * parent's) and the files it wrote or installed; its host's anonymous actor when it names
   * none. Its program and its parent's are links: they join the actor that wrote them.
   */
  private actorKeys(o: Observation): { keys: string[]; links: string[] } {
    const keys: string[] = [];
    const links: string[] = [];
    if (!o.meaning?.guesses) for (const acc of obsAccounts(o, this.domain)) keys.push('u:' + acc.key);
    if (o.host) {
      for (const k of this.domain.logonIdFields) {
        const v = stringOf(o.fields[k])?.toLowerCase();
        if (v && !this.domain.isNoiseLogonId(v)) keys.push(`l:${o.host}:${v}`);
      }
    }
    for (const k of this.domain.processIdFields) {
      const v = stringOf(o.fields[k])?.toLowerCase().replace(/[{}]/g, '');
      if (v && !/^[0-]*$/.test(v)) keys.push('p:' + v);
    }
    const files: string[] = [];
    for (const k of this.domain.fileFields) {
      const v = stringOf(o.fields[k]);
      const p = v && binaryPath(v);
      if (p) files.push('f:' + p);
    }
    const pf = this.domain.processFields;
    for (const k of [...pf.image, ...pf.parent]) {
      const v = stringOf(o.fields[k]);
      const p = v && binaryPath(v);
      if (p) links.push('f:' + p);
    }
    if (!keys.length) keys.push('a:' + (o.host ?? ''));
    return { keys: [...keys, ...files], links };
  }

  /** Event log cleared: tagged T1070.001, or an event the domain data calls `log-cleared`. */
  private isLogClear(d: DetectionRecord, techniques: readonly string[]): boolean {
    if (techniques.includes('T1070.001')) return true;
    return this.domain.meaningOf({ eventId: d.eventId, channel: d.channel, provider: d.provider, fields: d.event })?.meaning === 'log-cleared';
  }

  private touch(a: Agg, host: string, t: number, level: Level | null, suspicious: string | null, tried: boolean): void {
    let h = a.hosts.get(host);
    if (!h) {
      if (a.hosts.size >= this.limits.cap) return void a.omitted.hosts++;
      h = { name: this.book.display(host), first: t, detections: 0, maxLevel: -1, suspicious: null, tried };
      a.hosts.set(host, h);
    }
    if (!tried) h.tried = false;
    if (t < h.first) h.first = t;
    if (level !== null) {
      h.detections++;
      h.maxLevel = Math.max(h.maxLevel, rank(level));
    }
    if (suspicious && (!h.suspicious || t < h.suspicious.t)) h.suspicious = { t, title: suspicious };
  }

  /** Record a move: spread when it has evidence (or comes from an outside address), context otherwise. */
  private move(a: Agg, m: Move): EdgeAcc | undefined {
    const key = m.from + '\u0000' + m.to;
    const spread = m.evidence !== null || m.from.startsWith('ip:');
    let e = a.edges.get(key);
    if (!e) {
      if (a.edges.size >= this.limits.cap) {
        if (spread) a.omitted.spread++;
        else a.omitted.context++;
        return undefined;
      }
      e = { from: m.from, to: m.to, at: m.t, techniques: new Map(), detections: new Map(), evidence: null, why: '', attempt: m.attempt };
      a.edges.set(key, e);
    }
    if (!m.attempt) e.attempt = false;
    if (m.t < e.at) e.at = m.t;
    if (spread && !e.evidence) e.evidence = m.evidence ?? 'entry from an address no host of the evidence owns';
    if (!e.why) e.why = m.routine ? m.routine.why : 'no suspicious activity around it';
    e.techniques.set(m.via.id ?? m.via.name, m.via);
    if (e.detections.size < EDGE_RULES) e.detections.set(m.rule.id ?? m.rule.title, m.rule);
    return e;
  }

  /** Keep at most `maxTimeline` refs: when full, a more severe detection replaces the least severe latest one. */
  private addRef(a: Agg, r: StoryDetectionRef): void {
    if (a.refs.length < this.limits.maxTimeline) {
      a.refs.push(r);
      a.worstRef = -1;
      return;
    }
    // The full timeline's weakest entry is found once and kept until it is replaced: a big story
    // meets thousands of detections, and most of them replace nothing.
    if (a.worstRef < 0) {
      let worst = 0;
      let wr = rank(a.refs[0]!.level);
      for (let i = 1; i < a.refs.length; i++) {
        const x = a.refs[i]!;
        const xr = rank(x.level);
        if (xr < wr || (xr === wr && x.timestamp > a.refs[worst]!.timestamp)) {
          worst = i;
          wr = xr;
        }
      }
      a.worstRef = worst;
    }
    a.omitted.timeline++;
    if (rank(r.level) > rank(a.refs[a.worstRef]!.level)) {
      a.refs[a.worstRef] = r;
      a.worstRef = -1;
    }
  }
}

/** A rule's tactics sorted and joined by spaces, once per tag list (they are shared and frozen: ../detections/attack.ts). */
const TACTIC_SETS = new WeakMap<readonly string[], string>();
function tacticSet(tactics: readonly string[]): string {
  let s = TACTIC_SETS.get(tactics);
  if (s === undefined) TACTIC_SETS.set(tactics, (s = [...tactics].sort().join(' ')));
  return s;
}
