/**
 * Writes Windows events as the evtx crate renders them to JSON (`{"Event":{"System":…,"EventData":…}}`),
 * one NDJSON file per host, time-ordered. The scenario generator (./scenario.ts) and the
 * administered network (./network.ts) share it.
 *
 * Two header styles: `simple` is the original generator's (a short System element, record IDs
 * numbered as events are written; kept byte for byte so the bundled sample and its tests never
 * change), `full` writes the System element as Windows does (provider GUID, version, task,
 * keywords, execution IDs, Qualifiers on classic providers) and numbers records per host and
 * channel in time order when the files are written, so record IDs grow with time as in a real log.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DOMAIN = 'corp.local';
export const NETBIOS = 'CORP';
export const SECURITY = 'Microsoft-Windows-Security-Auditing';
export const SYSMON = 'Microsoft-Windows-Sysmon';
export const SYSMON_CH = 'Microsoft-Windows-Sysmon/Operational';
export const SCM = 'Service Control Manager';
/** The domain's SID; account SIDs are this plus a RID. */
export const DOMAIN_SID = 'S-1-5-21-3623811015-3361044348-30300820';

export interface Host {
  name: string;
  fqdn: string;
  ip: string;
  kind: 'dc' | 'fs' | 'srv' | 'ws';
  user: string;
  /** Security 4688 (process creation with command line) is audited: every Sysmon 1 has a 4688 twin. */
  audit4688?: boolean;
}

export type Data = Record<string, unknown>;

/** What a full header says beyond provider, channel and event ID. */
export interface Header {
  level?: number;
  task?: number;
  opcode?: number;
  version?: number;
  keywords?: string;
  /** Classic (pre-Vista) providers write EventID with Qualifiers. */
  qualifiers?: number;
  /** Security.UserID; null writes `"Security": null`. */
  userId?: string | null;
  pid?: number;
  tid?: number;
}

export interface Out {
  t: number;
  host: Host;
  doc: unknown;
  /** The activity that wrote the event (full style; see `Writer.label`). */
  label: string;
  channel: string;
  /** The System element, whose EventRecordID a full-style flush fills in. */
  system: Record<string, unknown>;
}

/** Provider GUIDs and classic event source names, as Windows registers them. */
const PROVIDERS: Record<string, { guid: string; source?: string }> = {
  [SECURITY]: { guid: '{54849625-5478-4994-A5BA-3E3B0328C30D}' },
  [SYSMON]: { guid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}' },
  [SCM]: { guid: '{555908D1-A6D7-4695-8E1E-26931D2012F4}', source: 'Service Control Manager' },
  'Microsoft-Windows-PowerShell': { guid: '{A0C1853B-5C40-4B15-8766-3CF1C58F985A}' },
  'Microsoft-Windows-WinRM': { guid: '{A7975C8F-AC13-49F1-87DA-5A984A4AB417}' },
  'Microsoft-Windows-TerminalServices-LocalSessionManager': { guid: '{5D896912-022D-40AA-A3A8-4FA5515C76D7}' },
  'Microsoft-Windows-TerminalServices-RemoteConnectionManager': { guid: '{C76BAA63-AE81-421C-B425-340B4B24157F}' },
  'Microsoft-Windows-TaskScheduler': { guid: '{DE7B24EA-73C8-4A09-985D-5BDADCFA9017}' },
  'Microsoft-Windows-Eventlog': { guid: '{FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148}' },
  User32: { guid: '{B0AA8734-56F7-41CC-B2F4-DE228E98B946}', source: 'User32' },
};

/**
 * Record ID ranges per channel (full style): far apart, so that a host's record ID alone names
 * one event (a correlation's contributors carry the computer and record ID, not the channel).
 */
const CHANNEL_BASE: Record<string, number> = {
  Security: 40_000_000,
  [SYSMON_CH]: 10_000_000,
  System: 3_000_000,
  'Microsoft-Windows-PowerShell/Operational': 5_000_000,
  'Windows PowerShell': 6_000_000,
  'Microsoft-Windows-WinRM/Operational': 7_000_000,
  'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational': 8_000_000,
  'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational': 8_500_000,
  'Microsoft-Windows-TaskScheduler/Operational': 9_000_000,
};

