/**
 * Who did what inside one story (docs/stories.md, "A story must earn its place"): the story's
 * detections grouped by **actor** — the same account, the same logon session on a host, or the
 * same process tree (a process GUID, its parent's) — so that progression and corroboration are
 * counted per actor, never across an ordinary user's install and an administrator's remote
 * session that merely happened on the same host within the window.
 *
 * A program that a detection of the story wrote (a file created, a service's binary) belongs to
 * the actor that wrote it when another detection runs it (the unquoted service path planted by a
 * user and run by the system). A detection that names none of these (a PowerShell engine event
 * without its user) is its host's anonymous actor.
 *
 * An actor's progression and corroboration need two **events**: the rules matching one record
 * are one action, and so are the twins Windows writes of one process start (Sysmon 1 and
 * Security 4688: the same host, another channel, within a second).
 *
 * Bounded: at most LIMITS.stories.actorKeys keys per story; a detection none of whose keys fit
 * is not counted here (it still counts everywhere else in the story). Once an actor has earned
 * the story its place the groups are no longer needed and are dropped.
 */
import { LIMITS } from '../core/limits.js';

/** One event: its record on its host, and what tells twins apart. */
export interface ActorEvent {
  /** Host, channel and record (or time when the record has no number). */
  key: string;
  host: string;
  channel: string;
  t: number;
}

/** What one (non-correlation) detection tells the actor groups. */
export interface ActorHit {
  /** `u:account`, `l:host:logonId`, `p:guid`, `f:file` it wrote; or `a:host` when it names none. */
  keys: readonly string[];
  /** Keys it joins only when already known (`f:program` it ran: a file some detection wrote). */
  links: readonly string[];
  event: ActorEvent;
  /** Medium or above and not routine. */
  suspicious: boolean;
  /** The rule's title, when the detection is high. */
  high: string | null;
  /** High and its rule fired on no other host. */
  rare: boolean;
  /** The rule's tactics, sorted and joined by spaces ('' for none). */
  tactics: string;
}

/** Why an actor earned its story a place. */
export interface ActorEarned {
  kind: 'progression' | 'corroborated';
  /** The high detection's title. */
  title: string;
}

interface Group {
  keys: string[];
  /** Suspicious events (a few: twins may take two places). */
  events: ActorEvent[];
  /** Distinct tactic sets of suspicious detections, each with a few events. */
  sets: Map<string, ActorEvent[]>;
  high: string | null;
  rareHigh: string | null;
  /** Changed since it was last checked (a check of an unchanged group finds what it found before). */
  dirty: boolean;
}

const MAX_KEYS = LIMITS.stories.actorKeys;
/** Tactic sets remembered per actor (two that neither contains already show progression). */
const SETS = 16;
/** Events remembered per actor and per tactic set (two distinct ones are enough; twins count once). */
const EVENTS = 4;
/** Twins of one action in two channels (Sysmon and Security) are written this close together. */
const TWIN_MS = 1000;

export class Actors {
  private byKey = new Map<string, Group>();
  /** Set once an actor earned the story a place (then the groups are dropped). */
  earned: ActorEarned | null = null;

  /** Count one detection. */
  add(h: ActorHit): void {
    if (this.earned) return;
    const g = this.groupFor(h.keys, h.links);
    if (!g) return;
    if (h.suspicious) {
      if (addEvent(g.events, h.event)) g.dirty = true;
      if (h.tactics) {
        const evs = g.sets.get(h.tactics);
        if (evs) {
          if (addEvent(evs, h.event)) g.dirty = true;
        } else if (g.sets.size < SETS) {
          g.sets.set(h.tactics, [h.event]);
          g.dirty = true;
        }
      }
      if (h.high) {
        if (!g.high) g.dirty = true;
        g.high ??= h.high;
        if (h.rare && !g.rareHigh) {
          g.rareHigh = h.high;
          g.dirty = true;
        }
      }
    }
    this.check(g);
  }

