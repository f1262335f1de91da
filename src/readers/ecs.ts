/**
 * Elastic Common Schema documents from Winlogbeat / Elastic Agent (`winlog.event_data.*`,
 * `winlog.channel`, `winlog.event_id`, `winlog.provider_name`, `host.name`, `@timestamp`) →
 * the same Sigma-named `Event` an EVTX record gives, so detections do not depend on the shipper.
 *
 * Winlogbeat's Sysmon and Security modules (ingest pipelines, so every document read back from
 * Elasticsearch has been through them) move some event data to ECS fields: a Sysmon process
 * creation keeps `IntegrityLevel` in `winlog.event_data` but its `Image` is `process.executable`,
 * a failed logon's `IpAddress` is `source.ip`. The tables below put each such field back under
 * its Windows name when the event data lacks it; a document shipped without the modules has
 * them all in `winlog.event_data` already, and then the tables change nothing.
 */
import { Event, toFieldValue, type EventSource, type Fields, type Scalar } from '../events/event.js';
import { sigmaFieldName } from '../events/winevent.js';
import { trimTrailingWhitespace } from './evtx/values.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An Elasticsearch `_bulk` action line (`{"index":{…}}`), which carries no event. */
export function isBulkAction(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  const keys = Object.keys(doc);
  return keys.length === 1 && ['index', 'create', 'update', 'delete'].includes(keys[0]!) && isObj(doc[keys[0]!]);
}

/** A Winlogbeat/Elastic Agent Windows event (`winlog` object with a channel or event id). */
export function isEcsWindowsDoc(doc: unknown): doc is Obj & { winlog: Obj } {
  return isObj(doc) && isObj(doc.winlog) && ('channel' in doc.winlog || 'event_id' in doc.winlog || 'event_data' in doc.winlog);
}

/** Build an Event from an ECS Windows document, with Sigma field names. */
export function eventFromEcs(doc: Obj & { winlog: Obj }, source: EventSource): Event {
  const w = doc.winlog;
  const fields: Fields = Object.create(null) as Fields;
  const set = (k: string, v: unknown) => {
    const fv = toFieldValue(v);
    if (fv !== undefined && !(k in fields)) fields[k] = fv;
  };
  const eventId = typeof w.event_id === 'string' && /^\d+$/.test(w.event_id) ? Number(w.event_id) : w.event_id;
  set('EventID', eventId);
  set('Channel', w.channel);
  set('Provider_Name', w.provider_name);
  set('Provider_Guid', w.provider_guid);
  set('Computer', w.computer_name ?? (isObj(doc.host) ? (doc.host.name ?? doc.host.hostname) : undefined));
  set('EventRecordID', w.record_id);
  set('TimeCreated_SystemTime', doc['@timestamp']);
  if (isObj(w.process)) {
    set('Execution_ProcessID', w.process.pid);
    if (isObj(w.process.thread)) set('Execution_ThreadID', w.process.thread.id);
  }
  if (isObj(w.user)) set('Security_UserID', w.user.identifier);
  set('Task', w.task);
  set('Opcode', w.opcode);
  set('Keywords', w.keywords);
  set('Version', w.version);
  // Event data as Windows wrote it, less trailing whitespace (Winlogbeat keeps `"NtLmSsp "` and
  // a command line's final space; the EVTX reader, like the evtx crate, drops them, and rules
  // are written against the trimmed text).
  for (const section of ['event_data', 'user_data']) {
    const data = w[section];
    if (!isObj(data)) continue;
    for (const [k, v] of Object.entries(data)) {
      if (isObj(v)) for (const [k2, v2] of Object.entries(v)) set(sigmaFieldName(k2), trimmed(v2));
      else set(sigmaFieldName(k), trimmed(v));
    }
  }
  // Winlogbeat numbers unnamed <Data> items param1…N; the EVTX record (and SigmaHQ's rules for
  // classic Application/System logs) has them as one `Data` list. Give both names.
  if (isObj(w.event_data) && !('Data' in fields)) {
    const params = Object.keys(w.event_data)
      .filter((k) => /^param\d{1,4}$/.test(k))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    if (params.length) {
      const list = params.map((k) => toFieldValue((w.event_data as Obj)[k]) ?? null).map((v) => (Array.isArray(v) ? JSON.stringify(v) : v) as Scalar);
      fields.Data = list.length === 1 ? list[0]! : list;
    }
  }
  restoreModuleFields(doc, typeof eventId === 'number' ? eventId : NaN, fields);
  return new Event(fields, source, doc, 'windows');
}

