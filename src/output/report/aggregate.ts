/**
 * The report's figures, gathered one detection at a time in bounded memory: detections over time
 * by level, top rules, top hosts and the ATT&CK heatmap. Nothing here keeps detections; every
 * map is bounded by the rule set or by an explicit cap.
 */
import { LEVELS, type Level } from '../../sigma/model.js';
import type { DetectionRecord } from '../../detections/record.js';
import { isoToMicros } from '../time.js';
import { TACTICS, UNASSIGNED, readAttackTags } from '../../detections/attack.js';
import type { HeatCell, HeatColumn, TimelineData } from './client/data.js';

/** The figures' shapes are the page's (./client/data.ts), so the page reads what is built here. */
export type { HeatCell, HeatColumn, TimelineData };

/** Distinct host names counted one by one; later new names are pooled (hostile input can invent millions). */
export const MAX_HOSTS = 50_000;
/** Histogram buckets kept before the resolution is coarsened. */
const MAX_BUCKETS = 20_000;
/** Bars the chart aims for between the first and the last detection. */
const TARGET_BARS = 120;
/** Share of detections at either end of time that may fall outside the chart (clock outliers). */
const OUTLIER_SHARE = 0.001;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Bucket sizes the histogram may use, finest first. */
const STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY, 30 * DAY, 365 * DAY, 3650 * DAY];

const LEVEL_INDEX = new Map<Level, number>(LEVELS.map((l, i) => [l, i]));

export interface Aggregates {
  total: number;
  byLevel: Record<Level, number>;
  timeline: TimelineData;
  topRules: { id: string | null; title: string; level: Level; count: number }[];
  topHosts: { computer: string; count: number }[];
  /** Detections on hosts beyond MAX_HOSTS distinct names, pooled. */
  otherHosts: number;
  hostsDistinct: number;
  attack: HeatColumn[];
}

export class ReportAggregator {
  private total = 0;
  private readonly byLevel = Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<Level, number>;
  private step = MINUTE;
  private buckets = new Map<number, number[]>();
  private noTimestamp = 0;
  private readonly rules = new Map<string, { id: string | null; title: string; level: Level; count: number }>();
  private readonly hosts = new Map<string, number>();
  private otherHosts = 0;
  private readonly tacticCount = new Map<string, number>();
  private readonly cells = new Map<string, { count: number; rules: Set<string> }>();
  /** Parsed ATT&CK tags per rule, so tags are read once per rule, not once per detection. */
  private readonly ruleAttack = new Map<string, ReturnType<typeof readAttackTags>>();

  constructor(private readonly topN = 15) {}

  add(d: DetectionRecord): void {
    this.total++;
    this.byLevel[d.level]++;
    const li = LEVEL_INDEX.get(d.level) ?? 0;
    // Not Date.parse: it reads a time without a zone as local time; records carry UTC.
    const us = d.timestamp == null ? null : isoToMicros(d.timestamp);
    if (us != null) {
      const t = Number(us / 1000n);
      const k = Math.floor(t / this.step);
      const b = this.buckets.get(k);
      if (b) b[li]!++;
      else {
        const nb = [0, 0, 0, 0, 0];
        nb[li] = 1;
        this.buckets.set(k, nb);
        // Counted before coarsening: coarsening copies the buckets into a new map.
        if (this.buckets.size > MAX_BUCKETS) this.coarsen();
      }
    } else this.noTimestamp++;

    const ruleKey = `${d.rule.id ?? ''}\u0000${d.rule.title}`;
    const r = this.rules.get(ruleKey);
    if (r) r.count++;
    else this.rules.set(ruleKey, { id: d.rule.id, title: d.rule.title, level: d.rule.level, count: 1 });

    const host = d.computer ?? '';
    const h = this.hosts.get(host);
    if (h !== undefined) this.hosts.set(host, h + 1);
    else if (this.hosts.size < MAX_HOSTS) this.hosts.set(host, 1);
    else this.otherHosts++;

    let at = this.ruleAttack.get(ruleKey);
    if (!at) {
      at = readAttackTags(d.rule.tags);
      this.ruleAttack.set(ruleKey, at);
    }
    for (const tac of at.tactics) this.tacticCount.set(tac, (this.tacticCount.get(tac) ?? 0) + 1);
    const columns = at.tactics.length ? at.tactics : [UNASSIGNED];
    for (const tech of at.techniques) {
      for (const tac of columns) {
        const key = `${tac}|${tech}`;
        let c = this.cells.get(key);
        if (!c) {
          c = { count: 0, rules: new Set() };
          this.cells.set(key, c);
        }
        c.count++;
        c.rules.add(ruleKey);
      }
    }
  }

