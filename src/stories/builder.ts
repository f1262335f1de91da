/**
 * Stories: detections joined into incidents across hosts and accounts (docs/stories.md).
 *
 * Each detection names entities (its host, accounts, remote addresses and workstations, logon
 * IDs, process GUIDs, service names, file paths). Two detections belong to the same story when
 * they share an entity seen within the proximity window of each other; stories are the connected
 * components of that graph, kept with a union-find over component ids. Movement between hosts
 * (spread edges) comes from the remote address or workstation a detection names, resolved to a
 * host through addresses learnt from the events (`learnAddress`, see ./addresses.ts), and from
 * the contributors of correlation detections.
 *
 * This is a stateful stage with bounded memory: entities expire after their window, closed
 * components that fail the noise rule are dropped, and every per-story list is capped; `stats()`
 * says what was dropped.
 */
import { createHash } from 'node:crypto';
import type { FieldValue } from '../events/event.js';
import type { DetectionRecord } from '../detections/record.js';
import { readAttackTags, TACTICS, techniquePhrase, techniqueRef } from '../detections/attack.js';
import { LEVELS, type Level } from '../sigma/model.js';
import { hostKey, hostName, normaliseIp } from './addresses.js';
import type { PatientZero, SpreadEdge, Story, StoryDetectionRef, StoryHost, StoryTactic, TechniqueRef } from './model.js';
import { isMovementTechnique, movementRank } from './techniques.js';

export interface StoryOptions {
  /** Two detections sharing a host, account, address, service or file join within this (ms). Default 2 h. */
  windowMs?: number;
  /** Window for unique identifiers (process GUIDs, logon IDs), which never collide by chance. Default 24 h. */
  strongWindowMs?: number;
  /** Detections below this level are not joined (default `low`: informational rules are ignored). */
  minLevel?: Level;
  /** A movement detection without a source attaches to an incoming edge this close in time (ms). Default 15 min. */
  attachMs?: number;
  /** Entities remembered at once (default 200,000). */
  maxEntities?: number;
  /** Components open at once before the oldest are closed early (default 20,000). */
  maxOpen?: number;
  /** Stories kept (the highest scores; default 500). */
  maxStories?: number;
  /** Detections listed per story timeline (default 200). */
  maxTimeline?: number;
  /** Hosts, accounts, addresses, edges and distinct rules kept per story (default 200 each). */
  maxPerStory?: number;
  /** IP addresses whose owner is remembered (default 100,000). */
  maxAddresses?: number;
}

export interface StoryStats {
  /** Detections passed to `add`. */
  seen: number;
  /** Joined into components. */
  used: number;
  hidden: number;
  belowLevel: number;
  untimed: number;
  correlations: number;
  /** Components closed because they failed the noise rule (lone low-severity detections). */
  discarded: number;
  /** Qualifying stories dropped because more than `maxStories` qualified (lowest scores). */
  storiesDropped: number;
  /** Components closed before their window ended because `maxOpen` was reached. */
  closedEarly: number;
  /** Entities not remembered because `maxEntities` was reached. */
  entitiesDropped: number;
  entities: number;
  open: number;
  addresses: number;
  addressesDropped: number;
}

const HOUR = 3_600_000;
const MIN = 60_000;
/** An edge explains a host's first touch when it arrives no later than this after it (clock skew). */
const EXPLAIN_SLACK_MS = 5 * MIN;
/** A claim made slightly after the detection still counts (events are logged with skew). */
const CLAIM_SLACK_MS = 5 * MIN;
/** Keys taken from one detection at most (a deletion burst can name hundreds of files). */
const MAX_KEYS = 32;
/** Claims remembered per address (DHCP can hand one address to several hosts over time). */
const CLAIMS_PER_IP = 4;
const SWEEP_EVERY = 1024;

const LEVEL_RANK = new Map<Level, number>(LEVELS.map((l, i) => [l, i]));
const rank = (l: Level): number => LEVEL_RANK.get(l) ?? 0;
/** Score weight of one detection per level (see docs/stories.md). */
const LEVEL_WEIGHT: Record<Level, number> = { informational: 0, low: 1, medium: 3, high: 6, critical: 10 };
const TACTIC_INDEX = new Map(TACTICS.map((t, i) => [t.short, i]));

/** Accounts that act on every machine and link nothing: Windows' own service identities. */
const NOISE_ACCOUNTS = new Set([
  '',
  '-',
  'system',
  'local service',
  'localservice',
  'network service',
  'networkservice',
  'anonymous logon',
  'localsystem',
  'iusr',
  'defaultaccount',
  'guest',
  'trustedinstaller',
]);
const NOISE_DOMAINS = new Set(['nt authority', 'font driver host', 'window manager', 'nt service', 'iis apppool', 'nt virtual machine']);
/** Logon IDs of SYSTEM, NETWORK SERVICE, LOCAL SERVICE and "none". */
const NOISE_LOGON_IDS = new Set(['0x0', '0x3e7', '0x3e4', '0x3e5', '0', '999', '996', '997']);

