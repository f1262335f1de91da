/**
 * A finished story from its aggregate: edges resolved to hosts (an address learnt later still
 * names its host) and split into spread (with evidence) and context, hosts in first-touch order
 * with the addresses they own and their first suspicious activity, patient zero, tactics in
 * kill-chain order, why it is a story, the score, the routine left out, and the narrative.
 */
import { TACTICS } from '../detections/attack.js';
import { LIMITS } from '../core/limits.js';
import { LEVELS } from '../sigma/model.js';
import type { AddressBook } from './addressbook.js';
import { rank, type Agg, type EdgeAcc } from './aggregate.js';
import type { ContextEdge, SpreadEdge, Story, StoryHost, StoryTactic } from './model.js';
import { narrative } from './narrative.js';
import { earned, patientZero, score } from './scoring.js';
import { movementRank } from './techniques.js';

/** Context edges listed per story. */
const CONTEXT_SHOWN = LIMITS.stories.contextShown;

const TACTIC_INDEX = new Map(TACTICS.map((t, i) => [t.short, i]));

export interface AssembleLimits {
  /** Hosts kept per story. */
  cap: number;
}

export function assembleStory(a: Agg, book: AddressBook, limits: AssembleLimits): Story {
  const iso = (t: number) => new Date(t).toISOString();
  const display = (key: string) => book.display(key);

  // Resolve edges whose source was only an address when the detection arrived.
  const edges = new Map<string, EdgeAcc>();
  for (const e of a.edges.values()) {
    let from = e.from;
    if (from.startsWith('ip:')) {
      const owner = book.owner(from.slice(3), e.at);
      if (owner) from = 'h:' + owner;
    }
    if (from === 'h:' + e.to) continue;
    const key = from + '\u0000' + e.to;
    const mine = edges.get(key);
    if (mine) {
      mine.at = Math.min(mine.at, e.at);
      mine.evidence ??= e.evidence;
      mine.attempt &&= e.attempt;
      for (const [k, v] of e.techniques) mine.techniques.set(k, v);
      for (const [k, v] of e.detections) mine.detections.set(k, v);
    } else edges.set(key, { ...e, from, techniques: new Map(e.techniques), detections: new Map(e.detections) });
  }
  // An address resolved to a host since: movement from it needs evidence like any other.
  const isSpread = (e: EdgeAcc) => e.evidence !== null || e.from.startsWith('ip:');
  // A host that another host of the story only tried (names guessed against it, counted by a
  // correlation: a spray, a sweep) is not one of its hosts: nothing reached it, and the attempt is
  // drawn as an edge to it. Tried from an outside address, it is: those are the hosts exposed.
  const triedFromHost = new Set<string>();
  const involved = new Set<string>();
  for (const e of edges.values()) {
    if (!isSpread(e)) continue;
    if (e.from.startsWith('h:')) involved.add(e.from.slice(2));
    if (!e.attempt || !e.from.startsWith('h:')) involved.add(e.to);
    else triedFromHost.add(e.to);
  }
  const hosts = new Map([...a.hosts].filter(([k, h]) => !(h.tried && triedFromHost.has(k) && !involved.has(k))));
  // Hosts that appear only as a source of spread are still part of the story; context adds no host.
  for (const e of edges.values()) {
    if (!isSpread(e)) continue;
    for (const end of e.attempt && e.from.startsWith('h:') ? [e.from] : [e.from, 'h:' + e.to]) {
      if (!end.startsWith('h:')) continue;
      const k = end.slice(2);
      const h = hosts.get(k);
      if (h) h.first = Math.min(h.first, e.at);
      else if (hosts.size < limits.cap) hosts.set(k, { name: display(k), first: e.at, detections: 0, maxLevel: -1, suspicious: null, tried: false });
    }
  }

  const ends = (e: EdgeAcc) => ({
    from: e.from.startsWith('h:') ? display(e.from.slice(2)) : e.from.slice(3),
    fromKind: e.from.startsWith('h:') ? ('host' as const) : ('ip' as const),
    to: display(e.to),
    at: iso(e.at),
  });
  const byTime = (x: { at: string }, y: { at: string }) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0);
  const spread: SpreadEdge[] = [...edges.values()]
    .filter(isSpread)
    .map((e) => {
      const techniques = [...e.techniques.values()].sort((x, y) => movementRank(x) - movementRank(y));
      return {
        ...ends(e),
        technique: techniques[0] ?? { id: null, name: 'remote access' },
        techniques,
        detections: [...e.detections.values()],
        evidence: e.evidence ?? 'entry from an address no host of the evidence owns',
        ...(e.attempt ? { attempt: true } : {}),
      };
    })
    .sort(byTime);
  const contextAll: ContextEdge[] = [...edges.values()]
    .filter((e) => !isSpread(e) && hosts.has(e.to))
    .map((e) => {
      const techniques = [...e.techniques.values()].sort((x, y) => movementRank(x) - movementRank(y));
      return { ...ends(e), technique: techniques[0] ?? { id: null, name: 'remote access' }, why: e.why || 'no suspicious activity around it' };
    })
    .sort(byTime);
  const context = contextAll.slice(0, CONTEXT_SHOWN);

  // Addresses a story host owns are that host's; the rest are outside or unknown machines.
  const owned = new Map<string, string[]>();
  const outside: string[] = [];
  for (const ip of [...a.ips].sort()) {
    const owner = book.owner(ip, a.lastT);
    if (owner && hosts.has(owner)) owned.set(owner, [...(owned.get(owner) ?? []), ip]);
    else outside.push(ip);
  }
  // Ties on first touch (the source and target of one movement): the host moved into comes second.
  const incoming = new Map<string, number>();
  for (const e of edges.values()) if (e.from.startsWith('h:')) incoming.set(e.to, (incoming.get(e.to) ?? 0) + 1);
  const storyHosts: StoryHost[] = [...hosts.entries()]
    .sort((x, y) => x[1].first - y[1].first || (incoming.get(x[0]) ?? 0) - (incoming.get(y[0]) ?? 0))
    .map(([k, h]) => ({
      computer: display(k),
      firstTouched: iso(h.first),
      detections: h.detections,
      maxLevel: h.maxLevel >= 0 ? LEVELS[h.maxLevel]! : null,
      addresses: owned.get(k) ?? [],
      ...(h.suspicious ? { firstSuspicious: { at: iso(h.suspicious.t), title: h.suspicious.title } } : {}),
    }));

  const pz = patientZero(storyHosts, spread);
  const tactics: StoryTactic[] = [...a.tactics.entries()]
    .sort((x, y) => (TACTIC_INDEX.get(x[0]) ?? 99) - (TACTIC_INDEX.get(y[0]) ?? 99))
    .map(([short, v]) => {
      const t = TACTICS[TACTIC_INDEX.get(short)!]!;
      return { id: t.id, short, name: t.name, first: { at: iso(v.t), computer: v.computer, title: v.title, significant: v.strong } };
    });
  const timeline = [...a.refs].sort((x, y) => (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : 0));
  const accounts = [...a.accounts.values()].sort();
  const topRules = [...a.rules.values()].sort((x, y) => y.count - x.count || rank(y.level) - rank(x.level) || (x.title < y.title ? -1 : 1)).slice(0, 5);
  const s = score({
    levels: a.levels,
    rarity: a.rarity,
    suspiciousHosts: storyHosts.filter((h) => h.firstSuspicious).length,
    spread: spread.filter((e) => e.fromKind === 'host' && !e.attempt).length,
    accounts: accounts.length,
    tactics: tactics.length,
  });
  const routine = [...a.routine].sort((x, y) => y[1] - x[1]).map(([why, detections]) => ({ why, detections }));
  const story: Story = {
    id: a.storyId,
    score: s,
    earned: earned(a) ?? 'not (yet) a story: lone alerts',
    firstSeen: iso(a.firstT),
    lastSeen: iso(a.lastT),
    hosts: storyHosts,
    patientZero: pz,
    spread,
    context,
    routine,
    accounts,
    sourceIps: outside,
    tactics,
    techniques: [...a.techniques].sort(),
    levels: { ...a.levels },
    detections: a.count,
    correlations: a.correlations,
    topRules,
    narrative: '',
    timeline,
    omitted: { ...a.omitted, context: a.omitted.context + contextAll.length - context.length },
  };
  story.narrative = narrative(story, timeline, a.logCleared ? { at: iso(a.logCleared.t), computer: a.logCleared.computer, title: a.logCleared.title } : null);
  return story;
}
