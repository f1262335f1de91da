/**
 * The records of one audit event (same `msg=audit(time:serial)`, same node) → the events a hunt
 * matches: one Event per record (split EXECVE records merged into one), plus a *derived*
 * `process_creation` event when the audit event is a successful execve (SYSCALL + EXECVE, with
 * CWD, PATH and PROCTITLE when present), so SigmaHQ's Linux process-creation rules run where
 * auditd is collected and Sysmon for Linux is not.
 *
 * Records arrive interleaved and out of order. An event completes at its EOE record; events
 * without one (older kernels, records lost) complete when a record of a much newer event of the
 * same node arrives (by serial or by time: the window), when too many events are pending, or at
 * the end of the stream. A record whose event already completed is emitted on its own and
 * counted as late. Parent images and command lines come from a bounded table of processes seen
 * earlier in the stream (every SYSCALL record tells which image a pid runs).
 *
 * Stateful and bounded: a file reader and a live stream feed it the same way (`push`, then
 * `advance` on a clock tick for a stream, `flush` at the end).
 */
import { LIMITS } from '../../core/limits.js';
import { Event, type EventSource, type Fields } from '../../events/event.js';
import { assemblePieces, auditTimeToIso, type ArgPiece, type AuditRecord, type AuditValue } from './audit.js';
import { CHANNELS, DERIVED_AUDITD } from './channels.js';

export interface AuditJoinOptions {
  /** An event without EOE completes when a record of an event this many serials newer arrives. */
  serialWindow?: number;
  /** … or of an event this many seconds newer. */
  timeWindowSeconds?: number;
  maxPending?: number;
  maxRecordsPerEvent?: number;
  maxProcesses?: number;
  /** Fields every event gets (e.g. Computer from a journal entry's host). */
  extraFields?: Fields;
}

export interface AuditJoinStats {
  records: number;
  /** Audit events completed (a standalone record is one event). */
  events: number;
  /** Derived process_creation events made. */
  derived: number;
  completedByEoe: number;
  completedByWindow: number;
  /** Completed before their window ended: too many pending events, or too many records in one. */
  completedEarly: number;
  completedAtEnd: number;
  /** Records whose event had already completed (emitted alone, not joined). */
  late: number;
  /** execve events that could not be joined into a process: no EXECVE record, or no SYSCALL record. */
  unjoined: { execveWithoutArguments: number; argumentsWithoutSyscall: number };
  /** Derived processes whose argument list had gaps (records lost). */
  argumentsIncomplete: number;
  /** Derived processes whose parent was not in the process table. */
  parentUnknown: number;
}

interface Item {
  rec: AuditRecord;
  source: EventSource;
}

interface Pending {
  key: string;
  node: string;
  timeSec: number;
  serial: number;
  items: Item[];
}

interface Proc {
  image?: string;
  commandLine?: string;
}

/**
 * Record types written by user-space programs (1100–1299, 2100–2999: PAM, account tools,
 * daemons, systemd): one record per event, never followed by others with the same serial.
 */
const STANDALONE_PREFIX =
  /^(?:USER_|CRED_|DAEMON_|ANOM_(?:LOGIN|ADD_ACCT|DEL_ACCT|MOD_ACCT|ROOT_TRANS|RBAC|AMTU|CRYPTO|EXEC|MK_EXEC|ACCESS_FS)|RESP_|CRYPTO_|VIRT_|GRP_|LABEL_|ROLE_|MAC_(?:CHECK|CONFIG_CHANGE)|SECURITY_)/;
const STANDALONE = new Set([
  'ADD_USER',
  'DEL_USER',
  'ADD_GROUP',
  'DEL_GROUP',
  'SYSTEM_BOOT',
  'SYSTEM_SHUTDOWN',
  'SYSTEM_RUNLEVEL',
  'SERVICE_START',
  'SERVICE_STOP',
  'SOFTWARE_UPDATE',
  'USYS_CONFIG',
  'CHGRP_ID',
  'CHUSER_ID',
  'DAC_CHECK',
  'TEST',
  'TRUSTED_APP',
  'DEV_ALLOC',
  'DEV_DEALLOC',
  'FS_RELABEL',
]);

function isStandalone(type: string): boolean {
  return STANDALONE.has(type) || STANDALONE_PREFIX.test(type);
}