/** Account fields: [name field, domain field]; a name may carry its domain (`CORP\alice`, `alice@corp.local`). */
const ACCOUNT_FIELDS: [string, string | null][] = [
  ['TargetUserName', 'TargetDomainName'],
  ['SubjectUserName', 'SubjectDomainName'],
  ['User', null],
  ['SourceUser', null],
  ['ParentUser', null],
  ['AccountName', 'AccountDomain'],
];
const STRONG_ID_FIELDS = ['ProcessGuid', 'ParentProcessGuid', 'SourceProcessGUID', 'SourceProcessGuid'];
const LOGON_ID_FIELDS = ['TargetLogonId', 'SubjectLogonId', 'LogonId'];
/** Addresses a detection may name; which of them is a *source* depends on the event (sourceAddresses). */
const IP_FIELDS = ['IpAddress', 'SourceIp', 'DestinationIp', 'SourceAddress', 'DestAddress', 'ClientAddress', 'SourceNetworkAddress'];
const FILE_FIELDS = ['TargetFilename', 'ImagePath'];

/**
 * Every event field the builder reads from a detection (the lists above and the fields that
 * `sources`, `movementOf` and `observation` name). A hunt whose outputs need no full events sends
 * only these (and what correlations read) from its workers; the hunt tests compare the stories
 * built from such slim events with those built from full ones, so a field read here but missing
 * from this list fails them.
 */
export const STORY_FIELDS: readonly string[] = [
  ...new Set([
    ...ACCOUNT_FIELDS.flatMap(([n, d]) => (d ? [n, d] : [n])),
    ...STRONG_ID_FIELDS,
    ...LOGON_ID_FIELDS,
    ...IP_FIELDS,
    ...FILE_FIELDS,
    'EventID',
    'Channel',
    'ServiceName',
    'Initiated',
    'WorkstationName',
    'SourceHostname',
    'TargetServerName',
    'LogonType',
    'ShareName',
  ]),
];

type Kind = 'weak' | 'strong';

interface Entity {
  root: number;
  last: number;
  strong: boolean;
}

interface Claim {
  t: number;
  host: string;
}

/** What one detection (or correlation contributor) says, in the form the aggregate needs. */
interface Observation {
  t: number;
  host: string | null;
  hostName: string | null;
  fields: Record<string, FieldValue>;
  eventId: number | null;
  channel: string | null;
  tags: readonly string[];
  ruleId: string | null;
  title: string;
}

interface TacticFirst {
  t: number;
  computer: string | null;
  title: string;
  strong: boolean;
  /** The rule is tagged with more than two tactics, so it says less about each. */
  broad: boolean;
}

/**
 * True when `x` should replace `prev` as a tactic's first detection: medium-or-above beats low,
 * then a rule tagged with one or two tactics beats a broad one, then earlier beats later.
 */
function earlier(x: TacticFirst, prev: TacticFirst | undefined): boolean {
  if (!prev) return true;
  if (x.strong !== prev.strong) return x.strong;
  if (x.broad !== prev.broad) return !x.broad;
  return x.t < prev.t;
}

interface HostAcc {
  name: string;
  first: number;
  detections: number;
  maxLevel: number;
}

interface EdgeAcc {
  /** `h:key` or `ip:addr`. */
  from: string;
  to: string;
  at: number;
  techniques: Map<string, TechniqueRef>;
  detections: Map<string, { id: string | null; title: string }>;
}

interface Lateral {
  host: string;
  t: number;
  technique: TechniqueRef;
  rule: { id: string | null; title: string };
}

class Agg {
  firstT = Infinity;
  firstSig = '';
  lastT = -Infinity;
  count = 0;
  correlations = 0;
  levels: Record<Level, number> = { informational: 0, low: 0, medium: 0, high: 0, critical: 0 };
  hosts = new Map<string, HostAcc>();
  accounts = new Map<string, string>();
  ips = new Set<string>();
  edges = new Map<string, EdgeAcc>();
  lateral: Lateral[] = [];
  /** Tactic → its first detection, preferring medium-or-above ones (`strong`) over low ones. */
  tactics = new Map<string, TacticFirst>();
  techniques = new Set<string>();
  rules = new Map<string, { id: string | null; title: string; level: Level; count: number }>();
  refs: StoryDetectionRef[] = [];
  /** Index of the weakest entry of a full `refs` (-1: not known). */
  worstRef = -1;
  logCleared: { t: number; computer: string | null; title: string } | null = null;
  /** For the noise rule: tactics and rules of medium-or-above detections (two of each are enough). */
  mediumTactics = new Set<string>();
  mediumRules = new Set<string>();
  omitted = { timeline: 0, hosts: 0, accounts: 0, sourceIps: 0, spread: 0, rules: 0 };

  constructor(readonly id: number) {}

  size(): number {
    return this.count + this.hosts.size + this.edges.size;
  }
}

/** Joins detections into stories; feed it detections in time order, then call `finish`. */
export class StoryBuilder {
  private readonly window: number;
  private readonly strongWindow: number;
  private readonly minRank: number;
  private readonly attach: number;
  private readonly maxEntities: number;
  private readonly maxOpen: number;
  private readonly maxStories: number;
  private readonly maxTimeline: number;
  private readonly cap: number;
  private readonly maxAddresses: number;

