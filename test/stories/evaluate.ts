/**
 * Measures stories on the administered network (issue 16): for each seed, the generator writes
 * the network's background alone and the same background with the intrusion inside it, the real
 * `hunt()` runs over each (its public config only, stories through `onStories`), and the stories
 * are scored against the ground truth. `scripts/story-eval.js` prints the table; docs/stories.md
 * ("Measuring stories") explains the measures.
 *
 * Definitions, on the stories `hunt()` returns (highest score first):
 * - an **intrusion story** contains patient zero and more than half of the compromised hosts;
 *   `rank` is the position of the first one (null when there is none);
 * - **top is intrusion**: the top story is an intrusion story (rank 1);
 * - **patient zero right**: the top story's patient zero is the true patient zero;
 * - **edges recovered**: the share of the true host → host spread edges present, same direction,
 *   among the top story's host → host spread edges; **extra edges** counts its other host → host
 *   edges (movement the truth does not have);
 * - **foreign hosts**: the share of the top story's hosts that are not compromised hosts.
 * All host names compare by their first DNS label, case-insensitively.
 *
 * Every background detection is attributed to the activity whose event it matched (the
 * generator labels each event; a correlation takes the most frequent label of its contributors),
 * and every story to the activities of its timeline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hunt } from '../../src/hunt/run.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import type { Level } from '../../src/sigma/model.js';
import type { Story } from '../../src/stories/model.js';
import type { Activity } from './network.js';
import { writeBackgroundOnly, writeScenario, type BackgroundTruth, type GroundTruth } from './scenario.js';

export interface EvalOptions {
  hosts?: number;
  days?: number;
  /** Worker threads for each hunt (default: all cores). */
  threads?: number;
  /** Keep the generated evidence under this folder (default: a temporary folder, removed). */
  keepDir?: string;
  /** Background activities left out of the network (see `ScenarioOptions.without`). */
  without?: readonly Activity[];
}

/** Rules that fired on one background activity. */
export interface Firing {
  activity: string;
  rule: string;
  level: Level;
  kind: 'sigma' | 'correlation';
  count: number;
}

/** A story, briefly, with what made it. */
export interface StoryBrief {
  score: number;
  hosts: number;
  detections: number;
  levels: string;
  patientZero: string | null;
  /** Activity → share of the story's timeline (capped at its 200 most severe detections). */
  activities: Record<string, number>;
  topRules: string[];
}

export interface RunStats {
  events: number;
  detections: number;
  stories: number;
  genMs: number;
  huntMs: number;
}

export interface SeedResult {
  seed: number;
  hosts: number;
  days: number;
  background: RunStats & { firings: Firing[]; briefs: StoryBrief[] };
  intrusion: RunStats & {
    patientZero: string;
    foundPatientZero: string | null;
    rank: number | null;
    topIsIntrusion: boolean;
    patientZeroRight: boolean;
    edges: number;
    edgesRecovered: number;
    extraEdges: number;
    topHosts: number;
    foreignHosts: number;
    /** The attacker's address → patient zero is a spread edge of the top story. */
    entryFound: boolean;
    top: StoryBrief | null;
    /** Rules that fired on the intrusion's own events (activity `intrusion`). */
    firings: Firing[];
  };
}

const short = (h: string) => {
  const dot = h.indexOf('.');
  return (dot > 0 ? h.slice(0, dot) : h).toLowerCase();
};

interface Hunted {
  stories: Story[];
  detections: Pick<DetectionRecord, 'timestamp' | 'computer' | 'recordId' | 'rule' | 'level' | 'correlation'>[];
  events: number;
  ms: number;
}

async function run(dir: string, threads: number | undefined): Promise<Hunted> {
  const detections: Hunted['detections'] = [];
  let stories: Story[] = [];
  const t0 = Date.now();
  const summary = await hunt({
    paths: [dir],
    filter: {},
    threads,
    sinks: [
      {
        write: (d) => void detections.push({ timestamp: d.timestamp, computer: d.computer, recordId: d.recordId, rule: d.rule, level: d.level, correlation: d.correlation }),
        close: async () => undefined,
      },
    ],
    onStories: (s) => void (stories = s),
  });
  return { stories, detections, events: summary.events, ms: Date.now() - t0 };
}

