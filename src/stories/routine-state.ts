/**
 * The routine baselines' shapes and helpers (./routine.ts holds the tables): what each table
 * accumulates, the stored state and its JSON schema, counters, and the words for a rhythm.
 */

import type { LIMITS } from '../core/limits.js';

const DAY = 86_400_000;

/** The bounds of the baselines (LIMITS.stories.routine; smaller ones may be given, e.g. in tests). */
export type RoutineLimits = { -readonly [K in keyof typeof LIMITS.stories.routine]: number };

/** Why something is routine, in words, and which kind of routine it is. */
export interface RoutineReason {
  kind: 'management' | 'familiar' | 'common-program' | 'common-detection' | 'habit' | 'common-service';
  why: string;
}

export interface SourceAcc {
  targets: Set<number>;
  /** Day → the first few hosts reached that day (a fan-out day reaches FANOUT_DAY of them). */
  days: Map<number, number[]>;
  /** Pairs first seen that day, per hour of the day (UTC): the rhythm. */
  hours: number[];
  last: number;
}

export interface SpreadAcc {
  hosts: Set<number>;
  label: string;
  last: number;
}

export interface DaysAcc {
  /** Sorted, at most `daysPerKey` (the latest). */
  days: number[];
  label: string;
}

export interface ServiceAcc {
  hosts: Set<number>;
  days: number[];
}

export interface RuleAcc {
  hosts: Set<number>;
  last: number;
}

/** Hosts a source reaches in one day for that day to count as fanning out. */
export const FANOUT_DAY = 3;
/** Hosts remembered per rule (enough to tell a rule seen on one host from a common one). */
export const RULE_HOSTS = 16;
/** A source reaching this many times as many hosts as most sources do fans out like a management host. */
export const MANY_TIMES = 3;
/** The share of a full table forgotten at once (least recently seen first). */
export const FORGET_SHARE = 0.1;
/** Numbers one fact adds at most (an access: a target and a day's target for its source and for its account, a pair's day). */
export const CELLS_PER_FACT = 6;

/** Plain JSON state. */
export interface RoutineState {
  version: 1;
  first: number | null;
  last: number | null;
  hosts: string[];
  days: number[];
  /** [source, {hosts reached, [day, first hosts that day][], facts per hour, last day}] */
  sources: [string, { targets: number[]; days: [number, number[]][]; hours: number[]; last: number }][];
  /** [account, the same as a source's] (absent in state stored before management accounts). */
  accounts?: [string, { targets: number[]; days: [number, number[]][]; hours: number[]; last: number }][];
  /** [account|source|target, days] */
  pairs: [string, number[]][];
  /** [shape, label, hosts, last day] */
  programs: [string, string, number[], number][];
  /** [rule|subject, label, hosts, last day] */
  detections: [string, string, number[], number][];
  /** [rule|host|subject, label, days] */
  habits: [string, string, number[]][];
  /** [service name, hosts, days] */
  services: [string, number[], number[]][];
  /** [rule, hosts, last day] */
  rules: [string, number[], number][];
  dropped: number;
  forgotten: number;
}

export interface RoutineStats {
  facts: number;
  hosts: number;
  sources: number;
  accounts: number;
  pairs: number;
  programs: number;
  detections: number;
  habits: number;
  services: number;
  rules: number;
  /** Numbers held by all tables together (bounded by `cells`). */
  cells: number;
  /** Facts not learnt because a table was full even after forgetting. */
  dropped: number;
  /** Entries forgotten (least recently seen) to make room. */
  forgotten: number;
}

/** One keyed table, as forgetting sees it: how recent an entry is and how many cells it holds. */
export interface Table<V> {
  map: Map<string, V>;
  max: number;
  lastOf(v: V): number;
  cellsOf(v: V): number;
}

export function cellsOfSource(s: SourceAcc): number {
  let n = s.targets.size;
  for (const ts of s.days.values()) n += ts.length;
  return n;
}

export function sumCells(t: Table<unknown>): number {
  let n = 0;
  for (const v of t.map.values()) n += t.cellsOf(v);
  return n;
}

export function addDay(set: Set<number>, day: number, max: number): void {
  if (set.has(day)) return;
  if (set.size >= max) {
    // Forget the oldest day: the period slides forward.
    let oldest = Infinity;
    for (const d of set) if (d < oldest) oldest = d;
    if (day < oldest) return;
    set.delete(oldest);
  }
  set.add(day);
}

export function dayText(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

/**
 * When a source fans out, in words: "every night (3 of 3 days, around 01:00 UTC)" when it fans
 * out on every observed day and most of its activity falls in one three-hour band at night;
 * "every day", "around the clock", or "on 5 of 7 days".
 */
export function rhythm(hours: readonly number[], fanDays: number, observed: number): string {
  const total = hours.reduce((a, b) => a + b, 0);
  const daily = fanDays >= observed;
  const span = `${fanDays} of ${observed} days`;
  let band = '';
  let night = false;
  if (total) {
    if (hours.filter((h) => h > 0).length >= 16) band = 'around the clock';
    else {
      let best = 0;
      let at = 0;
      for (let h = 0; h < 24; h++) {
        const sum = hours[(h + 23) % 24]! + hours[h]! + hours[(h + 1) % 24]!;
        // Ties go to the band centred on the busiest hour.
        if (sum > best || (sum === best && hours[h]! > hours[at]!)) {
          best = sum;
          at = h;
        }
      }
      if (best >= 0.8 * total) {
        band = `around ${String(at).padStart(2, '0')}:00 UTC`;
        night = at >= 20 || at <= 5;
      }
    }
  }
  if (daily) return `${night ? 'every night' : 'every day'} (${[span, band].filter(Boolean).join(', ')})`;
  return `on ${span}${band ? `, ${band}` : ''}`;
}

export const ints = { type: 'array', items: { type: 'integer', minimum: 0 } } as const;
export const dayList = { type: 'array', items: { type: 'integer' } } as const;
export const spreadRows = {
  type: 'array',
  items: { type: 'array', minItems: 4, maxItems: 4, items: [{ type: 'string' }, { type: 'string' }, ints, { type: 'integer' }] },
} as const;
const reachRows = {
  type: 'array',
  items: {
    type: 'array',
    minItems: 2,
    maxItems: 2,
    items: [
      { type: 'string' },
      {
        type: 'object',
        additionalProperties: false,
        required: ['targets', 'days', 'hours', 'last'],
        properties: {
          targets: ints,
          days: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'integer' }, ints] } },
          hours: { type: 'array', minItems: 24, maxItems: 24, items: { type: 'integer', minimum: 0 } },
          last: { type: 'integer' },
        },
      },
    ],
  },
} as const;
export const STATE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'first', 'last', 'hosts', 'days', 'sources', 'pairs', 'programs', 'detections', 'habits', 'services', 'rules', 'dropped', 'forgotten'],
  properties: {
    version: { const: 1 },
    first: { type: ['number', 'null'] },
    last: { type: ['number', 'null'] },
    hosts: { type: 'array', items: { type: 'string' } },
    days: dayList,
    sources: reachRows,
    accounts: reachRows,
    pairs: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'string' }, dayList] } },
    programs: spreadRows,
    detections: spreadRows,
    habits: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, { type: 'string' }, dayList] } },
    services: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, ints, dayList] } },
    rules: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, ints, { type: 'integer' }] } },
    dropped: { type: 'integer', minimum: 0 },
    forgotten: { type: 'integer', minimum: 0 },
  },
} as const;
