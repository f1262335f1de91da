/**
 * What a story accumulates while it grows: its detections' levels, hosts, accounts, addresses,
 * spread edges, tactics, rules and a capped timeline. `StoryAggregator.record` adds one detection
 * (with its observations); `merge` folds two components that an entity joined. Every list is
 * capped per story, and what did not fit is counted in `omitted`.
 */
import { LIMITS } from '../core/limits.js';
import { readAttackTags, techniqueRef, type TechniqueRef } from '../detections/attack.js';
import type { DetectionRecord } from '../detections/record.js';
import { hostKey, normaliseIp } from '../events/addresses.js';
import type { Domain } from '../events/domain.js';
import { LEVELS, type Level } from '../sigma/model.js';
import type { AddressBook } from './addressbook.js';
import { accountsOf, movementOf, sourcesOf, stringOf, targetOf, type Observation } from './entities.js';
import type { Component } from './graph.js';
import type { StoryDetectionRef } from './model.js';
import { isMovementTechnique } from './techniques.js';

const LEVEL_RANK = new Map<Level, number>(LEVELS.map((l, i) => [l, i]));
export const rank = (l: Level): number => LEVEL_RANK.get(l) ?? 0;

const EDGE_RULES = LIMITS.stories.rulesPerEdge;

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
}

export interface EdgeAcc {
  /** `h:key` or `ip:addr`. */
  from: string;
  to: string;
  at: number;
  techniques: Map<string, TechniqueRef>;
  detections: Map<string, { id: string | null; title: string }>;
}

export interface Lateral {
  host: string;
  t: number;
  technique: TechniqueRef;
  rule: { id: string | null; title: string };
}

/** One story while it grows (a component of the graph). */
export class Agg implements Component {
  firstT = Infinity;
  firstSig = '';
  lastT = -Infinity;
  count = 0;
  correlations = 0;
  levels: Record<Level, number> = { informational: 0, low: 0, medium: 0, high: 0, critical: 0 };
  hosts = new Map<string, HostAcc>();
  accounts = new Map<string, string>();
  ips = new Set<string>();
  edges = new Map<string, EdgeAcc>();
  lateral: Lateral[] = [];
  /** Tactic → its first detection, preferring medium-or-above ones (`strong`) over low ones. */
  tactics = new Map<string, TacticFirst>();
  techniques = new Set<string>();
  rules = new Map<string, { id: string | null; title: string; level: Level; count: number }>();
  refs: StoryDetectionRef[] = [];
  /** Index of the weakest entry of a full `refs` (-1: not known). */
  worstRef = -1;
  logCleared: { t: number; computer: string | null; title: string } | null = null;
  /** For the noise rule: tactics and rules of medium-or-above detections (two of each are enough). */
  mediumTactics = new Set<string>();
  mediumRules = new Set<string>();
  omitted = { timeline: 0, hosts: 0, accounts: 0, sourceIps: 0, spread: 0, rules: 0 };

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

  /** What one detection (and its observations: itself and a correlation's contributors) adds. */
  record(a: Agg, d: DetectionRecord, t: number, obs: readonly Observation[]): void {
    const cap = this.limits.cap;
    a.count++;
    if (d.rule.kind === 'correlation') a.correlations++;
    a.levels[d.level] = (a.levels[d.level] ?? 0) + 1;
    const sig = `${d.timestamp}|${d.computer ?? ''}|${d.rule.id ?? d.rule.title}|${d.recordId ?? ''}|${d.sourceFile}`;
    if (t < a.firstT || (t === a.firstT && sig < a.firstSig)) {
      a.firstT = t;
      a.firstSig = sig;
    }
    if (t > a.lastT) a.lastT = t;

    const { tactics, techniques } = readAttackTags(d.rule.tags);
    const main = obs[0]!;
    for (const tac of tactics) {
      const first = { t, computer: main.hostName, title: d.rule.title, strong: rank(d.level) >= rank('medium'), broad: tactics.length > 2 };
      if (earlier(first, a.tactics.get(tac))) a.tactics.set(tac, first);
      if (rank(d.level) >= rank('medium') && a.mediumTactics.size < 2) a.mediumTactics.add(tac);
    }
    for (const tech of techniques) a.techniques.add(tech);
    if (this.isLogClear(d, techniques) && (!a.logCleared || t < a.logCleared.t)) a.logCleared = { t, computer: main.hostName, title: d.rule.title };
    if (rank(d.level) >= rank('medium') && a.mediumRules.size < 2) a.mediumRules.add(d.rule.id ?? d.rule.title);

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

