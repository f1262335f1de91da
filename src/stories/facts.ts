/**
 * What one event or detection tells the routine baselines (./routine.ts), in a compact form a hunt
 * worker can send to the main thread and a live server can feed as events arrive: who reached
 * which host (an authenticated access), which program ran where and how (a process shape), and
 * which rule fired where for what (a detection). Which events are accesses and process starts,
 * and which fields name the program, is data (data/domain.yml, src/events/domain.ts).
 *
 * Shapes generalise what varies between runs of the same thing: numbers, GUIDs, long hex and
 * base64 tokens, the user's profile folder, the user's own name and the host's own name in a
 * command line. `net use H: \\FS01\home$\alice` by alice on WS017 and the same by bob on WS022
 * have one shape.
 */
import { hostKey, hostName, normaliseIp } from '../events/addresses.js';
import type { RoutineSubject } from '../detections/record.js';
import type { Domain, EventMeaning } from '../events/domain.js';
import type { FieldValue } from '../events/event.js';
import { LIMITS } from '../core/limits.js';
import { RecentMap } from '../core/recent.js';

/** Someone (`account`, '' when unknown) reached host `target` from `source` (`h:key` or `ip:addr`). */
export interface AccessFact {
  kind: 'access';
  t: number;
  source: string;
  target: string;
  account: string;
}

/** A program ran on `host` the way `shape` (a hash) describes; `label` names it in words. */
export interface ProgramFact {
  kind: 'program';
  t: number;
  host: string;
  shape: string;
  label: string;
}

/** Rule `rule` fired on `host` for `subject` (a hash of the program's shape or the account it names). */
export interface DetectionFact {
  kind: 'detection';
  t: number;
  host: string;
  rule: string;
  subject: string;
  label: string;
}

/** A service named `name` was installed on `host`. */
export interface ServiceFact {
  kind: 'service';
  t: number;
  host: string;
  name: string;
}

export type RoutineFact = AccessFact | ProgramFact | DetectionFact | ServiceFact;

type Fields = Readonly<Record<string, FieldValue>>;

const DAY = 86_400_000;

/** How a caller works out an event's program: `programOf` (memoised per event), or once per event by `EventRoutine`. */
type ProgramOf = (fields: Fields, domain: Domain) => { shape: string; label: string } | undefined;

/** The routine facts one event makes (usually none; at most one access and one program). */
export function eventFacts(fields: Fields, computer: string | null, t: number, domain: Domain, meaning?: EventMeaning | null, program: ProgramOf = programOf): RoutineFact[] {
  if (!Number.isFinite(t)) return NONE;
  const m = meaning === undefined ? meaningOf(fields, domain) : (meaning ?? undefined);
  if (!m) return NONE;
  const host = computer ? hostName(computer) : undefined;
  if (!host) return NONE;
  const key = hostKey(host);
  if (m.access) {
    const a = accessOf(fields, key, t, m, domain);
    return a ? [a] : NONE;
  }
  if (m.meaning === 'process-start') {
    const p = program(fields, domain);
    return p ? [{ kind: 'program', t, host: key, shape: p.shape, label: p.label }] : NONE;
  }
  if (m.meaning === 'service-install') {
    const name = first(fields, domain.serviceFields)?.toLowerCase();
    return name ? [{ kind: 'service', t, host: key, name }] : NONE;
  }
  return NONE;
}

/** The fact a detection makes: the rule, where, and for what (its program's shape, else the account it names). */
export function detectionFact(rule: string, fields: Fields, computer: string | null, t: number, domain: Domain, subject?: { subject: string; label: string }): DetectionFact | undefined {
  const host = computer ? hostName(computer) : undefined;
  if (!host || !Number.isFinite(t)) return undefined;
  const s = subject ?? detectionSubject(fields, domain);
  return { kind: 'detection', t, host: hostKey(host), rule, subject: s.subject, label: s.label };
}

