/**
 * A multi-host intrusion written as evtx-crate-shaped JSON events (one NDJSON file per host,
 * time-ordered), hidden in benign background activity from many hosts, with its ground truth.
 *
 * The attack, from a public address: a password-guessing burst over SMB against the foothold
 * (4625 × n, then a 4624 type 3), credential dumping there (comsvcs MiniDump of LSASS: Sysmon 1
 * and Sysmon 10), pass-the-hash spread to several hosts (4624 type 3 from the foothold's address
 * with its workstation name, 5145 IPC$ svcctl and ADMIN$ writes, 7045 remote service installs:
 * PsExec or smbexec style), procdump of LSASS on the domain controller, password-protected
 * archives on the file server (7-Zip), log clearing (1102 on the DC, 104 on the file server),
 * and wiping (shadow copy deletion, a Sysmon 23 burst of backup deletions, raw disk reads).
 * The events are shaped so that the bundled SigmaHQ rules fire on them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../output/fixtures.js';

export interface ScenarioOptions {
  seed?: number;
  /** Hosts in the network, domain controller and file server included (at least 6). */
  hosts?: number;
  /** Benign background events over the whole day (spread over all hosts). */
  noiseEvents?: number;
}

export interface GroundTruth {
  domain: string;
  /** Hosts as their events' `Computer` (FQDN). */
  hosts: string[];
  /** Host FQDN → its address. */
  addresses: Record<string, string>;
  attackerIp: string;
  patientZero: string;
  compromisedHosts: string[];
  /** [from, to] FQDNs, in order of movement. */
  spreadEdges: [string, string][];
  /** When each spread happened (ISO), same order as spreadEdges. */
  spreadAt: string[];
  /** ATT&CK tactic short names the attack reaches. */
  tactics: string[];
  /** Hosts whose event logs the attacker cleared, and hosts wiped (shadow copies, backups, raw disk). */
  logCleared: string[];
  wiped: string[];
  /** The accounts the attacker uses (`CORP\name`). */
  accounts: string[];
  start: string;
  end: string;
  /** Events written per host file. */
  files: string[];
  events: number;
}

const DOMAIN = 'corp.local';
const NETBIOS = 'CORP';
const DAY = Date.UTC(2024, 4, 14, 6, 0, 0);
const ATTACK = Date.UTC(2024, 4, 14, 11, 2, 0);
const ATTACKER_IP = '203.0.113.66';
const SECURITY = 'Microsoft-Windows-Security-Auditing';
const SYSMON = 'Microsoft-Windows-Sysmon';
const SYSMON_CH = 'Microsoft-Windows-Sysmon/Operational';
const SCM = 'Service Control Manager';

interface Host {
  name: string;
  fqdn: string;
  ip: string;
  kind: 'dc' | 'fs' | 'srv' | 'ws';
  user: string;
}

type Data = Record<string, unknown>;
interface Out {
  t: number;
  host: Host;
  doc: unknown;
}

/** The network: DC01, FS01, a few servers and workstations, each with an address and a main user. */
function network(n: number, r: () => number): Host[] {
  const hosts: Host[] = [];
  const count = Math.max(6, n);
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter'];
  for (let i = 0; i < count; i++) {
    const kind = i === 0 ? 'dc' : i === 1 ? 'fs' : i < 2 + Math.max(1, Math.floor(count / 6)) ? 'srv' : 'ws';
    const name = kind === 'dc' ? 'DC01' : kind === 'fs' ? 'FS01' : kind === 'srv' ? `SRV${String(i - 1).padStart(2, '0')}` : `WS${String(i).padStart(3, '0')}`;
    const user = users[(i + Math.floor(r() * users.length)) % users.length]! + (i >= users.length ? String(i) : '');
    hosts.push({ name, fqdn: `${name}.${DOMAIN}`, ip: `10.20.${kind === 'ws' ? 1 : 0}.${10 + i}`, kind, user });
  }
  return hosts;
}

class Writer {
  readonly out: Out[] = [];
  private record = new Map<string, number>();
  private guidN = 0;
  private logonN = 0x1a2b3c;
  constructor(private readonly r: () => number) {}