/**
 * String values as the evtx crate renders them: trailing whitespace dropped (Windows pads some,
 * `NtLmSsp `, `User32 `, `Advapi  `, command lines ending in a space; the crate and Firebreak's
 * EVTX reader both trim them, see src/readers/evtx/values.ts).
 */
function trimmed<T>(v: T): T {
  if (typeof v === 'string') return v.replace(/[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/, '') as T;
  if (Array.isArray(v)) return v.map(trimmed) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, trimmed(x)])) as T;
  return v;
}

/** FNV-1a: a small stable hash for names (record ID bases, file hashes, process IDs). */
export function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The original shapes' signatures; the administered network writes them as Windows does (./shapes.ts). */
export interface Shapes {
  logon(target: Host, t: number, o: { user: string; domain?: string; type: number; ip: string; workstation: string; ntlmPth?: boolean; kerberos?: boolean }): string;
  failedLogon(target: Host, t: number, user: string, ip: string, workstation: string): void;
  process(host: Host, t: number, o: ProcessOptions): string;
  connection(host: Host, t: number, o: { image: string; user: string; dstIp: string; dstPort: number; dstHost?: string; guid: string }): void;
  service(host: Host, t: number, name: string, image: string, account?: string): void;
  serviceState(host: Host, t: number, name: string, state: string): void;
  share(host: Host, t: number, o: { user: string; ip: string; share: string; path: string; target: string; access: string; mask: string; logonId: string }): void;
  guid(t: number): string;
}

export interface ProcessOptions {
  image: string;
  cmd: string;
  user: string;
  parent: { image: string; cmd: string; guid: string };
  logonId?: string;
  integrity?: string;
  original?: string;
  description?: string;
}

export class Writer {
  /** Writes the original shapes instead of this class (set by the administered network). */
  shapes?: Shapes;
  readonly out: Out[] = [];
  /** The activity events are written for (full style), kept with each event for the evaluation. */
  label = '';
  private record = new Map<string, number>();
  private guidN = 0;
  private logonN = 0x1a2b3c;
  /** The SID of an account in 4688's Subject (the network knows its accounts' SIDs). */
  sidOf: (name: string) => string = (name) => `${DOMAIN_SID}-${1100 + (fnv(name.toLowerCase()) % 800)}`;
  constructor(
    private readonly r: () => number,
    readonly style: 'simple' | 'full' = 'simple',
  ) {}

