/**
 * Routine and evidence, per detection (docs/stories.md, "Evidence" and "Routine"). A detection is
 * routine when the learnt baselines explain it (./routine.ts): a movement from a management host
 * or by a familiar (account, source, target) pair, a common program, a rule that fires for the
 * same thing on most hosts, or a habit of its host. Routine detections join no story.
 *
 * A movement between hosts is spread only with evidence that it belongs to the intrusion:
 * - a technique suspicious in itself (the domain data's `suspicious` marks: pass-the-hash, an
 *   executable written to an admin share, a service binary outside the install locations);
 * - suspicious activity of its own on the source shortly before the move;
 * - suspicious activity on the target right after it by the same account or logon session.
 * The last one comes later than the move, so moves without evidence are remembered per target
 * host (bounded) and take it when it comes. Movement without evidence, and routine movement, is
 * context: shown in the story, never a join.
 *
 * A context detection (data/domain.yml `context`: sudo, su, a setuid program) by an account or in
 * a session that a move with evidence brought to its host joins that move's story: the
 * attacker's sudo right after an SSH arrival from a compromised host is escalation in the
 * intrusion; an administrator's sudo after a routine logon joins nothing.
 */
import { LIMITS } from '../core/limits.js';
import type { TechniqueRef } from '../detections/attack.js';
import { normaliseIp } from '../events/addresses.js';
import type { Domain } from '../events/domain.js';
import type { Level } from '../sigma/model.js';
import type { AddressBook } from './addressbook.js';
import { movementOf, obsAccounts, sourcesOf, stringOf, targetsOf, type Observation } from './entities.js';
import { detectionSubject, programOf } from './facts.js';
import type { Routine, RoutineReason } from './routine.js';
import { hostOf } from './narrative.js';

/** A time of day in words (UTC): evidence is about minutes before or after a move. */
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16) + ' UTC';

const ARRIVALS = LIMITS.stories.arrivalsPerHost;
const MAX_HOSTS = LIMITS.stories.maxHosts;

/** A movement between machines, with why it is (or is not yet) part of an intrusion. */
export interface Move {
  /** `h:key` or `ip:addr`. */
  from: string;
  to: string;
  t: number;
  via: TechniqueRef;
  /** The account that moved (lower case), when the detection names one. */
  account: string | null;
  /** Logon IDs on the target the detection names (the session the move opened). */
  logonIds: readonly string[];
  rule: { id: string | null; title: string };
  /** Why it belongs to the intrusion (null: no evidence yet). */
  evidence: string | null;
  /** Why it is routine (null: it is not). */
  routine: RoutineReason | null;
  /** A failed attempt (a wrong password): it shows intent, but reached nothing. */
  attempt: boolean;
}

export interface Verdict {
  routine: RoutineReason | null;
  /** Medium or above and not routine. */
  suspicious: boolean;
  /** 1 for a detection seen on one host, less the more hosts its rule fires on for the same thing. */
  rarity: number;
  /** The detection's rule has fired on no other host (whatever for). */
  rareRule: boolean;
  /** Movement the detection shows (every observation). */
  moves: Move[];
  /** Earlier moves this detection gave evidence to: their sources join its story. */
  upgraded: Move[];
  /** A source-less movement detection (a service installed on the target) attached to the move it belongs to. */
  attached: { move: Move; via: TechniqueRef } | null;
  /** For a context detection: the move with evidence that brought its account or session to its host. */
  session: Move | null;
  /**
   * Per observation (aligned with `obs`): true for a correlation's contributor the baselines
   * explain (an administrator's PsExec counted with an attacker's by "same service on many
   * hosts"): it joins no story, as it would not on its own.
   */
  routineObs: readonly boolean[];
}

export interface JudgeLimits {
  /** Suspicious activity on the source this long before a move is evidence for it (ms). */
  beforeMs: number;
  /** Suspicious activity on the target this long after a move, by its account or session, is evidence (ms). */
  afterMs: number;
  /** A source-less movement detection attaches to a move into its host this close in time (ms). */
  attachMs: number;
}

interface HostState {
  /** The latest suspicious activity of the host's own (not a move out of it). */
  suspicious: { t: number; title: string } | null;
  /** The latest of it that is high, or not by a management account (an administrator's tools at work are not). */
  blocking: { t: number; title: string } | null;
  /** Recent moves into the host, oldest first. */
  arrivals: Move[];
  /** Service binaries a routine arrival installed (a software push's runner, an administrator's PsExec). */
  services: { binary: string; t: number; routine: RoutineReason }[];
  /** Processes of routine activity (their children are routine too). */
  processes: Map<string, { t: number; routine: RoutineReason }>;
  last: number;
}