function trimmed(v: unknown): unknown {
  if (typeof v === 'string') return trimTrailingWhitespace(v);
  return Array.isArray(v) ? v.map((x: unknown) => (typeof x === 'string' ? trimTrailingWhitespace(x) : x)) : v;
}

/** A value at a dotted path of the document (`process.parent.executable`). */
function at(doc: Obj, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/**
 * One field a Winlogbeat module moved out of `winlog.event_data`: its Windows name, where the
 * module put it, the event IDs it applies to (all when absent) and how to turn it back.
 */
interface Moved {
  field: string;
  from: string;
  ids?: readonly number[];
  notIds?: readonly number[];
  back?: (v: unknown, doc: Obj) => unknown;
}

/** `0x1fc`: Security events print process IDs in hex; the module made them numbers. */
const hex = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? `0x${v.toString(16)}` : v);
const text = (v: unknown) => (typeof v === 'number' ? String(v) : v);

/** Sysmon's `Hashes` (`SHA1=…,MD5=…,SHA256=…,IMPHASH=…`, upper case) from `*.hash` and `*.pe.imphash`. */
function hashes(prefix: 'process' | 'file') {
  return (_v: unknown, doc: Obj): unknown => {
    const parts: string[] = [];
    for (const [name, path] of [
      ['SHA1', `${prefix}.hash.sha1`],
      ['MD5', `${prefix}.hash.md5`],
      ['SHA256', `${prefix}.hash.sha256`],
      ['IMPHASH', `${prefix}.pe.imphash`],
    ] as const) {
      const h = at(doc, path);
      if (typeof h === 'string' && h) parts.push(`${name}=${h.toUpperCase()}`);
    }
    return parts.length ? parts.join(',') : undefined;
  };
}

/** Sysmon registry `Details` from `registry.data` (the module turned `DWORD (0x00000001)` into `1`). */
function registryDetails(_v: unknown, doc: Obj): unknown {
  const data = at(doc, 'registry.data');
  if (!isObj(data) || !Array.isArray(data.strings) || data.strings.length === 0) return undefined;
  const s: unknown = data.strings[0];
  if (data.type === 'SZ_DWORD' && typeof s === 'string' && /^\d+$/.test(s)) return `DWORD (0x${Number(s).toString(16).padStart(8, '0')})`;
  return s;
}

/** Sysmon's `UtcTime` (`2025-03-04 09:20:11.457`) from an ISO time. */
function utcTime(v: unknown): unknown {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace('T', ' ').slice(0, 23);
}

const SYSMON_SOURCE_PROCESS = [8, 10];
const SYSMON_HASHED_PROCESS = [1, 23, 24, 25, 26];
const SYSMON_HASHED_FILE = [6, 7, 29];
const SYSMON_FILE_EVENTS = [2, 11, 15, 23, 26, 27, 28, 29];

/** What Winlogbeat's Sysmon module moves (x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml). */
const SYSMON_MOVED: readonly Moved[] = [
  { field: 'ProcessGuid', from: 'process.entity_id', notIds: SYSMON_SOURCE_PROCESS },
  { field: 'SourceProcessGuid', from: 'process.entity_id', ids: [8] },
  { field: 'SourceProcessGUID', from: 'process.entity_id', ids: [10] },
  { field: 'ProcessId', from: 'process.pid', notIds: SYSMON_SOURCE_PROCESS },
  { field: 'SourceProcessId', from: 'process.pid', ids: SYSMON_SOURCE_PROCESS },
  { field: 'SourceThreadId', from: 'process.thread.id', ids: [10] },
  { field: 'Image', from: 'process.executable', notIds: SYSMON_SOURCE_PROCESS },
  { field: 'SourceImage', from: 'process.executable', ids: SYSMON_SOURCE_PROCESS },
  { field: 'CommandLine', from: 'process.command_line' },
  { field: 'CurrentDirectory', from: 'process.working_directory' },
  { field: 'ParentProcessGuid', from: 'process.parent.entity_id' },
  { field: 'ParentProcessId', from: 'process.parent.pid' },
  { field: 'ParentImage', from: 'process.parent.executable' },
  { field: 'ParentCommandLine', from: 'process.parent.command_line' },
  { field: 'OriginalFileName', from: 'process.pe.original_file_name', notIds: [7] },
  { field: 'OriginalFileName', from: 'file.pe.original_file_name', ids: [7] },
  { field: 'Hashes', from: 'process.hash', ids: SYSMON_HASHED_PROCESS, back: hashes('process') },
  { field: 'Hashes', from: 'file.hash', ids: SYSMON_HASHED_FILE, back: hashes('file') },
  { field: 'Hash', from: 'file.hash', ids: [15], back: hashes('file') },
  { field: 'TargetFilename', from: 'file.path', ids: SYSMON_FILE_EVENTS },
  { field: 'ImageLoaded', from: 'file.path', ids: [6, 7] },
  { field: 'Device', from: 'file.path', ids: [9] },
  { field: 'PipeName', from: 'file.name', ids: [17, 18] },
  { field: 'Protocol', from: 'network.transport', ids: [3] },
  { field: 'Initiated', from: 'network.direction', ids: [3], back: (v) => (v === 'egress' ? 'true' : v === 'ingress' ? 'false' : undefined) },
  { field: 'SourceIp', from: 'source.ip', ids: [3] },
  { field: 'SourceHostname', from: 'source.domain', ids: [3] },
  { field: 'SourcePort', from: 'source.port', ids: [3], back: text },
  { field: 'DestinationIp', from: 'destination.ip', ids: [3] },
  { field: 'DestinationHostname', from: 'destination.domain', ids: [3] },
  { field: 'DestinationPort', from: 'destination.port', ids: [3], back: text },
  { field: 'QueryName', from: 'dns.question.name', ids: [22] },
  { field: 'TargetObject', from: 'registry.path', ids: [12, 13, 14] },
  { field: 'Details', from: 'registry.data', ids: [13], back: registryDetails },
  { field: 'User', from: 'user.name', back: (name, doc) => (typeof name === 'string' && typeof at(doc, 'user.domain') === 'string' ? `${at(doc, 'user.domain') as string}\\${name}` : undefined) },
  { field: 'RuleName', from: 'rule.name' },
  // The module parses UtcTime into @timestamp and drops it.
  { field: 'UtcTime', from: '@timestamp', back: utcTime },
];

