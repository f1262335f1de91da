/**
 * What is routine in this network, learnt from the data itself (docs/stories.md, "Routine"): no
 * lists of product names, only what the events show.
 *
 * - **Management hosts**: a source that reaches a large share of the fleet (logons, share access,
 *   explicit credentials) and fans out (reaches several hosts in a day) on most of the observed
 *   days. Its fan-out is routine; a sweep done once is not.
 * - **Management accounts**: the same for an account, from wherever it comes (administrators
 *   fanning out from jump hosts that change from day to day). The judge makes its moves routine
 *   only from a host with nothing suspicious before them (./judge.ts).
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
 * Nothing counts before `warmupMs` of data has been seen (event time, from the first fact).
 *
 * Memory is bounded (LIMITS.stories.routine): each table holds a bounded number of keys, each key
 * a bounded number of hosts or days, and all of them together at most `cells` numbers. When a
 * table (or the whole) is full, the tenth of its entries least recently seen is forgotten and
 * counted (`forgotten`), so a server's baselines follow the network as it changes; a fact that
 * still does not fit is counted (`dropped`) and treated as never seen. The state exports to plain
 * JSON and back (`export`, `load`): a server stores it and restores it on start.
 */
import { FirebreakError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { RoutineFact } from './facts.js';
import { readState, stateOf, type RoutineTables } from './routine-io.js';
import {
  CELLS_PER_FACT,
  FANOUT_DAY,
  FORGET_SHARE,
  MANY_TIMES,
  RULE_HOSTS,
  addDay,
  cellsOfSource,
  dayText,
  rhythm,
  sumCells,
  type DaysAcc,
  type RoutineLimits,
  type RoutineReason,
  type RoutineState,
  type RoutineStats,
  type RuleAcc,
  type ServiceAcc,
  type SourceAcc,
  type SpreadAcc,
  type Table,
} from './routine-state.js';

const DAY = 86_400_000;

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
  /** Tighter bounds than LIMITS.stories.routine (a larger value is refused). */
  limits?: Partial<RoutineLimits>;
}

export class Routine {
  private readonly o: Required<Omit<RoutineOptions, 'limits'>>;
  private readonly L: RoutineLimits;
  private first = Infinity;
  private last = -Infinity;
  private hostIndex = new Map<string, number>();
  private hostNames: string[] = [];
  private days = new Set<number>();
  private sources = new Map<string, SourceAcc>();
  /** Account → the hosts it reaches, by day (management accounts). */
  private accounts = new Map<string, SourceAcc>();
  /** `account|source|target` → days seen. */
  private pairs = new Map<string, number[]>();
  private programs = new Map<string, SpreadAcc>();
  private detections = new Map<string, SpreadAcc>();
  /** `rule|host|subject` → days seen, with the subject's words. */
  private habits = new Map<string, DaysAcc>();
  /** Rule → hosts it fired on (a few: one host is rare). */
  private rules = new Map<string, RuleAcc>();
  /** Service name → hosts it was installed on, and days. */
  private services = new Map<string, ServiceAcc>();
  private facts = 0;
  private dropped = 0;
  private forgotten = 0;
  private cells = 0;
  private typical: number | undefined;
  private typicalAccount: number | undefined;
  /** The management accounts (cached until an access changes the accounts). */
  private admins: { account: string; why: RoutineReason }[] | undefined;