/**
 * The routine side of reading events, for a thread that reads them (a hunt or server worker): an
 * event's facts, its detections' facts and their subject, one event at a time. Its program's
 * shape is worked out at most once per event and kept here, not in the memo tables below: those
 * serve the story stage, which asks about a detection's event again and again, while a reader
 * asks about each event once, and an entry per event read only makes work for the garbage
 * collector (a weak table's entries are ephemerons).
 */
export class EventRoutine {
  private fields: Fields = {};
  private computer: string | null = null;
  private t = Number.NaN;
  private program: { shape: string; label: string } | null | undefined;
  private subjectMemo: { subject: string; label: string } | undefined;
  /** The program of the current event (it is only ever asked about the current event's fields). */
  private readonly programOnce: ProgramOf = (fields, domain) => {
    if (this.program === undefined) this.program = shapeOf(fields, domain) ?? null;
    return this.program ?? undefined;
  };

  constructor(readonly domain: Domain) {}

  /** Start on an event; `t` is its time in ms (NaN: it makes no facts). */
  next(fields: Fields, computer: string | null, t: number): void {
    this.fields = fields;
    this.computer = computer;
    this.t = t;
    this.program = undefined;
    this.subjectMemo = undefined;
  }

  /** The event's own facts (`eventFacts`). */
  facts(): RoutineFact[] {
    return eventFacts(this.fields, this.computer, this.t, this.domain, undefined, this.programOnce);
  }

  /** The fact a detection of the event makes (`detectionFact`). */
  detection(rule: string): DetectionFact | undefined {
    return detectionFact(rule, this.fields, this.computer, this.t, this.domain, this.subject());
  }

  /** The event's subject, to send with each of its detections (`routineOf`). */
  routine(): RoutineSubject {
    const s = this.subject();
    return { subject: s.subject, label: s.label, program: this.programOnce(this.fields, this.domain) !== undefined };
  }

  private subject(): { subject: string; label: string } {
    return (this.subjectMemo ??= subjectOf(this.fields, this.domain, this.programOnce));
  }
}

/**
 * The shapes worked out per event, by domain: a detection's subject and program are asked for
 * several times (the worker's facts, the judge's routine checks, rarity), and a command line's
 * shape costs a handful of regular expressions. An event's fields are not changed once read, so
 * the object itself is the key; the entries go with the events.
 */
const SUBJECTS = new WeakMap<Domain, WeakMap<Fields, { subject: string; label: string }>>();
const PROGRAMS = new WeakMap<Domain, WeakMap<Fields, { shape: string; label: string } | null>>();

function memoOf<V>(memos: WeakMap<Domain, WeakMap<Fields, V>>, domain: Domain): WeakMap<Fields, V> {
  let m = memos.get(domain);
  if (!m) memos.set(domain, (m = new WeakMap()));
  return m;
}

/** What a detection is about, for routine: its program's shape when it names one, else the service, else the first account, else nothing. */
export function detectionSubject(fields: Fields, domain: Domain): { subject: string; label: string } {
  const memo = memoOf(SUBJECTS, domain);
  let s = memo.get(fields);
  if (!s) memo.set(fields, (s = subjectOf(fields, domain)));
  return s;
}

/** A detection's subject and whether it is its program's shape, to send with the detection (`DetectionRecord.routine`). */
export function routineOf(fields: Fields, domain: Domain): RoutineSubject {
  const s = detectionSubject(fields, domain);
  return { subject: s.subject, label: s.label, program: programOf(fields, domain) !== undefined };
}

function subjectOf(fields: Fields, domain: Domain, program: ProgramOf = programOf): { subject: string; label: string } {
  const p = program(fields, domain);
  if (p) return { subject: p.shape, label: p.label };
  const svc = first(fields, domain.serviceFields)?.toLowerCase();
  if (svc) return { subject: hash('s|' + svc), label: `service ${svc}` };
  const acct = firstAccount(fields, domain);
  return acct ? { subject: hash('u|' + acct), label: acct } : { subject: '-', label: '' };
}

