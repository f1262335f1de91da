/**
 * What one detection says, in the terms the story graph needs: its host, the accounts, addresses,
 * logon sessions, processes, services and files it names (entity keys), where its action came
 * from, and how a movement it shows is named. Which fields mean what is data (data/domain.yml,
 * src/events/domain.ts); this module only applies it.
 */
import { LIMITS } from '../core/limits.js';
import { techniqueRef, type TechniqueRef } from '../detections/attack.js';
import type { RoutineSubject } from '../detections/record.js';
import { hostKey, hostName, normaliseIp } from '../events/addresses.js';
import type { Domain, EventMeaning } from '../events/domain.js';
import type { FieldValue } from '../events/event.js';
import type { AddressBook } from './addressbook.js';
import { movementRank } from './techniques.js';

const MAX_KEYS = LIMITS.stories.maxKeysPerDetection;
/** Characters of a field searched for a remote computer's name. */
const TARGET_SCAN = 8192;

/** Weak keys join within the proximity window; strong ones (unique identifiers) over a long one. */
export type Kind = 'weak' | 'strong';

/** What one detection (or correlation contributor) says, in the form the aggregate needs. */
export interface Observation {
  t: number;
  host: string | null;
  hostName: string | null;
  fields: Record<string, FieldValue>;
  eventId: number | null;
  channel: string | null;
  meaning: EventMeaning | undefined;
  /** The rule of this observation (a correlation contributor's own rule), as the baselines know it. */
  ruleId: string | null;
  title: string;
  /**
   * The routine subject and program the reading thread worked out from the whole event (a hunt
   * worker's, `DetectionRecord.routine`): the fields here may be fewer. Undefined: they are
   * worked out from `fields`.
   */
  routine: RoutineSubject | undefined;
  /** `obsAccounts`' answer, for the host it was worked out for (an observation is asked several times). */
  accounts?: { host: string | null; list: readonly Account[] };
}

export interface Account {
  key: string;
  display: string;
}

/**
 * Every event field the stories read from a detection: the domain's entity fields and every
 * field its event meanings test or name. A hunt whose outputs need no full events sends only
 * these (and what correlations read) from its workers; the hunt tests compare the stories built
 * from such slim events with those built from full ones, so a field read here but missing from
 * this list fails them.
 */
export function storyFields(domain: Domain): string[] {
  const d = domain.data;
  const out = new Set<string>(['EventID', 'Channel', 'Provider_Name']);
  const add = (list: readonly (string | null)[] | undefined) => list?.forEach((f) => f && out.add(f));
  const addConds = (c: Record<string, unknown> | undefined) => c && Object.keys(c).forEach((f) => out.add(f));
  for (const [n, dom] of d.accounts.fields) add([n, dom]);
  add(d.logon_ids.fields);
  add(d.process_ids);
  add(d.addresses);
  add(d.files);
  add(d.services);
  add(d.service_binaries);
  add(d.sources.address);
  add(d.sources.host);
  add(d.processes?.image);
  add(d.processes?.parent);
  add(d.processes?.command_line);
  for (const e of d.events) {
    addConds(e.when);
    addConds(e.unless);
    add(e.sources?.address);
    add(e.sources?.host);
    addConds(e.sources?.when);
    addConds(e.sources?.unless);
    add(e.target_host);
    add(e.target_address);
    add(e.target_patterns?.map((p) => p.field));
    for (const t of e.technique ?? []) addConds(t.when);
    for (const m of e.suspicious ?? []) {
      addConds(m.when);
      addConds(m.unless);
    }
  }
  return [...out];
}

/**
 * The accounts a detection names, normalised: matched case-insensitively by name alone (domain
 * spellings differ between events: `CORP`, `corp.local`, a UPN), shown as `DOMAIN\name`. The
 * system's own identities (the domain's noise accounts) link nothing and are skipped. A machine
 * account (`WS01$`) is kept only on another host than its own: on its own host it is just the
 * local system at work, elsewhere it is that machine acting over the network (relay, DCSync, a
 * worm using the computer's credentials).
 */
export function accountsOf(fields: Record<string, FieldValue>, host: string | null, domain: Domain): readonly Account[] {
  return Object.freeze(readAccounts(fields, host, domain));
}

/**
 * `accountsOf` an observation's fields on its host, kept on the observation: the judge, the entity
 * keys and the story's actors ask for them several times per detection (a weak table keyed by the
 * fields, as before, cost an ephemeron per detection in every garbage collection).
 */
export function obsAccounts(o: Observation, domain: Domain): readonly Account[] {
  const m = o.accounts;
  if (m && m.host === o.host) return m.list;
  const list = accountsOf(o.fields, o.host, domain);
  o.accounts = { host: o.host, list };
  return list;
}

function readAccounts(fields: Record<string, FieldValue>, host: string | null, domain: Domain): Account[] {
  const out: Account[] = [];
  for (const [nf, df] of domain.accountFields) {
    const raw = stringOf(fields[nf])?.trim();
    if (!raw) continue;
    let name = raw;
    let dom = df ? (stringOf(fields[df])?.trim() ?? '') : '';
    const bs = name.indexOf('\\');
    if (bs >= 0) {
      dom = name.slice(0, bs);
      name = name.slice(bs + 1);
    } else if (name.includes('@')) {
      const at = name.lastIndexOf('@');
      dom = name.slice(at + 1);
      name = name.slice(0, at);
    }
    const lname = name.toLowerCase();
    if (domain.isNoiseAccount(lname, dom.toLowerCase())) continue;
    if (lname.endsWith('$') && host !== null && hostKey(lname.slice(0, -1)) === host) continue;
    if (out.some((a) => a.key === lname)) continue;
    const dshort = dom && dom !== '-' ? hostKey(dom).toUpperCase() : '';
    out.push({ key: lname, display: dshort ? `${dshort}\\${name}` : name });
  }
  return out;
}

