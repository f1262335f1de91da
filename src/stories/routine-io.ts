/**
 * The routine baselines to and from their stored form (./routine-state.ts has the shapes and the
 * schema): `stateOf` writes the tables as plain JSON; `readState` validates stored state against
 * the schema and the baseline's bounds and builds the tables from it, so a damaged or hostile
 * state is refused (with the place of the mistake) before anything is replaced.
 */
import { FirebreakError } from '../core/errors.js';
import { validateJson } from '../core/schema.js';
import {
  FANOUT_DAY,
  RULE_HOSTS,
  STATE_SCHEMA,
  cellsOfSource,
  type DaysAcc,
  type RoutineLimits,
  type RoutineState,
  type RuleAcc,
  type ServiceAcc,
  type SourceAcc,
  type SpreadAcc,
} from './routine-state.js';

/** The learnt tables of a baseline. */
export interface RoutineTables {
  sources: Map<string, SourceAcc>;
  accounts: Map<string, SourceAcc>;
  pairs: Map<string, number[]>;
  programs: Map<string, SpreadAcc>;
  detections: Map<string, SpreadAcc>;
  habits: Map<string, DaysAcc>;
  services: Map<string, ServiceAcc>;
  rules: Map<string, RuleAcc>;
}

/** Everything `readState` gives back: the tables, the hosts and days seen, the counters, and the cells the tables hold. */
export interface ReadState extends RoutineTables {
  first: number;
  last: number;
  hostIndex: Map<string, number>;
  hostNames: string[];
  days: Set<number>;
  dropped: number;
  forgotten: number;
  cells: number;
}

/** The tables as plain JSON (`JSON.stringify` it to store it). */
export function stateOf(t: RoutineTables, hostNames: readonly string[], days: ReadonlySet<number>, dropped: number, forgotten: number, first: number | null, last: number | null): RoutineState {
  const spread = (m: Map<string, SpreadAcc>): [string, string, number[], number][] => [...m].map(([k, v]) => [k, v.label, [...v.hosts], v.last]);
  return {
    version: 1,
    first,
    last,
    hosts: [...hostNames],
    days: [...days].sort((a, b) => a - b),
    sources: [...t.sources].map(([k, s]) => [k, reachState(s)]),
    accounts: [...t.accounts].map(([k, s]) => [k, reachState(s)]),
    pairs: [...t.pairs].map(([k, d]) => [k, [...d]]),
    programs: spread(t.programs),
    detections: spread(t.detections),
    habits: [...t.habits].map(([k, h]) => [k, h.label, [...h.days]]),
    services: [...t.services].map(([k, v]) => [k, [...v.hosts], [...v.days]]),
    rules: [...t.rules].map(([k, v]) => [k, [...v.hosts], v.last]),
    dropped,
    forgotten,
  };
}

function reachState(s: SourceAcc): RoutineState['sources'][number][1] {
  return { targets: [...s.targets], days: [...s.days].map(([d, ts]) => [d, [...ts]]), hours: [...s.hours], last: s.last };
}