  private readonly entities = new Map<string, Entity>();
  private readonly parent = new Map<number, number>();
  private readonly open = new Map<number, Agg>();
  private closed: Agg[] = [];
  private readonly claims = new Map<string, Claim[]>();
  /** Host key → the longest name seen for it (FQDN over short name). */
  private readonly names = new Map<string, string>();
  private nextId = 1;
  private now = -Infinity;
  private sinceSweep = 0;
  private readonly st: StoryStats = {
    seen: 0,
    used: 0,
    hidden: 0,
    belowLevel: 0,
    untimed: 0,
    correlations: 0,
    discarded: 0,
    storiesDropped: 0,
    closedEarly: 0,
    entitiesDropped: 0,
    entities: 0,
    open: 0,
    addresses: 0,
    addressesDropped: 0,
  };

  constructor(options: StoryOptions = {}) {
    this.window = options.windowMs ?? 2 * HOUR;
    this.strongWindow = Math.max(this.window, options.strongWindowMs ?? 24 * HOUR);
    this.minRank = rank(options.minLevel ?? 'low');
    this.attach = options.attachMs ?? 15 * MIN;
    this.maxEntities = options.maxEntities ?? 200_000;
    this.maxOpen = options.maxOpen ?? 20_000;
    this.maxStories = options.maxStories ?? 500;
    this.maxTimeline = options.maxTimeline ?? 200;
    this.cap = options.maxPerStory ?? 200;
    this.maxAddresses = options.maxAddresses ?? 100_000;
  }

  /** Remember that `ip` belonged to `host` (at `at`, ISO; any time when omitted). */
  learnAddress(ip: string, host: string, at?: string): void {
    const addr = normaliseIp(ip);
    const name = hostName(host);
    if (!addr || !name) return;
    const key = hostKey(name);
    this.nameHost(key, name);
    const t = at ? Date.parse(at) : -Infinity;
    const when = Number.isNaN(t) ? -Infinity : t;
    let list = this.claims.get(addr);
    if (!list) {
      if (this.claims.size >= this.maxAddresses) {
        this.st.addressesDropped++;
        return;
      }
      list = [];
      this.claims.set(addr, list);
    }
    const same = list.find((c) => c.host === key);
    if (same) {
      // Keep the earliest time a host was seen with the address: it owned it from then on.
      if (when < same.t) same.t = when;
      return;
    }
    if (list.length >= CLAIMS_PER_IP) list.splice(0, 1);
    list.push({ t: when, host: key });
    list.sort((a, b) => a.t - b.t);
  }

  /** Add one detection (in time order; `hidden` ones are ignored). */
  add(d: DetectionRecord): void {
    this.st.seen++;
    if (d.hidden) return void this.st.hidden++;
    if (rank(d.level) < this.minRank) return void this.st.belowLevel++;
    const t = d.timestamp ? Date.parse(d.timestamp) : NaN;
    if (Number.isNaN(t)) return void this.st.untimed++;
    this.st.used++;
    if (t > this.now) this.now = t;

    const obs: Observation[] = [this.observation(d.computer, t, d.event, d.eventId, d.channel, d.rule.tags, d.rule.id, d.rule.title)];
    if (d.rule.kind === 'correlation') this.st.correlations++;
    for (const c of d.correlation?.contributors ?? []) {
      const ct = c.timestamp ? Date.parse(c.timestamp) : NaN;
      const fields = { ...c.fields };
      // The group (e.g. {IpAddress: 10.1.2.3}) applies to every contributor.
      for (const [k, v] of Object.entries(d.correlation!.group)) if (v !== null && fields[k] === undefined) fields[k] = v;
      obs.push(this.observation(c.computer, Number.isNaN(ct) ? t : ct, fields, numberOf(fields.EventID) ?? null, stringOf(fields.Channel) ?? null, d.rule.tags, d.rule.id, d.rule.title));
    }

    const keys = new Map<string, Kind>();
    for (const o of obs) this.keysOf(o, keys);
    const agg = this.join(keys, t);
    this.record(agg, d, t, obs);

    if (++this.sinceSweep >= SWEEP_EVERY || this.entities.size > this.maxEntities) this.sweep();
  }

  /** Counters: what was used, ignored and dropped. */
  stats(): StoryStats {
    return { ...this.st, entities: this.entities.size, open: this.open.size, addresses: this.claims.size };
  }

  /** Close everything and return the stories that pass the noise rule, highest score first. */
  finish(): Story[] {
    for (const a of this.open.values()) this.close(a);
    this.open.clear();
    this.entities.clear();
    this.parent.clear();
    const stories = this.closed.map((a) => this.story(a));
    stories.sort((a, b) => b.score - a.score || (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0));
    this.closed = [];
    return stories;
  }

  // ---- joining ---------------------------------------------------------------------------

  private observation(
    computer: string | null,
    t: number,
    fields: Record<string, FieldValue>,
    eventId: number | null,
    channel: string | null,
    tags: readonly string[],
    ruleId: string | null,
    title: string,
  ): Observation {
    const name = hostName(computer ?? undefined) ?? null;
    const host = name ? hostKey(name) : null;
    if (host && name) this.nameHost(host, name);
    return { t, host, hostName: name, fields, eventId: eventId ?? numberOf(fields.EventID) ?? null, channel: channel ?? stringOf(fields.Channel) ?? null, tags, ruleId, title };
  }