/** The activity that wrote a detection's event (a correlation: the most frequent among its contributors). */
function attribute(d: Hunted['detections'][number], labels: Map<string, string>): string {
  if (d.rule.kind === 'correlation' && d.correlation) {
    const n = new Map<string, number>();
    for (const c of d.correlation.contributors) {
      const l = labels.get(`${c.computer}|${c.recordId}`) ?? 'unlabelled';
      n.set(l, (n.get(l) ?? 0) + 1);
    }
    return [...n].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? 'unlabelled';
  }
  return labels.get(`${d.computer}|${d.recordId}`) ?? 'unlabelled';
}

function brief(s: Story, labelOf: (ref: Story['timeline'][number]) => string): StoryBrief {
  const n = new Map<string, number>();
  for (const r of s.timeline) {
    const l = labelOf(r);
    n.set(l, (n.get(l) ?? 0) + 1);
  }
  const total = s.timeline.length || 1;
  return {
    score: s.score,
    hosts: s.hosts.length,
    detections: s.detections,
    levels: (['critical', 'high', 'medium', 'low'] as const)
      .filter((l) => s.levels[l])
      .map((l) => `${s.levels[l]} ${l}`)
      .join(', '),
    patientZero: s.patientZero?.computer ?? null,
    activities: Object.fromEntries([...n].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((100 * v) / total) / 100])),
    topRules: s.topRules.slice(0, 5).map((r) => `${r.title} (${r.level}, ${r.count})`),
  };
}

/** Detections counted per activity, rule and level. */
function firings(h: Hunted, labels: Map<string, string>): Firing[] {
  const out = new Map<string, Firing>();
  for (const d of h.detections) {
    const activity = attribute(d, labels);
    const key = `${activity}|${d.rule.title}|${d.level}`;
    const f = out.get(key);
    if (f) f.count++;
    else out.set(key, { activity, rule: d.rule.title, level: d.level, kind: d.rule.kind, count: 1 });
  }
  return [...out.values()].sort((a, b) => (a.activity < b.activity ? -1 : a.activity > b.activity ? 1 : b.count - a.count));
}

/** Timeline refs → activity, through the detections the hunt reported. */
function labeller(h: Hunted, labels: Map<string, string>): (ref: Story['timeline'][number]) => string {
  const byRef = new Map<string, string>();
  for (const d of h.detections) byRef.set(`${d.timestamp}|${d.computer}|${d.rule.title}|${d.recordId}`, attribute(d, labels));
  return (r) => byRef.get(`${r.timestamp}|${r.computer}|${r.title}|${r.recordId}`) ?? 'unlabelled';
}

/** Scores the stories of a hunt with the intrusion against its ground truth. */
export function score(
  stories: readonly Story[],
  gt: Pick<GroundTruth, 'patientZero' | 'compromisedHosts' | 'spreadEdges' | 'attackerIp'>,
): Omit<SeedResult['intrusion'], keyof RunStats | 'top' | 'firings'> {
  const compromised = new Set(gt.compromisedHosts.map(short));
  const pz = short(gt.patientZero);
  const isIntrusion = (s: Story) => {
    const hosts = new Set(s.hosts.map((h) => short(h.computer)));
    const inside = [...compromised].filter((h) => hosts.has(h)).length;
    return hosts.has(pz) && inside * 2 > compromised.size;
  };
  const at = stories.findIndex(isIntrusion);
  const top = stories[0];
  const topEdges = (top?.spread ?? []).filter((e) => e.fromKind === 'host').map((e) => `${short(e.from)}>${short(e.to)}`);
  const truth = new Set(gt.spreadEdges.map(([a, b]) => `${short(a)}>${short(b)}`));
  const topHosts = top?.hosts.map((h) => short(h.computer)) ?? [];
  return {
    patientZero: gt.patientZero,
    foundPatientZero: top?.patientZero?.computer ?? null,
    rank: at < 0 ? null : at + 1,
    topIsIntrusion: at === 0,
    patientZeroRight: !!top?.patientZero && short(top.patientZero.computer) === pz,
    edges: truth.size,
    edgesRecovered: [...truth].filter((e) => topEdges.includes(e)).length,
    extraEdges: new Set(topEdges.filter((e) => !truth.has(e))).size,
    topHosts: topHosts.length,
    foreignHosts: topHosts.filter((h) => !compromised.has(h)).length,
    entryFound: (top?.spread ?? []).some((e) => e.fromKind === 'ip' && e.from === gt.attackerIp && short(e.to) === pz),
  };
}

