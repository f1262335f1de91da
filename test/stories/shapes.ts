/**
 * Windows events as Windows writes them, for the administered network (./network.ts) and the
 * intrusion inside it: the Security audit events of logons, privileges, shares, Kerberos, NTLM,
 * account management and scheduled tasks; Sysmon 1/3/10/11/13/17/23; Service Control Manager
 * 7045/7036/7040; PowerShell 4104/400/403; WinRM 6/91/169; Terminal Services 21–25 and 1149;
 * Task Scheduler 106; User32 1074 and the Eventlog's 6005/6006.
 *
 * Field names, order, formats and the usual values follow what Windows 10 / Server 2019 write
 * (e.g. `NtLmSsp ` and `User32 ` with their trailing space, Kerberos network logons with an empty
 * workstation name, RDP logons naming the *target* as workstation, IPv4-mapped addresses in
 * Kerberos events, hex process IDs in Security events). Nothing here is shaped to make a rule
 * fire or not fire.
 */
import { DOMAIN, DOMAIN_SID, fnv, NETBIOS, SCM, SECURITY, SYSMON, SYSMON_CH, type Host, type ProcessOptions, type Shapes, type Writer } from './winlog.js';

export interface Account {
  /** sAMAccountName (`jsmith`, `adm_jdoe`, `svc_backup`, `WS012$`). */
  name: string;
  sid: string;
  /** Holds administrative rights where it logs on (4672 follows its logons, its network logons get a full token). */
  admin: boolean;
}

/** A running process, enough to be a parent or the source of an event. */
export interface Proc {
  guid: string;
  pid: number;
  image: string;
  cmd: string;
  /** `CORP\name` or `NT AUTHORITY\SYSTEM`. */
  user: string;
  logonId?: string;
  session?: number;
  integrity?: string;
}

const SYSTEM_USER = 'NT AUTHORITY\\SYSTEM';
const OK = '0x8020000000000000';
const FAIL = '0x8010000000000000';
const SCM_KW = '0x8080000000000000';
const PRIVILEGES = [
  'SeSecurityPrivilege',
  'SeTakeOwnershipPrivilege',
  'SeLoadDriverPrivilege',
  'SeBackupPrivilege',
  'SeRestorePrivilege',
  'SeDebugPrivilege',
  'SeSystemEnvironmentPrivilege',
  'SeImpersonatePrivilege',
  'SeDelegateSessionUserImpersonatePrivilege',
].join('\r\n\t\t\t');
const ACCESS_SEP = '\r\n\t\t\t\t';

/** Image metadata Sysmon reads from the PE version resource, for the binaries the network runs. */
const META: Record<string, [description: string, product: string, company: string, version: string, original: string]> = {
  'psexec64.exe': ['Execute processes remotely', 'Sysinternals PsExec', 'Sysinternals - www.sysinternals.com', '2.43', 'psexec.exe'],
  'psexesvc.exe': ['PsExec Service', 'Sysinternals PsExec', 'Sysinternals - www.sysinternals.com', '2.43', 'psexesvc.exe'],
  'chrome.exe': ['Google Chrome', 'Google Chrome', 'Google LLC', '124.0.6367.119', 'chrome.exe'],
  'googleupdate.exe': ['Google Installer', 'Google Update', 'Google LLC', '1.3.36.372', 'GoogleUpdate.exe'],
  'msedge.exe': ['Microsoft Edge', 'Microsoft Edge', 'Microsoft Corporation', '124.0.2478.97', 'msedge.exe'],
  'microsoftedgeupdate.exe': ['Microsoft Edge Update', 'Microsoft Edge Update', 'Microsoft Corporation', '1.3.185.29', 'msedgeupdate.dll'],
  'outlook.exe': ['Microsoft Outlook', 'Microsoft Outlook', 'Microsoft Corporation', '16.0.17531.20140', 'Outlook.exe'],
  'winword.exe': ['Microsoft Word', 'Microsoft Office', 'Microsoft Corporation', '16.0.17531.20140', 'WinWord.exe'],
  'excel.exe': ['Microsoft Excel', 'Microsoft Office', 'Microsoft Corporation', '16.0.17531.20140', 'Excel.exe'],
  'ms-teams.exe': ['Microsoft Teams', 'Microsoft Teams', 'Microsoft Corporation', '24091.214.2846.1452', 'ms-teams.exe'],
  'onedrive.exe': ['Microsoft OneDrive', 'Microsoft OneDrive', 'Microsoft Corporation', '24.076.0414.0003', 'OneDrive.exe'],
  'onedrivestandaloneupdater.exe': ['OneDrive Standalone Updater', 'Microsoft OneDrive', 'Microsoft Corporation', '24.076.0414.0003', 'OneDriveStandaloneUpdater.exe'],
  'officec2rclient.exe': ['Microsoft Office Click-to-Run Client', 'Microsoft Office', 'Microsoft Corporation', '16.0.17531.20140', 'OfficeC2RClient.exe'],
  'acrobat.exe': ['Adobe Acrobat', 'Adobe Acrobat', 'Adobe Systems Incorporated', '24.2.20687.0', 'Acrobat.exe'],
  'adobearm.exe': ['Adobe Reader and Acrobat Manager', 'Adobe Reader and Acrobat Manager', 'Adobe Systems Incorporated', '1.824.39.9311', 'AdobeARM.exe'],
  'pdqdeployrunner-1.exe': ['PDQ Deploy Runner', 'PDQ Deploy', 'PDQ.com', '19.3.570.0', 'PDQDeployRunner.exe'],
  'pdqdeployservice.exe': ['PDQ Deploy Service', 'PDQ Deploy', 'PDQ.com', '19.3.570.0', 'PDQDeployService.exe'],
  'stdeploy.exe': ['Security Controls Deployment Agent', 'Ivanti Security Controls', 'Ivanti, Inc.', '9.5.9337.0', 'STDeploy.exe'],
  'st.protect.exe': ['Security Controls Console', 'Ivanti Security Controls', 'Ivanti, Inc.', '9.5.9337.0', 'ST.Protect.exe'],
  'veeamguesthelper.exe': ['Veeam Guest Helper', 'Veeam Backup & Replication', 'Veeam Software Group GmbH', '12.1.1.56', 'VeeamGuestHelper.exe'],
  'veeam.backup.manager.exe': ['Veeam Backup Manager', 'Veeam Backup & Replication', 'Veeam Software Group GmbH', '12.1.1.56', 'Veeam.Backup.Manager.exe'],
  'nessusd.exe': ['Nessus Scanner', 'Tenable Nessus', 'Tenable, Inc.', '10.7.2.20003', 'nessusd.exe'],
  'npp.8.6.5.installer.x64.exe': ['Notepad++ : a free (GNU) source code editor', 'Notepad++', 'Don HO don.h@free.fr', '8.6.5', 'npp.8.6.5.Installer.x64.exe'],
  'vlc-3.0.20-win64.exe': ['VLC media player', 'VLC media player', 'VideoLAN', '3.0.20', 'vlc-3.0.20-win64.exe'],
  'acrordrdcx642400220687_mui.exe': ['Adobe Self Extractor', 'Adobe Acrobat', 'Adobe Inc.', '24.2.20687.0', 'AcroRdrDCx642400220687_MUI.exe'],
  'zoominstallerfull.exe': ['Zoom Installer', 'Zoom', 'Zoom Video Communications, Inc.', '6.0.2.33403', 'ZoomInstallerFull.exe'],
  '124.0.6367.119_chrome_installer.exe': ['Google Chrome Installer', 'Google Chrome Installer', 'Google LLC', '124.0.6367.119', 'mini_installer.exe'],
  'setup.exe': ['Google Chrome Installer', 'Google Chrome Installer', 'Google LLC', '124.0.6367.119', 'setup.exe'],
  '7z.exe': ['7-Zip Console', '7-Zip', 'Igor Pavlov', '23.01', '7z.exe'],
  'procdump64.exe': ['Sysinternals process dump utility', 'ProcDump', 'Sysinternals - www.sysinternals.com', '11.0', 'procdump'],
  'wipe.exe': ['', '', '', '', ''],
};
/** Windows binaries whose OriginalFileName differs from the file name in case. */
const WINDOWS_ORIGINAL: Record<string, string> = {
  'cmd.exe': 'Cmd.Exe',
  'powershell.exe': 'PowerShell.EXE',
  'rundll32.exe': 'RUNDLL32.EXE',
  'net.exe': 'net.exe',
  'net1.exe': 'net1.exe',
  'msiexec.exe': 'msiexec.exe',
  'svchost.exe': 'svchost.exe',
  'wsmprovhost.exe': 'wsmprovhost.exe',
  'explorer.exe': 'EXPLORER.EXE',
  'userinit.exe': 'USERINIT.EXE',
  'mstsc.exe': 'mstsc.exe',
  'mmc.exe': 'MMC.EXE',
  'schtasks.exe': 'schtasks.exe',
  'vssadmin.exe': 'VSSADMIN.EXE',
  'wusa.exe': 'wusa.exe',
  'shutdown.exe': 'shutdown.exe',
  'whoami.exe': 'whoami.exe',
  'ipconfig.exe': 'ipconfig.exe',
  'gpupdate.exe': 'GPUpdate.exe',
};