const RECENT_KEYS = 8192;

export class AuditJoiner {
  readonly stats: AuditJoinStats = {
    records: 0,
    events: 0,
    derived: 0,
    completedByEoe: 0,
    completedByWindow: 0,
    completedEarly: 0,
    completedAtEnd: 0,
    late: 0,
    unjoined: { execveWithoutArguments: 0, argumentsWithoutSyscall: 0 },
    argumentsIncomplete: 0,
    parentUnknown: 0,
  };
  private readonly pending = new Map<string, Pending>();
  /** Keys of events completed recently, to tell a late record from a new event. */
  private readonly recent = new Set<string>();
  private readonly newest = new Map<string, { serial: number; time: number }>();
  private readonly procs = new Map<string, Proc>();
  private readonly serialWindow: number;
  private readonly timeWindow: number;
  private readonly maxPending: number;
  private readonly maxRecords: number;
  private readonly maxProcs: number;
  private readonly extra: Fields | undefined;

  constructor(opts: AuditJoinOptions = {}) {
    this.serialWindow = opts.serialWindow ?? 500;
    this.timeWindow = opts.timeWindowSeconds ?? 10;
    this.maxPending = opts.maxPending ?? LIMITS.auditPendingEvents;
    this.maxRecords = opts.maxRecordsPerEvent ?? LIMITS.auditRecordsPerEvent;
    this.maxProcs = opts.maxProcesses ?? LIMITS.auditProcessTable;
    this.extra = opts.extraFields;
  }

  /** Events pending now (for tests and a live server's status). */
  get pendingEvents(): number {
    return this.pending.size;
  }

  /** Add one record; returns the events it completed, in order. */
  push(rec: AuditRecord, source: EventSource): Event[] {
    const out: Event[] = [];
    this.stats.records++;
    const node = rec.node ?? '';
    const timeSec = Number(rec.time);
    const key = `${node}\u0000${rec.time}:${rec.serial}`;
    let p = this.pending.get(key);
    if (!p) {
      if (this.recent.has(key)) {
        this.stats.late++;
        if (rec.type !== 'EOE') out.push(this.recordEvent(rec, source));
        return out;
      }
      if (isStandalone(rec.type)) {
        this.complete({ key, node, timeSec, serial: rec.serial, items: [{ rec, source }] }, out);
        this.expire(node, rec.serial, timeSec, out);
        return out;
      }
      p = { key, node, timeSec, serial: rec.serial, items: [] };
      this.pending.set(key, p);
    }
    p.items.push({ rec, source });
    if (rec.type === 'EOE') {
      this.pending.delete(key);
      this.stats.completedByEoe++;
      this.complete(p, out);
    } else if (p.items.length >= this.maxRecords) {
      this.pending.delete(key);
      this.stats.completedEarly++;
      this.complete(p, out);
    }
    this.expire(node, rec.serial, timeSec, out);
    while (this.pending.size > this.maxPending) {
      const oldest = this.pending.values().next().value as Pending;
      this.pending.delete(oldest.key);
      this.stats.completedEarly++;
      this.complete(oldest, out);
    }
    return out;
  }

  /** A live stream's clock: complete events older than the time window. */
  advance(nowSec: number): Event[] {
    const out: Event[] = [];
    for (const p of [...this.pending.values()]) {
      if (p.timeSec < nowSec - this.timeWindow) {
        this.pending.delete(p.key);
        this.stats.completedByWindow++;
        this.complete(p, out);
      }
    }
    return out;
  }

  /** End of the stream: complete everything pending. */
  flush(): Event[] {
    const out: Event[] = [];
    for (const p of this.pending.values()) {
      this.stats.completedAtEnd++;
      this.complete(p, out);
    }
    this.pending.clear();
    return out;
  }

  /** Complete pending events of `node` that the newest record has left behind (oldest first). */
  private expire(node: string, serial: number, timeSec: number, out: Event[]): void {
    const n = this.newest.get(node);
    if (!n) this.newest.set(node, { serial, time: timeSec });
    else if (timeSec > n.time) {
      // A newer time always moves the mark, so a serial reset (auditd restarted) moves it back.
      n.time = timeSec;
      n.serial = serial;
    } else if (serial > n.serial) n.serial = serial;
    const mark = this.newest.get(node)!;
    for (const p of this.pending.values()) {
      if (p.node !== node) continue;
      if (mark.serial - p.serial > this.serialWindow || mark.time - p.timeSec > this.timeWindow) {
        this.pending.delete(p.key);
        this.stats.completedByWindow++;
        this.complete(p, out);
        continue;
      }
      // Pending events are (nearly) in arrival order: stop at the first still inside the window.
      break;
    }
  }

