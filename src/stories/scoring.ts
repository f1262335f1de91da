/**
 * Which components are stories (they must earn their place), how they rank (the score) and where
 * each one started (patient zero). Pure functions of a story's aggregate; explained in
 * docs/stories.md. Routine detections never reach an aggregate, so everything here counts only
 * what the baselines do not explain.
 */
import { LEVELS, type Level } from '../sigma/model.js';
import type { Agg } from './aggregate.js';
import type { PatientZero, SpreadEdge, StoryHost } from './model.js';
import { hostOf, shortTime } from './narrative.js';

/** An arrival explains a host's first suspicious activity when it comes no later than this after it (clock skew). */
const EXPLAIN_SLACK_MS = 5 * 60_000;

/** Score weight of one detection per level (see docs/stories.md). */
const LEVEL_WEIGHT: Record<Level, number> = { informational: 0, low: 1, medium: 3, high: 6, critical: 10 };

/**
 * Why a component is a story, in words, or null when it stays alerts (docs/stories.md). It needs:
 * a correlation; or a critical detection; or suspicious activity on two hosts joined by a spread
 * edge (movement with evidence); or, from one actor (./actors.ts: the same account, logon session
 * or process tree), a high detection with progression (suspicious detections of two events
 * reaching tactic sets neither of which holds the other), or a high detection of a rule that
 * fired on no other host corroborated by a second suspicious event. One event is one alert,
 * however many rules it matches: lone medium detections (a silent installer run, a single recon
 * command) stay alerts, and so does a lone high event (a user's installer writing a Run key), and
 * an ordinary user's install and an administrator's remote session on the same host are two
 * actors, not progression.
 */
export function earned(a: Agg): string | null {
  if (a.earned.correlation) return `correlation: ${a.earned.correlation}`;
  if (a.earned.critical) return `critical detection: ${a.earned.critical}`;
  // The move's evidence is suspicious activity of its source (whose own logs may be missing).
  for (const e of a.edges.values()) {
    if (!e.evidence || e.attempt || !e.from.startsWith('h:')) continue;
    const to = a.hosts.get(e.to);
    const from = a.hosts.get(e.from.slice(2))?.name ?? e.from.slice(2);
    if (to?.suspicious) return `suspicious activity on ${hostOf(from)} and ${hostOf(to.name)}, joined by movement with evidence (${e.evidence})`;
  }
  const by = a.actors.earned;
  if (by?.kind === 'progression') return `high detection (${by.title}) with suspicious activity of the same actor in more than one tactic`;
  if (by?.kind === 'corroborated') return `high detection of a rule seen on no other host, with more suspicious activity of the same actor: ${by.title}`;
  return null;
}

/** What the score is computed from (all of it, by construction, not routine). */
export interface ScoreInput {
  levels: Record<Level, number>;
  /** Sum of the rarity weights of each level's detections (1 each for a rule seen on one host). */
  rarity: Record<Level, number>;
  /** Hosts with suspicious activity of their own. */
  suspiciousHosts: number;
  /** Host → host spread edges (with evidence). */
  spread: number;
  accounts: number;
  tactics: number;
}

/**
 * severity: per level, weight × (1 + log2 count) × mean rarity (a detection whose rule fires for
 * the same thing on k hosts weighs 1 / (1 + log2 k));
 * reach: 8 per extra host with suspicious activity (up to 10), 4 per spread edge (up to 10);
 * 3 per extra account (up to 5); progression: 5 per tactic.
 */
export function score(x: ScoreInput): number {
  let s = 0;
  for (const l of LEVELS) {
    const n = x.levels[l];
    if (n > 0) s += LEVEL_WEIGHT[l] * (1 + Math.log2(n)) * Math.min(1, x.rarity[l] / n);
  }
  s += 8 * Math.min(Math.max(x.suspiciousHosts - 1, 0), 10);
  s += 4 * Math.min(x.spread, 10);
  s += 3 * Math.min(Math.max(x.accounts - 1, 0), 5);
  s += 5 * x.tactics;
  return Math.round(s);
}

/** The score of an aggregate before it is assembled (to keep the best stories when there are too many). */
export function aggScore(a: Agg): number {
  let suspicious = 0;
  for (const h of a.hosts.values()) if (h.suspicious) suspicious++;
  let spread = 0;
  for (const e of a.edges.values()) if (e.evidence && e.from.startsWith('h:')) spread++;
  return score({ levels: a.levels, rarity: a.rarity, suspiciousHosts: suspicious, spread, accounts: a.accounts.size, tactics: a.tactics.size });
}