/** The access an event shows: its source (a named host, else the address) into its host, or out of it to a named target. */
function accessOf(fields: Fields, host: string, t: number, m: EventMeaning, domain: Domain): AccessFact | undefined {
  const account = firstAccount(fields, domain) ?? '';
  const target = hostName(first(fields, m.targetHost));
  if (target) {
    const tk = hostKey(target);
    return tk === host ? undefined : { kind: 'access', t, source: 'h:' + host, target: tk, account };
  }
  if (!m.sources.applies(fields)) return undefined;
  const ws = hostName(first(fields, m.sources.host));
  const ip = normaliseIp(first(fields, m.sources.address));
  const source = ws ? 'h:' + hostKey(ws) : ip ? 'ip:' + ip : undefined;
  if (!source || source === 'h:' + host) return undefined;
  return { kind: 'access', t, source, target: host, account };
}

/** The key a worker dedupes facts by: one access per source, target, account and day; one program or detection per host and shape. */
export function factKey(f: RoutineFact): string {
  switch (f.kind) {
    case 'access':
      return `a\u0000${f.source}\u0000${f.target}\u0000${f.account}\u0000${Math.floor(f.t / DAY)}`;
    case 'program':
      return `p\u0000${f.host}\u0000${f.shape}`;
    case 'detection':
      return `d\u0000${f.host}\u0000${f.rule}\u0000${f.subject}\u0000${Math.floor(f.t / DAY)}`;
    case 'service':
      return `s\u0000${f.host}\u0000${f.name}\u0000${Math.floor(f.t / DAY)}`;
  }
}

function meaningOf(fields: Fields, domain: Domain): EventMeaning | undefined {
  const id = fields.EventID;
  const eventId = typeof id === 'number' ? id : typeof id === 'string' && /^\d{1,6}$/.test(id) ? Number(id) : null;
  return domain.meaningOf({ eventId, channel: text(fields.Channel) ?? null, provider: text(fields.Provider_Name) ?? null, fields });
}

/** A program's shape (image, parent image, command line) and its name in words, when the event names an image. */
export function programOf(fields: Fields, domain: Domain): { shape: string; label: string } | undefined {
  const memo = memoOf(PROGRAMS, domain);
  let p = memo.get(fields);
  if (p === undefined) memo.set(fields, (p = shapeOf(fields, domain) ?? null));
  return p ?? undefined;
}

/** Shapes by their raw parts: the same program runs the same way again and again (the recently used ones are kept). */
const SHAPES = new RecentMap<string, { shape: string; label: string }>(LIMITS.stories.shapeCache);
const SHAPE_KEY_MAX = 2048;

function shapeOf(fields: Fields, domain: Domain): { shape: string; label: string } | undefined {
  const pf = domain.processFields;
  const image = first(fields, pf.image);
  if (!image) return undefined;
  const parent = first(fields, pf.parent) ?? '';
  const cmd = first(fields, pf.commandLine) ?? '';
  const user = firstAccount(fields, domain);
  const host = text(fields.Computer);
  const key = `${image}\u0000${parent}\u0000${cmd}\u0000${user ?? ''}\u0000${host ?? ''}`;
  // Long command lines are worked out each time: the cache's memory stays small (2 × 2,000 × 2 KiB at most).
  if (key.length > SHAPE_KEY_MAX) return shapeOfParts(image, parent, cmd, user, host);
  let p = SHAPES.get(key);
  if (!p) SHAPES.set(key, (p = shapeOfParts(image, parent, cmd, user, host)));
  return p;
}

function shapeOfParts(image: string, parent: string, cmd: string, user: string | undefined, host: string | undefined): { shape: string; label: string } {
  const img = pathShape(image);
  const shape = `${img}|${pathShape(parent)}|${commandShape(cmd, image, user, host)}`;
  const base = baseName(image);
  const pbase = parent ? baseName(parent) : '';
  return { shape: hash(shape), label: pbase ? `${base} started by ${pbase}` : base };
}