  private complete(p: Pending, out: Event[]): void {
    this.stats.events++;
    this.remember(p.key);
    const items = mergeExecve(p.items);
    let syscall: Item | undefined;
    let execve: Item | undefined;
    let cwd: string | undefined;
    let proctitle: string | undefined;
    const paths: AuditRecord[] = [];
    for (const it of items) {
      const t = it.rec.type;
      if (t === 'EOE') continue;
      out.push(this.recordEvent(it.rec, it.source));
      if (t === 'SYSCALL') syscall ??= it;
      else if (t === 'EXECVE') execve ??= it;
      else if (t === 'CWD') cwd ??= str(it.rec.fields.cwd);
      else if (t === 'PROCTITLE') proctitle ??= str(it.rec.fields.proctitle);
      else if (t === 'PATH') paths.push(it.rec);
    }
    const sf = syscall?.rec.fields;
    const success = sf ? str(sf.success) : undefined;
    if (syscall && execve && success !== 'no') {
      out.push(this.derive(syscall, execve.rec, cwd, paths));
    } else if (syscall && !execve && isExecSyscall(sf!) && success !== 'no') this.stats.unjoined.execveWithoutArguments++;
    else if (!syscall && execve) this.stats.unjoined.argumentsWithoutSyscall++;
    else if (sf) this.learn(p.node, sf, proctitle);
  }

  private remember(key: string): void {
    this.recent.add(key);
    if (this.recent.size > RECENT_KEYS) this.recent.delete(this.recent.values().next().value as string);
  }

  /** What a SYSCALL record tells about the process that made it (image, and its title). */
  private learn(node: string, sf: Record<string, AuditValue>, proctitle: string | undefined): void {
    const pid = str(sf.pid);
    const exe = str(sf.exe);
    if (!pid || !exe) return;
    const key = `${node}\u0000${pid}`;
    const known = this.procs.get(key);
    this.setProc(key, { image: exe, commandLine: proctitle ?? (known?.image === exe ? known.commandLine : undefined) });
  }

  /** Tell the process table what a pid runs (a shipper's parent-process enrichment). */
  knowProcess(node: string, pid: string, image: string, commandLine?: string): void {
    this.setProc(`${node}\u0000${pid}`, { image, commandLine });
  }

  private setProc(key: string, proc: Proc): void {
    this.procs.delete(key);
    this.procs.set(key, proc);
    if (this.procs.size > this.maxProcs) this.procs.delete(this.procs.keys().next().value as string);
  }