/** A hex string of `n` digits derived from `seed` (the same file has the same hash on every host). */
function hexOf(seed: string, n: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++)
    s += fnv(seed + '#' + i)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n).toUpperCase();
}

const iso = (t: number) => new Date(t).toISOString();
const utc = (t: number) => iso(t).replace('T', ' ').replace('Z', '');
const hexId = (n: number) => '0x' + n.toString(16);

/** The faithful event shapes over a Writer, knowing the domain's accounts and controllers. */
export class Win implements Shapes {
  private readonly procs = new Map<string, Proc>();
  /** Recent processes by GUID, so the original shapes (which name a parent by GUID) get its process ID. */
  private readonly byGuid = new Map<string, Proc>();
  private readonly tickets = new Set<string>();
  /** TGTs issued (account, client, 10-hour lifetime): a service ticket is never asked for without one. */
  private readonly tgts = new Set<string>();
  private guidN = 0;

  private readonly opened = new Set<string>();

  constructor(
    readonly w: Writer,
    readonly dcs: Host[],
    private readonly accounts: Map<string, Account>,
  ) {
    w.sidOf = (name) => this.account(name).sid;
    w.shapes = this;
  }

  /** Is this a domain account (an unknown name fails with "no such user", not "bad password")? */
  known(name: string): boolean {
    return this.accounts.has(name.toLowerCase()) || name.toLowerCase() === 'administrator';
  }

  private rand(n: number): number {
    return Math.floor(this.w.rand() * n);
  }

  account(name: string): Account {
    const key = name.toLowerCase();
    const a = this.accounts.get(key);
    if (a) return a;
    if (key === 'administrator') return { name: 'Administrator', sid: `${DOMAIN_SID}-500`, admin: true };
    if (key === 'anonymous logon') return { name, sid: 'S-1-5-7', admin: false };
    return { name, sid: `${DOMAIN_SID}-${2000 + (fnv(key) % 5000)}`, admin: false };
  }

  /** The domain controller a host authenticates against (stable per host, as a site's DC locator picks). */
  dcFor(h: Host): Host {
    return this.dcs[fnv(h.name) % this.dcs.length]!;
  }

  /** A process GUID as Sysmon writes it: machine part, start time, sequence. */
  guid(t: number, host?: Host): string {
    this.guidN++;
    const s = Math.floor(t / 1000);
    const hex = (n: number, w: number) => (n >>> 0).toString(16).toUpperCase().padStart(w, '0').slice(-w);
    return `{${hexOf(host?.name ?? 'guid' + this.guidN, 8)}-${hex(s & 0xffff, 4)}-${hex(s >>> 16, 4)}-${hex(this.guidN >>> 16, 4)}-0010${hex(0x10000000 + (this.guidN & 0xfffffff) * 97, 8)}}`;
  }

  // ---- processes --------------------------------------------------------------------------------

  /** Processes that were running before the logs begin (no creation event): System, services, svchost groups, lsass. */
  kernel(h: Host): Proc {
    return this.boot(h, 'System', 'System', 4);
  }
  services(h: Host): Proc {
    return this.boot(h, 'C:\\Windows\\System32\\services.exe', 'C:\\Windows\\system32\\services.exe', 700 + (fnv(h.name) % 60));
  }
  schedule(h: Host): Proc {
    return this.boot(h, 'C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule', 1400 + (fnv(h.name + 's') % 300));
  }
  dcomLaunch(h: Host): Proc {
    return this.boot(h, 'C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p', 880 + (fnv(h.name + 'd') % 60));
  }
  wuauserv(h: Host): Proc {
    return this.boot(h, 'C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s wuauserv', 2200 + (fnv(h.name + 'w') % 300));
  }
  winlogon(h: Host, session = 1): Proc {
    return { ...this.boot(h, 'C:\\Windows\\System32\\winlogon.exe', 'winlogon.exe', 600 + (fnv(h.name + 'wl') % 80)), session };
  }
  lsass(h: Host): Proc {
    return this.boot(h, 'C:\\Windows\\System32\\lsass.exe', 'C:\\Windows\\system32\\lsass.exe', 760 + (fnv(h.name + 'l') % 40));
  }
  /** A long-running service process of its own (backup, deployment, scanner consoles). */
  daemon(h: Host, image: string, cmd: string): Proc {
    return this.boot(h, image, cmd, 3000 + (fnv(h.name + image) % 3000));
  }

  private boot(h: Host, image: string, cmd: string, pid: number): Proc {
    const key = h.name + '|' + cmd;
    let p = this.procs.get(key);
    if (!p) {
      p = { guid: `{${hexOf(h.name, 8)}-0000-0000-${hexOf(key, 4)}-${hexOf(key + 'g', 12)}}`, pid, image, cmd, user: SYSTEM_USER, logonId: '0x3e7', session: 0, integrity: 'System' };
      this.procs.set(key, p);
    }
    return p;
  }

