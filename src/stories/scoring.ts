/**
 * Which components are stories (the noise rule), how they rank (the score) and where each one
 * started (patient zero). Pure functions of a story's aggregate; explained in docs/stories.md.
 */
import { techniquePhrase } from '../detections/attack.js';
import { LEVELS, type Level } from '../sigma/model.js';
import type { Agg } from './aggregate.js';
import type { PatientZero, SpreadEdge, StoryHost } from './model.js';
import { hostOf, shortTime } from './narrative.js';

/** An edge explains a host's first touch when it arrives no later than this after it (clock skew). */
const EXPLAIN_SLACK_MS = 5 * 60_000;

/** Score weight of one detection per level (see docs/stories.md). */
const LEVEL_WEIGHT: Record<Level, number> = { informational: 0, low: 1, medium: 3, high: 6, critical: 10 };

/**
 * The noise rule (docs/stories.md): a story needs a high or critical detection; or a correlation
 * detection; or medium detections from two different rules that together reach two tactics
 * (progression); or a medium detection and movement from one known host to another. Low and
 * informational detections never make a story on their own, and neither does one medium rule
 * firing again and again (a helpdesk habit, a scanner on the internet).
 */
export function qualifies(a: Agg): boolean {
  if (a.correlations > 0) return true;
  if (a.levels.high + a.levels.critical > 0) return true;
  if (a.levels.medium === 0) return false;
  if (a.mediumTactics.size >= 2 && a.mediumRules.size >= 2) return true;
  for (const e of a.edges.values()) if (e.from.startsWith('h:')) return true;
  return false;
}

/**
 * severity (per level, weight × (1 + log2 count)) + breadth (8 per extra host up to 10, 3 per
 * extra account up to 5) + progression (5 per tactic, 5 more when it spread).
 */
export function score(levels: Record<Level, number>, hosts: number, accounts: number, tactics: number, spread: boolean): number {
  let s = 0;
  for (const l of LEVELS) if (levels[l] > 0) s += LEVEL_WEIGHT[l] * (1 + Math.log2(levels[l]));
  s += 8 * Math.min(Math.max(hosts - 1, 0), 10);
  s += 3 * Math.min(Math.max(accounts - 1, 0), 5);
  s += 5 * tactics + (spread ? 5 : 0);
  return Math.round(s);
}

/**
 * Patient zero (docs/stories.md), in order of preference:
 * 1. the root of the spread: a host that moved to another host of the story and was not itself
 *    reached from a host of the story before that (the earliest such first move wins);
 * 2. without movement between hosts, a host entered from an outside address (earliest entry);
 * 3. otherwise the earliest-touched host.
 * Activity joined only by time and place (a detection on the same host an hour before) never
 * outranks the movement the detections show.
 */
export function patientZero(hosts: readonly StoryHost[], spread: readonly SpreadEdge[]): PatientZero | null {
  if (!hosts.length) return null;
  const ms = (iso: string) => Date.parse(iso);
  const entryOf = (computer: string) => spread.filter((e) => e.to === computer && e.fromKind === 'ip')[0];
  const withEntry = (computer: string, why: string): PatientZero => {
    const entry = entryOf(computer);
    return {
      computer,
      why: why + (entry ? `; entered from ${entry.from} at ${shortTime(entry.at)} (${techniquePhrase(entry.technique)})` : ''),
      ...(entry ? { entry: { from: entry.from, at: entry.at, technique: entry.technique } } : {}),
    };
  };
  const moves = spread.filter((e) => e.fromKind === 'host' && e.from !== e.to);
  let root: { computer: string; out: SpreadEdge } | undefined;
  for (const h of hosts) {
    const out = moves.filter((e) => e.from === h.computer)[0];
    if (!out) continue;
    const reached = moves.some((e) => e.to === h.computer && ms(e.at) <= ms(out.at) + EXPLAIN_SLACK_MS);
    if (reached) continue;
    if (!root || ms(out.at) < ms(root.out.at)) root = { computer: h.computer, out };
  }
  if (root) return withEntry(root.computer, `source of the spread: moved to ${hostOf(root.out.to)} at ${shortTime(root.out.at)} and was not reached from another host of the story before`);
  const entered = spread.filter((e) => e.fromKind === 'ip' && hosts.some((h) => h.computer === e.to))[0];
  if (entered && !moves.some((e) => e.to === entered.to && ms(e.at) <= ms(entered.at) + EXPLAIN_SLACK_MS)) {
    return withEntry(entered.to, moves.length ? 'first host entered from outside' : 'entered from outside; no movement between hosts seen');
  }
  const h = hosts[0]!;
  return withEntry(h.computer, `earliest activity in the story (${shortTime(h.firstTouched)})` + (moves.length ? '; every host with outgoing movement was reached from another first' : ''));
}