/** A routine move explains a source-less movement detection (a service installed) this close to it. */
const ROUTINE_ATTACH_MS = 60_000;
/** A process started from a service binary a routine move installed this long before is part of that routine. */
const SERVICE_MS = 10 * 60_000;
/** Routine service binaries and processes remembered per host. */
const ROUTINE_SERVICES = 8;
const ROUTINE_PROCESSES = 64;

const DAY = 86_400_000;

/** What a detection is about for the baselines: as its reading thread worked it out, else from its fields. */
const subjectOf = (o: Observation, domain: Domain): { subject: string; label: string } => o.routine ?? detectionSubject(o.fields, domain);

const RANK: Record<Level, number> = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };

export class Judge {
  private readonly hosts = new Map<string, HostState>();
  hostsDropped = 0;

  constructor(
    private readonly limits: JudgeLimits,
    private readonly domain: Domain,
    private readonly book: AddressBook,
    private readonly routine: Routine,
  ) {}

  get hostCount(): number {
    return this.hosts.size;
  }

  /**
   * Judge one detection: `obs[0]` is the detection itself, the rest a correlation's contributors
   * (`rules` names each observation's own rule for the baselines).
   */
  judge(level: Level, kind: 'sigma' | 'correlation', obs: readonly Observation[], tagMovement: readonly TechniqueRef[]): Verdict {
    const main = obs[0]!;
    const moves: Move[] = [];
    const perObs: Move[][] = obs.map((o) => {
      const list = this.movesOf(o, tagMovement);
      moves.push(...list);
      return list;
    });

    // Routine: the detection's own movement, else what it is about; a correlation when all it counts is.
    let routine: RoutineReason | null = null;
    let attached: Verdict['attached'] = null;
    let session: Move | null = null;
    let routineObs: boolean[] = obs.map(() => false);
    if (kind === 'correlation') {
      const contributors = obs.slice(1);
      if (contributors.length) {
        const each = contributors.map((o, i) => this.obsRoutine(o, perObs[i + 1]!) ?? this.routineArrival(o, perObs[i + 1]!, tagMovement));
        if (each.every((r) => r !== null)) routine = each[0]!;
        else routineObs = [false, ...each.map((r) => r !== null)];
      }
    } else {
      const mine = perObs[0]!;
      if (!mine.length && main.host && (main.meaning?.lateral || tagMovement.length)) {
        const arrival = this.nearestArrival(main.host, main.t);
        // A routine move explains only what follows it closely: the monitoring logging on every hour must not explain an attacker's service.
        if (arrival && (!arrival.routine || Math.abs(arrival.t - main.t) <= ROUTINE_ATTACH_MS)) {
          attached = { move: arrival, via: movementOf(main, tagMovement) };
          if (arrival.routine) routine = arrival.routine;
          else if (!arrival.evidence) {
            const mark = this.markOf(main);
            if (mark) arrival.evidence = `${mark} (${main.title})`;
          }
        }
      }
      // A session that came with evidence is the intrusion's, whatever its account does every day.
      if (main.meaning?.context && main.host && !mine.length) session = this.sessionArrival(main);
      if (!session) routine ??= this.obsRoutine(main, mine) ?? this.routineProcess(main);
      if (routine && main.host) this.rememberRoutine(main, routine);
    }
    const suspicious = routine === null && RANK[level] >= RANK.medium;
    // A correlation that is not routine (a spray, a fan-out) is itself the evidence for the moves it counts.
    if (kind === 'correlation' && !routine) {
      for (const list of perObs.slice(1)) for (const m of list) if (!m.routine && !m.evidence && m.from.startsWith('h:')) m.evidence = `part of ${main.title}`;
    }

    // Evidence for the moves: a suspicious technique, or the source's own suspicious activity before.
    for (const m of moves) {
      if (m.routine || m.evidence || !m.from.startsWith('h:')) continue;
      const src = this.hosts.get(m.from.slice(2));
      const before = src?.suspicious;
      if (before && before.t <= m.t && m.t - before.t <= this.limits.beforeMs) {
        m.evidence = `after ${before.title} on ${hostOf(this.book.display(m.from.slice(2)))} at ${hhmm(before.t)}`;
      }
    }

    // Evidence that comes later: this suspicious detection on a host, by the account or in the session a move into it opened.
    const upgraded: Move[] = [];
    const outbound = perObs[0]!.some((m) => m.from === 'h:' + main.host);
    if (suspicious && main.host && !outbound && !attached && !perObs[0]!.length) {
      const st = this.hosts.get(main.host);
      if (st) {
        const accounts = new Set(obsAccounts(main, this.domain).map((a) => a.key));
        const sessions = new Set(this.logonIdsOf(main));
        for (const a of st.arrivals) {
          if (a.evidence || a.routine || a.attempt || !a.from.startsWith('h:') || main.t < a.t || main.t - a.t > this.limits.afterMs) continue;
          const byAccount = a.account !== null && accounts.has(a.account);
          const bySession = a.logonIds.some((l) => sessions.has(l));
          if (!byAccount && !bySession) continue;
          a.evidence = `followed by ${main.title} on ${hostOf(this.book.display(main.host))} at ${hhmm(main.t)} (${bySession ? 'same logon session' : `same account, ${a.account}`})`;
          upgraded.push(a);
        }
      }
    }

    // Remember: the host's own suspicious activity, and the moves into hosts (for later evidence and attachment).
    if (suspicious && main.host && !outbound) {
      const st = this.state(main.host, main.t);
      if (st && (!st.suspicious || main.t >= st.suspicious.t)) st.suspicious = { t: main.t, title: main.title };
      if (st && (!st.blocking || main.t >= st.blocking.t) && (RANK[level] >= RANK.high || !this.byAdministrator(main))) st.blocking = { t: main.t, title: main.title };
    }
    for (const m of moves) {
      if (!m.from.startsWith('h:')) continue;
      const st = this.state(m.to, m.t);
      if (!st) continue;
      st.arrivals.push(m);
      if (st.arrivals.length > ARRIVALS) st.arrivals.shift();
    }

    return {
      routine,
      suspicious,
      rarity: kind === 'correlation' ? 1 : this.rarity(main),
      rareRule: this.routine.ruleHosts(main.ruleId ?? main.title) <= 1,
      moves,
      upgraded,
      attached,
      session,
      routineObs,
    };
  }