  event(host: Host, t: number, provider: string, channel: string, eventId: number, data: Data, section: 'EventData' | 'UserData' = 'EventData', h: Header = {}): void {
    if (this.style === 'simple') {
      const key = host.name + channel;
      const rec = (this.record.get(key) ?? 1000 + Math.floor(this.r() * 50_000)) + 1;
      this.record.set(key, rec);
      const system = {
        Provider: { '#attributes': { Name: provider } },
        EventID: eventId,
        Level: 4,
        TimeCreated: { '#attributes': { SystemTime: new Date(t).toISOString().replace('Z', '000Z') } },
        EventRecordID: rec,
        Channel: channel,
        Computer: host.fqdn,
        Security: { '#attributes': { UserID: 'S-1-5-18' } },
      };
      this.out.push({ t, host, doc: { Event: { System: system, [section]: data } }, label: this.label, channel, system });
      return;
    }
    const p = PROVIDERS[provider];
    const attrs: Record<string, string> = { Name: provider };
    if (p) attrs.Guid = p.guid;
    if (p?.source) attrs.EventSourceName = p.source;
    const system: Record<string, unknown> = {
      Provider: { '#attributes': attrs },
      EventID: h.qualifiers === undefined ? eventId : { '#attributes': { Qualifiers: h.qualifiers }, '#text': eventId },
      Version: h.version ?? 0,
      Level: h.level ?? (provider === SECURITY ? 0 : 4),
      Task: h.task ?? 0,
      Opcode: h.opcode ?? 0,
      Keywords: h.keywords ?? '0x8000000000000000',
      TimeCreated: { '#attributes': { SystemTime: new Date(t).toISOString().replace('Z', '') + String(fnv(host.name + t) % 1000).padStart(3, '0') + 'Z' } },
      EventRecordID: 0,
      Correlation: null,
      Execution: { '#attributes': { ProcessID: h.pid ?? 4, ThreadID: h.tid ?? 4000 + (fnv(host.name + channel) % 4000) } },
      Channel: channel,
      Computer: host.fqdn,
      Security: h.userId === null ? null : { '#attributes': { UserID: h.userId ?? 'S-1-5-18' } },
    };
    if (provider === SECURITY) system.Security = null;
    const body = trimmed(data);
    this.out.push({
      t,
      host,
      doc: { Event: { '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' }, System: system, [section]: body } },
      label: this.label,
      channel,
      system,
    });
  }

  guid(t: number): string {
    if (this.shapes) return this.shapes.guid(t);
    this.guidN++;
    const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
    return `{5AA13A44-${hex(Math.floor(t / 1000) & 0xffff, 4)}-${hex((t / 60_000) & 0xffff, 4)}-${hex(this.guidN & 0xffff, 4)}-${hex(this.guidN * 7919, 12)}}`;
  }

  logonId(): string {
    this.logonN += 1 + Math.floor(this.r() * 5000);
    return '0x' + this.logonN.toString(16);
  }

  /** A random number from the writer's own sequence (ports, process IDs). */
  rand(): number {
    return this.r();
  }

  // ---- the original generator's event shapes ---------------------------------------------------

  logon(target: Host, t: number, o: { user: string; domain?: string; type: number; ip: string; workstation: string; ntlmPth?: boolean; kerberos?: boolean }): string {
    if (this.shapes) return this.shapes.logon(target, t, o);
    const id = this.logonId();
    const pth = o.ntlmPth === true;
    this.event(target, t, SECURITY, 'Security', 4624, {
      SubjectUserSid: o.type === 3 ? 'S-1-0-0' : 'S-1-5-18',
      SubjectUserName: o.type === 3 ? '-' : `${target.name}$`,
      SubjectDomainName: o.type === 3 ? '-' : NETBIOS,
      SubjectLogonId: o.type === 3 ? '0x0' : '0x3e7',
      TargetUserSid: `S-1-5-21-3623811015-3361044348-30300820-${1100 + ((o.user.length * 37) % 800)}`,
      TargetUserName: o.user,
      TargetDomainName: o.domain ?? NETBIOS,
      TargetLogonId: id,
      LogonType: o.type,
      LogonProcessName: pth ? 'NtLmSsp' : o.kerberos ? 'Kerberos' : o.type === 3 ? 'NtLmSsp' : 'User32',
      AuthenticationPackageName: pth ? 'NTLM' : o.kerberos ? 'Kerberos' : o.type === 3 ? 'NTLM' : 'Negotiate',
      WorkstationName: o.workstation,
      LogonGuid: '{00000000-0000-0000-0000-000000000000}',
      TransmittedServices: '-',
      LmPackageName: pth || (!o.kerberos && o.type === 3) ? 'NTLM V2' : '-',
      KeyLength: pth ? 0 : o.type === 3 && !o.kerberos ? 128 : 0,
      ProcessId: o.type === 3 ? '0x0' : '0x2d4',
      ProcessName: o.type === 3 ? '-' : 'C:\\Windows\\System32\\svchost.exe',
      IpAddress: o.ip,
      IpPort: o.type === 3 ? String(49152 + Math.floor(this.r() * 16000)) : '0',
      ImpersonationLevel: '%%1833',
      RestrictedAdminMode: '-',
      TargetOutboundUserName: '-',
      TargetOutboundDomainName: '-',
      VirtualAccount: '%%1843',
      TargetLinkedLogonId: '0x0',
      ElevatedToken: o.type === 3 ? '%%1842' : '%%1843',
    });
    return id;
  }

  failedLogon(target: Host, t: number, user: string, ip: string, workstation: string): void {
    if (this.shapes) return this.shapes.failedLogon(target, t, user, ip, workstation);
    this.event(target, t, SECURITY, 'Security', 4625, {
      SubjectUserSid: 'S-1-0-0',
      SubjectUserName: '-',
      SubjectDomainName: '-',
      SubjectLogonId: '0x0',
      TargetUserSid: 'S-1-0-0',
      TargetUserName: user,
      TargetDomainName: NETBIOS,
      Status: '0xc000006d',
      FailureReason: '%%2313',
      SubStatus: '0xc000006a',
      LogonType: 3,
      LogonProcessName: 'NtLmSsp ',
      AuthenticationPackageName: 'NTLM',
      WorkstationName: workstation,
      TransmittedServices: '-',
      LmPackageName: '-',
      KeyLength: 0,
      ProcessId: '0x0',
      ProcessName: '-',
      IpAddress: ip,
      IpPort: String(40000 + Math.floor(this.r() * 20000)),
    });
  }

  process(host: Host, t: number, o: ProcessOptions): string {
    if (this.shapes) return this.shapes.process(host, t, o);
    const guid = this.guid(t);
    const exe = o.image.slice(o.image.lastIndexOf('\\') + 1);
    const pid = 1000 + Math.floor(this.r() * 9000);
    const ppid = 600 + Math.floor(this.r() * 400);
    this.event(host, t, SYSMON, SYSMON_CH, 1, {
      RuleName: '-',
      UtcTime: new Date(t).toISOString().replace('T', ' ').replace('Z', ''),
      ProcessGuid: guid,
      ProcessId: pid,
      Image: o.image,
      FileVersion: '10.0.19041.1 (WinBuild.160101.0800)',
      Description: o.description ?? exe,
      Product: 'Microsoft® Windows® Operating System',
      Company: 'Microsoft Corporation',
      OriginalFileName: o.original ?? exe.toUpperCase(),
      CommandLine: o.cmd,
      CurrentDirectory: 'C:\\Windows\\system32\\',
      User: o.user,
      LogonGuid: '{5AA13A44-0000-0000-0000-000000000000}',
      LogonId: o.logonId ?? '0x3e7',
      TerminalSessionId: 1,
      IntegrityLevel: o.integrity ?? 'Medium',
      Hashes: `SHA256=${(this.guidN * 2654435761).toString(16).toUpperCase().padStart(16, '0')}`,
      ParentProcessGuid: o.parent.guid,
      ParentProcessId: ppid,
      ParentImage: o.parent.image,
      ParentCommandLine: o.parent.cmd,
      ParentUser: o.user,
    });
    return guid;
  }

  /** Security 4688 (process creation, command line audited), the twin of a Sysmon 1. */
  processAudit(host: Host, t: number, o: { image: string; cmd: string; user: string; parent: { image: string }; logonId?: string; integrity?: string; pid: number; ppid: number }): void {
    const [domain, name] = o.user.includes('\\') ? o.user.split('\\') : ['', o.user];
    const system = /^NT AUTHORITY\\SYSTEM$/i.test(o.user);
    const label = { Low: 'S-1-16-4096', Medium: 'S-1-16-8192', High: 'S-1-16-12288', System: 'S-1-16-16384' }[o.integrity ?? 'Medium'] ?? 'S-1-16-8192';
    this.event(
      host,
      t,
      SECURITY,
      'Security',
      4688,
      {
        SubjectUserSid: system ? 'S-1-5-18' : this.sidOf(name!),
        SubjectUserName: system ? `${host.name}$` : name,
        SubjectDomainName: system ? NETBIOS : domain,
        SubjectLogonId: system ? '0x3e7' : (o.logonId ?? '0x3e7'),
        NewProcessId: '0x' + o.pid.toString(16),
        NewProcessName: o.image,
        TokenElevationType: o.integrity === 'High' || o.integrity === 'System' ? '%%1936' : '%%1938',
        ProcessId: '0x' + o.ppid.toString(16),
        CommandLine: o.cmd,
        TargetUserSid: 'S-1-0-0',
        TargetUserName: '-',
        TargetDomainName: '-',
        TargetLogonId: '0x0',
        ParentProcessName: o.parent.image,
        MandatoryLabel: label,
      },
      'EventData',
      { task: 13312, version: 2, keywords: '0x8020000000000000' },
    );
  }

  connection(host: Host, t: number, o: { image: string; user: string; dstIp: string; dstPort: number; dstHost?: string; guid: string }): void {
    if (this.shapes) return this.shapes.connection(host, t, o);
    this.event(host, t, SYSMON, SYSMON_CH, 3, {
      RuleName: '-',
      UtcTime: new Date(t).toISOString().replace('T', ' ').replace('Z', ''),
      ProcessGuid: o.guid,
      ProcessId: 4000 + Math.floor(this.r() * 4000),
      Image: o.image,
      User: o.user,
      Protocol: 'tcp',
      Initiated: true,
      SourceIsIpv6: false,
      SourceIp: host.ip,
      SourceHostname: host.fqdn,
      SourcePort: 49152 + Math.floor(this.r() * 16000),
      SourcePortName: '-',
      DestinationIsIpv6: false,
      DestinationIp: o.dstIp,
      DestinationHostname: o.dstHost ?? '-',
      DestinationPort: o.dstPort,
      DestinationPortName: o.dstPort === 445 ? 'microsoft-ds' : o.dstPort === 443 ? 'https' : '-',
    });
  }

  service(host: Host, t: number, name: string, image: string, account = 'LocalSystem'): void {
    if (this.shapes) return this.shapes.service(host, t, name, image, account);
    this.event(host, t, SCM, 'System', 7045, { ServiceName: name, ImagePath: image, ServiceType: 'user mode service', StartType: 'demand start', AccountName: account });
  }

  serviceState(host: Host, t: number, name: string, state: string): void {
    if (this.shapes) return this.shapes.serviceState(host, t, name, state);
    this.event(host, t, SCM, 'System', 7036, { param1: name, param2: state, Binary: '' });
  }

  share(host: Host, t: number, o: { user: string; ip: string; share: string; path: string; target: string; access: string; mask: string; logonId: string }): void {
    if (this.shapes) return this.shapes.share(host, t, o);
    this.event(host, t, SECURITY, 'Security', 5145, {
      SubjectUserSid: 'S-1-5-21-3623811015-3361044348-30300820-500',
      SubjectUserName: o.user,
      SubjectDomainName: NETBIOS,
      SubjectLogonId: o.logonId,
      ObjectType: 'File',
      IpAddress: o.ip,
      IpPort: String(49152 + Math.floor(this.r() * 16000)),
      ShareName: o.share,
      ShareLocalPath: o.path,
      RelativeTargetName: o.target,
      AccessMask: o.mask,
      AccessList: o.access,
      AccessReason: '-',
    });
  }
}