/**
 * The entity keys an observation names, added to `out` (at most MAX_KEYS in all): its host (with `host`), its
 * logon sessions and processes, and addresses no known host owns (an outside machine); with
 * `crossHost` (a suspicious detection or a correlation) also the accounts, services and files it
 * names, which join across hosts. Source hosts are not keys here: movement joins only with
 * evidence (./judge.ts).
 */
export function entityKeys(o: Observation, opts: { crossHost: boolean; host: boolean }, domain: Domain, book: AddressBook, out: Map<string, Kind>): void {
  const put = (k: string, kind: Kind) => {
    if (out.size < MAX_KEYS && !out.has(k)) out.set(k, kind);
  };
  const f = o.fields;
  if (o.host && opts.host) put('h:' + o.host, 'weak');
  for (const k of domain.addressFields) {
    const ip = normaliseIp(stringOf(f[k]));
    if (ip && !book.owner(ip, o.t)) put('ip:' + ip, 'weak');
  }
  if (o.host) {
    for (const k of domain.logonIdFields) {
      const v = stringOf(f[k])?.toLowerCase();
      if (v && !domain.isNoiseLogonId(v)) put(`l:${o.host}:${v}`, 'strong');
    }
  }
  for (const k of domain.processIdFields) {
    const v = stringOf(f[k])?.toLowerCase().replace(/[{}]/g, '');
    if (v && !/^[0-]*$/.test(v)) put('p:' + v, 'strong');
  }
  if (!opts.crossHost) return;
  // Names tried in failed logons are guesses: they join nothing.
  if (!o.meaning?.guesses) {
    for (const a of obsAccounts(o, domain)) {
      put('u:' + a.key, 'weak');
      // A machine account acting on another host is that machine: join its host too.
      if (a.key.endsWith('$')) put('h:' + hostKey(a.key.slice(0, -1)), 'weak');
    }
  }
  for (const k of domain.serviceFields) {
    const svc = stringOf(f[k])?.trim().toLowerCase();
    if (svc) put('s:' + svc, 'weak');
  }
  for (const k of domain.fileFields) {
    const v = stringOf(f[k])?.trim().toLowerCase();
    if (v && v.length > 3) put('f:' + v, 'weak');
  }
}

/**
 * Where an action on this host came from: `h:key` when the remote address or workstation is a
 * known host, `ip:addr` when only the address is known. Which fields name the source is the
 * event meaning's (or the domain's default) `sources`.
 */
export function sourcesOf(o: Observation, book: AddressBook, domain: Domain): string[] {
  const spec = o.meaning?.sources ?? domain.defaultSources;
  const f = o.fields;
  if (!spec.applies(f)) return [];
  const out: string[] = [];
  const ip = normaliseIp(firstPresent(f, spec.address));
  const owner = ip ? book.owner(ip, o.t) : undefined;
  if (ip) out.push(owner ? 'h:' + owner : 'ip:' + ip);
  if (!owner) {
    const ws = hostName(firstPresent(f, spec.host));
    if (ws) {
      const k = hostKey(ws);
      book.nameHost(k, ws);
      if (!out.includes('h:' + k)) out.push('h:' + k);
      // An address with a workstation name is the same machine: do not also draw the address.
      if (ip) out.splice(out.indexOf('ip:' + ip), 1);
    }
  }
  return out;
}

/**
 * The remote hosts an observation's own host acted on (outbound movement), as host keys: a field
 * naming the host, an address a host is known to own, or a computer a command line names.
 * `book.nameHost` learns the names seen.
 */
export function targetsOf(o: Observation, book: AddressBook): string[] {
  const m = o.meaning;
  if (!m || !o.host) return [];
  const out: string[] = [];
  const put = (name: string | undefined) => {
    if (!name) return;
    const k = hostKey(name);
    book.nameHost(k, name);
    if (k !== o.host && !out.includes(k)) out.push(k);
  };
  put(hostName(firstPresent(o.fields, m.targetHost)));
  const ip = normaliseIp(firstPresent(o.fields, m.targetAddress));
  if (ip) {
    const owner = book.owner(ip, o.t);
    if (owner && owner !== o.host && !out.includes(owner)) out.push(owner);
  }
  for (const p of m.targetPatterns) {
    const v = stringOf(o.fields[p.field]);
    if (!v) continue;
    // A script block can be tens of kilobytes: a remote computer is named near the start or not at all.
    const g = p.re.exec(v.length > TARGET_SCAN ? v.slice(0, TARGET_SCAN) : v)?.[1];
    if (g && !/^(localhost|127\.0\.0\.1|\.)$/i.test(g)) put(hostName(g));
  }
  return out;
}

/** The technique a movement shows: the rule's own movement tag, else what the event means. */
export function movementOf(o: Observation, tagged: readonly TechniqueRef[]): TechniqueRef {
  if (tagged.length) return [...tagged].sort((x, y) => movementRank(x) - movementRank(y))[0]!;
  const t = o.meaning?.technique(o.fields);
  if (!t) return { id: null, name: 'remote access' };
  return 'id' in t ? techniqueRef(t.id) : { id: null, name: t.name };
}

/** The text of the first of `fields` the event has (absent ones are skipped, empty ones are not). */
function firstPresent(f: Record<string, FieldValue>, fields: readonly string[]): string | undefined {
  for (const k of fields) {
    const v = stringOf(f[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function stringOf(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function numberOf(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}