  private keysOf(o: Observation, out: Map<string, Kind>): void {
    const put = (k: string, kind: Kind) => {
      if (out.size < MAX_KEYS && !out.has(k)) out.set(k, kind);
    };
    const f = o.fields;
    if (o.host) put('h:' + o.host, 'weak');
    for (const src of this.sources(o)) if (src.startsWith('h:')) put(src, 'weak');
    for (const a of accountsOf(f, o.host)) {
      put('u:' + a.key, 'weak');
      // A machine account acting on another host is that machine: join its host too.
      if (a.key.endsWith('$')) put('h:' + hostKey(a.key.slice(0, -1)), 'weak');
    }
    for (const k of IP_FIELDS) {
      const ip = normaliseIp(stringOf(f[k]));
      if (ip) put('ip:' + ip, 'weak');
    }
    if (o.host) {
      for (const k of LOGON_ID_FIELDS) {
        const v = stringOf(f[k])?.toLowerCase();
        if (v && !NOISE_LOGON_IDS.has(v)) put(`l:${o.host}:${v}`, 'strong');
      }
    }
    for (const k of STRONG_ID_FIELDS) {
      const v = stringOf(f[k])?.toLowerCase().replace(/[{}]/g, '');
      if (v && !/^[0-]*$/.test(v)) put('p:' + v, 'strong');
    }
    const svc = stringOf(f.ServiceName)?.trim().toLowerCase();
    if (svc) put('s:' + svc, 'weak');
    for (const k of FILE_FIELDS) {
      const v = stringOf(f[k])?.trim().toLowerCase();
      if (v && v.length > 3) put('f:' + v, 'weak');
    }
  }

  /** Merge the live components the keys point to (or start one) and refresh the keys. */
  private join(keys: Map<string, Kind>, t: number): Agg {
    const roots = new Set<number>();
    for (const [k, kind] of keys) {
      const e = this.entities.get(k);
      if (e && Math.abs(t - e.last) <= (kind === 'strong' ? this.strongWindow : this.window)) {
        const r = this.find(e.root);
        if (this.open.has(r)) roots.add(r);
      }
    }
    let agg: Agg;
    if (roots.size === 0) {
      agg = new Agg(this.nextId++);
      this.open.set(agg.id, agg);
      this.parent.set(agg.id, agg.id);
    } else {
      const aggs = [...roots].map((r) => this.open.get(r)!);
      aggs.sort((a, b) => b.size() - a.size());
      agg = aggs[0]!;
      for (const other of aggs.slice(1)) {
        this.mergeInto(agg, other);
        this.open.delete(other.id);
        this.parent.set(other.id, agg.id);
      }
    }
    for (const [k, kind] of keys) {
      const e = this.entities.get(k);
      if (e) {
        e.root = agg.id;
        if (t > e.last) e.last = t;
      } else if (this.entities.size < this.maxEntities) {
        this.entities.set(k, { root: agg.id, last: t, strong: kind === 'strong' });
      } else {
        this.st.entitiesDropped++;
      }
    }
    return agg;
  }

  private find(id: number): number {
    let r = id;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    // Path compression.
    for (let x = id, p = this.parent.get(x); p !== undefined && p !== r; x = p, p = this.parent.get(x)) this.parent.set(x, r);
    return r;
  }

  /**
   * Drop expired entities; close components no live entity points to (they can never grow
   * again); close the oldest ones early when too many are open.
   */
  private sweep(): void {
    this.sinceSweep = 0;
    const live = new Set<number>();
    for (const [k, e] of this.entities) {
      if (this.now - e.last > (e.strong ? this.strongWindow : this.window)) {
        this.entities.delete(k);
        continue;
      }
      e.root = this.find(e.root);
      live.add(e.root);
    }
    for (const [id, a] of this.open) {
      if (!live.has(id)) {
        this.close(a);
        this.open.delete(id);
      }
    }
    if (this.open.size > this.maxOpen) {
      const oldest = [...this.open.values()].sort((a, b) => a.lastT - b.lastT).slice(0, this.open.size - this.maxOpen);
      for (const a of oldest) {
        this.close(a);
        this.open.delete(a.id);
        live.delete(a.id);
        this.st.closedEarly++;
      }
      for (const [k, e] of this.entities) if (!live.has(e.root)) this.entities.delete(k);
    }
    // Entities now point at roots only, so the union-find can forget merged ids.
    this.parent.clear();
    for (const id of this.open.keys()) this.parent.set(id, id);
  }

  private close(a: Agg): void {
    if (!qualifies(a)) return void this.st.discarded++;
    this.closed.push(a);
    if (this.closed.length > this.maxStories * 2) this.trimClosed();
  }

  private trimClosed(): void {
    const scored = this.closed.map((a) => ({ a, s: this.scoreOf(a) })).sort((x, y) => y.s - x.s);
    this.st.storiesDropped += Math.max(0, scored.length - this.maxStories);
    this.closed = scored.slice(0, this.maxStories).map((x) => x.a);
  }

