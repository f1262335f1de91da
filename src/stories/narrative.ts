/**
 * The story told in words: where it started, how it spread, the later stages of the kill chain,
 * log clearing, and what joined only by time and place.
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
    const reached = list.map((e) => `${hostOf(e.to)} (${at(e.at)}, ${techniquePhrase(e.technique)})`);
    const lead = pz && from === pz.computer ? 'From there it reached' : `From ${hostOf(from)} it reached`;
    parts.push(`${lead} ${listText(reached)}.`);
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
    stages.push(`${t.name.toLowerCase()} on ${t.first.computer ? hostOf(t.first.computer) : 'an unnamed host'} at ${at(t.first.at)} (${t.first.title})`);
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
  return parts.join(' ');
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