/** What a flush wrote: the files, the event count and (full style) each event's activity. */
export interface Written {
  files: string[];
  events: number;
  /** `computer|recordId` → the activity that wrote the event (full style only). */
  labels?: Map<string, string>;
}

/** Writes one `HOST.json` per host, events in time order. */
export function flush(dir: string, w: Writer): Written {
  mkdirSync(dir, { recursive: true });
  const byHost = new Map<string, Out[]>();
  for (const o of w.out) {
    const list = byHost.get(o.host.name) ?? [];
    list.push(o);
    byHost.set(o.host.name, list);
  }
  const labels = w.style === 'full' ? new Map<string, string>() : undefined;
  const files: string[] = [];
  for (const [name, list] of [...byHost].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    list.sort((a, b) => a.t - b.t);
    if (labels) {
      const next = new Map<string, number>();
      for (const o of list) {
        const base = CHANNEL_BASE[o.channel];
        if (base === undefined) throw new Error(`winlog: no record ID range for channel ${o.channel}`);
        const rec = next.get(o.channel) ?? base + (fnv(name + o.channel) % 500_000);
        next.set(o.channel, rec + 1);
        o.system.EventRecordID = rec;
        labels.set(`${o.host.fqdn}|${rec}`, o.label);
      }
    }
    const file = join(dir, `${name}.json`);
    writeFileSync(file, list.map((o) => JSON.stringify(o.doc)).join('\n') + '\n');
    files.push(file);
  }
  return labels ? { files, events: w.out.length, labels } : { files, events: w.out.length };
}