/** A path as routine compares it: lower case, profile folders and numbers generalised. */
export function pathShape(raw: string): string {
  let p = raw.trim().toLowerCase();
  if (p.startsWith('"')) p = p.slice(1);
  if (p.endsWith('"')) p = p.slice(0, -1);
  return generalise(p.replace(/\\users\\[^\\]+\\/g, '\\users\\*\\'));
}

const MAX_SHAPE = 200;

/**
 * A command line as routine compares it: without the program itself (compared apart), the user's
 * and the host's own names replaced, profile folders, GUIDs, long tokens and numbers
 * generalised, spaces collapsed, at most 200 characters.
 */
export function commandShape(cmd: string, image: string, user?: string, host?: string): string {
  let c = cmd.trim().toLowerCase();
  const img = image.trim().toLowerCase();
  const base = baseName(img);
  // The program as the command line names it: quoted, a full path, or its bare name.
  const m = /^("[^"]*"|\S+)/.exec(c);
  if (m) {
    const head = m[1]!.replace(/"/g, '');
    if (head === img || head.endsWith('\\' + base) || head === base || head === base.replace(/\.exe$/, '')) c = c.slice(m[1]!.length);
  }
  if (user && user.length >= 3) c = replaceWord(c, user.toLowerCase(), '%user%');
  if (host) {
    const h = hostKey(host);
    if (h.length >= 3) c = replaceWord(c, h, '%host%');
  }
  c = c.replace(/\\users\\[^\\\s"]+\\/g, '\\users\\*\\');
  c = generalise(c.replace(/[a-z0-9+/]{40,}={0,2}/g, '*'));
  c = c.replace(/\s+/g, ' ').trim();
  return c.length > MAX_SHAPE ? c.slice(0, MAX_SHAPE) : c;
}

function generalise(s: string): string {
  return s
    .replace(/\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?/g, '{*}')
    .replace(/0x[0-9a-f]+/g, '#')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b/g, '*')
    .replace(/\d+/g, '#');
}

function replaceWord(s: string, word: string, by: string): string {
  let out = '';
  let from = 0;
  for (let i = s.indexOf(word); i >= 0; i = s.indexOf(word, i + word.length)) {
    const before = i === 0 ? '' : s[i - 1]!;
    const after = s[i + word.length] ?? '';
    if (/[a-z0-9_$]/.test(before) || /[a-z0-9_]/.test(after)) continue;
    out += s.slice(from, i) + by;
    from = i + word.length;
  }
  return out + s.slice(from);
}

function baseName(p: string): string {
  const s = p.trim().replace(/"/g, '');
  const i = Math.max(s.lastIndexOf('\\'), s.lastIndexOf('/'));
  return (i >= 0 ? s.slice(i + 1) : s).toLowerCase();
}

/** The first account an event names that is not one of the system's own (lower case, domain dropped). */
function firstAccount(fields: Fields, domain: Domain): string | undefined {
  for (const [nf, df] of domain.accountFields) {
    let name = text(fields[nf])?.trim();
    if (!name) continue;
    let dom = df ? (text(fields[df])?.trim() ?? '') : '';
    const bs = name.indexOf('\\');
    if (bs >= 0) {
      dom = name.slice(0, bs);
      name = name.slice(bs + 1);
    } else if (name.includes('@')) {
      const at = name.lastIndexOf('@');
      dom = name.slice(at + 1);
      name = name.slice(0, at);
    }
    const l = name.toLowerCase();
    if (!domain.isNoiseAccount(l, dom.toLowerCase())) return l;
  }
  return undefined;
}

function first(f: Fields, names: readonly string[]): string | undefined {
  for (const k of names) {
    const v = text(f[k]);
    if (v !== undefined && v !== '' && v !== '-') return v;
  }
  return undefined;
}

function text(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** A short, stable hash of a shape (FNV-1a, two 32-bit lanes): shapes are compared, never shown. */
export function hash(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x1b873593;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 2246822519) ^ (b >>> 13);
  }
  return (a >>> 0).toString(36) + (b >>> 0).toString(36);
}

const NONE: RoutineFact[] = [];