  private derive(syscall: Item, execve: AuditRecord, cwd: string | undefined, paths: AuditRecord[]): Event {
    const sf = syscall.rec.fields;
    const node = syscall.rec.node ?? '';
    const ef = execve.fields;
    const argc = Number(str(ef.argc));
    const args: string[] = [];
    let gaps = false;
    const n = Number.isInteger(argc) && argc >= 0 && argc <= 1_000_000 ? argc : Infinity;
    for (let i = 0; i < n; i++) {
      const a = ef[`a${i}`];
      if (a === undefined) {
        if (n !== Infinity) gaps = true;
        break;
      }
      args.push(typeof a === 'string' ? a : a === null ? '' : a.join(' '));
    }
    if (gaps) this.stats.argumentsIncomplete++;
    let image = str(sf.exe);
    if (!image) {
      const first = paths.find((r) => str(r.fields.item) === '0');
      const name = first ? str(first.fields.name) : undefined;
      if (name) image = name.startsWith('/') || !cwd ? name : `${cwd.replace(/\/$/, '')}/${name}`;
    }
    const commandLine = args.join(' ');
    const pid = str(sf.pid);
    const ppid = str(sf.ppid);
    const parent = ppid ? this.procs.get(`${node}\u0000${ppid}`) : undefined;
    if (!parent) this.stats.parentUnknown++;
    const uid = str(sf.uid);
    const fields: Fields = Object.create(null) as Fields;
    set(fields, 'Image', image);
    set(fields, 'CommandLine', commandLine);
    set(fields, 'CurrentDirectory', cwd);
    set(fields, 'ProcessId', pid);
    set(fields, 'ParentProcessId', ppid);
    set(fields, 'ParentImage', parent?.image);
    set(fields, 'ParentCommandLine', parent?.commandLine);
    // As Sysmon for Linux names them: User is the account name (ENRICHED logs give it; uid 0 is
    // root everywhere), LogonId the login uid (auid), TerminalSessionId the audit session.
    set(fields, 'User', str(sf.UID) ?? (uid === '0' ? 'root' : uid));
    set(fields, 'LogonId', str(sf.auid));
    set(fields, 'TerminalSessionId', str(sf.ses));
    for (const k of ['uid', 'euid', 'gid', 'auid', 'ses', 'tty', 'comm', 'exe', 'key', 'SYSCALL', 'AUID', 'UID', 'EUID']) {
      const v = sf[k];
      if (v !== undefined && !(k in fields)) fields[k] = v;
    }
    fields.Derived = DERIVED_AUDITD;
    this.meta(fields, syscall.rec);
    fields.Channel = CHANNELS.auditdProcess;
    if (pid) this.setProc(`${node}\u0000${pid}`, { image, commandLine });
    this.stats.derived++;
    // No keyword fields: keyword rules see the EXECVE and PROCTITLE records themselves.
    return new Event(fields, syscall.source, undefined, 'linux', []);
  }

  private meta(fields: Fields, rec: AuditRecord): void {
    const ts = auditTimeToIso(rec.time);
    if (ts) fields['@timestamp'] = ts;
    fields.audit_id = `${rec.time}:${rec.serial}`;
    if (rec.node !== undefined) {
      fields.node = rec.node;
      fields.Computer = rec.node;
    }
    if (this.extra) for (const k in this.extra) if (!(k in fields)) fields[k] = this.extra[k]!;
  }

  /** One record as an event with the fields SigmaHQ's auditd rules use. */
  recordEvent(rec: AuditRecord, source: EventSource): Event {
    const fields: Fields = Object.create(null) as Fields;
    fields.type = rec.type;
    const keywords = ['type'];
    for (const k in rec.fields) {
      if (k in fields) continue;
      fields[k] = rec.fields[k]!;
      keywords.push(k);
    }
    this.meta(fields, rec);
    fields.Channel = CHANNELS.auditd;
    return new Event(fields, source, undefined, 'linux', keywords);
  }
}

function isExecSyscall(f: Record<string, AuditValue>): boolean {
  const name = str(f.SYSCALL);
  return name === 'execve' || name === 'execveat';
}

/**
 * One EXECVE record per event: a long argument list spans several EXECVE records, and a long
 * argument several `aN[i]=` pieces across them (kernel audit_log_execve_info).
 */
function mergeExecve(items: Item[]): Item[] {
  let count = 0;
  let pieces = false;
  for (const it of items) {
    if (it.rec.type !== 'EXECVE') continue;
    count++;
    if (it.rec.pieces) pieces = true;
  }
  if (count < 2 && !pieces) return items;
  const out: Item[] = [];
  let merged: Item | undefined;
  const all: ArgPiece[] = [];
  for (const it of items) {
    if (it.rec.type !== 'EXECVE') {
      out.push(it);
      continue;
    }
    if (it.rec.pieces) all.push(...it.rec.pieces);
    if (!merged) {
      merged = { rec: { ...it.rec, fields: Object.assign(Object.create(null) as Record<string, AuditValue>, it.rec.fields) }, source: it.source };
      out.push(merged);
      continue;
    }
    for (const k in it.rec.fields) if (!(k in merged.rec.fields)) merged.rec.fields[k] = it.rec.fields[k]!;
  }
  if (merged && all.length) {
    for (const [arg, bytes] of assemblePieces(all)) merged.rec.fields[`a${arg}`] = bytes.toString('utf8');
    delete merged.rec.pieces;
  }
  return out;
}

function str(v: AuditValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.join(',');
  return v;
}

function set(fields: Fields, k: string, v: string | undefined): void {
  if (v !== undefined) fields[k] = v;
}
