/**
 * A finished story from its aggregate: edges resolved to hosts (an address learnt later still
 * names its host), movement detections without a source attached to the nearest incoming edge,
 * hosts in first-touch order with the addresses they own, patient zero, tactics in kill-chain
 * order, the score and the narrative.
 */
import { createHash } from 'node:crypto';
import { TACTICS } from '../detections/attack.js';
import { LEVELS } from '../sigma/model.js';
import type { AddressBook } from './addressbook.js';
import { rank, type Agg, type EdgeAcc } from './aggregate.js';
import type { SpreadEdge, Story, StoryHost, StoryTactic } from './model.js';
import { narrative } from './narrative.js';
import { patientZero, score } from './scoring.js';
import { movementRank } from './techniques.js';

const TACTIC_INDEX = new Map(TACTICS.map((t, i) => [t.short, i]));

export interface AssembleLimits {
  /** A movement detection without a source attaches to an incoming edge this close in time (ms). */
  attachMs: number;
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
      for (const [k, v] of e.techniques) mine.techniques.set(k, v);
      for (const [k, v] of e.detections) mine.detections.set(k, v);
    } else edges.set(key, { ...e, from, techniques: new Map(e.techniques), detections: new Map(e.detections) });
  }
  // Movement detections that name no source (a service installed on the target) belong to the
  // nearest incoming edge in time.
  for (const l of a.lateral) {
    let best: EdgeAcc | undefined;
    for (const e of edges.values()) {
      if (e.to !== l.host || Math.abs(e.at - l.t) > limits.attachMs) continue;
      if (!best || Math.abs(e.at - l.t) < Math.abs(best.at - l.t)) best = e;
    }
    if (!best) continue;
    best.techniques.set(l.technique.id ?? l.technique.name, l.technique);
    if (best.detections.size < 20) best.detections.set(l.rule.id ?? l.rule.title, l.rule);
  }
  // Hosts that appear only as a source of spread are still part of the story.
  const hosts = new Map(a.hosts);
  for (const e of edges.values()) {
    for (const end of [e.from, 'h:' + e.to]) {
      if (!end.startsWith('h:')) continue;
      const k = end.slice(2);
      const h = hosts.get(k);
      if (h) h.first = Math.min(h.first, e.at);
      else if (hosts.size < limits.cap) hosts.set(k, { name: display(k), first: e.at, detections: 0, maxLevel: -1 });
    }
  }

  const spread: SpreadEdge[] = [...edges.values()]
    .map((e) => {
      const techniques = [...e.techniques.values()].sort((x, y) => movementRank(x) - movementRank(y));
      return {
        from: e.from.startsWith('h:') ? display(e.from.slice(2)) : e.from.slice(3),
        fromKind: e.from.startsWith('h:') ? ('host' as const) : ('ip' as const),
        to: display(e.to),
        at: iso(e.at),
        technique: techniques[0] ?? { id: null, name: 'remote access' },
        techniques,
        detections: [...e.detections.values()],
      };
    })
    .sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));

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
    .map(([k, h]) => ({ computer: display(k), firstTouched: iso(h.first), detections: h.detections, maxLevel: h.maxLevel >= 0 ? LEVELS[h.maxLevel]! : null, addresses: owned.get(k) ?? [] }));

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
  const s = score(a.levels, storyHosts.length, accounts.length, tactics.length, spread.length > 0);
  const story: Story = {
    id: 'st-' + createHash('sha256').update(a.firstSig).digest('hex').slice(0, 12),
    score: s,
    firstSeen: iso(a.firstT),
    lastSeen: iso(a.lastT),
    hosts: storyHosts,
    patientZero: pz,
    spread,
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
    omitted: { ...a.omitted },
  };
  story.narrative = narrative(story, timeline, a.logCleared ? { at: iso(a.logCleared.t), computer: a.logCleared.computer, title: a.logCleared.title } : null);
  return story;
}
