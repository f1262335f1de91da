/**
 * Domain knowledge as data (data/domain.yml): which event fields name hosts, accounts, logon
 * sessions, processes and addresses; which accounts are noise; what an event means (a logon, a
 * service install, a share access, a process start); which events state who owns an address.
 * Correlation and stories read it through this module, so a new log source adds entries to the
 * data file, not code to the stages.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FirebreakError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { cachedData } from '../core/data-cache.js';
import { validateYaml } from '../core/schema.js';
import { parseYamlFile } from '../core/yaml.js';
import type { FieldValue } from './event.js';

export const DEFAULT_DOMAIN_FILE = fileURLToPath(new URL('../../../data/domain.yml', import.meta.url));

type Cond = string | number | boolean | (string | number | boolean)[] | { matches: string };
type Conditions = Record<string, Cond>;

interface SourcesSpec {
  address?: string[];
  host?: string[];
  when?: Conditions;
  unless?: Conditions;
}

interface SuspiciousSpec {
  when?: Conditions;
  unless?: Conditions;
  reason: string;
}

interface EventSpec {
  meaning: string;
  event_ids?: number[];
  channels?: string[];
  providers?: string[];
  when?: Conditions;
  unless?: Conditions;
  sources?: SourcesSpec;
  target_host?: string[];
  target_address?: string[];
  target_patterns?: { field: string; pattern: string }[];
  technique?: ({ when?: Conditions } & ({ id: string } | { name: string }))[];
  lateral?: boolean;
  guesses?: boolean;
  context?: boolean;
  access?: boolean;
  suspicious?: SuspiciousSpec[];
}

interface ClaimSpec {
  event_ids?: number[];
  channels?: string[];
  providers?: string[];
  when?: Conditions;
  unless?: Conditions;
  address: string;
  host: string;
}

/** The data file as written. */
export interface DomainData {
  identity_fields: string[];
  accounts: { fields: [string, string | null][]; noise_names: string[]; noise_domains: string[]; noise_patterns: string[] };
  logon_ids: { fields: string[]; noise: string[] };
  process_ids: string[];
  addresses: string[];
  files: string[];
  services: string[];
  service_binaries?: string[];
  sources: { address: string[]; host: string[] };
  processes?: { image?: string[]; parent?: string[]; command_line?: string[] };
  events: EventSpec[];
  address_claims: ClaimSpec[];
}

const fieldList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
const condValue = {
  anyOf: [
    { type: ['string', 'number', 'boolean'] },
    { type: 'array', items: { type: ['string', 'number', 'boolean'] } },
    { type: 'object', properties: { matches: { type: 'string' } }, required: ['matches'], additionalProperties: false },
  ],
} as const;
const conditions = { type: 'object', additionalProperties: condValue } as const;
const selector = {
  event_ids: { type: 'array', items: { type: 'integer', minimum: 0 } },
  channels: fieldList,
  providers: fieldList,
  when: conditions,
  unless: conditions,
} as const;

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['identity_fields', 'accounts', 'logon_ids', 'process_ids', 'addresses', 'files', 'services', 'sources', 'events', 'address_claims'],
  properties: {
    identity_fields: fieldList,
    accounts: {
      type: 'object',
      additionalProperties: false,
      required: ['fields', 'noise_names', 'noise_domains', 'noise_patterns'],
      properties: {
        fields: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'string' }, { type: ['string', 'null'] }] } },
        noise_names: { type: 'array', items: { type: 'string' } },
        noise_domains: { type: 'array', items: { type: 'string' } },
        noise_patterns: { type: 'array', items: { type: 'string' } },
      },
    },
    logon_ids: { type: 'object', additionalProperties: false, required: ['fields', 'noise'], properties: { fields: fieldList, noise: { type: 'array', items: { type: 'string' } } } },
    process_ids: fieldList,
    addresses: fieldList,
    files: fieldList,
    services: fieldList,
    service_binaries: fieldList,
    sources: { type: 'object', additionalProperties: false, required: ['address', 'host'], properties: { address: fieldList, host: fieldList } },
    processes: { type: 'object', additionalProperties: false, properties: { image: fieldList, parent: fieldList, command_line: fieldList } },
    events: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['meaning'],
        properties: {
          meaning: { type: 'string', minLength: 1 },
          ...selector,
          sources: { type: 'object', additionalProperties: false, properties: { address: fieldList, host: fieldList, when: conditions, unless: conditions } },
          target_host: fieldList,
          target_address: fieldList,
          target_patterns: {
            type: 'array',
            items: { type: 'object', additionalProperties: false, required: ['field', 'pattern'], properties: { field: { type: 'string', minLength: 1 }, pattern: { type: 'string', minLength: 1 } } },
          },
          technique: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              properties: { when: conditions, id: { type: 'string', pattern: '^T\\d{4}(\\.\\d{3})?$' }, name: { type: 'string', minLength: 1 } },
              oneOf: [{ required: ['id'] }, { required: ['name'] }],
            },
          },
          lateral: { type: 'boolean' },
          guesses: { type: 'boolean' },
          context: { type: 'boolean' },
          access: { type: 'boolean' },
          suspicious: {
            type: 'array',
            items: { type: 'object', additionalProperties: false, required: ['reason'], properties: { when: conditions, unless: conditions, reason: { type: 'string', minLength: 1 } } },
          },
        },
      },
    },
    address_claims: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['address', 'host'], properties: { ...selector, address: { type: 'string' }, host: { type: 'string' } } },
    },
  },
} as const;