  // ---- what a detection adds to its story ------------------------------------------------

  private record(a: Agg, d: DetectionRecord, t: number, obs: Observation[]): void {
    a.count++;
    if (d.rule.kind === 'correlation') a.correlations++;
    a.levels[d.level] = (a.levels[d.level] ?? 0) + 1;
    const sig = `${d.timestamp}|${d.computer ?? ''}|${d.rule.id ?? d.rule.title}|${d.recordId ?? ''}|${d.sourceFile}`;
    if (t < a.firstT || (t === a.firstT && sig < a.firstSig)) {
      a.firstT = t;
      a.firstSig = sig;
    }
    if (t > a.lastT) a.lastT = t;

    const { tactics, techniques } = readAttackTags(d.rule.tags);
    const main = obs[0]!;
    for (const tac of tactics) {
      const first = { t, computer: main.hostName, title: d.rule.title, strong: rank(d.level) >= rank('medium'), broad: tactics.length > 2 };
      if (earlier(first, a.tactics.get(tac))) a.tactics.set(tac, first);
      if (rank(d.level) >= rank('medium') && a.mediumTactics.size < 2) a.mediumTactics.add(tac);
    }
    for (const tech of techniques) a.techniques.add(tech);
    if (isLogClear(d, techniques) && (!a.logCleared || t < a.logCleared.t)) a.logCleared = { t, computer: main.hostName, title: d.rule.title };
    if (rank(d.level) >= rank('medium') && a.mediumRules.size < 2) a.mediumRules.add(d.rule.id ?? d.rule.title);

    const rk = d.rule.id ?? d.rule.title;
    const rule = a.rules.get(rk);
    if (rule) rule.count++;
    else if (a.rules.size < this.cap) a.rules.set(rk, { id: d.rule.id, title: d.rule.title, level: d.level, count: 1 });
    else a.omitted.rules++;

    this.addRef(a, {
      timestamp: d.timestamp!,
      computer: d.computer,
      title: d.rule.title,
      ruleId: d.rule.id,
      level: d.level,
      kind: d.rule.kind,
      eventId: d.eventId,
      recordId: d.recordId,
    });

    const ruleRef = { id: d.rule.id, title: d.rule.title };
    const tagMovement = techniques.filter(isMovementTechnique).map(techniqueRef);
    obs.forEach((o, i) => {
      if (o.host) this.touch(a, o.host, o.t, i === 0 ? d.level : null);
      // Names tried in failed logons are guesses, not accounts the attacker holds: they join, but are not listed.
      const failed = o.eventId === 4625 || o.eventId === 4771;
      for (const acc of failed ? [] : accountsOf(o.fields, o.host)) {
        if (a.accounts.has(acc.key)) {
          // Prefer a display with a domain over a bare name.
          if (!a.accounts.get(acc.key)!.includes('\\') && acc.display.includes('\\')) a.accounts.set(acc.key, acc.display);
        } else if (a.accounts.size < this.cap) a.accounts.set(acc.key, acc.display);
        else a.omitted.accounts++;
      }
      for (const k of IP_FIELDS) {
        const ip = normaliseIp(stringOf(o.fields[k]));
        if (!ip || a.ips.has(ip) || (o.host && this.owner(ip, o.t) === o.host)) continue;
        if (a.ips.size < this.cap) a.ips.add(ip);
        else a.omitted.sourceIps++;
      }
      // Movement: edges into this host from the sources it names, or out of it (4648).
      const via = movementOf(o, tagMovement);
      if (o.host) {
        let sourced = false;
        for (const src of this.sources(o)) {
          if (src === 'h:' + o.host) continue;
          this.edge(a, src, o.host, o.t, via, ruleRef);
          sourced = true;
        }
        const target = o.eventId === 4648 ? hostName(stringOf(o.fields.TargetServerName)) : undefined;
        if (target && hostKey(target) !== o.host) {
          this.nameHost(hostKey(target), target);
          this.edge(a, 'h:' + o.host, hostKey(target), o.t, via, ruleRef);
          sourced = true;
        }
        if (!sourced && (tagMovement.length || o.eventId === 7045) && a.lateral.length < this.cap) {
          a.lateral.push({ host: o.host, t: o.t, technique: via, rule: ruleRef });
        }
      }
    });
  }

  /**
   * Where an action on this host came from: `h:key` when the remote address or workstation is
   * a known host, `ip:addr` when only the address is known.
   */
  private sources(o: Observation): string[] {
    const f = o.fields;
    const out: string[] = [];
    let ip: string | undefined;
    if (o.eventId === 3) {
      // Sysmon 3: only an inbound connection has a remote source.
      const initiated = f.Initiated === true || stringOf(f.Initiated)?.toLowerCase() === 'true';
      if (!initiated) ip = normaliseIp(stringOf(f.SourceIp));
    } else if (o.eventId !== 4648) {
      // 4648 names the target's address, not a source. Everything else names the client.
      ip = normaliseIp(stringOf(f.IpAddress) ?? stringOf(f.ClientAddress) ?? stringOf(f.SourceNetworkAddress));
    }
    if (ip) {
      const owner = this.owner(ip, o.t);
      out.push(owner ? 'h:' + owner : 'ip:' + ip);
    }
    if (!ip || !this.owner(ip, o.t)) {
      const ws = hostName(stringOf(f.WorkstationName) ?? stringOf(f.SourceHostname));
      if (ws && o.eventId !== 3) {
        const k = hostKey(ws);
        this.nameHost(k, ws);
        if (!out.includes('h:' + k)) out.push('h:' + k);
        // An address with a workstation name is the same machine: do not also draw the address.
        if (ip) out.splice(out.indexOf('ip:' + ip), 1);
      }
    }
    return out;
  }