  /** Double (or more) the bucket width until the map is small again. */
  private coarsen(): void {
    while (this.buckets.size > MAX_BUCKETS / 2) {
      const next = STEPS.find((s) => s > this.step) ?? this.step * 10;
      this.buckets = rebucket(this.buckets, this.step, next);
      this.step = next;
    }
  }

  finish(): Aggregates {
    const byCount = <T extends { count: number }>(a: T, b: T): number => b.count - a.count;
    const topRules = [...this.rules.values()].sort((a, b) => byCount(a, b) || a.title.localeCompare(b.title)).slice(0, this.topN);
    const topHosts = [...this.hosts]
      .map(([computer, count]) => ({ computer, count }))
      .sort((a, b) => byCount(a, b) || a.computer.localeCompare(b.computer))
      .slice(0, this.topN);
    const columns: HeatColumn[] = TACTICS.map((t) => ({ ...t, count: this.tacticCount.get(t.short) ?? 0, techniques: [] }));
    const unassigned: HeatColumn = { id: '', short: UNASSIGNED, name: 'No tactic tagged', count: 0, techniques: [] };
    for (const [key, c] of this.cells) {
      const [tac, technique] = key.split('|') as [string, string];
      const col = columns.find((x) => x.short === tac) ?? unassigned;
      col.techniques.push({ technique, count: c.count, rules: c.rules.size });
      if (col === unassigned) unassigned.count += c.count;
    }
    if (unassigned.techniques.length) columns.push(unassigned);
    for (const col of columns) col.techniques.sort((a, b) => byCount(a, b) || a.technique.localeCompare(b.technique));
    return {
      total: this.total,
      byLevel: { ...this.byLevel },
      timeline: this.timeline(),
      topRules,
      topHosts,
      otherHosts: this.otherHosts,
      hostsDistinct: this.hosts.size,
      attack: columns,
    };
  }

  private timeline(): TimelineData {
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const empty: TimelineData = { start: 0, step: this.step, counts: [], noTimestamp: this.noTimestamp, before: 0, after: 0 };
    if (!keys.length) return empty;
    const sum = (k: number): number => this.buckets.get(k)!.reduce((a, b) => a + b, 0);
    const timed = keys.reduce((a, k) => a + sum(k), 0);
    // Trim a thin tail of clock outliers (a 1601 or 2099 timestamp) so they do not flatten the
    // chart: at most OUTLIER_SHARE of the detections, and only where a wide gap sets them apart.
    const allowance = Math.floor(timed * OUTLIER_SHARE);
    let lo = 0;
    let hi = keys.length - 1;
    let before = 0;
    let after = 0;
    let acc = 0;
    let best = -1;
    let bestGap = 0;
    for (let i = 1; i < keys.length && acc + sum(keys[i - 1]!) <= allowance; i++) {
      acc += sum(keys[i - 1]!);
      const gap = keys[i]! - keys[i - 1]!;
      if (gap > bestGap) [best, bestGap] = [i, gap];
    }
    if (best > 0 && bestGap * 4 > keys[hi]! - keys[best]!) {
      for (; lo < best; lo++) before += sum(keys[lo]!);
    }
    acc = 0;
    best = -1;
    bestGap = 0;
    for (let i = hi - 1; i >= lo && acc + sum(keys[i + 1]!) <= allowance; i--) {
      acc += sum(keys[i + 1]!);
      const gap = keys[i + 1]! - keys[i]!;
      if (gap > bestGap) [best, bestGap] = [i, gap];
    }
    if (best >= lo && best < hi && bestGap * 4 > keys[best]! - keys[lo]!) {
      for (; hi > best; hi--) after += sum(keys[hi]!);
    }
    const spanMs = (keys[hi]! - keys[lo]! + 1) * this.step;
    const step = STEPS.find((s) => s >= this.step && spanMs / s <= TARGET_BARS) ?? Math.max(this.step, Math.ceil(spanMs / TARGET_BARS / DAY) * DAY);
    const first = Math.floor((keys[lo]! * this.step) / step);
    const last = Math.floor((keys[hi]! * this.step) / step);
    const counts = Array.from({ length: last - first + 1 }, () => [0, 0, 0, 0, 0]);
    for (let i = lo; i <= hi; i++) {
      const bar = counts[Math.floor((keys[i]! * this.step) / step) - first]!;
      const b = this.buckets.get(keys[i]!)!;
      for (let l = 0; l < 5; l++) bar[l]! += b[l]!;
    }
    return { start: first * step, step, counts, noTimestamp: this.noTimestamp, before, after };
  }
}

function rebucket(src: Map<number, number[]>, from: number, to: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [k, v] of src) {
    const nk = Math.floor((k * from) / to);
    const b = out.get(nk);
    if (b) for (let l = 0; l < 5; l++) b[l]! += v[l]!;
    else out.set(nk, v.slice());
  }
  return out;
}