  /** Fold another story's actors into these. */
  merge(other: Actors): void {
    if (this.earned) return;
    if (other.earned) {
      this.earned = other.earned;
      this.byKey.clear();
      return;
    }
    const seen = new Set<Group>();
    for (const g of other.byKey.values()) {
      if (seen.has(g)) continue;
      seen.add(g);
      const into = this.groupFor(g.keys, []);
      if (!into) continue;
      for (const e of g.events) addEvent(into.events, e);
      for (const [set, evs] of g.sets) {
        const mine = into.sets.get(set);
        if (mine) for (const e of evs) addEvent(mine, e);
        else if (into.sets.size < SETS) into.sets.set(set, [...evs]);
      }
      into.high ??= g.high;
      into.rareHigh ??= g.rareHigh;
      into.dirty = true;
      this.check(into);
      if (this.earned) return;
    }
  }

  /** The group of these keys (and of the known `links`): the groups they name merged, and the new keys added while there is room. */
  private groupFor(keys: readonly string[], links: readonly string[]): Group | undefined {
    let g: Group | undefined;
    for (const k of [...keys, ...links]) {
      const x = this.byKey.get(k);
      if (!x || x === g) continue;
      g = g ? this.union(g, x) : x;
    }
    for (const k of keys) {
      if (this.byKey.has(k) || this.byKey.size >= MAX_KEYS) continue;
      g ??= { keys: [], events: [], sets: new Map(), high: null, rareHigh: null, dirty: true };
      g.keys.push(k);
      this.byKey.set(k, g);
    }
    return g;
  }

  /** Merge two groups (the smaller into the larger) and return the survivor. */
  private union(a: Group, b: Group): Group {
    const [big, small] = a.keys.length >= b.keys.length ? [a, b] : [b, a];
    for (const k of small.keys) {
      big.keys.push(k);
      this.byKey.set(k, big);
    }
    for (const e of small.events) addEvent(big.events, e);
    for (const [set, evs] of small.sets) {
      const mine = big.sets.get(set);
      if (mine) for (const e of evs) addEvent(mine, e);
      else if (big.sets.size < SETS) big.sets.set(set, evs);
    }
    big.high ??= small.high;
    big.rareHigh ??= small.rareHigh;
    big.dirty = true;
    return big;
  }

  private check(g: Group): void {
    if (!g.dirty) return;
    g.dirty = false;
    if (g.high && progression(g.sets)) this.earned = { kind: 'progression', title: g.high };
    else if (g.rareHigh && g.events.some((e, i) => g.events.slice(i + 1).some((f) => distinct(e, f)))) this.earned = { kind: 'corroborated', title: g.rareHigh };
    if (this.earned) this.byKey.clear();
  }
}

/** Adds `e` unless the list is full or holds it; true when it was added. */
function addEvent(list: ActorEvent[], e: ActorEvent): boolean {
  if (list.length >= EVENTS || list.some((x) => x.key === e.key)) return false;
  list.push(e);
  return true;
}

/** Two events, not one record nor the twins of one action. */
function distinct(a: ActorEvent, b: ActorEvent): boolean {
  if (a.key === b.key) return false;
  return !(a.host === b.host && a.channel !== b.channel && Math.abs(a.t - b.t) <= TWIN_MS);
}

/** True when two tactic sets, seen in different events, each hold a tactic the other lacks. */
function progression(sets: ReadonlyMap<string, readonly ActorEvent[]>): boolean {
  const parsed = [...sets].map(([s, evs]) => ({ set: new Set(s.split(' ')), evs }));
  for (let i = 0; i < parsed.length; i++)
    for (let k = i + 1; k < parsed.length; k++) {
      const x = parsed[i]!;
      const y = parsed[k]!;
      if (![...x.set].some((t) => !y.set.has(t)) || ![...y.set].some((t) => !x.set.has(t))) continue;
      // Different events: one record matched by rules of different tactics is one action.
      if (x.evs.some((e) => y.evs.some((f) => distinct(e, f)))) return true;
    }
  return false;
}