type Fields = Readonly<Record<string, FieldValue>>;
type Predicate = (f: Fields) => boolean;

/** What an event means to the stages (the first matching entry of `events`). */
export interface EventMeaning {
  meaning: string;
  /** Where an action on the event's host came from (the default `sources`, or the entry's own). */
  sources: { address: readonly string[]; host: readonly string[]; applies: Predicate };
  /** Fields naming the remote host the event's own host acted on. */
  targetHost: readonly string[];
  /** Fields naming the address of the remote host the event's own host acted on (an outbound connection). */
  targetAddress: readonly string[];
  /** Patterns whose first group names a remote computer in a field (a command line's `\\host`, `/s host`). */
  targetPatterns: readonly { field: string; re: RegExp }[];
  /** How a movement the event shows is named, given its fields (undefined: not named here). */
  technique(f: Fields): { id: string } | { name: string } | undefined;
  lateral: boolean;
  guesses: boolean;
  /**
   * An informational detection of this event still joins stories, as context: through what it
   * names besides its host (the account that logged on, the source it came from), never alone.
   */
  context: boolean;
  /** An authenticated access from a source (a logon, a share access, explicit credentials): routine learning counts it. */
  access: boolean;
  /** Why a movement this event shows is suspicious in itself (pass-the-hash, an executable written to an admin share), if it is. */
  suspicious(f: Fields): string | undefined;
}

/** The event an entry is matched against: its identity and its fields. */
export interface EventView {
  eventId: number | null;
  channel: string | null;
  provider?: string | null;
  fields: Fields;
}

/** Domain knowledge, compiled for lookups. */
export class Domain {
  readonly identityFields: readonly string[];
  /**
   * The fields the event entries' `when` and `unless` read: what tells an event's meaning (a
   * failed logon, an SSH logon, a sudo command). A correlation contributor
   * keeps them beside the identity fields, so the stories read it as the event it was (an sshd
   * failure, `AuthResult: failure`, is a failed logon whose names are guesses).
   */
  readonly meaningFields: readonly string[];
  readonly accountFields: readonly (readonly [string, string | null])[];
  readonly logonIdFields: readonly string[];
  readonly processIdFields: readonly string[];
  readonly addressFields: readonly string[];
  readonly fileFields: readonly string[];
  readonly serviceFields: readonly string[];
  /** Fields naming the program a newly installed service runs. */
  readonly serviceBinaryFields: readonly string[];
  readonly defaultSources: EventMeaning['sources'];
  /** Fields naming a started process's image, its parent's image and its command line (first present wins). */
  readonly processFields: { readonly image: readonly string[]; readonly parent: readonly string[]; readonly commandLine: readonly string[] };
  private readonly noiseNames: Set<string>;
  private readonly noiseDomains: Set<string>;
  private readonly noisePatterns: RegExp[];
  private readonly noiseLogonIds: Set<string>;
  private readonly meanings: Indexed<EventMeaning>;
  private readonly claims: Indexed<{ address: string; host: string }>;

