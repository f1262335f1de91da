/**
 * A story as the analyst sees it after triage: the stories merged into it joined in, and the
 * detections split out of it left out. Composed when read, not written back, so the pipeline can
 * keep growing each story under its own id while the analyst's merges and splits still hold.
 */
import { LIMITS } from '../../core/limits.js';
import { TACTICS } from '../../detections/attack.js';
import { LEVELS, type Level } from '../../sigma/model.js';
import type { Story, StoryDetectionRef } from '../../stories/model.js';

const rank = (l: Level | null): number => (l === null ? -1 : LEVELS.indexOf(l));
const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];
const minIso = (a: string, b: string): string => (a <= b ? a : b);
const maxIso = (a: string, b: string): string => (a >= b ? a : b);

/** Joins `other` into `target` (both Story JSON as the pipeline wrote it); `target` keeps its id. */
export function mergeStory(target: Story, other: Story): Story {
  const hosts = new Map(target.hosts.map((h) => [h.computer.toLowerCase(), { ...h }]));
  for (const h of other.hosts) {
    const k = h.computer.toLowerCase();
    const t = hosts.get(k);
    if (!t) hosts.set(k, { ...h });
    else {
      t.firstTouched = minIso(t.firstTouched, h.firstTouched);
      t.detections += h.detections;
      if (rank(h.maxLevel) > rank(t.maxLevel)) t.maxLevel = h.maxLevel;
      t.addresses = union(t.addresses, h.addresses);
    }
  }
  const spread = [...target.spread];
  const seenEdge = new Set(spread.map((e) => `${e.from}\u0000${e.to}\u0000${e.at}`));
  for (const e of other.spread) if (!seenEdge.has(`${e.from}\u0000${e.to}\u0000${e.at}`)) spread.push(e);
  spread.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  // Context (movement without evidence) and routine notes: shown once each, capped like the pipeline caps them.
  const seenContext = new Set(target.context.map((e) => `${e.from}\u0000${e.to}\u0000${e.at}`));
  const context = [...target.context];
  let contextOver = 0;
  for (const e of other.context) {
    if (seenContext.has(`${e.from}\u0000${e.to}\u0000${e.at}`)) continue;
    if (context.length < LIMITS.stories.contextShown) context.push(e);
    else contextOver++;
  }
  context.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const routine = new Map(target.routine.map((r) => [r.why, r.detections]));
  for (const r of other.routine) routine.set(r.why, (routine.get(r.why) ?? 0) + r.detections);

  const tactics = new Map(target.tactics.map((t) => [t.short, t]));
  for (const t of other.tactics) {
    const have = tactics.get(t.short);
    if (!have || t.first.at < have.first.at) tactics.set(t.short, t);
  }
  const order = (short: string): number => {
    const i = TACTICS.findIndex((t) => t.short === short);
    return i < 0 ? TACTICS.length : i;
  };

  const levels = { ...target.levels };
  for (const l of LEVELS) levels[l] = (levels[l] ?? 0) + (other.levels[l] ?? 0);

  const rules = new Map(target.topRules.map((r) => [`${r.id ?? ''}\u0000${r.title}`, { ...r }]));
  for (const r of other.topRules) {
    const k = `${r.id ?? ''}\u0000${r.title}`;
    const t = rules.get(k);
    if (t) t.count += r.count;
    else rules.set(k, { ...r });
  }

  const timeline = [...target.timeline, ...other.timeline].sort(byTime);
  const cap = LIMITS.stories.maxTimeline;
  const omittedTimeline = Math.max(0, timeline.length - cap);
  const earliest = target.firstSeen <= other.firstSeen ? target : other;

  return {
    ...target,
    score: Math.max(target.score, other.score),
    firstSeen: minIso(target.firstSeen, other.firstSeen),
    lastSeen: maxIso(target.lastSeen, other.lastSeen),
    hosts: [...hosts.values()].sort((a, b) => (a.firstTouched < b.firstTouched ? -1 : a.firstTouched > b.firstTouched ? 1 : 0)),
    patientZero: earliest.patientZero ?? target.patientZero ?? other.patientZero,
    spread,
    context,
    routine: [...routine].map(([why, detections]) => ({ why, detections })).sort((a, b) => b.detections - a.detections),
    earned: target.earned === other.earned ? target.earned : `${target.earned}; ${other.earned}`,
    accounts: union(target.accounts, other.accounts),
    sourceIps: union(target.sourceIps, other.sourceIps),
    tactics: [...tactics.values()].sort((a, b) => order(a.short) - order(b.short)),
    techniques: union(target.techniques, other.techniques).sort(),
    levels,
    detections: target.detections + other.detections,
    correlations: target.correlations + other.correlations,
    topRules: [...rules.values()].sort((a, b) => b.count - a.count || a.title.localeCompare(b.title)),
    timeline: timeline.slice(0, cap),
    omitted: {
      timeline: target.omitted.timeline + other.omitted.timeline + omittedTimeline,
      hosts: target.omitted.hosts + other.omitted.hosts,
      accounts: target.omitted.accounts + other.omitted.accounts,
      sourceIps: target.omitted.sourceIps + other.omitted.sourceIps,
      spread: target.omitted.spread + other.omitted.spread,
      rules: target.omitted.rules + other.omitted.rules,
      context: target.omitted.context + other.omitted.context + contextOver,
    },
  };
}

function byTime(a: StoryDetectionRef, b: StoryDetectionRef): number {
  return a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0;
}

/** An alert split out of a story: its rule, host and time span name the timeline entries it made. */
export interface SplitAlert {
  ruleTitle: string;
  host: string | null;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

/** Leaves out the timeline entries (and their counts) of alerts split out of the story. */
export function withoutSplits(story: Story, splits: readonly SplitAlert[]): Story {
  if (!splits.length) return story;
  const isSplit = (d: StoryDetectionRef): boolean =>
    splits.some((s) => s.ruleTitle === d.title && (s.host ?? '').toLowerCase() === (d.computer ?? '').toLowerCase() && d.timestamp >= s.firstSeen && d.timestamp <= s.lastSeen);
  const timeline = story.timeline.filter((d) => !isSplit(d));
  const removed = splits.reduce((n, s) => n + s.count, 0);
  return { ...story, timeline, detections: Math.max(0, story.detections - removed) };
}

/** Checks that a parsed value has the Story fields the merge reads (a damaged row is shown as stored). */
export function isStory(v: unknown): v is Story {
  if (!v || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.id === 'string' &&
    Array.isArray(s.hosts) &&
    Array.isArray(s.spread) &&
    Array.isArray(s.context) &&
    Array.isArray(s.routine) &&
    typeof s.earned === 'string' &&
    Array.isArray(s.tactics) &&
    Array.isArray(s.timeline) &&
    Array.isArray(s.topRules) &&
    Array.isArray(s.accounts) &&
    Array.isArray(s.sourceIps) &&
    Array.isArray(s.techniques) &&
    typeof s.levels === 'object' &&
    typeof s.omitted === 'object'
  );
}