  /**
   * A correlation contributor that shows movement onto its host without naming a source (a
   * service installed) is explained by a routine move into the host just before it, as the same
   * detection on its own would be (`attached` above).
   */
  private routineArrival(o: Observation, moves: readonly Move[], tagMovement: readonly TechniqueRef[]): RoutineReason | null {
    if (moves.length || !o.host || !(o.meaning?.lateral || tagMovement.length)) return null;
    const arrival = this.nearestArrival(o.host, o.t);
    return arrival?.routine && Math.abs(arrival.t - o.t) <= ROUTINE_ATTACH_MS ? arrival.routine : null;
  }

  /** The latest move with evidence into the observation's host, within the window before it, by its account or in its session. */
  private sessionArrival(o: Observation): Move | null {
    const st = this.hosts.get(o.host!);
    if (!st) return null;
    const accounts = new Set(obsAccounts(o, this.domain).map((a) => a.key));
    const sessions = new Set(this.logonIdsOf(o));
    for (let i = st.arrivals.length - 1; i >= 0; i--) {
      const a = st.arrivals[i]!;
      if (!a.evidence || a.attempt || !a.from.startsWith('h:') || o.t < a.t || o.t - a.t > this.limits.beforeMs) continue;
      if ((a.account !== null && accounts.has(a.account)) || a.logonIds.some((l) => sessions.has(l))) return a;
    }
    return null;
  }

  /** Forget hosts with nothing recent (`now` is event time). */
  sweep(now: number): void {
    const keep = Math.max(this.limits.beforeMs, this.limits.afterMs, this.limits.attachMs);
    for (const [k, st] of this.hosts) {
      if (now - st.last > keep) this.hosts.delete(k);
      else {
        st.arrivals = st.arrivals.filter((a) => now - a.t <= keep);
        st.services = st.services.filter((s) => now - s.t <= SERVICE_MS);
        for (const [g, p] of st.processes) if (now - p.t > this.limits.beforeMs) st.processes.delete(g);
      }
    }
  }