  event(host: Host, t: number, provider: string, channel: string, eventId: number, data: Data, section: 'EventData' | 'UserData' = 'EventData'): void {
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
    this.out.push({ t, host, doc: { Event: { System: system, [section]: data } } });
  }

  guid(t: number): string {
    this.guidN++;
    const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
    return `{5AA13A44-${hex(Math.floor(t / 1000) & 0xffff, 4)}-${hex((t / 60_000) & 0xffff, 4)}-${hex(this.guidN & 0xffff, 4)}-${hex(this.guidN * 7919, 12)}}`;
  }

  logonId(): string {
    this.logonN += 1 + Math.floor(this.r() * 5000);
    return '0x' + this.logonN.toString(16);
  }

  // ---- event shapes ------------------------------------------------------------------------

  logon(target: Host, t: number, o: { user: string; domain?: string; type: number; ip: string; workstation: string; ntlmPth?: boolean; kerberos?: boolean }): string {
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

  process(
    host: Host,
    t: number,
    o: { image: string; cmd: string; user: string; parent: { image: string; cmd: string; guid: string }; logonId?: string; integrity?: string; original?: string; description?: string },
  ): string {
    const guid = this.guid(t);
    const exe = o.image.slice(o.image.lastIndexOf('\\') + 1);
    this.event(host, t, SYSMON, SYSMON_CH, 1, {
      RuleName: '-',
      UtcTime: new Date(t).toISOString().replace('T', ' ').replace('Z', ''),
      ProcessGuid: guid,
      ProcessId: 1000 + Math.floor(this.r() * 9000),
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
      ParentProcessId: 600 + Math.floor(this.r() * 400),
      ParentImage: o.parent.image,
      ParentCommandLine: o.parent.cmd,
      ParentUser: o.user,
    });
    return guid;
  }

  connection(host: Host, t: number, o: { image: string; user: string; dstIp: string; dstPort: number; dstHost?: string; guid: string }): void {
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
    this.event(host, t, SCM, 'System', 7045, { ServiceName: name, ImagePath: image, ServiceType: 'user mode service', StartType: 'demand start', AccountName: account });
  }

  serviceState(host: Host, t: number, name: string, state: string): void {
    this.event(host, t, SCM, 'System', 7036, { param1: name, param2: state, Binary: '' });
  }

  share(host: Host, t: number, o: { user: string; ip: string; share: string; path: string; target: string; access: string; mask: string; logonId: string }): void {
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

const EXPLORER = { image: 'C:\\Windows\\explorer.exe', cmd: 'C:\\Windows\\Explorer.EXE' };
const SERVICES = { image: 'C:\\Windows\\System32\\services.exe', cmd: 'C:\\Windows\\system32\\services.exe' };

/** Ordinary activity: logons, file-share access, programs, web traffic, service starts. */
function background(w: Writer, hosts: Host[], n: number, r: () => number, from: number, to: number): void {
  const dc = hosts.find((h) => h.kind === 'dc')!;
  const fs = hosts.find((h) => h.kind === 'fs')!;
  const parents = new Map<string, string>();
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const apps = [
    ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer --lang=en-US'],
    ['C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE', '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE" '],
    ['C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "\\\\FS01\\Shares\\Finance\\Q2 plan.docx"'],
    ['C:\\Windows\\System32\\notepad.exe', '"C:\\Windows\\system32\\notepad.exe" C:\\Users\\Public\\notes.txt'],
    ['C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe', '"C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe" --system-initiated'],
    ['C:\\Windows\\System32\\calc.exe', '"C:\\Windows\\System32\\calc.exe" '],
  ] as const;
  const svcs = ['Windows Update', 'Background Intelligent Transfer Service', 'Windows Modules Installer', 'Print Spooler', 'WinHTTP Web Proxy Auto-Discovery Service'];
  // Each host starts the day with an interactive logon of its user (servers: an admin).
  for (const h of hosts) {
    const t = from + Math.floor(r() * 30 * 60_000);
    w.logon(h, t, {
      user: h.kind === 'ws' ? h.user : 'adm_' + h.user,
      type: h.kind === 'ws' ? 2 : 10,
      ip: h.kind === 'ws' ? '127.0.0.1' : hosts[hosts.length - 1]!.ip,
      workstation: h.kind === 'ws' ? h.name : hosts[hosts.length - 1]!.name,
      kerberos: true,
    });
    parents.set(
      h.name,
      w.process(h, t + 2000, {
        image: EXPLORER.image,
        cmd: EXPLORER.cmd,
        user: `${NETBIOS}\\${h.user}`,
        parent: { image: 'C:\\Windows\\System32\\userinit.exe', cmd: 'C:\\Windows\\system32\\userinit.exe', guid: w.guid(t) },
      }),
    );
  }
  for (let i = 0; i < n; i++) {
    const t = from + Math.floor(r() * (to - from));
    const h = pick(hosts);
    const user = `${NETBIOS}\\${h.user}`;
    const roll = r();
    if (roll < 0.3 && h.kind === 'ws') {
      // Kerberos network logon to the file server or DC, and the SMB connection behind it.
      const target = r() < 0.7 ? fs : dc;
      w.logon(target, t + 40, { user: h.user, type: 3, ip: h.ip, workstation: h.name, kerberos: true });
      w.connection(h, t, { image: 'System', user: 'NT AUTHORITY\\SYSTEM', dstIp: target.ip, dstPort: 445, dstHost: target.fqdn, guid: '{5AA13A44-0000-0000-0000-000000000004}' });
    } else if (roll < 0.55) {
      const [image, cmd] = pick(apps);
      w.process(h, t, { image, cmd, user, parent: { ...EXPLORER, guid: parents.get(h.name)! } });
    } else if (roll < 0.75) {
      w.connection(h, t, { image: apps[0][0], user, dstIp: `142.250.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`, dstPort: 443, guid: parents.get(h.name)! });
    } else if (roll < 0.85) {
      w.serviceState(h, t, pick(svcs), r() < 0.5 ? 'running' : 'stopped');
    } else if (roll < 0.9) {
      // NTLM network logons between servers (backup agents, monitoring).
      const src = pick(hosts.filter((x) => x.kind !== 'ws'));
      if (src !== h) w.logon(h, t, { user: 'svc_monitor', type: 3, ip: src.ip, workstation: src.name });
    } else if (roll < 0.95) {
      w.process(h, t, {
        image: 'C:\\Windows\\System32\\svchost.exe',
        cmd: 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule',
        user: 'NT AUTHORITY\\SYSTEM',
        parent: { ...SERVICES, guid: w.guid(from) },
        integrity: 'System',
      });
    } else if (roll < 0.96) {
      w.service(h, t, 'Google Update Service (gupdate)', '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc', 'LocalSystem');
    } else if (roll < 0.965) {
      // Helpdesk habits that some rules flag at low or medium level: never a story on their own.
      const [image, cmd] = pick([
        ['C:\\Windows\\System32\\whoami.exe', 'whoami /groups'],
        ['C:\\Windows\\System32\\net.exe', 'net group "Domain Admins" /domain'],
        ['C:\\Windows\\System32\\ipconfig.exe', 'ipconfig /all'],
        ['C:\\Windows\\System32\\schtasks.exe', 'schtasks /query /fo LIST /v'],
      ] as const);
      w.process(h, t, { image, cmd, user, parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: '"C:\\Windows\\system32\\cmd.exe"', guid: w.guid(t) } });
    } else {
      w.process(h, t, {
        image: 'C:\\Windows\\System32\\gpupdate.exe',
        cmd: 'gpupdate /force',
        user,
        parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: '"C:\\Windows\\system32\\cmd.exe"', guid: w.guid(t) },
      });
    }
  }
}

function flush(dir: string, w: Writer): { files: string[]; events: number } {
  mkdirSync(dir, { recursive: true });
  const byHost = new Map<string, Out[]>();
  for (const o of w.out) {
    const list = byHost.get(o.host.name) ?? [];
    list.push(o);
    byHost.set(o.host.name, list);
  }
  const files: string[] = [];
  for (const [name, list] of [...byHost].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    list.sort((a, b) => a.t - b.t);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, list.map((o) => JSON.stringify(o.doc)).join('\n') + '\n');
    files.push(file);
  }
  return { files, events: w.out.length };
}