  constructor(
    readonly data: DomainData,
    readonly file: string,
  ) {
    this.identityFields = data.identity_fields;
    const read = new Set<string>();
    const reads = (...cs: (Conditions | undefined)[]) => {
      for (const c of cs) for (const k of Object.keys(c ?? {})) read.add(k);
    };
    for (const e of data.events) reads(e.when, e.unless);
    this.meaningFields = [...read];
    this.accountFields = data.accounts.fields;
    this.logonIdFields = data.logon_ids.fields;
    this.processIdFields = data.process_ids;
    this.addressFields = data.addresses;
    this.fileFields = data.files;
    this.serviceFields = data.services;
    this.serviceBinaryFields = data.service_binaries ?? [];
    this.noiseNames = new Set(data.accounts.noise_names.map((s) => s.toLowerCase()));
    this.noiseDomains = new Set(data.accounts.noise_domains.map((s) => s.toLowerCase()));
    this.noisePatterns = data.accounts.noise_patterns.map((p, i) => regex(p, `accounts.noise_patterns[${i}]`, file));
    this.noiseLogonIds = new Set(data.logon_ids.noise.map((s) => s.toLowerCase()));
    this.defaultSources = { address: data.sources.address, host: data.sources.host, applies: always };
    this.processFields = { image: data.processes?.image ?? [], parent: data.processes?.parent ?? [], commandLine: data.processes?.command_line ?? [] };
    this.meanings = new Indexed(
      data.events.map((e, i) => {
        const where = `events[${i}]`;
        const s = e.sources;
        const tech = (e.technique ?? []).map((t, k) => ({ when: predicate(t.when, undefined, `${where}.technique[${k}]`, file), ref: 'id' in t ? { id: t.id } : { name: t.name } }));
        const marks = (e.suspicious ?? []).map((m, k) => ({ test: predicate(m.when, m.unless, `${where}.suspicious[${k}]`, file), reason: m.reason }));
        const patterns = (e.target_patterns ?? []).map((p, k) => ({ field: p.field, re: regex(p.pattern, `${where}.target_patterns[${k}]`, file) }));
        const meaning: EventMeaning = {
          meaning: e.meaning,
          sources: s ? { address: s.address ?? data.sources.address, host: s.host ?? data.sources.host, applies: predicate(s.when, s.unless, `${where}.sources`, file) } : this.defaultSources,
          targetHost: e.target_host ?? [],
          targetAddress: e.target_address ?? [],
          targetPatterns: patterns,
          technique: (f) => tech.find((t) => t.when(f))?.ref,
          lateral: e.lateral ?? false,
          guesses: e.guesses ?? false,
          context: e.context ?? false,
          access: e.access ?? false,
          suspicious: marks.length ? (f) => marks.find((m) => m.test(f))?.reason : none,
        };
        return { spec: e, test: predicate(e.when, e.unless, where, file), value: meaning };
      }),
    );
    this.claims = new Indexed(data.address_claims.map((c, i) => ({ spec: c, test: predicate(c.when, c.unless, `address_claims[${i}]`, file), value: { address: c.address, host: c.host } })));
  }

  /** The meaning of an event, or undefined when no entry fits. */
  meaningOf(ev: EventView): EventMeaning | undefined {
    return this.meanings.first(ev);
  }

  /** True for an account name/domain that links nothing (the system's own identities). */
  isNoiseAccount(lowerName: string, lowerDomain: string): boolean {
    return this.noiseNames.has(lowerName) || this.noiseDomains.has(lowerDomain) || this.noisePatterns.some((r) => r.test(lowerName));
  }