  /** The movement one observation shows: into its host from the sources it names, out of it to the targets it names. */
  private movesOf(o: Observation, tagMovement: readonly TechniqueRef[]): Move[] {
    if (!o.host) return [];
    const host = o.host;
    const sources = sourcesOf(o, this.book, this.domain).filter((src) => src !== 'h:' + host);
    // Most detections show no movement: nothing more to work out. (Targets are looked for after
    // the sources' moves are judged, as naming a target host can change how a host is shown.)
    const early = sources.length ? undefined : targetsOf(o, this.book);
    if (early && !early.length) return [];
    const out: Move[] = [];
    const via = movementOf(o, tagMovement);
    const rule = { id: o.ruleId, title: o.title };
    const account = o.meaning?.guesses ? null : (obsAccounts(o, this.domain)[0]?.key ?? null);
    const mark = this.markOf(o);
    const ip = normaliseIp(firstString(o.fields, (o.meaning?.sources ?? this.domain.defaultSources).address));
    for (const src of sources) {
      const m: Move = { from: src, to: host, t: o.t, via, account, logonIds: this.logonIdsOf(o), rule, evidence: null, routine: null, attempt: !!o.meaning?.guesses };
      if (src.startsWith('h:')) {
        m.routine = this.moveRoutine(m, ip ? ['ip:' + ip] : [], mark);
        if (!m.routine && mark) m.evidence = mark;
      }
      out.push(m);
    }
    for (const target of early ?? targetsOf(o, this.book)) {
      const m: Move = { from: 'h:' + host, to: target, t: o.t, via, account, logonIds: [], rule, evidence: null, routine: null, attempt: false };
      m.routine = this.moveRoutine(m, [], mark);
      if (!m.routine && mark) m.evidence = mark;
      out.push(m);
    }
    return out;
  }

  /**
   * Why the movement an observation shows is suspicious in itself (the domain data's marks),
   * unless the network does it routinely: a service installed on several hosts on several days
   * (an administrator's PsExec) is no evidence here.
   */
  private markOf(o: Observation): string | null {
    const mark = o.meaning?.suspicious(o.fields);
    if (!mark) return null;
    if (o.meaning?.meaning === 'service-install') {
      const name = firstString(o.fields, this.domain.serviceFields);
      if (name && this.routine.commonService(name)) return null;
    }
    return mark;
  }

  /**
   * Why a move is routine: its source is a management host, or the (account, source, target)
   * pair is familiar, or it is an administrator's: made by a management account, or opening the
   * access a management account made from that source to that target that day (the launcher runs
   * as the desktop user, or names no account); not suspicious in itself (`mark`), and from a
   * host with no suspicious activity shortly before other than an administrator's tools at work:
   * an attacker's move follows what they did on the foothold, an administrator's does not.
   */
  private moveRoutine(m: Move, alsoFrom: readonly string[], mark: string | null): RoutineReason | null {
    const from = m.from.slice(2);
    const name = this.book.display(from);
    const mgmt = this.routine.management(m.from, name) ?? alsoFrom.map((a) => this.routine.management(a, a.slice(3))).find((r) => r);
    if (mgmt) return mgmt;
    const familiar = this.routine.familiar(m.account ?? '', [m.from, ...alsoFrom], m.to, { source: name, target: this.book.display(m.to) });
    if (familiar || mark || !m.from.startsWith('h:')) return familiar ?? null;
    const before = this.hosts.get(from)?.blocking;
    if (before && before.t <= m.t && m.t - before.t <= this.limits.beforeMs) return null;
    const clean = `from ${name}, with nothing suspicious there before`;
    const admin = m.account ? this.routine.managementAccount(m.account) : undefined;
    if (admin) return { kind: 'management', why: `${admin.why}; ${clean}` };
    const sources = [m.from, ...alsoFrom, ...this.book.addresses(from).map((ip) => 'ip:' + ip)];
    const access = this.routine.managementAccess(sources, m.to, Math.floor(m.t / DAY));
    return access ? { kind: 'management', why: `${access.account} reached ${this.book.display(m.to)} ${clean} that day; ${access.why.why}` } : null;
  }

  /** True when the observation's account is a management account (an administrator at work). */
  private byAdministrator(o: Observation): boolean {
    const acct = obsAccounts(o, this.domain)[0]?.key;
    return !!acct && !!this.routine.managementAccount(acct);
  }

  /** Why an observation is routine: all its moves are, or (without moves) its program or detection is common or a habit. */
  private obsRoutine(o: Observation, moves: readonly Move[]): RoutineReason | null {
    if (moves.length) {
      if (moves.every((m) => m.routine)) return moves[0]!.routine;
      if (moves.some((m) => m.from.startsWith('ip:') || m.evidence)) return null;
    }
    if (o.meaning?.meaning === 'process-start') {
      const shape = o.routine ? (o.routine.program ? o.routine.subject : undefined) : programOf(o.fields, this.domain)?.shape;
      const r = shape && this.routine.commonProgram(shape);
      if (r) return r;
    }
    const rule = o.ruleId ?? o.title;
    const subject = subjectOf(o, this.domain);
    const common = this.routine.commonDetection(rule, o.title, subject.subject);
    if (common) return common;
    return o.host ? (this.routine.habit(rule, o.title, o.host, this.book.display(o.host), subject.subject) ?? null) : null;
  }

