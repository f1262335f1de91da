/**
 * The story told in words: where it started and why that host, how it spread and the evidence
 * for each move, the later stages of the kill chain, log clearing, what joined only by time and
 * place, and what was left out as routine.
 */
import { techniquePhrase } from '../detections/attack.js';
import type { SpreadEdge, Story, StoryDetectionRef } from './model.js';

export function narrative(s: Story, timeline: readonly StoryDetectionRef[], logCleared: { at: string; computer: string | null; title: string } | null): string {
  const multiDay = s.firstSeen.slice(0, 10) !== s.lastSeen.slice(0, 10);
  const at = (iso: string) => (multiDay ? iso.slice(5, 10) + ' ' : '') + iso.slice(11, 16);
  const parts: string[] = [];
  const said = new Set<string>();
  const pz = s.patientZero;
  let startAt = s.firstSeen;
  if (pz) {
    const host = hostOf(pz.computer);
    startAt = pz.entry?.at ?? s.hosts.find((h) => h.computer === pz.computer)?.firstTouched ?? s.firstSeen;
    const first = timeline.find((r) => r.computer !== null && hostOf(r.computer) === host && r.timestamp >= startAt);
    if (first) said.add(first.title);
    parts.push(
      `It started on ${host} at ${startAt.slice(11, 16)} UTC on ${startAt.slice(0, 10)}` +
        (first ? ` with ${first.title}` : '') +
        (pz.entry ? ` (${techniquePhrase(pz.entry.technique)} from ${pz.entry.from})` : '') +
        '.',
    );
  } else {
    parts.push(`It started at ${s.firstSeen.slice(11, 16)} UTC on ${s.firstSeen.slice(0, 10)} with ${timeline[0]?.title ?? 'a detection'}.`);
  }
  // Spread, grouped by the host it came from, in order of first movement.
  const bySource = new Map<string, SpreadEdge[]>();
  for (const e of s.spread) {
    if (e.fromKind !== 'host') continue;
    const list = bySource.get(e.from) ?? [];
    list.push(e);
    bySource.set(e.from, list);
  }
  for (const [from, list] of bySource) {
    const lead = pz && from === pz.computer ? 'From there it' : `From ${hostOf(from)} it`;
    const tried = list.filter((e) => e.attempt);
    const moved = list.filter((e) => !e.attempt);
    if (moved.length > FANOUT_TOLD) parts.push(`${lead} reached ${fanOut(moved, at)}.`);
    else if (moved.length) parts.push(`${lead} reached ${listText(moved.map((e) => `${hostOf(e.to)} (${at(e.at)}, ${movePhrase(e)})`))}.`);
    if (tried.length > FANOUT_TOLD) parts.push(`${lead} tried ${fanOut(tried, at)}.`);
    else if (tried.length) parts.push(`${lead} tried ${listText(tried.map((e) => `${hostOf(e.to)} (${at(e.at)}, ${movePhrase(e)})`))}.`);
  }
  // Later stages of the kill chain: where each tactic was first reached by a medium-or-above
  // detection, each rule told once.
  // A rule tagged with several tactics is told under the most telling one (an LSASS dump tagged
  // stealth and credential access is credential access); evasion tactics come last in that choice.
  const covered = new Set(['initial-access', 'lateral-movement']);
  const evasion = new Set(['defense-evasion', 'stealth', 'defense-impairment']);
  const chosen = new Set<string>();
  for (const t of [...s.tactics.filter((x) => !evasion.has(x.short)), ...s.tactics.filter((x) => evasion.has(x.short))]) {
    if (covered.has(t.short) || !t.first.significant || said.has(t.first.title)) continue;
    said.add(t.first.title);
    chosen.add(t.short);
  }
  const stages: string[] = [];
  for (const t of s.tactics) {
    if (!chosen.has(t.short)) continue;
    stages.push(`${t.name.toLowerCase()}${t.first.computer ? ` on ${hostOf(t.first.computer)}` : ''} at ${at(t.first.at)} (${t.first.title})`);
  }
  if (stages.length) {
    const text = listText(stages, '; ');
    parts.push(text[0]!.toUpperCase() + text.slice(1) + '.');
  }
  if (logCleared) parts.push(`Logs were cleared on ${logCleared.computer ? hostOf(logCleared.computer) : 'an unnamed host'} at ${at(logCleared.at)}.`);
  // Detections joined by time and place before the start: say so, they may be unrelated.
  const before = s.hosts.filter((h) => h.detections > 0 && h.firstTouched < startAt).map((h) => `${hostOf(h.computer)} from ${at(h.firstTouched)}`);
  if (before.length) parts.push(`Earlier detections joined by time and place (possibly unrelated): ${listText(before)}.`);
  if (s.accounts.length) {
    const shown = s.accounts.slice(0, 3);
    parts.push(`Account${s.accounts.length === 1 ? '' : 's'} involved: ${shown.join(', ')}${s.accounts.length > 3 ? ` and ${s.accounts.length - 3} more` : ''}.`);
  }
  const routine = s.routine.reduce((n, r) => n + r.detections, 0);
  if (routine) {
    const top = s.routine.slice(0, 2).map((r) => r.why);
    parts.push(`Left out as routine: ${routine} detection${routine === 1 ? '' : 's'} on its hosts (${listText(top, '; ')}${s.routine.length > 2 ? '; …' : ''}).`);
  }
  return parts.join(' ');
}

/** Moves listed one by one up to this many from one source; beyond, summarised. */
const FANOUT_TOLD = 5;

/** How a move was made and why it is part of the story ("remote service install; pass-the-hash logon (…)"). */
function movePhrase(e: SpreadEdge): string {
  const how = techniquePhrase(e.technique);
  const ev = e.evidence;
  if (!ev || ev.toLowerCase().startsWith(how.toLowerCase())) return ev || how;
  return `${how}; ${ev}`;
}

/** Many moves from one source: how many, when, how, and the first few hosts. */
function fanOut(list: readonly SpreadEdge[], at: (iso: string) => string): string {
  const names = list.map((e) => hostOf(e.to));
  const how = [...new Set(list.map((e) => movePhrase(e)))];
  return `${list.length} hosts between ${at(list[0]!.at)} and ${at(list[list.length - 1]!.at)} (${how.slice(0, 2).join('; ')}${how.length > 2 ? '; …' : ''}): ${names.slice(0, FANOUT_TOLD).join(', ')} and ${names.length - FANOUT_TOLD} more`;
}

export function listText(items: string[], sep = ', '): string {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(sep) + (sep === ', ' ? ' and ' : '; and ') + items[items.length - 1];
}

/** Host names in prose: the short name (`WS01`, not `WS01.corp.local`). */
export function hostOf(name: string): string {
  const dot = name.indexOf('.');
  return dot > 0 && !/^\d/.test(name) ? name.slice(0, dot) : name;
}

export function shortTime(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ') + ' UTC';
}