    const ruleRef = { id: d.rule.id, title: d.rule.title };
    const tagMovement = techniques.filter(isMovementTechnique).map(techniqueRef);
    obs.forEach((o, i) => {
      if (o.host) this.touch(a, o.host, o.t, i === 0 ? d.level : null);
      // Names tried in failed logons are guesses, not accounts the attacker holds: they join, but are not listed.
      for (const acc of o.meaning?.guesses ? [] : accountsOf(o.fields, o.host, this.domain)) {
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
      // Movement: edges into this host from the sources it names, or out of it to a target it names.
      const via = movementOf(o, tagMovement);
      if (o.host) {
        let sourced = false;
        for (const src of sourcesOf(o, this.book, this.domain)) {
          if (src === 'h:' + o.host) continue;
          this.edge(a, src, o.host, o.t, via, ruleRef);
          sourced = true;
        }
        const target = targetOf(o);
        if (target && hostKey(target) !== o.host) {
          this.book.nameHost(hostKey(target), target);
          this.edge(a, 'h:' + o.host, hostKey(target), o.t, via, ruleRef);
          sourced = true;
        }
        if (!sourced && (tagMovement.length || o.meaning?.lateral) && a.lateral.length < cap) {
          a.lateral.push({ host: o.host, t: o.t, technique: via, rule: ruleRef });
        }
      }
    });
  }

  /** Fold `b` into `a`. */
  merge(a: Agg, b: Agg): void {
    const cap = this.limits.cap;
    a.count += b.count;
    a.correlations += b.correlations;
    for (const l of LEVELS) a.levels[l] += b.levels[l];
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
        for (const [tk, tv] of e.techniques) mine.techniques.set(tk, tv);
        for (const [dk, dv] of e.detections) if (mine.detections.size < EDGE_RULES) mine.detections.set(dk, dv);
      } else if (a.edges.size < cap) a.edges.set(k, e);
      else a.omitted.spread++;
    }
    for (const l of b.lateral) if (a.lateral.length < cap) a.lateral.push(l);
    for (const [k, v] of b.tactics) {
      const mine = a.tactics.get(k);
      if (earlier(v, mine)) a.tactics.set(k, v);
    }
    for (const x of b.techniques) a.techniques.add(x);
    for (const x of b.mediumTactics) if (a.mediumTactics.size < 2) a.mediumTactics.add(x);
    for (const x of b.mediumRules) if (a.mediumRules.size < 2) a.mediumRules.add(x);
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

  /** Event log cleared: tagged T1070.001, or an event the domain data calls `log-cleared`. */
  private isLogClear(d: DetectionRecord, techniques: readonly string[]): boolean {
    if (techniques.includes('T1070.001')) return true;
    return this.domain.meaningOf({ eventId: d.eventId, channel: d.channel, provider: d.provider, fields: d.event })?.meaning === 'log-cleared';
  }

  private touch(a: Agg, host: string, t: number, level: Level | null): void {
    let h = a.hosts.get(host);
    if (!h) {
      if (a.hosts.size >= this.limits.cap) return void a.omitted.hosts++;
      h = { name: this.book.display(host), first: t, detections: 0, maxLevel: -1 };
      a.hosts.set(host, h);
    }
    if (t < h.first) h.first = t;
    if (level !== null) {
      h.detections++;
      h.maxLevel = Math.max(h.maxLevel, rank(level));
    }
  }

  private edge(a: Agg, from: string, to: string, t: number, via: TechniqueRef, rule: { id: string | null; title: string }): void {
    const key = from + '\u0000' + to;
    let e = a.edges.get(key);
    if (!e) {
      if (a.edges.size >= this.limits.cap) return void a.omitted.spread++;
      e = { from, to, at: t, techniques: new Map(), detections: new Map() };
      a.edges.set(key, e);
    }
    if (t < e.at) e.at = t;
    e.techniques.set(via.id ?? via.name, via);
    if (e.detections.size < EDGE_RULES) e.detections.set(rule.id ?? rule.title, rule);
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
      for (let i = 1; i < a.refs.length; i++) {
        const x = a.refs[i]!;
        const w = a.refs[worst]!;
        if (rank(x.level) < rank(w.level) || (rank(x.level) === rank(w.level) && x.timestamp > w.timestamp)) worst = i;
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