/** Security events whose process and network fields the module moves ("Rename Common Auth Fields"). */
const SECURITY_AUTH_IDS = [
  1100, 1102, 1104, 1105, 1108, 4624, 4625, 4648, 4670, 4673, 4674, 4689, 4697, 4719, 4720, 4722, 4723, 4724, 4725, 4726, 4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734, 4735, 4737, 4738, 4740, 4741,
  4742, 4743, 4744, 4745, 4746, 4747, 4748, 4749, 4750, 4751, 4752, 4753, 4754, 4755, 4756, 4757, 4758, 4759, 4760, 4761, 4762, 4763, 4764, 4767, 4768, 4769, 4770, 4771, 4798, 4799, 4817, 4904, 4905,
  4907, 4912, 5140, 5145,
];

/** What Winlogbeat's Security module moves (x-pack/winlogbeat/module/security/ingest/security_standard.yml). */
const SECURITY_MOVED: readonly Moved[] = [
  { field: 'ProcessId', from: 'process.pid', ids: SECURITY_AUTH_IDS, back: hex },
  { field: 'ProcessName', from: 'process.executable', ids: SECURITY_AUTH_IDS },
  { field: 'IpAddress', from: 'source.ip', ids: SECURITY_AUTH_IDS },
  { field: 'IpPort', from: 'source.port', ids: SECURITY_AUTH_IDS, back: text },
  { field: 'WorkstationName', from: 'source.domain', ids: SECURITY_AUTH_IDS },
  { field: 'NewProcessId', from: 'process.pid', ids: [4688], back: hex },
  { field: 'NewProcessName', from: 'process.executable', ids: [4688] },
  { field: 'ParentProcessName', from: 'process.parent.executable', ids: [4688] },
];

const MOVED_BY_CHANNEL = new Map<string, readonly Moved[]>([
  ['microsoft-windows-sysmon/operational', SYSMON_MOVED],
  ['security', SECURITY_MOVED],
]);

function restoreModuleFields(doc: Obj, eventId: number, fields: Fields): void {
  const channel = fields.Channel;
  const moved = typeof channel === 'string' ? MOVED_BY_CHANNEL.get(channel.toLowerCase()) : undefined;
  if (moved) {
    for (const m of moved) {
      if (m.field in fields || (m.ids && !m.ids.includes(eventId)) || m.notIds?.includes(eventId)) continue;
      const raw = at(doc, m.from);
      if (raw === undefined || raw === null) continue;
      const v = toFieldValue(trimmed(m.back ? m.back(raw, doc) : raw));
      if (v !== undefined) fields[m.field] = v;
    }
  }
  // The Security module splits `AccessList` into its codes without the `%%` (`%%4417 %%4418` →
  // ["4417", "4418"]); rules match the `%%` form.
  const access = fields.AccessList;
  if (Array.isArray(access)) fields.AccessList = access.map((x: Scalar) => (typeof x === 'string' && /^\d+$/.test(x) ? `%%${x}` : x));
}