  constructor(options: RoutineOptions = {}) {
    this.o = {
      warmupMs: options.warmupMs ?? DAY,
      managementShare: options.managementShare ?? 0.25,
      managementMin: options.managementMin ?? 5,
      commonShare: options.commonShare ?? 0.5,
      commonMin: options.commonMin ?? 3,
    };
    const L: RoutineLimits = { ...LIMITS.stories.routine };
    for (const [k, v] of Object.entries(options.limits ?? {}) as [keyof RoutineLimits, number | undefined][]) {
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 1 || v > L[k]) throw new FirebreakError('config-invalid', `routine limits: ${k} must be an integer from 1 to ${L[k]}`);
      L[k] = v;
    }
    this.L = L;
  }

  /** Learn from facts (any order; learning the same fact twice changes nothing). */
  learn(facts: Iterable<RoutineFact>): void {
    for (const f of facts) this.learnOne(f);
  }

  learnOne(f: RoutineFact): void {
    if (!Number.isFinite(f.t)) return;
    this.facts++;
    // Room first (never in the middle of a fact, which holds entries it is adding to).
    if (this.cells + CELLS_PER_FACT > this.L.cells) this.forgetOldest(this.tables(), Math.max(CELLS_PER_FACT, Math.ceil(this.L.cells * FORGET_SHARE)), 'cells');
    if (f.t < this.first) this.first = f.t;
    if (f.t > this.last) this.last = f.t;
    const day = Math.floor(f.t / DAY);
    if (!this.days.has(day)) {
      addDay(this.days, day, this.L.days);
      // Fan-out "on most days" counts the observed days.
      this.admins = undefined;
    }
    switch (f.kind) {
      case 'access':
        return this.learnAccess(f.source, f.target, f.account, f.t, day);
      case 'program':
        return this.spread(this.programTable, f.shape, f.host, f.label, day);
      case 'detection': {
        this.spread(this.detectionTable, `${f.rule}|${f.subject}`, f.host, f.label, day);
        const h = this.host(f.host);
        let rh = this.rules.get(f.rule);
        if (!rh) {
          if (!this.roomIn(this.ruleTable)) this.dropped++;
          else this.rules.set(f.rule, (rh = { hosts: new Set(), last: day }));
        }
        if (rh) {
          if (day > rh.last) rh.last = day;
          if (h >= 0 && rh.hosts.size < RULE_HOSTS && !rh.hosts.has(h) && this.cell()) rh.hosts.add(h);
        }
        const key = `${f.rule}|${f.host}|${f.subject}`;
        const hb = this.habits.get(key);
        if (hb) return this.addDayTo(hb.days, day);
        if (!this.roomIn(this.habitTable)) return void this.dropped++;
        if (this.cell()) this.habits.set(key, { days: [day], label: f.label });
        return;
      }
      case 'service': {
        const h = this.host(f.host);
        if (h < 0) return;
        let sv = this.services.get(f.name);
        if (!sv) {
          if (!this.roomIn(this.serviceTable)) return void this.dropped++;
          this.services.set(f.name, (sv = { hosts: new Set(), days: [] }));
        }
        if (sv.hosts.size < this.L.hostsPerShape && !sv.hosts.has(h) && this.cell()) sv.hosts.add(h);
        this.addDayTo(sv.days, day);
        return;
      }
    }
  }

  private learnAccess(source: string, targetKey: string, account: string, t: number, day: number): void {
    const target = this.host(targetKey);
    if (target < 0) return;
    this.typical = undefined;
    const key = `${account}|${source}|${targetKey}`;
    const d = this.pairs.get(key);
    // The rhythm counts each pair once a day (the same fact twice changes nothing).
    const hour = d?.includes(day) ? -1 : new Date(t).getUTCHours();
    if (account) {
      this.typicalAccount = this.admins = undefined;
      if (!this.reach(this.accountTable, account, target, day, hour)) this.dropped++;
    }
    if (!this.reach(this.sourceTable, source, target, day, hour)) return void this.dropped++;
    if (d) return this.addDayTo(d, day);
    if (!this.roomIn(this.pairTable)) return void this.dropped++;
    if (this.cell()) this.pairs.set(key, [day]);
  }

  /** Note that `key` (a source or an account) reached `target` on `day` (at `hour`, -1: counted already); false when its table has no room. */
  private reach(table: Table<SourceAcc>, key: string, target: number, day: number, hour: number): boolean {
    let s = table.map.get(key);
    if (!s) {
      if (!this.roomIn(table)) return false;
      table.map.set(key, (s = { targets: new Set(), days: new Map(), hours: new Array<number>(24).fill(0), last: day }));
    }
    if (day > s.last) s.last = day;
    if (s.targets.size < this.L.targetsPerSource && !s.targets.has(target) && this.cell()) s.targets.add(target);
    this.addDayTarget(s.days, day, target);
    if (hour >= 0) s.hours[hour]!++;
    return true;
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
    let merged = false;
    for (const [key, s] of this.sources) {
      if (!key.startsWith('ip:')) continue;
      const host = owner(key.slice(3), this.last);
      if (!host) continue;
      this.typical = undefined;
      merged = true;
      const into = this.sources.get('h:' + host);
      if (into) {
        this.cells -= cellsOfSource(s);
        for (const t of s.targets) if (into.targets.size < this.L.targetsPerSource && !into.targets.has(t) && this.cell()) into.targets.add(t);
        for (const [d, ts] of s.days) for (const t of ts) this.addDayTarget(into.days, d, t);
        for (let i = 0; i < 24; i++) into.hours[i]! += s.hours[i]!;
        if (s.last > into.last) into.last = s.last;
      } else this.sources.set('h:' + host, s);
      this.sources.delete(key);
    }
    if (merged) this.cells = this.tables().reduce((sum, t) => sum + sumCells(t), 0);
  }

  /** Why `source` (`h:key` or `ip:addr`) is a management host, if it is. */
  management(source: string, name: string): RoutineReason | undefined {
    const s = this.sources.get(source);
    const typical = (this.typical ??= median(this.sources));
    const w = s && this.fansOut(s, typical);
    return w && { kind: 'management', why: `${name} reaches ${w.reach} of ${this.fleet} hosts${w.many ? ` (${w.many} times as many as most hosts)` : ''} ${w.rhythm}` };
  }

  /**
   * Why `account` is a management account, if it is: it reaches hosts the way a management host
   * does (a large share of the fleet, or several times what most accounts reach, fanning out on
   * most of the observed days), from whichever hosts.
   */
  managementAccount(account: string): RoutineReason | undefined {
    const s = account ? this.accounts.get(account) : undefined;
    const typical = (this.typicalAccount ??= median(this.accounts));
    const w = s && this.fansOut(s, typical);
    return w && { kind: 'management', why: `${account} reaches ${w.reach} of ${this.fleet} hosts${w.many ? ` (${w.many} times as many as most accounts)` : ''} ${w.rhythm}` };
  }

  /**
   * Which management account reached `target` from one of `sources` on `day`, if one did: the
   * authenticated access a launcher on the source (PsExec, mstsc, Invoke-Command, run as the
   * desktop user or naming no account) opened.
   */
  managementAccess(sources: readonly string[], target: string, day: number): { account: string; why: RoutineReason } | undefined {
    if (!this.ready()) return undefined;
    this.admins ??= [...this.accounts.keys()].flatMap((account) => {
      const why = this.managementAccount(account);
      return why ? [{ account, why }] : [];
    });
    for (const a of this.admins) for (const s of sources) if (this.pairs.get(`${a.account}|${s}|${target}`)?.includes(day)) return a;
    return undefined;
  }

  /** The management test, for a source or an account: reach, and fan-out on most observed days. */
  private fansOut(s: SourceAcc, typical: number): { reach: number; many: number; rhythm: string } | undefined {
    if (!this.ready()) return undefined;
    const fleet = this.fleet;
    const reach = s.targets.size;
    // A large share of the fleet, or (in a fleet where most reach one or two) several times what most reach.
    if (reach < Math.max(this.o.managementMin, Math.min(this.o.managementShare * fleet, MANY_TIMES * typical))) return undefined;
    const observed = this.days.size;
    let fan = 0;
    for (const ts of s.days.values()) if (ts.length >= FANOUT_DAY) fan++;
    if (fan < 2 || fan * 2 < observed) return undefined;
    return { reach, many: reach < this.o.managementShare * fleet ? Math.floor(reach / Math.max(1, typical)) : 0, rhythm: rhythm(s.hours, fan, observed) };
  }

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
    return this.rules.get(rule)?.hosts.size ?? 0;
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
      accounts: this.accounts.size,
      pairs: this.pairs.size,
      programs: this.programs.size,
      detections: this.detections.size,
      habits: this.habits.size,
      services: this.services.size,
      rules: this.rules.size,
      cells: this.cells,
      dropped: this.dropped,
      forgotten: this.forgotten,
    };
  }

  /** The state as plain JSON (bounded like the tables: `JSON.stringify` it to store it). */
  export(): RoutineState {
    return stateOf(this.tablesNow(), this.hostNames, this.days, this.dropped, this.forgotten, Number.isFinite(this.first) ? this.first : null, Number.isFinite(this.last) ? this.last : null);
  }

  /** A baseline from exported state (see `load`). */
  static import(state: unknown, options: RoutineOptions = {}): Routine {
    const r = new Routine(options);
    r.load(state);
    return r;
  }

  /**
   * Replace everything learnt by exported state (a server restoring its baselines on start).
   * The state is validated first (./routine-io.ts): a damaged or hostile one, or one larger than
   * this baseline's bounds, is refused with the place of the mistake and nothing is changed.
   */
  load(state: unknown): void {
    const t = readState(state, this.L);
    this.first = t.first;
    this.last = t.last;
    this.hostIndex = t.hostIndex;
    this.hostNames = t.hostNames;
    this.days = t.days;
    this.sources = t.sources;
    this.accounts = t.accounts;
    this.pairs = t.pairs;
    this.programs = t.programs;
    this.detections = t.detections;
    this.habits = t.habits;
    this.services = t.services;
    this.rules = t.rules;
    this.dropped = t.dropped;
    this.forgotten = t.forgotten;
    this.typical = undefined;
    this.typicalAccount = this.admins = undefined;
    this.cells = t.cells;
  }

  private commonIn(m: Map<string, SpreadAcc>, key: string): { hosts: number; label: string } | undefined {
    if (!this.ready()) return undefined;
    const p = m.get(key);
    if (!p) return undefined;
    const need = Math.min(this.L.hostsPerShape, Math.max(this.o.commonMin, this.o.commonShare * this.fleet));
    return p.hosts.size >= need ? { hosts: p.hosts.size, label: p.label } : undefined;
  }

  private spread(table: Table<SpreadAcc>, key: string, host: string, label: string, day: number): void {
    const h = this.host(host);
    if (h < 0) return;
    let p = table.map.get(key);
    if (!p) {
      if (!this.roomIn(table)) return void this.dropped++;
      table.map.set(key, (p = { hosts: new Set(), label, last: day }));
    }
    if (day > p.last) p.last = day;
    if (p.hosts.size < this.L.hostsPerShape && !p.hosts.has(h) && this.cell()) p.hosts.add(h);
  }

  /** Keep the days sorted and at most `daysPerKey` of them (the latest). */
  private addDayTo(days: number[], day: number): void {
    let i = days.length;
    while (i > 0 && days[i - 1]! > day) i--;
    if (days[i - 1] === day) return;
    if (days.length >= this.L.daysPerKey) {
      // Full: the oldest day goes (a day older than all kept is not kept).
      if (i === 0) return;
      days.splice(i, 0, day);
      days.shift();
      return;
    }
    if (this.cell()) days.splice(i, 0, day);
  }

  /** Note a host reached on a day (a few per day are enough; at most `days` days, the latest). */
  private addDayTarget(days: Map<number, number[]>, day: number, target: number): void {
    let ts = days.get(day);
    if (!ts) {
      if (days.size >= this.L.days) {
        let oldest = Infinity;
        for (const d of days.keys()) if (d < oldest) oldest = d;
        if (day < oldest) return;
        this.cells -= days.get(oldest)!.length;
        days.delete(oldest);
      }
      days.set(day, (ts = []));
    }
    if (ts.length < FANOUT_DAY && !ts.includes(target) && this.cell()) ts.push(target);
  }

  /** The index of a host (-1 when the host table is full: counted). */
  private host(key: string): number {
    let i = this.hostIndex.get(key);
    if (i !== undefined) return i;
    if (this.hostNames.length >= this.L.hosts) {
      this.dropped++;
      return -1;
    }
    i = this.hostNames.length;
    this.hostIndex.set(key, i);
    this.hostNames.push(key);
    return i;
  }

  /** Room for one more number in all tables together (made before each fact, `learnOne`); without it the number is not learnt (counted). */
  private cell(): boolean {
    if (this.cells >= this.L.cells) {
      this.dropped++;
      return false;
    }
    this.cells++;
    return true;
  }

  /** Room for one more key in a table: when full, its least recently seen tenth is forgotten first. */
  private roomIn<V>(t: Table<V>): boolean {
    if (t.map.size >= t.max) this.forgetOldest([t], Math.ceil(t.max * FORGET_SHARE), 'keys');
    return t.map.size < t.max;
  }

  /**
   * Forget the entries least recently seen (by their last day) across `tables` until `amount`
   * keys (or cells) are freed. Entries of the latest day are kept: what is happening now is
   * never forgotten to make room for itself.
   */
  private forgetOldest(tables: Table<unknown>[], amount: number, unit: 'keys' | 'cells'): void {
    const today = Math.floor(this.last / DAY);
    const all: { t: Table<unknown>; k: string; last: number; cells: number }[] = [];
    for (const t of tables) for (const [k, v] of t.map) all.push({ t, k, last: t.lastOf(v), cells: t.cellsOf(v) });
    all.sort((a, b) => a.last - b.last);
    let freed = 0;
    for (const e of all) {
      if (freed >= amount || e.last >= today) break;
      e.t.map.delete(e.k);
      this.cells -= e.cells;
      this.forgotten++;
      freed += unit === 'keys' ? 1 : e.cells;
    }
    if (freed) this.typical = this.typicalAccount = this.admins = undefined;
  }

  private tablesNow(): RoutineTables {
    const { sources, accounts, pairs, programs, detections, habits, services, rules } = this;
    return { sources, accounts, pairs, programs, detections, habits, services, rules };
  }

  private tables(): Table<unknown>[] {
    return [this.sourceTable, this.accountTable, this.pairTable, this.programTable, this.detectionTable, this.habitTable, this.serviceTable, this.ruleTable] as Table<unknown>[];
  }

  private get sourceTable(): Table<SourceAcc> {
    return { map: this.sources, max: this.L.sources, lastOf: (v) => v.last, cellsOf: cellsOfSource };
  }
  private get accountTable(): Table<SourceAcc> {
    return { map: this.accounts, max: this.L.accounts, lastOf: (v) => v.last, cellsOf: cellsOfSource };
  }
  private get pairTable(): Table<number[]> {
    return { map: this.pairs, max: this.L.pairs, lastOf: (d) => d[d.length - 1] ?? -Infinity, cellsOf: (d) => d.length };
  }
  private get programTable(): Table<SpreadAcc> {
    return { map: this.programs, max: this.L.programs, lastOf: (v) => v.last, cellsOf: (v) => v.hosts.size };
  }
  private get detectionTable(): Table<SpreadAcc> {
    return { map: this.detections, max: this.L.detections, lastOf: (v) => v.last, cellsOf: (v) => v.hosts.size };
  }
  private get habitTable(): Table<DaysAcc> {
    return { map: this.habits, max: this.L.habits, lastOf: (v) => v.days[v.days.length - 1] ?? -Infinity, cellsOf: (v) => v.days.length };
  }
  private get serviceTable(): Table<ServiceAcc> {
    return { map: this.services, max: this.L.services, lastOf: (v) => v.days[v.days.length - 1] ?? -Infinity, cellsOf: (v) => v.hosts.size + v.days.length };
  }
  private get ruleTable(): Table<RuleAcc> {
    return { map: this.rules, max: this.L.rules, lastOf: (v) => v.last, cellsOf: (v) => v.hosts.size };
  }
}

/** The median number of hosts the entries of a reach table reach. */
function median(m: ReadonlyMap<string, SourceAcc>): number {
  const reach = [...m.values()].map((s) => s.targets.size).sort((a, b) => a - b);
  return reach.length ? reach[Math.floor(reach.length / 2)]! : 0;
}

export { type RoutineLimits, type RoutineReason, type RoutineState, type RoutineStats, rhythm } from './routine-state.js';