/** Generates one seed's network with and without the intrusion, hunts both, scores the stories. */
export async function evaluateSeed(seed: number, o: EvalOptions = {}): Promise<SeedResult> {
  const root = o.keepDir ?? mkdtempSync(join(tmpdir(), 'fb-story-eval-'));
  try {
    const g = generate(seed, join(root, `seed-${seed}`), o);
    return await measure(seed, g, o);
  } finally {
    if (!o.keepDir) rmSync(root, { recursive: true, force: true });
  }
}

/** One seed's networks on disk: the background alone and with the intrusion, with their truths. */
export interface Generated {
  dirs: { background: string; intrusion: string };
  background: BackgroundTruth;
  intrusion: GroundTruth;
  genMs: { background: number; intrusion: number };
}

/** Writes one seed's administered network twice under `dir`: background only, and with the intrusion. */
export function generate(seed: number, dir: string, o: Pick<EvalOptions, 'hosts' | 'days' | 'without'> = {}): Generated {
  const opts = { seed, hosts: o.hosts ?? 40, days: o.days ?? 3, background: 'administered' as const, without: o.without };
  const dirs = { background: join(dir, 'background'), intrusion: join(dir, 'intrusion') };
  let t0 = Date.now();
  const background = writeBackgroundOnly(dirs.background, opts);
  const bgMs = Date.now() - t0;
  t0 = Date.now();
  const intrusion = writeScenario(dirs.intrusion, opts);
  return { dirs, background, intrusion, genMs: { background: bgMs, intrusion: Date.now() - t0 } };
}

/** Hunts both networks of a seed and scores the stories. */
export async function measure(seed: number, g: Generated, o: Pick<EvalOptions, 'threads'> = {}): Promise<SeedResult> {
  const hb = await run(g.dirs.background, o.threads);
  const bgLabels = g.background.labels ?? new Map<string, string>();
  const hi = await run(g.dirs.intrusion, o.threads);
  const inLabels = g.intrusion.labels ?? new Map<string, string>();
  const gt = g.intrusion;
  const bgLabel = labeller(hb, bgLabels);
  return {
    seed,
    hosts: gt.hosts.length,
    days: gt.network?.days ?? 1,
    background: {
      events: hb.events,
      detections: hb.detections.length,
      stories: hb.stories.length,
      genMs: g.genMs.background,
      huntMs: hb.ms,
      firings: firings(hb, bgLabels),
      briefs: hb.stories.map((s) => brief(s, bgLabel)),
    },
    intrusion: {
      events: hi.events,
      detections: hi.detections.length,
      stories: hi.stories.length,
      genMs: g.genMs.intrusion,
      huntMs: hi.ms,
      ...score(hi.stories, gt),
      top: hi.stories[0] ? brief(hi.stories[0], labeller(hi, inLabels)) : null,
      firings: firings(hi, inLabels).filter((f) => f.activity === 'intrusion'),
    },
  };
}