/** Stored state, validated against the schema and the bounds `L`, as tables (throws `baseline-invalid` naming the mistake). */
export function readState(state: unknown, L: RoutineLimits): ReadState {
  const s = validateJson<RoutineState>(state, STATE_SCHEMA, 'stories baseline');
  const n = s.hosts.length;
  const bad = (what: string, why: string) => new FirebreakError('baseline-invalid', `stories baseline: ${what}: ${why}`);
  const over = (len: number, max: number, what: string) => {
    if (len > max) throw bad(what, `${len} entries, at most ${max}`);
  };
  const hostsIn = (list: readonly number[], max: number, what: string): Set<number> => {
    over(list.length, max, what);
    const set = new Set<number>();
    for (const i of list) {
      if (i >= n) throw bad(what, `host ${i} is not one of the ${n} hosts`);
      set.add(i);
    }
    if (set.size !== list.length) throw bad(what, 'a host is listed twice');
    return set;
  };
  const daysIn = (list: readonly number[], what: string): number[] => {
    over(list.length, L.daysPerKey, what);
    const d = [...new Set(list)].sort((a, b) => a - b);
    if (d.length !== list.length) throw bad(what, 'a day is listed twice');
    return d;
  };
  over(n, L.hosts, 'hosts');
  over(s.days.length, L.days, 'days');
  over(s.sources.length, L.sources, 'sources');
  over(s.accounts?.length ?? 0, L.accounts, 'accounts');
  over(s.pairs.length, L.pairs, 'pairs');
  over(s.programs.length, L.programs, 'programs');
  over(s.detections.length, L.detections, 'detections');
  over(s.habits.length, L.habits, 'habits');
  over(s.services.length, L.services, 'services');
  over(s.rules.length, L.rules, 'rules');
  if ((s.first === null) !== (s.last === null) || (s.first !== null && s.last !== null && s.first > s.last)) throw bad('first/last', 'not a time span');

  const hostIndex = new Map<string, number>();
  s.hosts.forEach((h, i) => hostIndex.set(h, i));
  if (hostIndex.size !== n) throw bad('hosts', 'a host is listed twice');
  const reaches = (rows: RoutineState['sources'], what: string) => {
    const m = new Map<string, SourceAcc>();
    for (const [k, v] of rows) {
      const days = new Map<number, number[]>();
      over(v.days.length, L.days, `${what} ${k} days`);
      for (const [d, ts] of v.days) days.set(d, [...hostsIn(ts, FANOUT_DAY, `${what} ${k} day ${d}`)]);
      m.set(k, { targets: hostsIn(v.targets, L.targetsPerSource, `${what} ${k}`), days, hours: [...v.hours], last: v.last });
    }
    return m;
  };
  const sources = reaches(s.sources, 'sources');
  // Stored before management accounts were learnt: none yet.
  const accounts = reaches(s.accounts ?? [], 'accounts');
  const pairs = new Map(s.pairs.map(([k, d]) => [k, daysIn(d, `pairs ${k}`)] as const));
  const spread = (rows: RoutineState['programs'], what: string) =>
    new Map(rows.map(([k, label, hosts, last]) => [k, { label, hosts: hostsIn(hosts, L.hostsPerShape, `${what} ${k}`), last }] as const));
  const programs = spread(s.programs, 'programs');
  const detections = spread(s.detections, 'detections');
  const habits = new Map(s.habits.map(([k, label, days]) => [k, { label, days: daysIn(days, `habits ${k}`) }] as const));
  const services = new Map(s.services.map(([k, hosts, days]) => [k, { hosts: hostsIn(hosts, L.hostsPerShape, `services ${k}`), days: daysIn(days, `services ${k} days`) }] as const));
  const rules = new Map(s.rules.map(([k, hosts, last]) => [k, { hosts: hostsIn(hosts, RULE_HOSTS, `rules ${k}`), last }] as const));
  for (const [what, m] of [
    ['sources', sources],
    ['accounts', accounts],
    ['pairs', pairs],
    ['programs', programs],
    ['detections', detections],
    ['habits', habits],
    ['services', services],
    ['rules', rules],
  ] as const) {
    const rows = s[what]?.length ?? 0;
    if (m.size !== rows) throw bad(what, 'a key is listed twice');
  }

  let cells = 0;
  for (const v of sources.values()) cells += cellsOfSource(v);
  for (const v of accounts.values()) cells += cellsOfSource(v);
  for (const d of pairs.values()) cells += d.length;
  for (const v of programs.values()) cells += v.hosts.size;
  for (const v of detections.values()) cells += v.hosts.size;
  for (const v of habits.values()) cells += v.days.length;
  for (const v of services.values()) cells += v.hosts.size + v.days.length;
  for (const v of rules.values()) cells += v.hosts.size;
  if (cells > L.cells) throw bad('cells', `${cells} numbers, at most ${L.cells}`);
  return {
    first: s.first ?? Infinity,
    last: s.last ?? -Infinity,
    hostIndex,
    hostNames: [...s.hosts],
    days: new Set(s.days),
    sources,
    accounts,
    pairs,
    programs,
    detections,
    habits,
    services,
    rules,
    dropped: s.dropped,
    forgotten: s.forgotten,
    cells,
  };
}