  /** The host that owned `ip` at time `t` (the latest claim not after it, else the earliest). */
  private owner(ip: string, t: number): string | undefined {
    const list = this.claims.get(ip);
    if (!list || !list.length) return undefined;
    let best: Claim | undefined;
    for (const c of list) if (c.t <= t + CLAIM_SLACK_MS) best = c;
    return (best ?? list[0]!).host;
  }

  private touch(a: Agg, host: string, t: number, level: Level | null): void {
    let h = a.hosts.get(host);
    if (!h) {
      if (a.hosts.size >= this.cap) return void a.omitted.hosts++;
      h = { name: this.names.get(host) ?? host, first: t, detections: 0, maxLevel: -1 };
      a.hosts.set(host, h);
    }
    if (t < h.first) h.first = t;
    if (level !== null) {
      h.detections++;
      h.maxLevel = Math.max(h.maxLevel, rank(level));
    }
  }

  private edge(a: Agg, from: string, to: string, t: number, via: TechniqueRef, rule: { id: string | null; title: string }): void {
    const key = from + '\u0000' + to;
    let e = a.edges.get(key);
    if (!e) {
      if (a.edges.size >= this.cap) return void a.omitted.spread++;
      e = { from, to, at: t, techniques: new Map(), detections: new Map() };
      a.edges.set(key, e);
    }
    if (t < e.at) e.at = t;
    e.techniques.set(via.id ?? via.name, via);
    if (e.detections.size < 20) e.detections.set(rule.id ?? rule.title, rule);
  }

  /** Keep at most `maxTimeline` refs: when full, a more severe detection replaces the least severe latest one. */
  private addRef(a: Agg, r: StoryDetectionRef): void {
    if (a.refs.length < this.maxTimeline) {
      a.refs.push(r);
      a.worstRef = -1;
      return;
    }
    // The full timeline's weakest entry is found once and kept until it is replaced: a big story
    // meets thousands of detections, and most of them replace nothing.
    if (a.worstRef < 0) {
      let worst = 0;
      for (let i = 1; i < a.refs.length; i++) {
        const x = a.refs[i]!;
        const w = a.refs[worst]!;
        if (rank(x.level) < rank(w.level) || (rank(x.level) === rank(w.level) && x.timestamp > w.timestamp)) worst = i;
      }
      a.worstRef = worst;
    }
    a.omitted.timeline++;
    if (rank(r.level) > rank(a.refs[a.worstRef]!.level)) {
      a.refs[a.worstRef] = r;
      a.worstRef = -1;
    }
  }

  private mergeInto(a: Agg, b: Agg): void {
    a.count += b.count;
    a.correlations += b.correlations;
    for (const l of LEVELS) a.levels[l] += b.levels[l];
    if (b.firstT < a.firstT || (b.firstT === a.firstT && b.firstSig < a.firstSig)) {
      a.firstT = b.firstT;
      a.firstSig = b.firstSig;
    }
    a.lastT = Math.max(a.lastT, b.lastT);
    for (const [k, h] of b.hosts) {
      const mine = a.hosts.get(k);
      if (mine) {
        mine.first = Math.min(mine.first, h.first);
        mine.detections += h.detections;
        mine.maxLevel = Math.max(mine.maxLevel, h.maxLevel);
      } else if (a.hosts.size < this.cap) a.hosts.set(k, h);
      else a.omitted.hosts++;
    }
    for (const [k, v] of b.accounts) {
      if (a.accounts.has(k)) continue;
      if (a.accounts.size < this.cap) a.accounts.set(k, v);
      else a.omitted.accounts++;
    }
    for (const ip of b.ips) {
      if (a.ips.has(ip)) continue;
      if (a.ips.size < this.cap) a.ips.add(ip);
      else a.omitted.sourceIps++;
    }
    for (const [k, e] of b.edges) {
      const mine = a.edges.get(k);
      if (mine) {
        mine.at = Math.min(mine.at, e.at);
        for (const [tk, tv] of e.techniques) mine.techniques.set(tk, tv);
        for (const [dk, dv] of e.detections) if (mine.detections.size < 20) mine.detections.set(dk, dv);
      } else if (a.edges.size < this.cap) a.edges.set(k, e);
      else a.omitted.spread++;
    }
    for (const l of b.lateral) if (a.lateral.length < this.cap) a.lateral.push(l);
    for (const [k, v] of b.tactics) {
      const mine = a.tactics.get(k);
      if (earlier(v, mine)) a.tactics.set(k, v);
    }
    for (const x of b.techniques) a.techniques.add(x);
    for (const x of b.mediumTactics) if (a.mediumTactics.size < 2) a.mediumTactics.add(x);
    for (const x of b.mediumRules) if (a.mediumRules.size < 2) a.mediumRules.add(x);
    if (b.logCleared && (!a.logCleared || b.logCleared.t < a.logCleared.t)) a.logCleared = b.logCleared;
    for (const [k, r] of b.rules) {
      const mine = a.rules.get(k);
      if (mine) mine.count += r.count;
      else if (a.rules.size < this.cap) a.rules.set(k, r);
      else a.omitted.rules++;
    }
    for (const k of Object.keys(a.omitted) as (keyof Agg['omitted'])[]) a.omitted[k] += b.omitted[k];
    const refs = a.refs.concat(b.refs);
    if (refs.length > this.maxTimeline) {
      refs.sort((x, y) => rank(y.level) - rank(x.level) || (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : 0));
      a.omitted.timeline += refs.length - this.maxTimeline;
      refs.length = this.maxTimeline;
    }
    a.refs = refs;
    a.worstRef = -1;
  }