  /** Sysmon 1 (and Security 4688 where audited): a process started. */
  proc(h: Host, t: number, o: { image: string; cmd: string; parent: Proc; user?: string; logonId?: string; session?: number; integrity?: string; cwd?: string; guid?: string }): Proc {
    const user = o.user ?? o.parent.user;
    const system = user === SYSTEM_USER;
    const p: Proc = {
      guid: o.guid ?? this.guid(t, h),
      pid: 1000 + 4 * this.rand(4000),
      image: o.image,
      cmd: o.cmd,
      user,
      logonId: o.logonId ?? (system ? '0x3e7' : o.parent.logonId),
      session: o.session ?? o.parent.session ?? 0,
      integrity: o.integrity ?? (system ? 'System' : o.parent.integrity === 'System' ? 'High' : (o.parent.integrity ?? 'Medium')),
    };
    const exe = o.image.slice(o.image.lastIndexOf('\\') + 1);
    const m = META[exe.toLowerCase()];
    const windows = !m && /^C:\\Windows\\/i.test(o.image);
    const lid = p.logonId ?? '0x3e7';
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      1,
      {
        RuleName: '-',
        UtcTime: utc(t),
        ProcessGuid: p.guid,
        ProcessId: p.pid,
        Image: o.image,
        FileVersion: m ? m[3] : windows ? '10.0.19041.4355 (WinBuild.160101.0800)' : '-',
        Description: m ? m[0] : windows ? exe.replace(/\.exe$/i, '') : '-',
        Product: m ? m[1] : windows ? 'Microsoft® Windows® Operating System' : '-',
        Company: m ? m[2] : windows ? 'Microsoft Corporation' : '-',
        OriginalFileName: m ? m[4] : windows ? (WINDOWS_ORIGINAL[exe.toLowerCase()] ?? exe.toUpperCase()) : '-',
        CommandLine: o.cmd,
        CurrentDirectory: o.cwd ?? (user.startsWith('NT AUTHORITY\\') ? 'C:\\Windows\\system32\\' : `C:\\Users\\${user.slice(user.indexOf('\\') + 1)}\\`),
        User: user,
        LogonGuid: `{${hexOf(h.name, 8)}-0000-0000-0000-0020${lid.slice(2).toUpperCase().padStart(8, '0')}}`,
        LogonId: lid,
        TerminalSessionId: p.session,
        IntegrityLevel: p.integrity,
        Hashes: `MD5=${hexOf(o.image.toLowerCase() + 'm', 32)},SHA256=${hexOf(o.image.toLowerCase() + 's', 64)},IMPHASH=${hexOf(exe.toLowerCase() + 'i', 32)}`,
        ParentProcessGuid: o.parent.guid,
        ParentProcessId: o.parent.pid,
        ParentImage: o.parent.image,
        ParentCommandLine: o.parent.cmd,
        ParentUser: o.parent.user,
      },
      'EventData',
      { version: 5, task: 1, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
    if (h.audit4688) this.w.processAudit(h, t, { image: o.image, cmd: o.cmd, user, parent: o.parent, logonId: lid, integrity: p.integrity, pid: p.pid, ppid: o.parent.pid });
    this.byGuid.set(p.guid, p);
    if (this.byGuid.size > 4096) this.byGuid.delete(this.byGuid.keys().next().value!);
    return p;
  }

  /** The process a service install starts (services.exe is its parent). */
  serviceProcess(h: Host, t: number, image: string, cmd: string, guid?: string): Proc {
    return this.proc(h, t, { image, cmd, parent: this.services(h), user: SYSTEM_USER, guid });
  }

  // ---- Sysmon, other events ----------------------------------------------------------------------

  conn(h: Host, t: number, p: Proc, dst: { ip: string; port: number; host?: string }): void {
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      3,
      {
        RuleName: '-',
        UtcTime: utc(t),
        ProcessGuid: p.guid,
        ProcessId: p.pid,
        Image: p.image,
        User: p.user,
        Protocol: 'tcp',
        Initiated: true,
        SourceIsIpv6: false,
        SourceIp: h.ip,
        SourceHostname: h.fqdn,
        SourcePort: 49152 + this.rand(16000),
        SourcePortName: '-',
        DestinationIsIpv6: false,
        DestinationIp: dst.ip,
        DestinationHostname: dst.host ?? '-',
        DestinationPort: dst.port,
        DestinationPortName: PORT_NAMES[dst.port] ?? '-',
      },
      'EventData',
      { version: 5, task: 3, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
  }

  file(h: Host, t: number, p: Pick<Proc, 'guid' | 'image' | 'user'> & { pid?: number }, path: string): void {
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      11,
      { RuleName: '-', UtcTime: utc(t), ProcessGuid: p.guid, ProcessId: p.pid ?? 4, Image: p.image, TargetFilename: path, CreationUtcTime: utc(t), User: p.user },
      'EventData',
      { version: 2, task: 11, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
  }

  fileDelete(h: Host, t: number, p: Proc, path: string): void {
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      23,
      {
        RuleName: '-',
        UtcTime: utc(t),
        ProcessGuid: p.guid,
        ProcessId: p.pid,
        User: p.user,
        Image: p.image,
        TargetFilename: path,
        Hashes: `MD5=${hexOf(path + 'm', 32)},SHA256=${hexOf(path + 's', 64)},IMPHASH=00000000000000000000000000000000`,
        IsExecutable: false,
        Archived: 'true',
      },
      'EventData',
      { version: 5, task: 23, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
  }

  registry(h: Host, t: number, p: Proc, key: string, details: string): void {
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      13,
      { RuleName: '-', EventType: 'SetValue', UtcTime: utc(t), ProcessGuid: p.guid, ProcessId: p.pid, Image: p.image, TargetObject: key, Details: details, User: p.user },
      'EventData',
      { version: 2, task: 13, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
  }

  pipe(h: Host, t: number, p: Proc, name: string): void {
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      17,
      { RuleName: '-', EventType: 'CreatePipe', UtcTime: utc(t), ProcessGuid: p.guid, ProcessId: p.pid, PipeName: name, Image: p.image, User: p.user },
      'EventData',
      { version: 1, task: 17, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
  }

  /** PsExec's service creates its control pipe and one stdin/stdout/stderr triple per client. */
  psexecPipes(h: Host, t: number, svc: Proc, client: string): void {
    this.pipe(h, t, svc, '\\PSEXESVC');
    const n = 1000 + this.rand(9000);
    for (const s of ['stdin', 'stdout', 'stderr']) this.pipe(h, t + 150, svc, `\\PSEXESVC-${client}-${n}-${s}`);
  }

  processAccess(h: Host, t: number, src: Proc, target: Proc, access: string, trace: string): void {
    this.w.event(
      h,
      t,
      SYSMON,
      SYSMON_CH,
      10,
      {
        RuleName: '-',
        UtcTime: utc(t),
        SourceProcessGUID: src.guid,
        SourceProcessId: src.pid,
        SourceThreadId: src.pid + 4 + this.rand(400) * 4,
        SourceImage: src.image,
        TargetProcessGUID: target.guid,
        TargetProcessId: target.pid,
        TargetImage: target.image,
        GrantedAccess: access,
        CallTrace: trace,
        SourceUser: src.user,
        TargetUser: target.user,
      },
      'EventData',
      { version: 3, task: 10, pid: 3000 + (fnv(h.name + 'sysmon') % 1000) },
    );
  }

  // ---- services -----------------------------------------------------------------------------------

  serviceInstalled(h: Host, t: number, name: string, image: string, o: { account?: string; start?: string } = {}): void {
    this.w.event(
      h,
      t,
      SCM,
      'System',
      7045,
      { ServiceName: name, ImagePath: image, ServiceType: 'user mode service', StartType: o.start ?? 'demand start', AccountName: o.account ?? 'LocalSystem' },
      'EventData',
      { qualifiers: 16384, keywords: SCM_KW, pid: 700 + (fnv(h.name) % 60) },
    );
  }

  serviceState(h: Host, t: number, display: string, state: string, key = display): void {
    // param3 carries the service key name in binary form (UTF-16LE hex), as Windows writes it.
    const bin = [...key].map((c) => c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0') + '00').join('') + '0000';
    this.w.event(h, t, SCM, 'System', 7036, { param1: display, param2: state, Binary: bin }, 'EventData', { qualifiers: 16384, keywords: SCM_KW, pid: 700 + (fnv(h.name) % 60) });
  }

  serviceStartType(h: Host, t: number, display: string, from: string, to: string, key: string): void {
    this.w.event(h, t, SCM, 'System', 7040, { param1: display, param2: from, param3: to, param4: key }, 'EventData', { qualifiers: 16384, keywords: SCM_KW, pid: 700 + (fnv(h.name) % 60) });
  }

  // ---- logons -------------------------------------------------------------------------------------

  /**
   * Security 4624. Network logons (3) by Kerberos carry no workstation name; by NTLM the client's
   * NetBIOS name. Interactive (2), unlock (7) and RDP (10) logons are processed on the target, so
   * their workstation name is the target's own and the address is the client's (RDP) or loopback.
   */
  logonEvent(
    h: Host,
    t: number,
    o: {
      user: string;
      domain?: string;
      type: 2 | 3 | 5 | 7 | 10;
      auth: 'kerberos' | 'ntlm' | 'negotiate';
      ip: string;
      workstation?: string;
      keyLength?: number;
      elevated?: boolean;
      logonProcess?: string;
    },
  ): string {
    const a = this.account(o.user);
    const id = this.w.logonId();
    const net = o.type === 3;
    const local = o.type === 2 || o.type === 7;
    const ntlm = o.auth === 'ntlm';
    this.w.event(
      h,
      t,
      SECURITY,
      'Security',
      4624,
      {
        SubjectUserSid: net ? 'S-1-0-0' : 'S-1-5-18',
        SubjectUserName: net ? '-' : `${h.name}$`,
        SubjectDomainName: net ? '-' : NETBIOS,
        SubjectLogonId: net ? '0x0' : '0x3e7',
        TargetUserSid: a.sid,
        TargetUserName: o.user,
        TargetDomainName: o.domain ?? NETBIOS,
        TargetLogonId: id,
        LogonType: o.type,
        LogonProcessName: o.logonProcess ?? (net ? (ntlm ? 'NtLmSsp ' : 'Kerberos') : o.type === 5 ? 'Advapi  ' : 'User32 '),
        AuthenticationPackageName: net ? (ntlm ? 'NTLM' : 'Kerberos') : 'Negotiate',
        WorkstationName: net ? (ntlm ? (o.workstation ?? '-') : '') : o.type === 5 ? '-' : h.name,
        LogonGuid: ntlm ? '{00000000-0000-0000-0000-000000000000}' : `{${hexOf(id + h.name, 8)}-${hexOf(id, 4)}-${hexOf(o.user, 4)}-${hexOf(h.name + t, 4)}-${hexOf(id + t, 12)}}`,
        TransmittedServices: '-',
        LmPackageName: ntlm ? 'NTLM V2' : '-',
        KeyLength: ntlm ? (o.keyLength ?? 128) : 0,
        ProcessId: net ? '0x0' : o.type === 5 ? hexId(700 + (fnv(h.name) % 60)) : hexId(1100 + (fnv(h.name + 'lsm') % 400)),
        ProcessName: net ? '-' : o.type === 5 ? 'C:\\Windows\\System32\\services.exe' : 'C:\\Windows\\System32\\svchost.exe',
        IpAddress: local ? '127.0.0.1' : o.type === 5 ? '-' : o.ip,
        IpPort: net ? String(49152 + this.rand(16000)) : o.type === 5 ? '-' : '0',
        ImpersonationLevel: '%%1833',
        RestrictedAdminMode: o.type === 10 ? '%%1843' : '-',
        TargetOutboundUserName: '-',
        TargetOutboundDomainName: '-',
        VirtualAccount: '%%1843',
        TargetLinkedLogonId: '0x0',
        ElevatedToken: (o.elevated ?? a.admin) ? '%%1842' : '%%1843',
      },
      'EventData',
      { version: 2, task: 12544, keywords: OK, pid: 760 + (fnv(h.name + 'l') % 40) },
    );
    if (a.admin) this.privileges(h, t, o.user, id);
    return id;
  }

  /** Security 4672: special privileges assigned to a new logon (every administrator logon). */
  privileges(h: Host, t: number, user: string, logonId: string): void {
    const a = this.account(user);
    this.w.event(h, t, SECURITY, 'Security', 4672, { SubjectUserSid: a.sid, SubjectUserName: user, SubjectDomainName: NETBIOS, SubjectLogonId: logonId, PrivilegeList: PRIVILEGES }, 'EventData', {
      task: 12548,
      keywords: OK,
      pid: 760 + (fnv(h.name + 'l') % 40),
    });
  }

  logoff(h: Host, t: number, user: string, logonId: string, type: number): void {
    this.w.event(h, t, SECURITY, 'Security', 4634, { TargetUserSid: this.account(user).sid, TargetUserName: user, TargetDomainName: NETBIOS, TargetLogonId: logonId, LogonType: type }, 'EventData', {
      task: 12545,
      keywords: OK,
      pid: 760 + (fnv(h.name + 'l') % 40),
    });
  }

  userLogoff(h: Host, t: number, user: string, logonId: string): void {
    this.w.event(h, t, SECURITY, 'Security', 4647, { TargetUserSid: this.account(user).sid, TargetUserName: user, TargetDomainName: NETBIOS, TargetLogonId: logonId }, 'EventData', {
      task: 12545,
      keywords: OK,
      pid: 760 + (fnv(h.name + 'l') % 40),
    });
  }

  /** Security 4625. `status`: bad password, unknown user, or locked out. */
  failed(h: Host, t: number, o: { user: string; type: 2 | 3 | 7 | 10; auth: 'ntlm' | 'kerberos' | 'negotiate'; ip: string; workstation: string; status?: 'password' | 'user' | 'locked' }): void {
    const status = o.status ?? 'password';
    const net = o.type === 3;
    this.w.event(
      h,
      t,
      SECURITY,
      'Security',
      4625,
      {
        SubjectUserSid: net ? 'S-1-0-0' : 'S-1-5-18',
        SubjectUserName: net ? '-' : `${h.name}$`,
        SubjectDomainName: net ? '-' : NETBIOS,
        SubjectLogonId: net ? '0x0' : '0x3e7',
        TargetUserSid: 'S-1-0-0',
        TargetUserName: o.user,
        TargetDomainName: NETBIOS,
        Status: status === 'locked' ? '0xc0000234' : '0xc000006d',
        FailureReason: status === 'locked' ? '%%2307' : '%%2313',
        SubStatus: status === 'password' ? '0xc000006a' : status === 'user' ? '0xc0000064' : '0x0',
        LogonType: o.type,
        LogonProcessName: net ? (o.auth === 'ntlm' ? 'NtLmSsp ' : 'Kerberos') : 'User32 ',
        AuthenticationPackageName: net ? (o.auth === 'ntlm' ? 'NTLM' : 'Kerberos') : 'Negotiate',
        WorkstationName: o.workstation,
        TransmittedServices: '-',
        LmPackageName: '-',
        KeyLength: 0,
        ProcessId: net ? '0x0' : hexId(1100 + (fnv(h.name + 'lsm') % 400)),
        ProcessName: net ? '-' : 'C:\\Windows\\System32\\svchost.exe',
        IpAddress: net || o.type === 10 ? o.ip : '127.0.0.1',
        IpPort: net ? String(40000 + this.rand(20000)) : '0',
      },
      'EventData',
      { task: 12544, keywords: FAIL, pid: 760 + (fnv(h.name + 'l') % 40) },
    );
  }

  /** Security 4648 on the client: a logon with explicit credentials (stored or typed) to `target`, or to `localhost` (runas). */
  explicit(h: Host, t: number, o: { subject: string; subjectLogonId: string; user: string; target: Host | 'localhost'; info: string; process: string; pid: number; port: string }): void {
    const s = this.account(o.subject);
    this.w.event(
      h,
      t,
      SECURITY,
      'Security',
      4648,
      {
        SubjectUserSid: s.sid,
        SubjectUserName: o.subject,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: o.subjectLogonId,
        LogonGuid: '{00000000-0000-0000-0000-000000000000}',
        TargetUserName: o.user,
        TargetDomainName: NETBIOS,
        TargetLogonGuid: '{00000000-0000-0000-0000-000000000000}',
        TargetServerName: o.target === 'localhost' ? 'localhost' : o.target.fqdn,
        TargetInfo: o.info,
        ProcessId: hexId(o.pid),
        ProcessName: o.process,
        IpAddress: o.target === 'localhost' ? '::1' : o.target.ip,
        IpPort: o.port,
      },
      'EventData',
      { task: 12544, keywords: OK, pid: 760 + (fnv(h.name + 'l') % 40) },
    );
  }

  // ---- domain controller: Kerberos, NTLM --------------------------------------------------------

  /** 4768 (TGT) on the client's DC. */
  tgt(client: Host, t: number, user: string): void {
    this.tgts.add(`${user.toLowerCase()}|${client.name}|${Math.floor(t / 36_000_000)}`);
    const dc = this.dcFor(client);
    const a = this.account(user);
    this.w.event(
      dc,
      t,
      SECURITY,
      'Security',
      4768,
      {
        TargetUserName: user,
        TargetDomainName: DOMAIN.toUpperCase(),
        TargetSid: a.sid,
        ServiceName: 'krbtgt',
        ServiceSid: `${DOMAIN_SID}-502`,
        TicketOptions: '0x40810010',
        Status: '0x0',
        TicketEncryptionType: '0x12',
        PreAuthType: '2',
        IpAddress: `::ffff:${client.ip}`,
        IpPort: String(49152 + this.rand(16000)),
        CertIssuerName: '',
        CertSerialNumber: '',
        CertThumbprint: '',
      },
      'EventData',
      { task: 14339, keywords: OK, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  /** 4769 (service ticket) for `service` on `server`: once per account, client, server and day (tickets are cached). */
  serviceTicket(client: Host, t: number, user: string, server: Host, service = 'cifs'): void {
    const key = `${user}|${client.name}|${server.name}|${service}|${Math.floor(t / 86_400_000)}`;
    if (this.tickets.has(key)) return;
    this.tickets.add(key);
    if (!this.tgts.has(`${user.toLowerCase()}|${client.name}|${Math.floor(t / 36_000_000)}`)) this.tgt(client, t - 300, user);
    const dc = this.dcFor(client);
    this.w.event(
      dc,
      t - 40,
      SECURITY,
      'Security',
      4769,
      {
        TargetUserName: `${user}@${DOMAIN.toUpperCase()}`,
        TargetDomainName: DOMAIN.toUpperCase(),
        ServiceName: `${server.name}$`,
        ServiceSid: this.account(`${server.name}$`).sid,
        TicketOptions: '0x40810000',
        TicketEncryptionType: '0x12',
        IpAddress: `::ffff:${client.ip}`,
        IpPort: String(49152 + this.rand(16000)),
        Status: '0x0',
        LogonGuid: `{${hexOf(user + client.name, 8)}-${hexOf(user, 4)}-${hexOf(client.name, 4)}-${hexOf(key, 4)}-${hexOf(key + 'x', 12)}}`,
        TransmittedServices: '-',
      },
      'EventData',
      { task: 14337, keywords: OK, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  /** 4771: Kerberos pre-authentication failed (a mistyped domain password). */
  preauthFailed(client: Host, t: number, user: string): void {
    const dc = this.dcFor(client);
    this.w.event(
      dc,
      t,
      SECURITY,
      'Security',
      4771,
      {
        TargetUserName: user,
        TargetSid: this.account(user).sid,
        ServiceName: `krbtgt/${DOMAIN.toUpperCase()}`,
        TicketOptions: '0x40810010',
        Status: '0x18',
        PreAuthType: '2',
        IpAddress: `::ffff:${client.ip}`,
        IpPort: String(49152 + this.rand(16000)),
        CertIssuerName: '',
        CertSerialNumber: '',
        CertThumbprint: '',
      },
      'EventData',
      { task: 14339, keywords: FAIL, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  /** 4776 on a DC: NTLM credential validation for a domain account (`workstation` is the client's name). */
  ntlmValidation(t: number, user: string, workstation: string, ok: boolean): void {
    const unknown = !ok && !this.known(user);
    const dc = this.dcs[fnv(workstation) % this.dcs.length]!;
    this.w.event(
      dc,
      t,
      SECURITY,
      'Security',
      4776,
      { PackageName: 'MICROSOFT_AUTHENTICATION_PACKAGE_V1_0', TargetUserName: user, Workstation: workstation, Status: ok ? '0x0' : unknown ? '0xc0000064' : '0xc000006a' },
      'EventData',
      { task: 14336, keywords: ok ? OK : FAIL, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  // ---- shares -------------------------------------------------------------------------------------

  shareOpened(h: Host, t: number, o: { user: string; logonId: string; ip: string; share: string; path: string }): void {
    this.w.event(
      h,
      t,
      SECURITY,
      'Security',
      5140,
      {
        SubjectUserSid: this.account(o.user).sid,
        SubjectUserName: o.user,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: o.logonId,
        ObjectType: 'File',
        IpAddress: o.ip,
        IpPort: String(49152 + this.rand(16000)),
        ShareName: `\\\\*\\${o.share}`,
        ShareLocalPath: o.path,
        AccessMask: '0x1',
        AccessList: '%%4416' + ACCESS_SEP,
      },
      'EventData',
      { version: 1, task: 12808, keywords: OK, pid: 4 },
    );
  }

  /** 5145: an object in a share checked for access (`write` adds WriteData/AppendData). */
  shareObject(h: Host, t: number, o: { user: string; logonId: string; ip: string; share: string; path: string; target: string; write?: boolean; pipe?: boolean }): void {
    const access = o.pipe
      ? ['%%1538', '%%1541', '%%4416', '%%4417', '%%4418', '%%4419', '%%4420', '%%4423', '%%4424']
      : o.write
        ? ['%%1538', '%%1541', '%%4417', '%%4418', '%%4420', '%%4423', '%%4424']
        : ['%%1541', '%%4416', '%%4423'];
    this.w.event(
      h,
      t,
      SECURITY,
      'Security',
      5145,
      {
        SubjectUserSid: this.account(o.user).sid,
        SubjectUserName: o.user,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: o.logonId,
        ObjectType: 'File',
        IpAddress: o.ip,
        IpPort: String(49152 + this.rand(16000)),
        ShareName: `\\\\*\\${o.share}`,
        ShareLocalPath: o.path,
        RelativeTargetName: o.target,
        AccessMask: o.pipe ? '0x12019f' : o.write ? '0x130196' : '0x100081',
        AccessList: access.join(ACCESS_SEP) + ACCESS_SEP,
        AccessReason: '-',
      },
      'EventData',
      { task: 12811, keywords: OK, pid: 4 },
    );
  }

  // ---- account management (on a DC) ------------------------------------------------------------

  private accountEvent(dc: Host, t: number, id: number, target: string, subject: { user: string; logonId: string }, extra: Record<string, unknown> = {}, targetDomain = NETBIOS): void {
    const s = this.account(subject.user);
    this.w.event(
      dc,
      t,
      SECURITY,
      'Security',
      id,
      {
        ...(id === 4738 ? { Dummy: '-' } : {}),
        TargetUserName: target,
        TargetDomainName: targetDomain,
        TargetSid: this.account(target).sid,
        SubjectUserSid: subject.user.endsWith('$') ? 'S-1-5-18' : s.sid,
        SubjectUserName: subject.user,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: subject.logonId,
        ...extra,
      },
      'EventData',
      { task: 13824, keywords: OK, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  passwordReset(dc: Host, t: number, target: string, subject: { user: string; logonId: string }): void {
    this.accountEvent(dc, t, 4724, target, subject);
    this.accountChanged(dc, t, target, subject, { PasswordLastSet: stamp(t) });
  }

  passwordChanged(dc: Host, t: number, user: string, logonId: string): void {
    this.accountEvent(dc, t, 4723, user, { user, logonId }, { PrivilegeList: '-' });
    this.accountChanged(dc, t, user, { user: `${dc.name}$`, logonId: '0x3e7' }, { PasswordLastSet: stamp(t) });
  }

  accountChanged(dc: Host, t: number, target: string, subject: { user: string; logonId: string }, change: Record<string, string>): void {
    const blank = Object.fromEntries(
      [
        'SamAccountName',
        'DisplayName',
        'UserPrincipalName',
        'HomeDirectory',
        'HomePath',
        'ScriptPath',
        'ProfilePath',
        'UserWorkstations',
        'PasswordLastSet',
        'AccountExpires',
        'PrimaryGroupId',
        'AllowedToDelegateTo',
      ].map((k) => [k, '-']),
    );
    this.accountEvent(dc, t, 4738, target, subject, {
      PrivilegeList: '-',
      ...blank,
      OldUacValue: '0x10',
      NewUacValue: '0x10',
      UserAccountControl: '-',
      UserParameters: '-',
      SidHistory: '-',
      LogonHours: '-',
      ...change,
    });
  }

  unlocked(dc: Host, t: number, target: string, subject: { user: string; logonId: string }): void {
    this.accountEvent(dc, t, 4767, target, subject);
  }

  lockedOut(dc: Host, t: number, target: string, caller: string): void {
    // 4740 names the caller computer where other events name the domain.
    this.accountEvent(dc, t, 4740, target, { user: `${dc.name}$`, logonId: '0x3e7' }, {}, caller);
  }

  userCreated(dc: Host, t: number, o: { name: string; display: string; group: string; groupRid: number; subject: { user: string; logonId: string } }): void {
    this.accountEvent(dc, t, 4720, o.name, o.subject, {
      PrivilegeList: '-',
      SamAccountName: o.name,
      DisplayName: o.display,
      UserPrincipalName: `${o.name}@${DOMAIN}`,
      HomeDirectory: '-',
      HomePath: '-',
      ScriptPath: '-',
      ProfilePath: '-',
      UserWorkstations: '-',
      PasswordLastSet: '%%1794',
      AccountExpires: '%%1794',
      PrimaryGroupId: '513',
      AllowedToDelegateTo: '-',
      OldUacValue: '0x0',
      NewUacValue: '0x15',
      UserAccountControl: '\r\n\t\t%%2080\r\n\t\t%%2082\r\n\t\t%%2084',
      UserParameters: '%%1793',
      SidHistory: '-',
      LogonHours: '%%1797',
    });
    this.passwordReset(dc, t + 900, o.name, o.subject);
    this.accountEvent(dc, t + 1400, 4722, o.name, o.subject);
    this.accountChanged(dc, t + 1400, o.name, o.subject, { OldUacValue: '0x15', NewUacValue: '0x10', UserAccountControl: '\r\n\t\t%%2048\r\n\t\t%%2050' });
    const s = this.account(o.subject.user);
    this.w.event(
      dc,
      t + 5200,
      SECURITY,
      'Security',
      4728,
      {
        MemberName: `CN=${o.display},OU=Staff,DC=corp,DC=local`,
        MemberSid: this.account(o.name).sid,
        TargetUserName: o.group,
        TargetDomainName: NETBIOS,
        TargetSid: `${DOMAIN_SID}-${o.groupRid}`,
        SubjectUserSid: s.sid,
        SubjectUserName: o.subject.user,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: o.subject.logonId,
        PrivilegeList: '-',
      },
      'EventData',
      { task: 13826, keywords: OK, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  /** 4662 on a DC: directory replication by the other controller's machine account. */
  replication(dc: Host, t: number, peer: Host, logonId: string): void {
    this.w.event(
      dc,
      t,
      SECURITY,
      'Security',
      4662,
      {
        SubjectUserSid: this.account(`${peer.name}$`).sid,
        SubjectUserName: `${peer.name}$`,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: logonId,
        ObjectServer: 'DS',
        ObjectType: '%{19195a5b-6da0-11d0-afd3-00c04fd930c9}',
        ObjectName: '%{b4e0e1bd-1a2c-4a3b-9d22-9f2c4b1e6a01}',
        OperationType: 'Object Access',
        HandleId: '0x0',
        AccessList: '%%7688\r\n\t\t\t\t',
        AccessMask: '0x100',
        Properties: '%%7688\r\n\t\t{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}\r\n\t{19195a5b-6da0-11d0-afd3-00c04fd930c9}\r\n',
        AdditionalInfo: '-',
        AdditionalInfo2: '',
      },
      'EventData',
      { task: 14080, keywords: OK, pid: 760 + (fnv(dc.name + 'l') % 40) },
    );
  }

  // ---- scheduled tasks ----------------------------------------------------------------------------

  /** 4698 (Security) and 106 (Task Scheduler): a task registered. */
  taskCreated(h: Host, t: number, o: { name: string; subject: string; subjectLogonId: string; command: string; args: string; runAs: string; trigger: string; author: string; hidden?: boolean }): void {
    const s = o.subject.endsWith('$') ? { sid: 'S-1-5-18' } : this.account(o.subject);
    const content = [
      '<?xml version="1.0" encoding="UTF-16"?>',
      '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
      '  <RegistrationInfo>',
      `    <Date>${iso(t).slice(0, 19)}</Date>`,
      `    <Author>${o.author}</Author>`,
      `    <URI>${o.name}</URI>`,
      '  </RegistrationInfo>',
      `  <Triggers>${o.trigger}</Triggers>`,
      '  <Principals>',
      '    <Principal id="Author">',
      `      <UserId>${o.runAs}</UserId>`,
      '      <RunLevel>HighestAvailable</RunLevel>',
      '    </Principal>',
      '  </Principals>',
      '  <Settings>',
      '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
      '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
      '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
      '    <AllowHardTerminate>true</AllowHardTerminate>',
      '    <StartWhenAvailable>true</StartWhenAvailable>',
      '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
      '    <AllowStartOnDemand>true</AllowStartOnDemand>',
      '    <Enabled>true</Enabled>',
      `    <Hidden>${o.hidden ? 'true' : 'false'}</Hidden>`,
      '    <ExecutionTimeLimit>PT72H</ExecutionTimeLimit>',
      '    <Priority>7</Priority>',
      '  </Settings>',
      '  <Actions Context="Author">',
      '    <Exec>',
      `      <Command>${xml(o.command)}</Command>`,
      o.args ? `      <Arguments>${xml(o.args)}</Arguments>` : '',
      '    </Exec>',
      '  </Actions>',
      '</Task>',
    ]
      .filter((l) => l !== '')
      .join('\r\n');
    this.w.event(
      h,
      t,
      SECURITY,
      'Security',
      4698,
      {
        SubjectUserSid: s.sid,
        SubjectUserName: o.subject,
        SubjectDomainName: NETBIOS,
        SubjectLogonId: o.subjectLogonId,
        TaskName: o.name,
        TaskContent: content,
        ClientProcessStartKey: String(2_814_749_767_106_000 + this.rand(90_000)),
        ClientProcessId: String(1000 + this.rand(8000)),
        ParentProcessId: String(600 + this.rand(400)),
        RpcCallClientLocality: '0',
        FQDN: h.fqdn,
      },
      'EventData',
      { version: 1, task: 12804, keywords: OK, pid: 760 + (fnv(h.name + 'l') % 40) },
    );
    this.w.event(
      h,
      t + 30,
      'Microsoft-Windows-TaskScheduler',
      'Microsoft-Windows-TaskScheduler/Operational',
      106,
      { TaskName: o.name, UserContext: o.subject.endsWith('$') ? 'NT AUTHORITY\\System' : `${NETBIOS}\\${o.subject}` },
      'EventData',
      {
        task: 106,
        keywords: '0x8000000000000000',
        pid: 1400 + (fnv(h.name + 's') % 300),
      },
    );
  }

  // ---- PowerShell, WinRM, RDP -----------------------------------------------------------------

  /** 4104: a script block logged (script block logging on). */
  scriptBlock(h: Host, t: number, p: Proc, text: string, path = ''): void {
    this.w.event(
      h,
      t,
      'Microsoft-Windows-PowerShell',
      'Microsoft-Windows-PowerShell/Operational',
      4104,
      {
        MessageNumber: 1,
        MessageTotal: 1,
        ScriptBlockText: text,
        ScriptBlockId: `${hexOf(text + t, 8)}-${hexOf(text, 4)}-${hexOf(h.name, 4)}-${hexOf(t + h.name, 4)}-${hexOf(text + h.name + t, 12)}`.toLowerCase(),
        Path: path,
      },
      'EventData',
      { version: 1, level: 5, task: 2, opcode: 15, keywords: '0x0', userId: p.user === SYSTEM_USER ? 'S-1-5-18' : this.account(p.user.slice(p.user.indexOf('\\') + 1)).sid, pid: p.pid },
    );
  }

  /** Windows PowerShell 400/403: an engine started or stopped (HostName says console or remote). */
  engine(h: Host, t: number, state: 'start' | 'stop', hostName: string, hostApplication: string, p: Proc): void {
    const [now, before] = state === 'start' ? ['Available', 'None'] : ['Stopped', 'Available'];
    const runspace = `${hexOf(h.name + p.guid, 8)}-${hexOf(p.guid, 4)}-${hexOf(p.guid + 'r', 4)}-${hexOf(p.guid + 's', 4)}-${hexOf(p.guid + 'x', 12)}`.toLowerCase();
    const text = [
      `\tNewEngineState=${now}`,
      `\tPreviousEngineState=${before}`,
      '',
      `\tSequenceNumber=${state === 'start' ? 13 : 15}`,
      '',
      `\tHostName=${hostName}`,
      `\tHostVersion=${hostName === 'ConsoleHost' ? '5.1.19041.4291' : '1.0.0.0'}`,
      `\tHostId=${runspace}`,
      `\tHostApplication=${hostApplication}`,
      '\tEngineVersion=5.1.19041.4291',
      `\tRunspaceId=${runspace}`,
      '\tPipelineId=',
      '\tCommandName=',
      '\tCommandType=',
      '\tScriptName=',
      '\tCommandPath=',
      '\tCommandLine=',
    ].join('\r\n');
    this.w.event(h, t, 'PowerShell', 'Windows PowerShell', state === 'start' ? 400 : 403, { Data: { '#text': [now, before, text] } }, 'EventData', {
      qualifiers: 0,
      level: 4,
      task: state === 'start' ? 4 : 4,
      keywords: '0x80000000000000',
      userId: null,
      pid: 0,
      tid: 0,
    });
  }

  winrmClient(h: Host, t: number, target: Host, p: Proc): void {
    this.w.event(h, t, 'Microsoft-Windows-WinRM', 'Microsoft-Windows-WinRM/Operational', 6, { connection: `${target.fqdn}/wsman?PSVersion=5.1.19041.4291` }, 'EventData', {
      version: 0,
      level: 4,
      task: 3,
      opcode: 1,
      keywords: '0x4000000000000002',
      userId: p.user === SYSTEM_USER ? 'S-1-5-18' : this.account(p.user.slice(p.user.indexOf('\\') + 1)).sid,
      pid: p.pid,
    });
  }

  winrmServer(h: Host, t: number, user: string): void {
    const sid = this.account(user).sid;
    const pid = 1200 + (fnv(h.name + 'winrm') % 800);
    this.w.event(h, t, 'Microsoft-Windows-WinRM', 'Microsoft-Windows-WinRM/Operational', 169, { username: `${NETBIOS}\\${user}`, authenticationMechanism: 'Kerberos' }, 'EventData', {
      level: 4,
      task: 4,
      keywords: '0x4000000000000004',
      userId: 'S-1-5-20',
      pid,
    });
    this.w.event(h, t + 60, 'Microsoft-Windows-WinRM', 'Microsoft-Windows-WinRM/Operational', 91, { resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell' }, 'EventData', {
      level: 4,
      task: 9,
      opcode: 0,
      keywords: '0x4000000000000004',
      userId: sid,
      pid,
    });
  }

  /** RDP session events on the target: RemoteConnectionManager 1149, LocalSessionManager 21/22 (or 23/24 on `end`). */
  rdpSession(h: Host, t: number, user: string, client: Host, session: number, phase: 'start' | 'end'): void {
    const lsm = 'Microsoft-Windows-TerminalServices-LocalSessionManager';
    const who = `${NETBIOS}\\${user}`;
    const ev = (at: number, id: number, data: Record<string, unknown>) =>
      this.w.event(h, at, lsm, `${lsm}/Operational`, id, { EventXML: { '#attributes': { xmlns: 'Event_NS' }, ...data } }, 'UserData', {
        level: 4,
        keywords: '0x1000000000000000',
        userId: 'S-1-5-18',
        pid: 1000 + (fnv(h.name + 'lsm') % 400),
      });
    if (phase === 'start') {
      const rcm = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager';
      this.w.event(h, t - 1500, rcm, `${rcm}/Operational`, 1149, { EventXML: { '#attributes': { xmlns: 'Event_NS' }, Param1: user, Param2: NETBIOS, Param3: client.ip } }, 'UserData', {
        level: 4,
        keywords: '0x1000000000000000',
        userId: 'S-1-5-20',
        pid: 1000 + (fnv(h.name + 'rcm') % 400),
      });
      ev(t + 800, 21, { User: who, SessionID: session, Address: client.ip });
      ev(t + 900, 22, { User: who, SessionID: session, Address: client.ip });
    } else {
      ev(t, 24, { User: who, SessionID: session, Address: client.ip });
      ev(t + 1200, 23, { User: who, SessionID: session });
    }
  }

  // ---- restarts -----------------------------------------------------------------------------------

  /** A planned restart: User32 1074, Eventlog 6006, then 6005 and Security 4608 when it is back. */
  restart(h: Host, t: number, by: Proc, reason: string, downMs: number): void {
    this.w.event(
      h,
      t,
      'User32',
      'System',
      1074,
      {
        param1: `${by.image} (${h.name})`,
        param2: h.name,
        param3: 'Operating System: Service pack (Planned)',
        param4: '0x80020010',
        param5: 'restart',
        param6: reason,
        param7: by.user,
      },
      'EventData',
      { qualifiers: 32768, keywords: '0x8080000000000000', pid: 1000 + this.rand(3000) },
    );
    this.w.event(h, t + 40_000, 'EventLog', 'System', 6006, { Data: null }, 'EventData', { qualifiers: 32768, keywords: '0x80000000000000', pid: 0, tid: 0, userId: null });
    this.w.event(h, t + downMs, 'EventLog', 'System', 6005, { Data: null }, 'EventData', { qualifiers: 32768, keywords: '0x80000000000000', pid: 0, tid: 0, userId: null });
    this.w.event(h, t + downMs + 2000, SECURITY, 'Security', 4608, {}, 'EventData', { task: 12288, keywords: OK, pid: 4 });
  }

  // ---- the Writer's original shapes, delegated here in the administered network ------------------

  /** `Writer.logon` in the administered network (the intrusion's logons). */
  logon(target: Host, t: number, o: { user: string; domain?: string; type: number; ip: string; workstation: string; ntlmPth?: boolean; kerberos?: boolean }): string {
    return this.logonEvent(target, t, {
      user: o.user,
      domain: o.domain,
      type: o.type === 2 ? 2 : o.type === 10 ? 10 : 3,
      auth: o.kerberos ? 'kerberos' : 'ntlm',
      ip: o.ip,
      workstation: o.workstation,
      keyLength: o.ntlmPth ? 0 : 128,
      elevated: true,
    });
  }

  failedLogon(target: Host, t: number, user: string, ip: string, workstation: string): void {
    this.failed(target, t, { user, type: 3, auth: 'ntlm', ip, workstation, status: this.known(user) ? 'password' : 'user' });
  }

  process(host: Host, t: number, o: ProcessOptions): string {
    const parent = this.byGuid.get(o.parent.guid) ??
      (/\\services\.exe$/i.test(o.parent.image) ? this.services(host) : undefined) ?? {
        guid: o.parent.guid,
        pid: 600 + this.rand(400) * 4,
        image: o.parent.image,
        cmd: o.parent.cmd,
        user: o.user,
        logonId: o.logonId,
        session: 0,
      };
    return this.proc(host, t, { image: o.image, cmd: o.cmd, parent, user: o.user, logonId: o.logonId, integrity: o.integrity, session: 0 }).guid;
  }

  connection(host: Host, t: number, o: { image: string; user: string; dstIp: string; dstPort: number; dstHost?: string; guid: string }): void {
    const p = this.byGuid.get(o.guid) ?? (o.image === 'System' ? this.kernel(host) : { guid: o.guid, pid: 4000 + this.rand(1000) * 4, image: o.image, cmd: o.image, user: o.user });
    this.conn(host, t, p, { ip: o.dstIp, port: o.dstPort, host: o.dstHost });
  }

  service(host: Host, t: number, name: string, image: string, account = 'LocalSystem'): void {
    this.serviceInstalled(host, t, name, image, { account });
  }

  // `serviceState(host, t, name, state)` of the original shapes is served by the four-argument
  // call below: the service's key name is its display name for the services it installs.

  share(host: Host, t: number, o: { user: string; ip: string; share: string; path: string; target: string; access: string; mask: string; logonId: string }): void {
    const share = o.share.slice(o.share.lastIndexOf('\\') + 1);
    const key = `${host.name}|${o.logonId}|${share}`;
    if (!this.opened.has(key)) {
      this.opened.add(key);
      this.shareOpened(host, t - 20, { user: o.user, logonId: o.logonId, ip: o.ip, share, path: o.path });
    }
    this.shareObject(host, t, { user: o.user, logonId: o.logonId, ip: o.ip, share, path: o.path, target: o.target, write: share !== 'IPC$', pipe: share === 'IPC$' });
  }
}

const PORT_NAMES: Record<number, string> = { 445: 'microsoft-ds', 443: 'https', 80: 'http', 135: 'epmap', 3389: 'ms-wbt-server', 5985: 'wsman', 8530: '-', 389: 'ldap', 88: 'kerberos' };

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A time as 4738 writes PasswordLastSet (the DC's locale, US here). */
function stamp(t: number): string {
  const d = new Date(t);
  const h = d.getUTCHours() % 12 || 12;
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h}:${String(d.getUTCMinutes()).padStart(2, '0')}:${String(d.getUTCSeconds()).padStart(2, '0')} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}