  isNoiseLogonId(lowerId: string): boolean {
    return this.noiseLogonIds.has(lowerId);
  }

  /** True when an event with this ID (or without one) may carry an address claim: the cheap first test on every event. */
  mayClaim(eventId: number | undefined): boolean {
    return this.claims.anyIdEntries || (eventId !== undefined && this.claims.ids.has(eventId));
  }

  /** The `[address field, host field]` pairs an event's claim entries name (usually none). */
  claimsOf(ev: EventView): { address: string; host: string }[] {
    return this.claims.all(ev);
  }
}

interface Entry<T> {
  spec: { event_ids?: number[]; channels?: string[]; providers?: string[] };
  test: Predicate;
  value: T;
}

/** An entry with its place in the file and its channel and provider lists lower-cased once. */
type Placed<T> = Entry<T> & { order: number; channels: Set<string> | null; providers: Set<string> | null };

/** Entries indexed by event ID; an entry without IDs is tried on every event, after the indexed ones. */
class Indexed<T> {
  readonly ids = new Set<number>();
  get anyIdEntries(): boolean {
    return this.anyId.length > 0;
  }
  private readonly byId = new Map<number, Placed<T>[]>();
  private readonly anyId: Placed<T>[] = [];

  constructor(entries: Entry<T>[]) {
    entries.forEach((e, order) => {
      const lower = (l: string[] | undefined) => (l ? new Set(l.map((x) => x.toLowerCase())) : null);
      const x: Placed<T> = { ...e, order, channels: lower(e.spec.channels), providers: lower(e.spec.providers) };
      if (!e.spec.event_ids) return void this.anyId.push(x);
      for (const id of e.spec.event_ids) {
        this.ids.add(id);
        const list = this.byId.get(id) ?? [];
        list.push(x);
        this.byId.set(id, list);
      }
    });
  }

  /** Per event ID: its entries and the ID-less ones, in file order (worked out once per ID: this runs on every event). */
  private readonly merged = new Map<number, Placed<T>[]>();

  private candidates(ev: EventView): Placed<T>[] {
    if (!this.anyId.length) return (ev.eventId === null ? undefined : this.byId.get(ev.eventId)) ?? [];
    const listed = ev.eventId === null ? undefined : this.byId.get(ev.eventId);
    if (!listed) return this.anyId;
    let m = this.merged.get(ev.eventId!);
    if (!m) this.merged.set(ev.eventId!, (m = [...listed, ...this.anyId].sort((a, b) => a.order - b.order)));
    return m;
  }

  /**
   * Per channel and provider as the event spells them, then per event ID: the candidates whose
   * channel and provider lists admit the event. Most events are of a channel no entry names
   * (Windows events meet the Linux entries, which name no event ID): their list is empty, and
   * events come in runs of one channel, so an event costs two comparisons and one lookup.
   * Bounded: past LIMITS.domain.admittedLists lists all are forgotten and worked out again
   * (hostile input may invent channels).
   */
  private readonly admitted = new Map<string, Map<number | null, Placed<T>[]>>();
  private listed = 0;
  private last: { channel: string | null; provider: string | null; key: string; byId: Map<number | null, Placed<T>[]> } | undefined;

  private admit(ev: EventView): Placed<T>[] {
    const channel = ev.channel ?? null;
    const provider = ev.provider ?? null;
    let last = this.last;
    if (!last || last.channel !== channel || last.provider !== provider) {
      const key = `${channel ?? '\u0001'}\u0000${provider ?? '\u0001'}`;
      let byId = this.admitted.get(key);
      if (!byId) this.admitted.set(key, (byId = new Map<number | null, Placed<T>[]>()));
      this.last = last = { channel, provider, key, byId };
    }
    let list = last.byId.get(ev.eventId);
    if (!list) {
      const lc = channel?.toLowerCase() ?? null;
      const lp = provider?.toLowerCase() ?? null;
      list = this.candidates(ev).filter((e) => admits(e, lc, lp));
      if (++this.listed > LIMITS.domain.admittedLists) {
        // Forget every list but start again with this one's channel and provider.
        this.admitted.clear();
        last.byId.clear();
        this.admitted.set(last.key, last.byId);
        this.listed = 1;
      }
      last.byId.set(ev.eventId, list);
    }
    return list;
  }