  private nameHost(key: string, name: string): void {
    const prev = this.names.get(key);
    if (prev === undefined || name.length > prev.length) {
      if (prev === undefined && this.names.size >= this.maxAddresses) return;
      this.names.set(key, name);
    }
  }

  // ---- finishing a story -------------------------------------------------------------------

  private scoreOf(a: Agg): number {
    return score(a.levels, a.hosts.size, a.accounts.size, a.tactics.size, a.edges.size > 0);
  }

  private story(a: Agg): Story {
    const iso = (t: number) => new Date(t).toISOString();
    const display = (key: string) => this.names.get(key) ?? key;

    // Resolve edges whose source was only an address when the detection arrived.
    const edges = new Map<string, EdgeAcc>();
    for (const e of a.edges.values()) {
      let from = e.from;
      if (from.startsWith('ip:')) {
        const owner = this.owner(from.slice(3), e.at);
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
        if (e.to !== l.host || Math.abs(e.at - l.t) > this.attach) continue;
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
        else if (hosts.size < this.cap) hosts.set(k, { name: display(k), first: e.at, detections: 0, maxLevel: -1 });
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
      const owner = this.owner(ip, a.lastT);
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
}

// ---- pure helpers ----------------------------------------------------------------------------

/**
 * The noise rule (docs/stories.md): a story needs a high or critical detection; or a correlation
 * detection; or medium detections from two different rules that together reach two tactics
 * (progression); or a medium detection and movement from one known host to another. Low and
 * informational detections never make a story on their own, and neither does one medium rule
 * firing again and again (a helpdesk habit, a scanner on the internet).
 */
function qualifies(a: Agg): boolean {
  if (a.correlations > 0) return true;
  if (a.levels.high + a.levels.critical > 0) return true;
  if (a.levels.medium === 0) return false;
  if (a.mediumTactics.size >= 2 && a.mediumRules.size >= 2) return true;
  for (const e of a.edges.values()) if (e.from.startsWith('h:')) return true;
  return false;
}

/**
 * severity (per level, weight × (1 + log2 count)) + breadth (8 per extra host up to 10, 3 per
 * extra account up to 5) + progression (5 per tactic, 5 more when it spread).
 */
export function score(levels: Record<Level, number>, hosts: number, accounts: number, tactics: number, spread: boolean): number {
  let s = 0;
  for (const l of LEVELS) if (levels[l] > 0) s += LEVEL_WEIGHT[l] * (1 + Math.log2(levels[l]));
  s += 8 * Math.min(Math.max(hosts - 1, 0), 10);
  s += 3 * Math.min(Math.max(accounts - 1, 0), 5);
  s += 5 * tactics + (spread ? 5 : 0);
  return Math.round(s);
}

/**
 * Patient zero (docs/stories.md), in order of preference:
 * 1. the root of the spread: a host that moved to another host of the story and was not itself
 *    reached from a host of the story before that (the earliest such first move wins);
 * 2. without movement between hosts, a host entered from an outside address (earliest entry);
 * 3. otherwise the earliest-touched host.
 * Activity joined only by time and place (a detection on the same host an hour before) never
 * outranks the movement the detections show.
 */
export function patientZero(hosts: readonly StoryHost[], spread: readonly SpreadEdge[]): PatientZero | null {
  if (!hosts.length) return null;
  const ms = (iso: string) => Date.parse(iso);
  const entryOf = (computer: string) => spread.filter((e) => e.to === computer && e.fromKind === 'ip')[0];
  const withEntry = (computer: string, why: string): PatientZero => {
    const entry = entryOf(computer);
    return {
      computer,
      why: why + (entry ? `; entered from ${entry.from} at ${shortTime(entry.at)} (${techniquePhrase(entry.technique)})` : ''),
      ...(entry ? { entry: { from: entry.from, at: entry.at, technique: entry.technique } } : {}),
    };
  };
  const moves = spread.filter((e) => e.fromKind === 'host' && e.from !== e.to);
  let root: { computer: string; out: SpreadEdge } | undefined;
  for (const h of hosts) {
    const out = moves.filter((e) => e.from === h.computer)[0];
    if (!out) continue;
    const reached = moves.some((e) => e.to === h.computer && ms(e.at) <= ms(out.at) + EXPLAIN_SLACK_MS);
    if (reached) continue;
    if (!root || ms(out.at) < ms(root.out.at)) root = { computer: h.computer, out };
  }
  if (root) return withEntry(root.computer, `source of the spread: moved to ${hostOf(root.out.to)} at ${shortTime(root.out.at)} and was not reached from another host of the story before`);
  const entered = spread.filter((e) => e.fromKind === 'ip' && hosts.some((h) => h.computer === e.to))[0];
  if (entered && !moves.some((e) => e.to === entered.to && ms(e.at) <= ms(entered.at) + EXPLAIN_SLACK_MS)) {
    return withEntry(entered.to, moves.length ? 'first host entered from outside' : 'entered from outside; no movement between hosts seen');
  }
  const h = hosts[0]!;
  return withEntry(h.computer, `earliest activity in the story (${shortTime(h.firstTouched)})` + (moves.length ? '; every host with outgoing movement was reached from another first' : ''));
}

function narrative(s: Story, timeline: readonly StoryDetectionRef[], logCleared: { at: string; computer: string | null; title: string } | null): string {
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

/** Event log cleared: tagged T1070.001, or the Eventlog service's own 1102 / 104 events. */
function isLogClear(d: DetectionRecord, techniques: readonly string[]): boolean {
  if (techniques.includes('T1070.001')) return true;
  return (d.eventId === 1102 || d.eventId === 104) && (d.provider ?? '').toLowerCase() === 'microsoft-windows-eventlog';
}

function listText(items: string[], sep = ', '): string {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(sep) + (sep === ', ' ? ' and ' : '; and ') + items[items.length - 1];
}

/** Host names in prose: the short name (`WS01`, not `WS01.corp.local`). */
function hostOf(name: string): string {
  const dot = name.indexOf('.');
  return dot > 0 && !/^\d/.test(name) ? name.slice(0, dot) : name;
}

function shortTime(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ') + ' UTC';
}

interface Account {
  key: string;
  display: string;
}

/**
 * The accounts a detection names, normalised: matched case-insensitively by name alone (domain
 * spellings differ between events: `CORP`, `corp.local`, a UPN), shown as `DOMAIN\name`.
 * Windows' own identities (SYSTEM, LOCAL/NETWORK SERVICE, ANONYMOUS LOGON, DWM-/UMFD- sessions)
 * link nothing and are skipped. A machine account (`WS01$`) is kept only on another host than
 * its own: on its own host it is just the local system at work, elsewhere it is that machine
 * acting over the network (relay, DCSync, a worm using the computer's credentials).
 */
export function accountsOf(fields: Record<string, FieldValue>, host: string | null): Account[] {
  const out: Account[] = [];
  for (const [nf, df] of ACCOUNT_FIELDS) {
    const raw = stringOf(fields[nf])?.trim();
    if (!raw) continue;
    let name = raw;
    let domain = df ? (stringOf(fields[df])?.trim() ?? '') : '';
    const bs = name.indexOf('\\');
    if (bs >= 0) {
      domain = name.slice(0, bs);
      name = name.slice(bs + 1);
    } else if (name.includes('@')) {
      const at = name.lastIndexOf('@');
      domain = name.slice(at + 1);
      name = name.slice(0, at);
    }
    const lname = name.toLowerCase();
    const ldomain = domain.toLowerCase();
    if (NOISE_ACCOUNTS.has(lname) || NOISE_DOMAINS.has(ldomain) || /^(dwm|umfd)-\d+$/.test(lname) || lname.startsWith('s-1-5-')) continue;
    if (lname.endsWith('$') && host !== null && hostKey(lname.slice(0, -1)) === host) continue;
    if (out.some((a) => a.key === lname)) continue;
    const dshort = domain && domain !== '-' ? hostKey(domain).toUpperCase() : '';
    out.push({ key: lname, display: dshort ? `${dshort}\\${name}` : name });
  }
  return out;
}

/** The technique a movement shows: the rule's own movement tag, else what the event says. */
function movementOf(o: Observation, tagged: TechniqueRef[]): TechniqueRef {
  if (tagged.length) return [...tagged].sort((x, y) => movementRank(x) - movementRank(y))[0]!;
  const f = o.fields;
  switch (o.eventId) {
    case 4624:
    case 4625: {
      const lt = numberOf(f.LogonType);
      if (lt === 10) return techniqueRef('T1021.001');
      return { id: null, name: o.eventId === 4625 ? 'failed network logon' : 'network logon' };
    }
    case 4648:
      return { id: null, name: 'explicit-credential logon' };
    case 5140:
    case 5145: {
      const share = stringOf(f.ShareName)?.toUpperCase() ?? '';
      return share.endsWith('ADMIN$') || /\\[A-Z]\$$/.test(share) ? techniqueRef('T1021.002') : { id: null, name: 'network share access' };
    }
    case 7045:
      return techniqueRef('T1569.002');
    default:
      return { id: null, name: 'remote access' };
  }
}

function stringOf(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function numberOf(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}