/**
 * Patient zero (docs/stories.md): the earliest host with suspicious activity of its own (a
 * suspicious detection, or a move out of it with evidence) that is not explained by an arrival
 * from another host of the story (spread into it no later than that activity), with the reason in
 * words; hosts tied to the movement (they move on, or were entered from outside) before hosts
 * joined only by time and place. An entry from an outside address is shown as how it was
 * entered. Without suspicious activity anywhere, the root of the spread, else the earliest host.
 */
export function patientZero(hosts: readonly StoryHost[], spread: readonly SpreadEdge[]): PatientZero | null {
  if (!hosts.length) return null;
  const ms = (iso: string) => Date.parse(iso);
  // An outside address that only tried (failed logons) did not enter: it is said, but it is no entry.
  const entryOf = (computer: string) => spread.find((e) => e.to === computer && e.fromKind === 'ip' && !e.attempt);
  const triedFrom = (computer: string) => spread.find((e) => e.to === computer && e.fromKind === 'ip' && e.attempt);
  const withEntry = (computer: string, why: string): PatientZero => {
    const entry = entryOf(computer);
    const tried = entry ? undefined : triedFrom(computer);
    return {
      computer,
      why: why + (entry ? `; entered from ${entry.from} at ${shortTime(entry.at)}` : tried ? `; tried from ${tried.from} from ${shortTime(tried.at)}, not entered` : ''),
      ...(entry ? { entry: { from: entry.from, at: entry.at, technique: entry.technique } } : {}),
    };
  };
  const moves = spread.filter((e) => e.fromKind === 'host' && e.from !== e.to);
  // A failed attempt reached nothing: it explains no host's activity.
  const reachedBy = (computer: string, by: number) => moves.find((e) => e.to === computer && !e.attempt && ms(e.at) <= by + EXPLAIN_SLACK_MS);
  // A host's own suspicious activity: its first suspicious detection, or its first move out with evidence (a spray's source).
  const own = new Map<string, { t: number; what: string }>();
  for (const h of hosts) if (h.firstSuspicious) own.set(h.computer, { t: ms(h.firstSuspicious.at), what: h.firstSuspicious.title });
  for (const e of moves) {
    const prev = own.get(e.from);
    if (!prev || ms(e.at) < prev.t) own.set(e.from, { t: ms(e.at), what: `${e.attempt ? 'tried to reach' : 'moved to'} ${hostOf(e.to)} (${e.evidence})` });
  }
  // Hosts tied to the movement (they move on, or were entered from outside) come first: a host
  // joined only by time and place (earlier noise on a host the attack later reached) never
  // outranks the movement the detections show.
  const tied = (computer: string) => moves.some((e) => e.from === computer) || !!entryOf(computer) || !!triedFrom(computer);
  let best: { computer: string; t: number; what: string; tied: boolean } | undefined;
  for (const h of hosts) {
    const o = own.get(h.computer);
    if (!o || reachedBy(h.computer, o.t)) continue;
    const c = { computer: h.computer, ...o, tied: tied(h.computer) };
    if (!best || (c.tied && !best.tied) || (c.tied === best.tied && o.t < best.t)) best = c;
  }
  if (best) return withEntry(best.computer, `first suspicious activity: ${best.what} at ${shortTime(new Date(best.t).toISOString())}; not reached from another host of the story before`);
  // Every host with suspicious activity was reached from another first (a cycle), or none has any.
  const suspicious = hosts.filter((h) => h.firstSuspicious).sort((x, y) => ms(x.firstSuspicious!.at) - ms(y.firstSuspicious!.at));
  if (suspicious.length) {
    const h = suspicious[0]!;
    return withEntry(h.computer, `earliest suspicious activity in the story: ${h.firstSuspicious!.title} at ${shortTime(h.firstSuspicious!.at)}`);
  }
  for (const h of hosts) {
    const out = moves.find((e) => e.from === h.computer);
    if (out && !reachedBy(h.computer, ms(out.at)))
      return withEntry(h.computer, `source of the spread: moved to ${hostOf(out.to)} at ${shortTime(out.at)} and was not reached from another host of the story before`);
  }
  const h = hosts[0]!;
  return withEntry(h.computer, `earliest activity in the story (${shortTime(h.firstTouched)})`);
}
