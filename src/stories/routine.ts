/**
 * What is routine in this network, learnt from the data itself (docs/stories.md, "Routine"): no
 * lists of product names, only what the events show.
 *
 * - **Management hosts**: a source that reaches a large share of the fleet (logons, share access,
 *   explicit credentials) and fans out (reaches several hosts in a day) on most of the observed
 *   days. Its fan-out is routine; a sweep done once is not.
 * - **Familiar pairs**: an account reaching a host from a source on at least two days. A pair
 *   seen once is new.
 * - **Common programs**: the same program, started by the same parent the same way, on most hosts.
 * - **Common detections**: a rule firing for the same program (or account) on most hosts.
 * - **Habits**: a rule firing on one host for the same program (or account) on at least two days.
 * - **Common services**: a service installed on several hosts on several days (an administrator's
 *   PsExec, an agent rolled out): installing it is not suspicious in itself here.
 *
 * Live, "at least two days" means the day of the detection and an earlier one; a hunt learns from
 * the whole evidence before it builds stories, so a habit of the period is one on its first day too.
 * Nothing counts before `warmupMs` of data has been seen. Every table is bounded (LIMITS.stories);
 * what did not fit is counted, and the state exports to plain JSON and back (a server stores it).
 */
import { FirebreakError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { validateJson } from '../core/schema.js';
import type { RoutineFact } from './facts.js';

const DAY = 86_400_000;
const L = LIMITS.stories.routine;

export interface RoutineOptions {
  /** Data (event time) seen before the baselines count (default 24 h). */
  warmupMs?: number;
  /** A management host reaches at least this share of the fleet (default 0.25)… */
  managementShare?: number;
  /** …and at least this many hosts (default 5). */
  managementMin?: number;
  /** A program or detection on at least this share of the fleet is common (default 0.5)… */
  commonShare?: number;
  /** …and on at least this many hosts (default 3). */
  commonMin?: number;
}

/** Why something is routine, in words, and which kind of routine it is. */
export interface RoutineReason {
  kind: 'management' | 'familiar' | 'common-program' | 'common-detection' | 'habit' | 'common-service';
  why: string;
}

interface SourceAcc {
  targets: Set<number>;
  /** Day → the first few hosts reached that day (a fan-out day reaches FANOUT_DAY of them). */
  days: Map<number, number[]>;
  /** Facts per hour of the day (UTC): the rhythm. */
  hours: number[];
}

/** Hosts a source reaches in one day for that day to count as fanning out. */
const FANOUT_DAY = 3;
/** Hosts remembered per rule (enough to tell a rule seen on one host from a common one). */
const RULE_HOSTS = 16;
/** A source reaching this many times as many hosts as most sources do fans out like a management host. */
const MANY_TIMES = 3;

interface SpreadAcc {
  hosts: Set<number>;
  label: string;
}

/** Plain JSON state (version 1). */
export interface RoutineState {
  version: 1;
  first: number | null;
  last: number | null;
  hosts: string[];
  days: number[];
  sources: [string, { targets: number[]; days: [number, number[]][]; hours: number[] }][];
  pairs: [string, number[]][];
  programs: [string, string, number[]][];
  detections: [string, string, number[]][];
  habits: [string, string, number[]][];
  services: [string, number[], number[]][];
  rules: [string, number[]][];
  dropped: number;
}

export interface RoutineStats {
  facts: number;
  hosts: number;
  sources: number;
  pairs: number;
  programs: number;
  detections: number;
  habits: number;
  services: number;
  rules: number;
  /** Facts not learnt because a table was full. */
  dropped: number;
}

export class Routine {
  private readonly o: Required<RoutineOptions>;
  private first = Infinity;
  private last = -Infinity;
  private readonly hostIndex = new Map<string, number>();
  private readonly hostNames: string[] = [];
  private readonly days = new Set<number>();
  private readonly sources = new Map<string, SourceAcc>();
  /** `account|source|target` → days seen (at most `L.daysPerKey`, the latest kept). */
  private readonly pairs = new Map<string, number[]>();
  private readonly programs = new Map<string, SpreadAcc>();
  private readonly detections = new Map<string, SpreadAcc>();
  /** `rule|host|subject` → days seen, with the subject's words. */
  private readonly habits = new Map<string, { days: number[]; label: string }>();
  /** Rule → hosts it fired on (a few: one host is rare). */
  private readonly rules = new Map<string, Set<number>>();
  /** Service name → hosts it was installed on, and days (the latest few). */
  private readonly services = new Map<string, { hosts: Set<number>; days: number[] }>();
  private facts = 0;
  private dropped = 0;

  constructor(options: RoutineOptions = {}) {
    this.o = {
      warmupMs: options.warmupMs ?? DAY,
      managementShare: options.managementShare ?? 0.25,
      managementMin: options.managementMin ?? 5,
      commonShare: options.commonShare ?? 0.5,
      commonMin: options.commonMin ?? 3,
    };
  }

  /** Learn from facts (any order; learning the same fact twice changes nothing). */
  learn(facts: Iterable<RoutineFact>): void {
    for (const f of facts) this.learnOne(f);
  }

  learnOne(f: RoutineFact): void {
    if (!Number.isFinite(f.t)) return;
    this.facts++;
    if (f.kind === 'access') this.typical = undefined;
    if (f.t < this.first) this.first = f.t;
    if (f.t > this.last) this.last = f.t;
    const day = Math.floor(f.t / DAY);
    addDay(this.days, day, L.days);
    switch (f.kind) {
      case 'access': {
        const target = this.host(f.target);
        if (target < 0) return;
        let s = this.sources.get(f.source);
        if (!s) {
          if (this.sources.size >= L.sources) return void this.dropped++;
          this.sources.set(f.source, (s = { targets: new Set(), days: new Map(), hours: new Array<number>(24).fill(0) }));
        }
        if (s.targets.size < L.targetsPerSource) s.targets.add(target);
        addDayTarget(s.days, day, target);
        s.hours[new Date(f.t).getUTCHours()]!++;
        this.addDays(this.pairs, `${f.account}|${f.source}|${f.target}`, day, L.pairs);
        return;
      }
      case 'program':
        return this.spread(this.programs, f.shape, f.host, f.label, L.programs);
      case 'detection': {
        this.spread(this.detections, `${f.rule}|${f.subject}`, f.host, f.label, L.detections);
        const h = this.host(f.host);
        let rh = this.rules.get(f.rule);
        if (!rh) {
          if (this.rules.size >= L.rules) this.dropped++;
          else this.rules.set(f.rule, (rh = new Set()));
        }
        if (rh && h >= 0 && rh.size < RULE_HOSTS) rh.add(h);
        const key = `${f.rule}|${f.host}|${f.subject}`;
        const hb = this.habits.get(key);
        if (hb) return void insertDay(hb.days, day);
        if (this.habits.size >= L.habits) return void this.dropped++;
        this.habits.set(key, { days: [day], label: f.label });
        return;
      }
      case 'service': {
        const h = this.host(f.host);
        if (h < 0) return;
        let sv = this.services.get(f.name);
        if (!sv) {
          if (this.services.size >= L.services) return void this.dropped++;
          this.services.set(f.name, (sv = { hosts: new Set(), days: [] }));
        }
        if (sv.hosts.size < L.hostsPerShape) sv.hosts.add(h);
        insertDay(sv.days, day);
        return;
      }
    }
  }

  /** True once `warmupMs` of event time has been seen: until then nothing is routine. */
  ready(): boolean {
    return this.last - this.first >= this.o.warmupMs;
  }

  /** Hosts seen in any fact. */
  get fleet(): number {
    return this.hostNames.length;
  }

  /**
   * Fold what was learnt about an address into the host that owned it (a Kerberos logon names
   * only the client's address; an NTLM one its name): call when addresses have been learnt.
   */
  settle(owner: (ip: string, t: number) => string | undefined): void {
    this.typical = undefined;
    for (const [key, s] of this.sources) {
      if (!key.startsWith('ip:')) continue;
      const host = owner(key.slice(3), this.last);
      if (!host) continue;
      const into = this.sources.get('h:' + host);
      if (into) {
        for (const t of s.targets) if (into.targets.size < L.targetsPerSource) into.targets.add(t);
        for (const [d, ts] of s.days) for (const t of ts) addDayTarget(into.days, d, t);
        for (let i = 0; i < 24; i++) into.hours[i]! += s.hours[i]!;
      } else this.sources.set('h:' + host, s);
      this.sources.delete(key);
    }
  }

  /** Why `source` (`h:key` or `ip:addr`) is a management host, if it is. */
  management(source: string, name: string): RoutineReason | undefined {
    if (!this.ready()) return undefined;
    const s = this.sources.get(source);
    if (!s) return undefined;
    const fleet = this.fleet;
    const reach = s.targets.size;
    // A large share of the fleet, or (in a fleet where most hosts reach one or two) several times what most hosts reach.
    const typical = this.typicalReach();
    if (reach < Math.max(this.o.managementMin, Math.min(this.o.managementShare * fleet, MANY_TIMES * typical))) return undefined;
    const observed = this.days.size;
    let fan = 0;
    for (const ts of s.days.values()) if (ts.length >= FANOUT_DAY) fan++;
    if (fan < 2 || fan * 2 < observed) return undefined;
    const many = reach < this.o.managementShare * fleet ? ` (${Math.floor(reach / Math.max(1, typical))} times as many as most hosts)` : '';
    return { kind: 'management', why: `${name} reaches ${reach} of ${fleet} hosts${many}, fanning out on ${fan} of ${observed} days${rhythm(s.hours)}` };
  }

  /** The median number of hosts a source reaches (cached until the next fact). */
  private typicalReach(): number {
    if (this.typical !== undefined) return this.typical;
    const reach = [...this.sources.values()].map((s) => s.targets.size).sort((a, b) => a - b);
    return (this.typical = reach.length ? reach[Math.floor(reach.length / 2)]! : 0);
  }

  private typical: number | undefined;

  /** Why `account` reaching `target` from one of `sources` is familiar (seen on two days or more), if it is. */
  familiar(account: string, sources: readonly string[], target: string, names: { source: string; target: string }): RoutineReason | undefined {
    if (!this.ready()) return undefined;
    let best: number[] | undefined;
    for (const s of sources) {
      const d = this.pairs.get(`${account}|${s}|${target}`);
      if (d && (!best || d.length > best.length)) best = d;
    }
    if (!best || best.length < 2) return undefined;
    const who = account || 'the same account';
    return { kind: 'familiar', why: `${who} reaches ${names.target} from ${names.source} on ${best.length} days (first ${dayText(best[0]!)})` };
  }

  /** Why a program shape is common, if it is. */
  commonProgram(shape: string): RoutineReason | undefined {
    const p = this.commonIn(this.programs, shape);
    return p && { kind: 'common-program', why: `${p.label} runs this way on ${p.hosts} of ${this.fleet} hosts` };
  }

  /** Why a rule firing for this subject is common across the fleet, if it is. */
  commonDetection(rule: string, title: string, subject: string): RoutineReason | undefined {
    const p = this.commonIn(this.detections, `${rule}|${subject}`);
    return p && { kind: 'common-detection', why: `"${title}" fires${p.label ? ` for ${p.label}` : ''} on ${p.hosts} of ${this.fleet} hosts` };
  }

  /** Why a rule firing on this host for this subject is a habit (two days or more), if it is. */
  habit(rule: string, title: string, host: string, name: string, subject: string): RoutineReason | undefined {
    if (!this.ready()) return undefined;
    const h = this.habits.get(`${rule}|${host}|${subject}`);
    if (!h || h.days.length < 2) return undefined;
    return { kind: 'habit', why: `"${title}" fires on ${name}${h.label ? ` for ${h.label}` : ''} on ${h.days.length} days (first ${dayText(h.days[0]!)})` };
  }

  /** Why installing this service is routine here (on `commonMin` hosts or more, on two days or more), if it is. */
  commonService(name: string): RoutineReason | undefined {
    if (!this.ready()) return undefined;
    const sv = this.services.get(name.toLowerCase());
    if (!sv || sv.hosts.size < this.o.commonMin || sv.days.length < 2) return undefined;
    return { kind: 'common-service', why: `service ${name} is installed on ${sv.hosts.size} of ${this.fleet} hosts on ${sv.days.length} days` };
  }

  /** Hosts a rule has fired on (whatever for; counted up to a few). Not gated by the warm-up: one host is rare from the start. */
  ruleHosts(rule: string): number {
    return this.rules.get(rule)?.size ?? 0;
  }

  /** Hosts a rule has fired on for this subject (0: never seen; rarity weighs by it). */
  spreadOf(rule: string, subject: string): number {
    return this.detections.get(`${rule}|${subject}`)?.hosts.size ?? 0;
  }

  stats(): RoutineStats {
    return {
      facts: this.facts,
      hosts: this.hostNames.length,
      sources: this.sources.size,
      pairs: this.pairs.size,
      programs: this.programs.size,
      detections: this.detections.size,
      habits: this.habits.size,
      services: this.services.size,
      rules: this.rules.size,
      dropped: this.dropped,
    };
  }

  /** The state as plain JSON (bounded like the tables). */
  export(): RoutineState {
    const spread = (m: Map<string, SpreadAcc>): [string, string, number[]][] => [...m].map(([k, v]) => [k, v.label, [...v.hosts]]);
    return {
      version: 1,
      first: Number.isFinite(this.first) ? this.first : null,
      last: Number.isFinite(this.last) ? this.last : null,
      hosts: [...this.hostNames],
      days: [...this.days],
      sources: [...this.sources].map(([k, s]) => [k, { targets: [...s.targets], days: [...s.days].map(([d, ts]) => [d, [...ts]]), hours: [...s.hours] }]),
      pairs: [...this.pairs].map(([k, d]) => [k, [...d]]),
      programs: spread(this.programs),
      detections: spread(this.detections),
      habits: [...this.habits].map(([k, h]) => [k, h.label, [...h.days]]),
      services: [...this.services].map(([k, v]) => [k, [...v.hosts], [...v.days]]),
      rules: [...this.rules].map(([k, v]) => [k, [...v]]),
      dropped: this.dropped,
    };
  }

  /** A baseline from exported state (validated: a damaged or hostile file is refused with the path of the mistake). */
  static import(state: unknown, options: RoutineOptions = {}): Routine {
    const s = validateJson<RoutineState>(state, STATE_SCHEMA, 'stories baseline');
    const r = new Routine(options);
    const n = s.hosts.length;
    const fits = (list: readonly number[], max: number, what: string) => {
      if (list.length > max) throw new FirebreakError('baseline-invalid', `stories baseline: ${what}: more than ${max} entries`);
      for (const i of list) if (i >= n) throw new FirebreakError('baseline-invalid', `stories baseline: ${what}: host ${i} is not in the ${n} hosts`);
    };
    const over = (len: number, max: number, what: string) => {
      if (len > max) throw new FirebreakError('baseline-invalid', `stories baseline: ${what}: ${len} entries, at most ${max}`);
    };
    over(n, L.hosts, 'hosts');
    over(s.days.length, L.days, 'days');
    over(s.sources.length, L.sources, 'sources');
    over(s.pairs.length, L.pairs, 'pairs');
    over(s.programs.length, L.programs, 'programs');
    over(s.detections.length, L.detections, 'detections');
    over(s.habits.length, L.habits, 'habits');
    over(s.services.length, L.services, 'services');
    if (s.first !== null) r.first = s.first;
    if (s.last !== null) r.last = s.last;
    for (const h of s.hosts) r.host(h);
    if (r.hostNames.length !== n) throw new FirebreakError('baseline-invalid', 'stories baseline: hosts: a host is listed twice');
    for (const d of s.days) r.days.add(d);
    for (const [k, v] of s.sources) {
      fits(v.targets, L.targetsPerSource, `sources ${k}`);
      over(v.days.length, L.days, `sources ${k} days`);
      for (const [, ts] of v.days) fits(ts, FANOUT_DAY, `sources ${k} days`);
      r.sources.set(k, { targets: new Set(v.targets), days: new Map(v.days.map(([d, ts]) => [d, [...ts]])), hours: v.hours });
    }
    for (const [k, d] of s.pairs) {
      over(d.length, L.daysPerKey, `pairs ${k}`);
      r.pairs.set(k, [...d].sort((a, b) => a - b));
    }
    for (const [k, label, hosts] of s.programs) {
      fits(hosts, L.hostsPerShape, `programs ${k}`);
      r.programs.set(k, { label, hosts: new Set(hosts) });
    }
    for (const [k, label, hosts] of s.detections) {
      fits(hosts, L.hostsPerShape, `detections ${k}`);
      r.detections.set(k, { label, hosts: new Set(hosts) });
    }
    for (const [k, label, days] of s.habits) {
      over(days.length, L.daysPerKey, `habits ${k}`);
      r.habits.set(k, { label, days: [...days].sort((a, b) => a - b) });
    }
    for (const [k, hosts, days] of s.services) {
      fits(hosts, L.hostsPerShape, `services ${k}`);
      over(days.length, L.daysPerKey, `services ${k} days`);
      r.services.set(k, { hosts: new Set(hosts), days: [...days].sort((a, b) => a - b) });
    }
    over(s.rules.length, L.rules, 'rules');
    for (const [k, hosts] of s.rules) {
      fits(hosts, RULE_HOSTS, `rules ${k}`);
      r.rules.set(k, new Set(hosts));
    }
    r.dropped = s.dropped;
    return r;
  }

  private commonIn(m: Map<string, SpreadAcc>, key: string): { hosts: number; label: string } | undefined {
    if (!this.ready()) return undefined;
    const p = m.get(key);
    if (!p) return undefined;
    const need = Math.min(L.hostsPerShape, Math.max(this.o.commonMin, this.o.commonShare * this.fleet));
    return p.hosts.size >= need ? { hosts: p.hosts.size, label: p.label } : undefined;
  }

  private spread(m: Map<string, SpreadAcc>, key: string, host: string, label: string, max: number): void {
    const h = this.host(host);
    if (h < 0) return;
    let p = m.get(key);
    if (!p) {
      if (m.size >= max) return void this.dropped++;
      m.set(key, (p = { hosts: new Set(), label }));
    }
    if (p.hosts.size < L.hostsPerShape) p.hosts.add(h);
  }

  private addDays(m: Map<string, number[]>, key: string, day: number, max: number): void {
    const d = m.get(key);
    if (d) return insertDay(d, day);
    if (m.size >= max) return void this.dropped++;
    m.set(key, [day]);
  }

  /** The index of a host (-1 when the host table is full: counted). */
  private host(key: string): number {
    let i = this.hostIndex.get(key);
    if (i !== undefined) return i;
    if (this.hostNames.length >= L.hosts) {
      this.dropped++;
      return -1;
    }
    i = this.hostNames.length;
    this.hostIndex.set(key, i);
    this.hostNames.push(key);
    return i;
  }
}

/** Keep the days sorted and at most `L.daysPerKey` of them (the latest). */
function insertDay(days: number[], day: number): void {
  let i = days.length;
  while (i > 0 && days[i - 1]! > day) i--;
  if (days[i - 1] === day) return;
  days.splice(i, 0, day);
  if (days.length > L.daysPerKey) days.shift();
}

/** Note a host reached on a day (a few per day are enough; at most L.days days, the latest). */
function addDayTarget(days: Map<number, number[]>, day: number, target: number): void {
  let ts = days.get(day);
  if (!ts) {
    if (days.size >= L.days) {
      let oldest = Infinity;
      for (const d of days.keys()) if (d < oldest) oldest = d;
      if (day < oldest) return;
      days.delete(oldest);
    }
    days.set(day, (ts = []));
  }
  if (ts.length < FANOUT_DAY && !ts.includes(target)) ts.push(target);
}

function addDay(set: Set<number>, day: number, max: number): void {
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

function dayText(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

/** "around 01:00 UTC" when most activity falls in one three-hour band; "around the clock" when it spans most hours. */
function rhythm(hours: readonly number[]): string {
  const total = hours.reduce((a, b) => a + b, 0);
  if (!total) return '';
  const active = hours.filter((h) => h > 0).length;
  if (active >= 16) return ', around the clock';
  let best = 0;
  let at = 0;
  for (let h = 0; h < 24; h++) {
    const band = hours[(h + 23) % 24]! + hours[h]! + hours[(h + 1) % 24]!;
    if (band > best) {
      best = band;
      at = h;
    }
  }
  return best >= 0.8 * total ? `, around ${String(at).padStart(2, '0')}:00 UTC` : '';
}

const ints = { type: 'array', items: { type: 'integer', minimum: 0 } } as const;
const spreadRows = { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, { type: 'string' }, ints] } } as const;
const STATE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'first', 'last', 'hosts', 'days', 'sources', 'pairs', 'programs', 'detections', 'habits', 'services', 'rules', 'dropped'],
  properties: {
    version: { const: 1 },
    first: { type: ['number', 'null'] },
    last: { type: ['number', 'null'] },
    hosts: { type: 'array', items: { type: 'string' } },
    days: { type: 'array', items: { type: 'integer' } },
    sources: {
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
            required: ['targets', 'days', 'hours'],
            properties: {
              targets: ints,
              days: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'integer' }, ints] } },
              hours: { type: 'array', minItems: 24, maxItems: 24, items: { type: 'integer', minimum: 0 } },
            },
          },
        ],
      },
    },
    pairs: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'string' }, { type: 'array', items: { type: 'integer' } }] } },
    programs: spreadRows,
    detections: spreadRows,
    habits: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, { type: 'string' }, { type: 'array', items: { type: 'integer' } }] } },
    services: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, ints, { type: 'array', items: { type: 'integer' } }] } },
    rules: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'string' }, ints] } },
    dropped: { type: 'integer', minimum: 0 },
  },
} as const;