  first(ev: EventView): T | undefined {
    const list = this.admit(ev);
    for (let i = 0; i < list.length; i++) if (list[i]!.test(ev.fields)) return list[i]!.value;
    return undefined;
  }

  all(ev: EventView): T[] {
    const list = this.admit(ev);
    return list.length ? list.filter((e) => e.test(ev.fields)).map((e) => e.value) : [];
  }
}

/** Do an entry's channel and provider lists admit an event's (given lower-cased, null when it has none)? */
function admits(e: Placed<unknown>, channel: string | null, provider: string | null): boolean {
  if (e.channels && (channel === null || !e.channels.has(channel))) return false;
  if (e.providers && (provider === null || !e.providers.has(provider))) return false;
  return true;
}

const always: Predicate = () => true;
const none = (): undefined => undefined;

function predicate(when: Conditions | undefined, unless: Conditions | undefined, where: string, file: string): Predicate {
  const w = when ? compileConditions(when, `${where}.when`, file) : undefined;
  const u = unless ? compileConditions(unless, `${where}.unless`, file) : undefined;
  if (!w && !u) return always;
  return (f) => (!w || w(f)) && (!u || !u(f));
}

/** All conditions must hold; each compares the field as case-insensitive text. */
function compileConditions(c: Conditions, where: string, file: string): Predicate {
  const tests = Object.entries(c).map(([field, cond]): Predicate => {
    if (typeof cond === 'object' && !Array.isArray(cond)) {
      const re = regex(cond.matches, `${where}.${field}`, file);
      return (f) => {
        const v = text(f[field]);
        return v !== undefined && re.test(v);
      };
    }
    const wanted = new Set((Array.isArray(cond) ? cond : [cond]).map((x) => String(x).toLowerCase()));
    return (f) => {
      const v = text(f[field]);
      return v !== undefined && wanted.has(v.toLowerCase());
    };
  });
  return (f) => tests.every((t) => t(f));
}

/** A pattern from the data; a leading `(?i)` makes it case-insensitive. */
function regex(source: string, where: string, file: string): RegExp {
  const ci = source.startsWith('(?i)');
  try {
    return new RegExp(ci ? source.slice(4) : source, ci ? 'i' : '');
  } catch (e) {
    throw new FirebreakError('data-invalid', `${file}: ${where}: bad pattern ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}

function text(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Load and validate a domain file (errors name file, line and column). */
export function loadDomain(file = DEFAULT_DOMAIN_FILE): Domain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FirebreakError('data-unreadable', `cannot read domain data ${file}: ${(e as Error).message}`, { cause: e });
  }
  // Read and validated once per version of the file (src/core/data-cache.ts): a start saves the parse and the schema's compile.
  return new Domain(
    cachedData('domain', JSON.stringify(SCHEMA), text, () => validateYaml<DomainData>(parseYamlFile(text, file), SCHEMA)),
    file,
  );
}

let bundled: Domain | undefined;

/** The bundled domain data, loaded once. */
export function defaultDomain(): Domain {
  return (bundled ??= loadDomain());
}

/** The bundled domain's validated data, for a worker thread (`adoptDefaultDomain`). */
export interface DomainHandoff {
  data: DomainData;
  file: string;
}

/** What a worker thread needs to rebuild the bundled domain without reading and validating it again. */
export function defaultDomainHandoff(): DomainHandoff {
  const d = defaultDomain();
  return { data: d.data, file: d.file };
}

/**
 * In a worker thread: take the bundled domain as the main thread loaded and validated it
 * (validating costs each thread most of a second, compiling the schema). Only the bundled file's
 * data is taken, so `defaultDomain()` means the same in every thread.
 */
export function adoptDefaultDomain(h: DomainHandoff | undefined): void {
  if (!h || bundled || h.file !== DEFAULT_DOMAIN_FILE) return;
  bundled = new Domain(h.data, h.file);
}