/** Seeds from `1-10`, `3,5,9` or `1-3,8`. */
export function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`bad seed range '${part}' (use 1-10, 3,5,9 or 1-3,8)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 10_000) throw new Error(`bad seed range '${part}'`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}

const pct = (n: number, d: number) => (d ? `${Math.round((100 * n) / d)}%` : '-');
const secs = (ms: number) => (ms / 1000).toFixed(1);

/** The table per seed, then the totals against issue 16's targets. */
export function formatTable(results: readonly SeedResult[]): string {
  const head = ['seed', 'events', 'bg det', 'bg stories', 'bg hosts', 'stories', 'rank', 'top=intr', 'pz right', 'found pz', 'edges', 'extra', 'foreign', 'gen s', 'hunt s'];
  const rows = results.map((r) => {
    const i = r.intrusion;
    return [
      String(r.seed),
      `${r.background.events}/${i.events}`,
      String(r.background.detections),
      String(r.background.stories),
      String(Math.max(0, ...r.background.briefs.map((b) => b.hosts))),
      String(i.stories),
      i.rank === null ? '-' : String(i.rank),
      i.topIsIntrusion ? 'yes' : 'no',
      i.patientZeroRight ? 'yes' : 'no',
      i.foundPatientZero ? short(i.foundPatientZero).toUpperCase() : '-',
      `${i.edgesRecovered}/${i.edges}`,
      String(i.extraEdges),
      `${i.foreignHosts}/${i.topHosts} ${pct(i.foreignHosts, i.topHosts)}`,
      `${secs(r.background.genMs)}+${secs(i.genMs)}`,
      `${secs(r.background.huntMs)}+${secs(i.huntMs)}`,
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => (k === 0 || k === 9 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  const out = [line(head), ...rows.map(line)];
  const n = results.length;
  if (!n) return out.join('\n') + '\n';
  const sum = (f: (r: SeedResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const bgStories = results.map((r) => r.background.stories);
  const foreignShares = results.map((r) => (r.intrusion.topHosts ? r.intrusion.foreignHosts / r.intrusion.topHosts : 1));
  out.push(
    '',
    `seeds ${n} · ${results[0]!.hosts} hosts · ${results[0]!.days} days`,
    `background only: stories per seed mean ${(sum((r) => r.background.stories) / n).toFixed(1)}, max ${Math.max(...bgStories)}; seeds with at most 1: ${bgStories.filter((s) => s <= 1).length}/${n}   (target: at most 1 on every seed)`,
    `                 hosts in the largest background story: mean ${(sum((r) => Math.max(0, ...r.background.briefs.map((b) => b.hosts))) / n).toFixed(1)} of ${results[0]!.hosts}`,
    `with the intrusion: top story is the intrusion ${sum((r) => +r.intrusion.topIsIntrusion)}/${n}   (target: every seed)`,
    `                    patient zero right ${sum((r) => +r.intrusion.patientZeroRight)}/${n}   (target: every seed)`,
    `                    spread edges recovered ${sum((r) => r.intrusion.edgesRecovered)}/${sum((r) => r.intrusion.edges)} = ${pct(
      sum((r) => r.intrusion.edgesRecovered),
      sum((r) => r.intrusion.edges),
    )}   (target: ≥ 90%); extra host edges in the top story: ${sum((r) => r.intrusion.extraEdges)}`,
    `                    foreign hosts in the top story ${pct(
      sum((r) => r.intrusion.foreignHosts),
      sum((r) => r.intrusion.topHosts),
    )} of its hosts (per seed mean ${Math.round((100 * foreignShares.reduce((a, b) => a + b, 0)) / n)}%)   (target: ≤ 10%)`,
    `                    entry edge (attacker address → patient zero) found ${sum((r) => +r.intrusion.entryFound)}/${n}`,
    `events per network: background ${Math.round(sum((r) => r.background.events) / n)}, with the intrusion ${Math.round(sum((r) => r.intrusion.events) / n)}; median generate ${secs(median(results.map((r) => r.intrusion.genMs)))} s, hunt ${secs(median(results.map((r) => r.intrusion.huntMs)))} s`,
  );
  return out.join('\n') + '\n';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
}

/** Background only: the rules that fired per activity (summed over seeds), and each seed's stories with what made them. */
export function formatActivities(results: readonly SeedResult[]): string {
  const total = new Map<string, Firing & { seeds: Set<number> }>();
  for (const r of results)
    for (const f of r.background.firings) {
      const key = `${f.activity}|${f.rule}|${f.level}`;
      const t = total.get(key);
      if (t) {
        t.count += f.count;
        t.seeds.add(r.seed);
      } else total.set(key, { ...f, seeds: new Set([r.seed]) });
    }
  const byActivity = new Map<string, (Firing & { seeds: Set<number> })[]>();
  for (const f of total.values()) byActivity.set(f.activity, [...(byActivity.get(f.activity) ?? []), f]);
  const rank: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
  const out = [`Background only, ${results.length} seed(s): rules that fired, by the activity that caused them (count over all seeds, seeds where it fired)`];
  for (const [activity, fs] of [...byActivity].sort((a, b) => sumCount(b[1]) - sumCount(a[1]))) {
    out.push('', `${activity} (${sumCount(fs)} detections)`);
    for (const f of fs.sort((a, b) => rank[a.level]! - rank[b.level]! || b.count - a.count))
      out.push(`  ${String(f.count).padStart(6)}  ${f.level.padEnd(13)} ${f.kind === 'correlation' ? '[corr] ' : ''}${f.rule}  (${f.seeds.size}/${results.length})`);
  }
  const mine = new Map<string, Firing & { seeds: Set<number> }>();
  for (const r of results)
    for (const f of r.intrusion.firings) {
      const key = `${f.rule}|${f.level}`;
      const t = mine.get(key);
      if (t) {
        t.count += f.count;
        t.seeds.add(r.seed);
      } else mine.set(key, { ...f, seeds: new Set([r.seed]) });
    }
  out.push('', `With the intrusion: rules that fired on the intrusion's own events (${sumCount([...mine.values()])} detections)`);
  for (const f of [...mine.values()].sort((a, b) => rank[a.level]! - rank[b.level]! || b.count - a.count))
    out.push(`  ${String(f.count).padStart(6)}  ${f.level.padEnd(13)} ${f.kind === 'correlation' ? '[corr] ' : ''}${f.rule}  (${f.seeds.size}/${results.length})`);
  out.push('', 'With the intrusion: the top story of each seed');
  for (const r of results) {
    const s = r.intrusion.top;
    if (!s) {
      out.push(`seed ${r.seed}: no story`);
      continue;
    }
    out.push(`seed ${r.seed}: score ${s.score} · ${s.hosts} hosts · ${s.detections} det (${s.levels}) · pz ${s.patientZero ?? '-'} (truth ${r.intrusion.patientZero}) · ${activities(s)}`);
  }
  out.push('', 'Background only: stories per seed (score, hosts, detections, activities of the timeline)');
  for (const r of results) {
    out.push(`seed ${r.seed}: ${r.background.stories} stor${r.background.stories === 1 ? 'y' : 'ies'}`);
    for (const s of r.background.briefs.slice(0, 25)) {
      out.push(`  score ${s.score} · ${s.hosts} hosts · ${s.detections} det (${s.levels}) · pz ${s.patientZero ?? '-'} · ${activities(s)}`);
      out.push(`      ${s.topRules.join('; ')}`);
    }
    if (r.background.briefs.length > 25) out.push(`  … ${r.background.briefs.length - 25} more`);
  }
  return out.join('\n') + '\n';
}

function activities(s: StoryBrief): string {
  return Object.entries(s.activities)
    .map(([k, v]) => `${k} ${Math.round(v * 100)}%`)
    .join(', ');
}

function sumCount(fs: readonly Firing[]): number {
  return fs.reduce((a, f) => a + f.count, 0);
}