  /** A process started from a service a routine move just installed, or by a process of routine activity. */
  private routineProcess(o: Observation): RoutineReason | null {
    const st = o.host ? this.hosts.get(o.host) : undefined;
    if (!st) return null;
    const pf = this.domain.processFields;
    const parentGuid = firstString(o.fields, ['ParentProcessGuid'])?.toLowerCase();
    const byParent = parentGuid ? st.processes.get(parentGuid) : undefined;
    if (byParent && o.t - byParent.t <= this.limits.beforeMs) return byParent.routine;
    const images = [firstString(o.fields, pf.image), firstString(o.fields, pf.parent)].map((x) => x && binaryPath(x)).filter((x): x is string => !!x);
    for (const s of st.services) {
      if (o.t >= s.t - 5_000 && o.t - s.t <= SERVICE_MS && images.includes(s.binary)) return s.routine;
    }
    return null;
  }

  /** Remember what routine installed or started on a host, for what it starts next. */
  private rememberRoutine(o: Observation, routine: RoutineReason): void {
    const st = this.state(o.host!, o.t);
    if (!st) return;
    if (o.meaning?.meaning === 'service-install') {
      const bin = firstString(o.fields, this.domain.serviceBinaryFields);
      const path = bin && binaryPath(bin);
      if (path) {
        st.services.push({ binary: path, t: o.t, routine });
        if (st.services.length > ROUTINE_SERVICES) st.services.shift();
      }
    }
    const guid = firstString(o.fields, ['ProcessGuid'])?.toLowerCase();
    if (guid) {
      st.processes.set(guid, { t: o.t, routine });
      if (st.processes.size > ROUTINE_PROCESSES) st.processes.delete(st.processes.keys().next().value!);
    }
  }

  private rarity(o: Observation): number {
    const hosts = this.routine.spreadOf(o.ruleId ?? o.title, subjectOf(o, this.domain).subject);
    return hosts > 1 ? 1 / (1 + Math.log2(hosts)) : 1;
  }

  private nearestArrival(host: string, t: number): Move | undefined {
    const st = this.hosts.get(host);
    let best: Move | undefined;
    for (const a of st?.arrivals ?? []) {
      if (a.attempt || Math.abs(a.t - t) > this.limits.attachMs) continue;
      if (!best || Math.abs(a.t - t) < Math.abs(best.t - t)) best = a;
    }
    return best;
  }

  private logonIdsOf(o: Observation): string[] {
    const out: string[] = [];
    for (const k of this.domain.logonIdFields) {
      const v = stringOf(o.fields[k])?.toLowerCase();
      if (v && !this.domain.isNoiseLogonId(v) && !out.includes(v)) out.push(v);
    }
    return out;
  }

  private state(host: string, t: number): HostState | undefined {
    let st = this.hosts.get(host);
    if (!st) {
      if (this.hosts.size >= MAX_HOSTS) {
        this.hostsDropped++;
        return undefined;
      }
      this.hosts.set(host, (st = { suspicious: null, blocking: null, arrivals: [], services: [], processes: new Map(), last: t }));
    }
    if (t > st.last) st.last = t;
    return st;
  }
}

/** A service's or process's program as a lower-case path: quotes and arguments dropped, the Windows folder's variables expanded. */
export function binaryPath(raw: string): string | undefined {
  let p = raw.trim().toLowerCase();
  if (p.startsWith('"')) p = p.slice(1, p.indexOf('"', 1) > 0 ? p.indexOf('"', 1) : undefined);
  else {
    const exe = p.search(/\.(exe|com|bat|cmd)(\s|$)/);
    if (exe > 0) p = p.slice(0, exe + 4);
  }
  p = p
    .replace(/^%systemroot%|^%windir%|^\\systemroot/, 'c:\\windows')
    .replace(/^system32\\/, 'c:\\windows\\system32\\')
    .replace(/^\\\?\?\\/, '');
  return p || undefined;
}

function firstString(f: Observation['fields'], names: readonly string[]): string | undefined {
  for (const k of names) {
    const v = stringOf(f[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}