/** Background activity only (no attack): the same network and day. */
export function writeBackgroundOnly(dir: string, opts: ScenarioOptions = {}): { hosts: string[]; addresses: Record<string, string>; files: string[]; events: number } {
  const r = rng(opts.seed ?? 1);
  const hosts = network(opts.hosts ?? 12, r);
  const w = new Writer(r);
  background(w, hosts, opts.noiseEvents ?? 3000, r, DAY, DAY + 12 * 3_600_000);
  return { hosts: hosts.map((h) => h.fqdn), addresses: Object.fromEntries(hosts.map((h) => [h.fqdn, h.ip])), ...flush(dir, w) };
}

/** The intrusion inside background activity; returns what really happened. */
export function writeScenario(dir: string, opts: ScenarioOptions = {}): GroundTruth {
  const r = rng(opts.seed ?? 1);
  const hosts = network(opts.hosts ?? 12, r);
  const w = new Writer(r);
  background(w, hosts, opts.noiseEvents ?? 3000, r, DAY, DAY + 12 * 3_600_000);

  const dc = hosts.find((h) => h.kind === 'dc')!;
  const fs = hosts.find((h) => h.kind === 'fs')!;
  const servers = hosts.filter((h) => h.kind === 'srv');
  const workstations = hosts.filter((h) => h.kind === 'ws');
  const pz = workstations[Math.floor(r() * workstations.length)]!;
  const extra = servers[Math.floor(r() * servers.length)]!;
  const targets = [fs, dc, extra];
  const user = 'svc_backup';
  const admin = 'Administrator';
  let t = ATTACK;
  const sec = (s: number) => (t += s * 1000);

  // 1. Password guessing over SMB from the internet, then a success.
  const guesses = ['administrator', 'admin', 'backup', 'svc_backup', 'scanner', 'test', 'user', 'sql', 'svc_sql', 'helpdesk'];
  for (let i = 0; i < 24; i++) {
    w.failedLogon(pz, sec(3 + Math.floor(r() * 4)), guesses[i % guesses.length]!, ATTACKER_IP, '-');
  }
  sec(20);
  const entryLogon = w.logon(pz, t, { user, type: 3, ip: ATTACKER_IP, workstation: '-', ntlmPth: false });
  const entryAt = t;

  // 2. Credential dumping on the foothold (comsvcs MiniDump of LSASS).
  sec(90);
  const shell = w.process(pz, t, {
    image: 'C:\\Windows\\System32\\cmd.exe',
    cmd: 'cmd.exe /Q /c whoami /all',
    user: `${NETBIOS}\\${user}`,
    parent: { ...SERVICES, guid: w.guid(t) },
    logonId: entryLogon,
    integrity: 'High',
    original: 'Cmd.Exe',
  });
  sec(40);
  const dumper = w.process(pz, t, {
    image: 'C:\\Windows\\System32\\rundll32.exe',
    cmd: 'rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 652 C:\\Windows\\Temp\\lsass.dmp full',
    user: `${NETBIOS}\\${user}`,
    parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'cmd.exe /Q /c whoami /all', guid: shell },
    logonId: entryLogon,
    integrity: 'High',
    original: 'RUNDLL32.EXE',
  });
  sec(1);
  w.event(pz, t, SYSMON, SYSMON_CH, 10, {
    RuleName: '-',
    UtcTime: new Date(t).toISOString().replace('T', ' ').replace('Z', ''),
    SourceProcessGUID: dumper,
    SourceProcessId: 5123,
    SourceThreadId: 5200,
    SourceImage: 'C:\\Windows\\System32\\rundll32.exe',
    TargetProcessGUID: '{5AA13A44-0001-0000-0000-000000000652}',
    TargetProcessId: 652,
    TargetImage: 'C:\\Windows\\system32\\lsass.exe',
    GrantedAccess: '0x1fffff',
    CallTrace: 'C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\System32\\comsvcs.dll+4b3a1|C:\\Windows\\System32\\rundll32.exe+3bc4',
    SourceUser: `${NETBIOS}\\${user}`,
    TargetUser: 'NT AUTHORITY\\SYSTEM',
  });

  // 3. Spread: pass-the-hash logon with the dumped Administrator hash, admin shares, a service.
  const spreadEdges: [string, string][] = [];
  const spreadAt: string[] = [];
  sec(6 * 60);
  targets.forEach((target, i) => {
    sec(5 * 60 + Math.floor(r() * 120));
    w.connection(pz, t - 500, { image: 'System', user: 'NT AUTHORITY\\SYSTEM', dstIp: target.ip, dstPort: 445, guid: '{5AA13A44-0000-0000-0000-000000000004}' });
    const lid = w.logon(target, t, { user: admin, type: 3, ip: pz.ip, workstation: pz.name, ntlmPth: true });
    spreadEdges.push([pz.fqdn, target.fqdn]);
    spreadAt.push(new Date(t).toISOString());
    sec(1);
    w.share(target, t, { user: admin, ip: pz.ip, share: '\\\\*\\IPC$', path: '', target: 'svcctl', access: '%%4416 %%4417 %%4418 %%4419 %%4420 %%4423 %%4424', mask: '0x12019f', logonId: lid });
    sec(1);
    const psexec = i !== 1;
    const svcName = psexec ? 'PSEXESVC' : 'BTOBTO';
    const svcImage = psexec
      ? '%SystemRoot%\\PSEXESVC.exe'
      : '%COMSPEC% /Q /c echo cd  ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & %COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat';
    if (psexec) w.share(target, t, { user: admin, ip: pz.ip, share: '\\\\*\\ADMIN$', path: '\\??\\C:\\Windows', target: 'PSEXESVC.exe', access: '%%4417 %%4418', mask: '0x2', logonId: lid });
    sec(2);
    w.service(target, t, svcName, svcImage);
    sec(1);
    w.serviceState(target, t, svcName, 'running');
    sec(2);
    const svcGuid = w.guid(t);
    w.process(target, t, {
      image: 'C:\\Windows\\System32\\cmd.exe',
      cmd: psexec ? '"cmd.exe" /c hostname' : 'C:\\Windows\\system32\\cmd.exe /Q /c echo cd ^> \\\\127.0.0.1\\C$\\__output 2^>^&1',
      user: 'NT AUTHORITY\\SYSTEM',
      parent: { image: psexec ? 'C:\\Windows\\PSEXESVC.exe' : 'C:\\Windows\\System32\\services.exe', cmd: psexec ? 'C:\\Windows\\PSEXESVC.exe' : 'C:\\Windows\\system32\\services.exe', guid: svcGuid },
      integrity: 'System',
      original: 'Cmd.Exe',
    });
  });

  // 4. Credentials on the DC (procdump of LSASS).
  sec(3 * 60);
  w.process(dc, t, {
    image: 'C:\\Windows\\Temp\\procdump64.exe',
    cmd: 'C:\\Windows\\Temp\\procdump64.exe -accepteula -ma lsass.exe C:\\Windows\\Temp\\dc.dmp',
    user: 'NT AUTHORITY\\SYSTEM',
    parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'cmd.exe', guid: w.guid(t) },
    integrity: 'System',
    original: 'procdump',
    description: 'Sysinternals process dump utility',
  });

  // 5. Collection on the file server: password-protected archives.
  sec(6 * 60);
  const fsCmd = w.guid(t);
  w.process(fs, t, {
    image: 'C:\\Program Files\\7-Zip\\7z.exe',
    cmd: '7z.exe a -t7z -mhe=on -pWinter2024! C:\\ProgramData\\fin.7z D:\\Shares\\Finance\\*',
    user: 'NT AUTHORITY\\SYSTEM',
    parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'cmd.exe', guid: fsCmd },
    integrity: 'System',
    original: '7z.exe',
    description: '7-Zip Console',
  });
  sec(3 * 60);
  w.process(fs, t, {
    image: 'C:\\Program Files\\7-Zip\\7z.exe',
    cmd: '7z.exe a -t7z -pWinter2024! C:\\ProgramData\\hr.7z D:\\Shares\\HR\\*',
    user: 'NT AUTHORITY\\SYSTEM',
    parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'cmd.exe', guid: fsCmd },
    integrity: 'System',
    original: '7z.exe',
    description: '7-Zip Console',
  });

  // 6. Impact on the file server and the extra server: shadow copies, backups, raw disk.
  sec(8 * 60);
  for (const h of [fs, extra]) {
    const parent = w.guid(t);
    w.process(h, sec(5), {
      image: 'C:\\Windows\\System32\\vssadmin.exe',
      cmd: 'vssadmin.exe delete shadows /all /quiet',
      user: 'NT AUTHORITY\\SYSTEM',
      parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'cmd.exe', guid: parent },
      integrity: 'System',
      original: 'VSSADMIN.EXE',
    });
    for (let i = 0; i < 12; i++) {
      w.event(h, sec(1), SYSMON, SYSMON_CH, 23, {
        RuleName: '-',
        UtcTime: new Date(t).toISOString().replace('T', ' ').replace('Z', ''),
        ProcessGuid: parent,
        ProcessId: 4420,
        User: 'NT AUTHORITY\\SYSTEM',
        Image: 'C:\\Windows\\System32\\cmd.exe',
        TargetFilename: `D:\\Backups\\${h.name}\\weekly-${String(i).padStart(2, '0')}.bak`,
        Hashes: 'SHA256=0000',
        IsExecutable: false,
        Archived: 'true',
      });
    }
    w.event(h, sec(3), SYSMON, SYSMON_CH, 9, {
      RuleName: '-',
      UtcTime: new Date(t).toISOString().replace('T', ' ').replace('Z', ''),
      ProcessGuid: w.guid(t),
      ProcessId: 6120,
      Image: 'C:\\ProgramData\\wipe.exe',
      Device: '\\Device\\HarddiskVolume2',
      User: 'NT AUTHORITY\\SYSTEM',
    });
  }

  // 7. Covering tracks: Security log cleared on the DC, System log on the file server.
  sec(4 * 60);
  w.event(
    dc,
    t,
    'Microsoft-Windows-Eventlog',
    'Security',
    1102,
    { LogFileCleared: { SubjectUserSid: 'S-1-5-21-3623811015-3361044348-30300820-500', SubjectUserName: admin, SubjectDomainName: NETBIOS, SubjectLogonId: '0x3b2c1d' } },
    'UserData',
  );
  sec(30);
  w.event(fs, t, 'Microsoft-Windows-Eventlog', 'System', 104, { LogFileCleared: { SubjectUserName: admin, SubjectDomainName: NETBIOS, Channel: 'System', BackupPath: '' } }, 'UserData');

  const end = t;
  const written = flush(dir, w);
  return {
    domain: DOMAIN,
    hosts: hosts.map((h) => h.fqdn),
    addresses: Object.fromEntries(hosts.map((h) => [h.fqdn, h.ip])),
    attackerIp: ATTACKER_IP,
    patientZero: pz.fqdn,
    compromisedHosts: [pz.fqdn, ...targets.map((h) => h.fqdn)],
    spreadEdges,
    spreadAt,
    // Log clearing is defense evasion, but SigmaHQ now tags it with newer ATT&CK names
    // (defense-impairment): see logCleared instead.
    tactics: ['initial-access', 'execution', 'credential-access', 'lateral-movement', 'collection', 'impact'],
    logCleared: [dc.fqdn, fs.fqdn],
    wiped: [fs.fqdn, extra.fqdn],
    accounts: [`${NETBIOS}\\${user}`, `${NETBIOS}\\${admin}`],
    start: new Date(entryAt - 24 * 5000).toISOString(),
    end: new Date(end).toISOString(),
    ...written,
  };
}
