/**
 * An administered Windows network over several days: the background the stories must not mistake
 * for an intrusion (issue 16). Hosts, accounts and roles first, then one function per routine
 * activity, each writing the events Windows writes for it (./shapes.ts):
 *
 * | activity | who, when | what it leaves |
 * |---|---|---|
 * | `user` | every user, weekdays 07:00–19:00 | console logons (Kerberos TGT, logon script, home drive), programs, web, file-server sessions, lock/unlock, password changes after a reset |
 * | `logon-failure` | users | mistyped passwords at the console (4625 type 2/7, 4771), a lockout now and then (4740), a mapped drive retrying a stale password (4625 type 3, 4776) |
 * | `deploy` | the software distribution server, weekdays 01:00 | PDQ-style pushes to most workstations and some servers: 4648, network logon, ADMIN$ writes, a runner service (7045), silent installers as SYSTEM, their services and tasks |
 * | `patch` | the patch server, nightly 03:00, a ring a night | Ivanti-style pushes: NTLM logon, ADMIN$ writes, an agent service, wusa/TiWorker, restarts (1074/6006/6005/4608) |
 * | `backup` | the backup server, nightly 21:00 | logons on every host, a guest helper service on servers with VSS, C$ on workstations, retention deleting old restore points |
 * | `monitor` | the monitoring server, around the clock | NTLM network logons on every host (servers every 15 min, workstations hourly), 4776 on the DCs, WMI |
 * | `scan` | the vulnerability scanner, once (day 2) | a sweep of every host: a random-account probe, a null session, a credentialed logon, IPC$ pipes, Remote Registry started, C$/ADMIN$ |
 * | `admin-rdp` / `admin-psexec` / `admin-winrm` / `admin-task` | three administrators, weekdays | RDP from their workstation to a jump host, then PsExec, Invoke-Command, RDP and remote `schtasks /create` from there to servers and workstations (tasks then run nightly) |
 * | `helpdesk` | two helpdesk staff, weekdays | ADUC as their admin account, password resets (some by PowerShell), unlocks, new users, a PsExec gpupdate now and then |
 * | `task` | every workstation | a GPO-deployed inventory task (4698 on day 1, runs daily as hidden PowerShell), software updaters' scheduled tasks |
 * | `install` | workstations | Chrome and Adobe self-updates, users installing software from Downloads (with a Run key) |
 * | `app` | application servers | a web server's service account logging on to the database server |
 * | `system` | every host | machine-account logons to the DCs, DC replication, Windows' own scheduled tasks, WSUS checks, service state changes, benign LSASS access |
 *
 * Seeds vary which server plays which role, who the administrators are, what is deployed, who
 * mistypes and when, and when the scanner runs. Nothing is shaped to make a rule fire or not.
 */
import type { IntrusionPlan } from './intrusion.js';
import { Win, type Account, type Proc } from './shapes.js';
import { DOMAIN, DOMAIN_SID, NETBIOS, type Host, type Writer } from './winlog.js';

export const ROLES = ['dc', 'file', 'deploy', 'patch', 'backup', 'monitor', 'scanner', 'jump', 'app', 'admin-ws', 'helpdesk-ws', 'ws'] as const;
export type Role = (typeof ROLES)[number];

export const ACTIVITIES = [
  'user',
  'logon-failure',
  'deploy',
  'patch',
  'backup',
  'monitor',
  'scan',
  'admin-rdp',
  'admin-psexec',
  'admin-winrm',
  'admin-task',
  'helpdesk',
  'task',
  'install',
  'app',
  'system',
] as const;
export type Activity = (typeof ACTIVITIES)[number];

export interface NetHost extends Host {
  role: Role;
  /** The person who works at a workstation (its console user). */
  owner?: string;
}

/** The administered network's ground truth. */
export interface NetworkTruth {
  days: number;
  /** The first instant of the period and the last background event (ISO; a logoff may end a few minutes after the last day). */
  start: string;
  end: string;
  /** Role → hosts (FQDN) that play it. */
  roles: Record<Role, string[]>;
  accounts: { users: string[]; admins: string[]; helpdesk: string[]; services: string[] };
  /** Background events written per activity. */
  activities: Record<Activity, number>;
  /** Background events written per day. */
  eventsPerDay: number[];
}

export interface Administered {
  hosts: NetHost[];
  addresses: Record<string, string>;
  truth: NetworkTruth;
  win: Win;
  /** Where and when an intrusion happens in this network (drawn from `r`, not from the background's sequence). */
  intrusionPlan(r: () => number): { plan: IntrusionPlan; r: () => number };
}

export const START = Date.UTC(2024, 4, 13, 0, 0, 0); // a Monday
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SYSTEM = 'NT AUTHORITY\\SYSTEM';

const FIRST = [
  'james',
  'mary',
  'robert',
  'patricia',
  'john',
  'jennifer',
  'michael',
  'linda',
  'david',
  'elizabeth',
  'william',
  'barbara',
  'richard',
  'susan',
  'joseph',
  'jessica',
  'thomas',
  'sarah',
  'charles',
  'karen',
  'daniel',
  'lisa',
  'matthew',
  'nancy',
  'anthony',
  'betty',
  'mark',
  'sandra',
  'paul',
  'ashley',
];
const LAST = [
  'smith',
  'johnson',
  'williams',
  'brown',
  'jones',
  'garcia',
  'miller',
  'davis',
  'rodriguez',
  'martinez',
  'hernandez',
  'lopez',
  'wilson',
  'anderson',
  'taylor',
  'thomas',
  'moore',
  'jackson',
  'martin',
  'lee',
  'perez',
  'thompson',
  'white',
  'harris',
  'clark',
  'lewis',
  'walker',
  'hall',
  'young',
  'allen',
];

/** Builds the network and writes `days` of its administration into `w` (labels name the activity). */
export function administer(w: Writer, r: () => number, o: { hosts: number; days: number; without?: readonly string[] }): Administered {
  if (o.hosts < 40) throw new Error(`administered network: at least 40 hosts (got ${o.hosts})`);
  if (o.days < 2) throw new Error(`administered network: at least 2 days (got ${o.days})`);
  const unknown = (o.without ?? []).filter((a) => !(ACTIVITIES as readonly string[]).includes(a));
  if (unknown.length) throw new Error(`administered network: no activity ${unknown.join(', ')} (activities: ${ACTIVITIES.join(', ')})`);
  const n = new Network(w, r, o.hosts, o.days);
  n.run();
  if (o.without?.length) {
    // Everything is generated (the same choices, whatever is left out), then the events of the left-out activities dropped.
    const drop = new Set(o.without);
    let k = 0;
    for (const e of w.out) if (!drop.has(e.label)) w.out[k++] = e;
    w.out.length = k;
  }
  return n.result();
}

interface Session {
  logonId: string;
  explorer: Proc;
  shell?: Proc;
  powershell?: Proc;
  session: number;
}

interface Package {
  name: string;
  file: string;
  install(n: Network, h: NetHost, t: number, runner: Proc): void;
}

class Network {
  readonly hosts: NetHost[] = [];
  readonly accounts = new Map<string, Account>();
  readonly win: Win;
  readonly users: string[] = [];
  readonly admins: { user: string; account: string; ws: NetHost }[] = [];
  readonly helpdesk: { user: string; account: string; ws: NetHost }[] = [];
  private rid = 1103;
  /** Scheduled tasks administrators created on servers, run every night after. */
  private readonly jobs: { host: NetHost; from: number; hour: number; command: string; args: string; script?: string }[] = [];
  /** Lockouts waiting for the helpdesk (user, when). */
  private readonly tickets: { user: string; at: number }[] = [];
  /** Accounts whose password was reset: they change it at their next logon. */
  private readonly mustChange = new Set<string>();
  private readonly installed = new Set<string>();
  private readonly eulaAccepted = new Set<string>();

  constructor(
    readonly w: Writer,
    readonly r: () => number,
    count: number,
    readonly days: number,
  ) {
    const servers = Math.max(12, Math.round(count * 0.3));
    const roles: Role[] = ['file', 'deploy', 'patch', 'backup', 'monitor', 'scanner', 'jump', 'jump'];
    while (roles.length < servers - 2) roles.push('app');
    const serverRoles = this.shuffle(roles);
    for (let i = 0; i < 2; i++) this.addHost(`DC0${i + 1}`, 'dc', `10.20.0.${10 + i}`);
    serverRoles.forEach((role, i) => this.addHost(`SRV${String(i + 1).padStart(2, '0')}`, role, `10.20.0.${20 + i}`));
    const wsCount = count - servers;
    const wsRoles: Role[] = ['admin-ws', 'admin-ws', 'admin-ws', 'helpdesk-ws', 'helpdesk-ws'];
    while (wsRoles.length < wsCount) wsRoles.push('ws');
    const names = this.people(wsCount);
    this.shuffle(wsRoles).forEach((role, i) => {
      const h = this.addHost(`WS${String(i + 1).padStart(3, '0')}`, role, `10.20.${1 + Math.floor(i / 200)}.${20 + (i % 200)}`);
      h.owner = names[i]!;
      h.user = names[i]!;
      this.users.push(names[i]!);
      this.addAccount(names[i]!, false);
      if (role === 'admin-ws') this.admins.push({ user: names[i]!, account: `adm_${names[i]!}`, ws: h });
      if (role === 'helpdesk-ws') this.helpdesk.push({ user: names[i]!, account: `hd_${names[i]!}`, ws: h });
    });
    for (const a of this.admins) this.addAccount(a.account, true);
    for (const a of this.helpdesk) this.addAccount(a.account, true);
    for (const s of ['svc_deploy', 'svc_patch', 'svc_backup', 'svc_monitor', 'svc_scan']) this.addAccount(s, true);
    this.addAccount('svc_web', false);
    for (const h of this.hosts) this.addAccount(`${h.name}$`, false);
    this.win = new Win(w, this.role('dc'), this.accounts);
  }

  private addHost(name: string, role: Role, ip: string): NetHost {
    const kind = role === 'dc' ? 'dc' : role === 'file' ? 'fs' : role.endsWith('ws') ? 'ws' : 'srv';
    // Servers audit process creation with command lines (Security 4688) besides Sysmon.
    const h: NetHost = { name, fqdn: `${name}.${DOMAIN}`, ip, kind, user: '', role, audit4688: kind !== 'ws' };
    this.hosts.push(h);
    return h;
  }

  private addAccount(name: string, admin: boolean): void {
    this.accounts.set(name.toLowerCase(), { name, sid: `${DOMAIN_SID}-${this.rid++}`, admin });
  }

  private people(k: number): string[] {
    const out = new Set<string>();
    while (out.size < k) {
      const f = this.pick(FIRST);
      const l = this.pick(LAST);
      out.add(out.size < FIRST.length * 2 ? `${f[0]}${l}` : `${f}.${l}`);
    }
    return [...out];
  }

  // ---- randomness and time ----------------------------------------------------------------------

  rand(k: number): number {
    return Math.floor(this.r() * k);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.rand(a.length)]!;
  }
  shuffle<T>(a: readonly T[]): T[] {
    const b = [...a];
    for (let i = b.length - 1; i > 0; i--) {
      const j = this.rand(i + 1);
      [b[i], b[j]] = [b[j]!, b[i]!];
    }
    return b;
  }
  /** Day `d` at hh:mm, plus up to `jitterMin` minutes. */
  at(d: number, hh: number, mm = 0, jitterMin = 0): number {
    return START + d * DAY + hh * HOUR + mm * MIN + (jitterMin ? this.rand(jitterMin * MIN) : 0);
  }
  weekday(d: number): boolean {
    return d % 7 < 5;
  }
  role(r: Role): NetHost[] {
    return this.hosts.filter((h) => h.role === r);
  }
  one(r: Role): NetHost {
    return this.role(r)[0]!;
  }
  label(a: Activity): void {
    this.w.label = a;
  }
  get servers(): NetHost[] {
    return this.hosts.filter((h) => h.kind !== 'ws');
  }
  get workstations(): NetHost[] {
    return this.hosts.filter((h) => h.kind === 'ws');
  }

  // ---- the period ---------------------------------------------------------------------------------

  run(): void {
    this.serviceLogons();
    const scanDay = 1;
    for (let d = 0; d < this.days; d++) {
      this.system(d);
      this.monitor(d);
      this.app(d);
      if (this.weekday(d)) {
        for (const h of this.workstations) this.userDay(h, d);
        this.lockouts(d);
        for (const a of this.admins) this.adminDay(a, d);
        for (const hd of this.helpdesk) this.helpdeskDay(hd, d);
        this.deploy(d);
      }
      this.tasks(d);
      this.installs(d);
      this.patch(d);
      this.backup(d);
      this.nightlyJobs(d);
      if (d === scanDay) this.scan(d);
    }
    this.staleCredentials();
  }

  result(): Administered {
    const activities = Object.fromEntries(ACTIVITIES.map((a) => [a, 0])) as Record<Activity, number>;
    const eventsPerDay = Array.from({ length: this.days }, () => 0);
    let last = START;
    for (const o of this.w.out) {
      last = Math.max(last, o.t);
      if (o.label in activities) activities[o.label as Activity]++;
      const d = Math.floor((o.t - START) / DAY);
      if (d >= 0 && d < this.days) eventsPerDay[d]!++;
    }
    const roles = Object.fromEntries(ROLES.map((r) => [r, this.role(r).map((h) => h.fqdn)])) as Record<Role, string[]>;
    const truth: NetworkTruth = {
      days: this.days,
      start: new Date(START).toISOString(),
      end: new Date(last).toISOString(),
      roles,
      accounts: {
        users: [...this.users],
        admins: this.admins.map((a) => a.account),
        helpdesk: this.helpdesk.map((a) => a.account),
        services: ['svc_deploy', 'svc_patch', 'svc_backup', 'svc_monitor', 'svc_scan', 'svc_web'],
      },
      activities,
      eventsPerDay,
    };
    return {
      hosts: this.hosts,
      addresses: Object.fromEntries(this.hosts.map((h) => [h.fqdn, h.ip])),
      truth,
      win: this.win,
      intrusionPlan: (ir) => this.intrusionPlan(ir),
    };
  }

  /** The foothold is an ordinary user's workstation; the attack happens on the last day, at work hours, in the evening or at night. */
  private intrusionPlan(ir: () => number): { plan: IntrusionPlan; r: () => number } {
    const pick = <T>(a: readonly T[]): T => a[Math.floor(ir() * a.length)]!;
    const pz = pick(this.role('ws'));
    const dc = pick(this.role('dc'));
    const fs = this.one('file');
    const extra = pick(this.role('app'));
    const twoHop = ir() < 0.5;
    const hops = twoHop
      ? [
          { from: pz, to: fs },
          { from: pz, to: extra },
          { from: extra as Host, to: dc },
        ]
      : [
          { from: pz, to: fs },
          { from: pz, to: dc },
          { from: pz, to: extra },
        ];
    const windowRoll = ir();
    const last = this.days - 1;
    const [from, span] = windowRoll < 0.55 ? [9 * 60, 7 * 60] : windowRoll < 0.8 ? [30, 4 * 60] : [18 * 60 + 30, 3.5 * 60];
    const start = START + last * DAY + (from + Math.floor(ir() * span)) * MIN + Math.floor(ir() * 60) * 1000;
    return { plan: { pz, dc, fs, extra, hops: hops.map((h) => ({ ...h, psexec: ir() < 0.65 })), start }, r: ir };
  }

  // ---- helpers over the shapes --------------------------------------------------------------------

  /** A network logon from `src` to `target`, with the DC's side (a service ticket or an NTLM validation). */
  netLogon(target: Host, src: Host, user: string, t: number, auth: 'kerberos' | 'ntlm', service = 'cifs'): string {
    if (auth === 'kerberos') this.win.serviceTicket(src, t, user, target, service);
    else this.win.ntlmValidation(t - 3, user, src.name, true);
    return this.win.logonEvent(target, t, { user, type: 3, auth, ip: src.ip, workstation: src.name });
  }

  /** Userinit and Explorer of a new interactive session. */
  desktop(h: Host, t: number, user: string, logonId: string, session: number): Session {
    const userinit = this.win.proc(h, t, {
      image: 'C:\\Windows\\System32\\userinit.exe',
      cmd: 'C:\\Windows\\system32\\userinit.exe',
      parent: this.win.winlogon(h, session),
      user: `${NETBIOS}\\${user}`,
      logonId,
      session,
      integrity: 'Medium',
    });
    const explorer = this.win.proc(h, t + 900, {
      image: 'C:\\Windows\\explorer.exe',
      cmd: 'C:\\Windows\\Explorer.EXE',
      parent: userinit,
      session,
      integrity: 'Medium',
      cwd: 'C:\\Windows\\system32\\',
    });
    return { logonId, explorer, session };
  }

  shell(h: Host, t: number, s: Session): Proc {
    s.shell ??= this.win.proc(h, t - 20_000, { image: 'C:\\Windows\\System32\\cmd.exe', cmd: '"C:\\Windows\\system32\\cmd.exe" ', parent: s.explorer });
    return s.shell;
  }

  powershell(h: Host, t: number, s: Session): Proc {
    if (!s.powershell) {
      s.powershell = this.win.proc(h, t - 30_000, {
        image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        cmd: '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" ',
        parent: s.explorer,
      });
      this.win.engine(h, t - 29_000, 'start', 'ConsoleHost', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', s.powershell);
    }
    return s.powershell;
  }

  /** A service account's service logon at the start of the period (the account the product's service runs as). */
  private serviceLogons(): void {
    this.label('system');
    for (const [role, account] of [
      ['deploy', 'svc_deploy'],
      ['patch', 'svc_patch'],
      ['backup', 'svc_backup'],
      ['monitor', 'svc_monitor'],
      ['scanner', 'svc_scan'],
    ] as const) {
      const h = this.one(role);
      this.serviceLogonIds.set(role, this.win.logonEvent(h, START + 5000 + this.rand(50_000), { user: account, type: 5, auth: 'negotiate', ip: '-' }));
    }
  }
  private readonly serviceLogonIds = new Map<Role, string>();

  // ---- system: every host, every day ------------------------------------------------------------

  private system(d: number): void {
    this.label('system');
    const patch = this.one('patch');
    const dcs = this.role('dc');
    for (const h of this.hosts) {
      // Machine account: Group Policy refresh and SYSVOL access on its DC, every 90–120 minutes.
      const dc = h.role === 'dc' ? dcs.find((x) => x !== h)! : this.win.dcFor(h);
      for (let t = this.at(d, 0, 0, 90); t < START + (d + 1) * DAY; t += 90 * MIN + this.rand(30 * MIN)) {
        const lid = this.netLogon(dc, h, `${h.name}$`, t, 'kerberos', 'ldap');
        this.win.logoff(dc, t + 1500 + this.rand(4000), `${h.name}$`, lid, 3);
      }
      const routine = h.kind === 'ws' ? ROUTINE_WS : ROUTINE_SRV;
      for (let k = 3 + this.rand(5); k > 0; k--) {
        const [image, cmd] = this.pick(routine);
        this.win.proc(h, this.at(d, 0, 0, 24 * 60), { image, cmd, parent: this.win.schedule(h), user: SYSTEM });
      }
      // Windows Update asks the WSUS server twice a day.
      if (h !== patch) for (const hh of [this.rand(12), 12 + this.rand(12)]) this.win.conn(h, this.at(d, hh, 0, 60), this.win.wuauserv(h), { ip: patch.ip, port: 8530, host: patch.fqdn });
      for (let k = 2 + this.rand(4); k > 0; k--) {
        const [display, key] = this.pick(SERVICE_STATES);
        const t = this.at(d, 0, 0, 24 * 60 - 10);
        this.win.serviceState(h, t, display, 'running', key);
        this.win.serviceState(h, t + 2 * MIN + this.rand(8 * MIN), display, 'stopped', key);
      }
      // WMI and Defender read LSASS now and then (Sysmon configs log every LSASS access).
      const wmi = this.win.proc(h, this.at(d, 0, 0, 24 * 60 - 5), {
        image: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
        cmd: 'C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding',
        parent: this.win.dcomLaunch(h),
        user: 'NT AUTHORITY\\NETWORK SERVICE',
        integrity: 'System',
      });
      this.win.processAccess(
        h,
        this.at(d, 0, 0, 24 * 60),
        wmi,
        this.win.lsass(h),
        '0x1010',
        'C:\\Windows\\SYSTEM32\\ntdll.dll+9d1e4|C:\\Windows\\System32\\KERNELBASE.dll+2c0de|c:\\windows\\system32\\cimwin32.dll+2a4c1|UNKNOWN(00007FFB1C2E1A3B)',
      );
    }
    // Directory replication between the controllers, every 30 minutes.
    const [a, b] = dcs as [NetHost, NetHost];
    for (let t = this.at(d, 0, 0, 30); t < START + (d + 1) * DAY; t += 30 * MIN) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const lid = this.netLogon(x, y, `${y.name}$`, t + this.rand(60_000), 'kerberos', 'E3514235-4B06-11D1-AB04-00C04FC2DCD2');
        this.win.replication(x, t + 70_000, y, lid);
      }
    }
  }

  // ---- the monitoring server ---------------------------------------------------------------------

  private monitor(d: number): void {
    this.label('monitor');
    const mon = this.one('monitor');
    for (const h of this.hosts) {
      if (h === mon) continue;
      const every = h.kind === 'ws' ? 60 * MIN : 15 * MIN;
      for (let t = this.at(d, 0, 0) + (this.rand(every) % every); t < START + (d + 1) * DAY; t += every) {
        const at = t + this.rand(20_000);
        const lid = this.netLogon(h, mon, 'svc_monitor', at, 'ntlm');
        this.win.logoff(h, at + 800 + this.rand(3000), 'svc_monitor', lid, 3);
      }
    }
  }

  // ---- application servers ---------------------------------------------------------------------

  private app(d: number): void {
    const apps = this.role('app');
    if (apps.length < 2) return;
    this.label('app');
    const [web, sql] = apps as [NetHost, NetHost];
    for (let t = this.at(d, 0, 0, 20); t < START + (d + 1) * DAY; t += 20 * MIN + this.rand(5 * MIN)) {
      const lid = this.netLogon(sql, web, 'svc_web', t, 'kerberos', 'MSSQLSvc');
      this.win.logoff(sql, t + 60_000 + this.rand(10 * MIN), 'svc_web', lid, 3);
    }
  }

  // ---- users ----------------------------------------------------------------------------------------

  private readonly sessions = new Map<string, Session>();

  private userDay(h: NetHost, d: number): void {
    const user = h.owner!;
    const fs = this.one('file');
    let t = this.at(d, 7, 0, 150);
    if (this.chance(0.08)) {
      this.label('logon-failure');
      for (let k = 1 + this.rand(2); k > 0; k--) {
        this.win.failed(h, t, { user, type: 2, auth: 'negotiate', ip: '127.0.0.1', workstation: h.name });
        this.win.preauthFailed(h, t + 30, user);
        t += 6000 + this.rand(15_000);
      }
    }
    this.label('user');
    this.win.tgt(h, t - 200, user);
    this.win.serviceTicket(h, t - 100, user, h, 'host');
    const lid = this.win.logonEvent(h, t, { user, type: 2, auth: 'negotiate', ip: '127.0.0.1' });
    if (this.mustChange.delete(user)) this.win.passwordChanged(this.win.dcFor(h), t - 5000, user, lid);
    const s = this.desktop(h, t + 2500, user, lid, 1);
    this.sessions.set(h.name, s);
    // Logon script: the home drive.
    const dc = this.win.dcFor(h);
    const dlid = this.netLogon(dc, h, user, t + 4000, 'kerberos');
    this.win.shareOpened(dc, t + 4100, { user, logonId: dlid, ip: h.ip, share: 'NETLOGON', path: 'C:\\Windows\\SYSVOL\\sysvol\\corp.local\\SCRIPTS' });
    const script = this.win.proc(h, t + 4300, {
      image: 'C:\\Windows\\System32\\cmd.exe',
      cmd: 'C:\\Windows\\system32\\cmd.exe /c ""\\\\corp.local\\NETLOGON\\logon.bat" "',
      parent: s.explorer,
      cwd: '\\\\corp.local\\NETLOGON\\',
    });
    this.win.proc(h, t + 4600, { image: 'C:\\Windows\\System32\\net.exe', cmd: `net  use H: \\\\${fs.name}\\home$\\${user} /persistent:no`, parent: script, cwd: '\\\\corp.local\\NETLOGON\\' });
    this.win.conn(h, t + 4700, this.win.kernel(h), { ip: fs.ip, port: 445, host: fs.fqdn });
    const flid = this.netLogon(fs, h, user, t + 4800, 'kerberos');
    this.win.shareOpened(fs, t + 4900, { user, logonId: flid, ip: h.ip, share: 'home$', path: 'D:\\Home' });
    const local = `C:\\Users\\${user}\\AppData\\Local`;
    this.win.proc(h, t + 9000, { image: `${local}\\Microsoft\\OneDrive\\OneDrive.exe`, cmd: `"${local}\\Microsoft\\OneDrive\\OneDrive.exe" /background`, parent: s.explorer });
    const teams = this.win.proc(h, t + 11_000, {
      image: 'C:\\Program Files\\WindowsApps\\MSTeams_24091.214.2846.1452_x64__8wekyb3d8bbwe\\ms-teams.exe',
      cmd: '"C:\\Program Files\\WindowsApps\\MSTeams_24091.214.2846.1452_x64__8wekyb3d8bbwe\\ms-teams.exe" msteams:system-initiated',
      parent: s.explorer,
    });
    const outlook = this.win.proc(h, t + 15_000, { image: APPS[1]![0], cmd: APPS[1]![1], parent: s.explorer });
    let browser: Proc | undefined;
    const leave = this.at(d, 16, 30, 150);
    const times = Array.from({ length: 15 + this.rand(20) }, () => t + 10 * MIN + this.rand(leave - t - 15 * MIN)).sort((a, b) => a - b);
    for (const at of times) {
      const roll = this.r();
      if (roll < 0.3) {
        const [image, cmd] = this.pick(APPS);
        const p = this.win.proc(h, at, { image, cmd, parent: s.explorer });
        if (image.endsWith('chrome.exe')) browser = p;
      } else if (roll < 0.55) {
        browser ??= this.win.proc(h, at - 5000, { image: APPS[0]![0], cmd: APPS[0]![1], parent: s.explorer });
        const via = this.pick([browser, browser, teams, outlook]);
        this.win.conn(h, at, via, { ip: this.pick(PUBLIC), port: 443 });
      } else if (roll < 0.8) {
        this.win.conn(h, at - 100, this.win.kernel(h), { ip: fs.ip, port: 445, host: fs.fqdn });
        const l = this.netLogon(fs, h, user, at, 'kerberos');
        const share = this.pick(SHARES);
        this.win.shareOpened(fs, at + 50, { user, logonId: l, ip: h.ip, share, path: `D:\\Shares\\${share}` });
        this.win.logoff(fs, at + 30_000 + this.rand(10 * MIN), user, l, 3);
      } else if (roll < 0.95) {
        // Locked and unlocked (now and then after a mistyped password).
        if (this.chance(0.04)) {
          this.label('logon-failure');
          this.win.failed(h, at - 8000, { user, type: 7, auth: 'negotiate', ip: '127.0.0.1', workstation: h.name });
          this.win.preauthFailed(h, at - 7900, user);
          this.label('user');
        }
        const u = this.win.logonEvent(h, at, { user, type: 7, auth: 'negotiate', ip: '127.0.0.1' });
        this.win.logoff(h, at + 2000, user, u, 7);
      } else {
        const [image, cmd] = this.pick(USER_TOOLS);
        this.win.proc(h, at, { image, cmd, parent: this.shell(h, at, s) });
      }
    }
    this.win.userLogoff(h, leave, user, lid);
    this.win.logoff(h, leave + 1500, user, lid, 2);
  }

  /** Now and then a user mistypes until locked out; the helpdesk unlocks them. */
  private lockouts(d: number): void {
    if (!this.chance(0.6)) return;
    this.label('logon-failure');
    const h = this.pick(this.role('ws'));
    const user = h.owner!;
    let t = this.at(d, 7, 0, 120);
    for (let k = 0; k < 5; k++) {
      this.win.failed(h, t, { user, type: 2, auth: 'negotiate', ip: '127.0.0.1', workstation: h.name });
      this.win.preauthFailed(h, t + 25, user);
      t += 4000 + this.rand(9000);
    }
    this.win.lockedOut(this.win.dcFor(h), t, user, h.name);
    this.win.failed(h, t + 5000, { user, type: 2, auth: 'negotiate', ip: '127.0.0.1', workstation: h.name, status: 'locked' });
    this.tickets.push({ user, at: t + 10 * MIN + this.rand(40 * MIN) });
  }

  /** One user's mapped drive keeps retrying an old password for an afternoon. */
  private staleCredentials(): void {
    this.label('logon-failure');
    const h = this.pick(this.role('ws'));
    const fs = this.one('file');
    const d = this.rand(this.days);
    for (let t = this.at(d, 13, 0, 60), k = 0; k < 8; k++, t += 30 * MIN + this.rand(60_000)) {
      this.win.failed(fs, t, { user: h.owner!, type: 3, auth: 'ntlm', ip: h.ip, workstation: h.name });
      this.win.ntlmValidation(t - 2, h.owner!, h.name, false);
    }
  }

  // ---- administrators -------------------------------------------------------------------------------

  private adminDay(a: { user: string; account: string; ws: NetHost }, d: number): void {
    this.label('admin-rdp');
    const jump = this.pick(this.role('jump'));
    const t0 = this.at(d, 8, 0, 90);
    const adm = a.account;
    const own = this.sessions.get(a.ws.name);
    const mstsc = this.win.proc(a.ws, t0, { image: 'C:\\Windows\\System32\\mstsc.exe', cmd: `"C:\\Windows\\system32\\mstsc.exe" /v:${jump.fqdn}`, parent: own?.explorer ?? this.win.winlogon(a.ws) });
    const s = this.rdpInto(a.ws, mstsc, jump, adm, t0 + 3000, 2 + this.rand(3), own?.logonId ?? '0x0', a.user);
    const tasks = 3 + this.rand(4);
    const times = Array.from({ length: tasks }, () => this.at(d, 9, 0, 8 * 60)).sort((x, y) => x - y);
    for (const t of times) {
      const target = this.chance(0.85) ? this.pick(this.servers.filter((h) => h !== jump)) : this.pick(this.workstations);
      // One task in ten is done from the administrator's own workstation.
      const [src, ss] = this.chance(0.1) && own ? [a.ws, own] : [jump, s];
      const roll = this.r();
      if (roll < 0.3) this.psexec(src, ss, target, src === a.ws ? a.user : adm, adm, t, this.pick(PSEXEC_COMMANDS), 'admin-psexec');
      else if (roll < 0.6) this.winrm(src, ss, target, adm, t);
      else if (roll < 0.85) this.rdpWork(src, ss, target, adm, t);
      else this.remoteTask(src, ss, target, adm, t);
    }
    this.label('admin-rdp');
    const end = this.at(d, 17, 0, 90);
    this.win.rdpSession(jump, end, adm, a.ws, s.session, 'end');
    this.win.userLogoff(jump, end + 500, adm, s.logonId);
    this.win.logoff(jump, end + 1500, adm, s.logonId, 10);
  }

  /** An RDP logon from `src` (mstsc running there) to `target`, with the desktop it opens. */
  private rdpInto(src: Host, mstsc: Proc, target: Host, user: string, t: number, session: number, srcLogonId: string, srcUser: string): Session {
    this.win.explicit(src, t - 1500, {
      subject: srcUser,
      subjectLogonId: srcLogonId,
      user,
      target,
      info: `TERMSRV/${target.fqdn}`,
      process: 'C:\\Windows\\System32\\mstsc.exe',
      pid: mstsc.pid,
      port: '0',
    });
    this.win.conn(src, t - 1400, mstsc, { ip: target.ip, port: 3389, host: target.fqdn });
    this.win.tgt(src, t - 1300, user);
    this.win.serviceTicket(src, t - 1200, user, target, 'TERMSRV');
    const lid = this.win.logonEvent(target, t, { user, type: 10, auth: 'negotiate', ip: src.ip });
    this.win.rdpSession(target, t, user, src, session, 'start');
    return this.desktop(target, t + 2000, user, lid, session);
  }

  /** PsExec from `src` to `target` as `account`; `-s` runs the command as SYSTEM. */
  private psexec(src: Host, s: Session, target: Host, srcUser: string, account: string, t: number, command: string, label: Activity): void {
    this.label(label);
    const system = this.chance(0.6);
    const shell = this.shell(src, t, s);
    const psx = this.win.proc(src, t, {
      image: 'C:\\Tools\\SysinternalsSuite\\PsExec64.exe',
      cmd: `PsExec64.exe \\\\${target.name} -accepteula ${system ? '-s ' : '-h '}${command}`,
      parent: shell,
      cwd: 'C:\\Tools\\SysinternalsSuite\\',
    });
    const eula = `${src.name}|${srcUser}`;
    if (!this.eulaAccepted.has(eula)) {
      this.eulaAccepted.add(eula);
      this.win.registry(src, t + 200, psx, `HKU\\${this.win.account(srcUser).sid}\\Software\\Sysinternals\\PsExec\\EulaAccepted`, 'DWORD (0x00000001)');
    }
    this.win.conn(src, t + 300, this.win.kernel(src), { ip: target.ip, port: 445, host: target.fqdn });
    const lid = this.netLogon(target, src, account, t + 500, 'kerberos');
    this.win.shareOpened(target, t + 600, { user: account, logonId: lid, ip: src.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows' });
    this.win.shareObject(target, t + 650, { user: account, logonId: lid, ip: src.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows', target: 'PSEXESVC.exe', write: true });
    this.win.file(target, t + 700, this.win.kernel(target), 'C:\\Windows\\PSEXESVC.exe');
    this.win.shareOpened(target, t + 800, { user: account, logonId: lid, ip: src.ip, share: 'IPC$', path: '' });
    this.win.shareObject(target, t + 850, { user: account, logonId: lid, ip: src.ip, share: 'IPC$', path: '', target: 'svcctl', pipe: true });
    this.win.serviceInstalled(target, t + 1000, 'PSEXESVC', '%SystemRoot%\\PSEXESVC.exe');
    this.win.serviceState(target, t + 1100, 'PSEXESVC', 'running');
    const svc = this.win.serviceProcess(target, t + 1150, 'C:\\Windows\\PSEXESVC.exe', 'C:\\Windows\\PSEXESVC.exe');
    this.win.psexecPipes(target, t + 1300, svc, src.name);
    const [exe, args] = command.startsWith('cmd ') ? ['C:\\Windows\\System32\\cmd.exe', command] : splitCommand(command);
    const child = this.win.proc(target, t + 1500, {
      image: exe,
      cmd: args,
      parent: svc,
      user: system ? SYSTEM : `${NETBIOS}\\${account}`,
      logonId: system ? '0x3e7' : lid,
      integrity: system ? 'System' : 'High',
    });
    if (command.startsWith('cmd ')) {
      const inner = command.replace(/^cmd \/c "?/, '').replace(/"$/, '');
      const [iexe, iargs] = splitCommand(inner);
      this.win.proc(target, t + 1700, { image: iexe, cmd: iargs, parent: child });
    }
    const end = t + 5000 + this.rand(90_000);
    this.win.serviceState(target, end, 'PSEXESVC', 'stopped');
    this.win.logoff(target, end + 500, account, lid, 3);
  }

  /** Invoke-Command from `src` to `target` over WinRM. */
  private winrm(src: Host, s: Session, target: Host, account: string, t: number): void {
    this.label('admin-winrm');
    const ps = this.powershell(src, t, s);
    const [script, exe] = this.pick(WINRM_SCRIPTS);
    this.win.scriptBlock(src, t, ps, `Invoke-Command -ComputerName ${target.name} -ScriptBlock { ${script} }`);
    this.win.winrmClient(src, t + 100, target, ps);
    this.win.conn(src, t + 150, ps, { ip: target.ip, port: 5985, host: target.fqdn });
    const lid = this.netLogon(target, src, account, t + 400, 'kerberos', 'HTTP');
    this.win.winrmServer(target, t + 450, account);
    const host = this.win.proc(target, t + 800, {
      image: 'C:\\Windows\\System32\\wsmprovhost.exe',
      cmd: 'C:\\Windows\\system32\\wsmprovhost.exe -Embedding',
      parent: this.win.dcomLaunch(target),
      user: `${NETBIOS}\\${account}`,
      logonId: lid,
      integrity: 'High',
      session: 0,
      cwd: `C:\\Users\\${account}\\Documents\\`,
    });
    this.win.engine(target, t + 1500, 'start', 'ServerRemoteHost', 'C:\\Windows\\system32\\wsmprovhost.exe -Embedding', host);
    this.win.scriptBlock(target, t + 1700, host, script);
    if (exe) {
      const [image, cmd] = splitCommand(exe);
      this.win.proc(target, t + 2000, { image, cmd, parent: host });
    }
    const end = t + 3000 + this.rand(60_000);
    this.win.engine(target, end, 'stop', 'ServerRemoteHost', 'C:\\Windows\\system32\\wsmprovhost.exe -Embedding', host);
    this.win.logoff(target, end + 400, account, lid, 3);
  }

  /** An RDP session from `src` to `target` with a few administrative tools. */
  private rdpWork(src: Host, s: Session, target: Host, account: string, t: number): void {
    this.label('admin-rdp');
    const mstsc = this.win.proc(src, t - 4000, { image: 'C:\\Windows\\System32\\mstsc.exe', cmd: `"C:\\Windows\\system32\\mstsc.exe" /v:${target.name}`, parent: s.explorer });
    const ts = this.rdpInto(src, mstsc, target, account, t, 2 + this.rand(3), s.logonId, account);
    let at = t + 30_000;
    for (let k = 1 + this.rand(4); k > 0; k--) {
      at += 20_000 + this.rand(4 * MIN);
      const [image, cmd] = this.pick(ADMIN_TOOLS);
      const parent = image.endsWith('mmc.exe') || image.endsWith('cmd.exe') || image.endsWith('powershell.exe') ? ts.explorer : this.shell(target, at, ts);
      const p = this.win.proc(target, at, { image, cmd, parent });
      if (image.endsWith('powershell.exe')) this.win.scriptBlock(target, at + 20_000, p, this.pick(RDP_POWERSHELL));
    }
    const end = at + 5 * MIN + this.rand(25 * MIN);
    this.win.rdpSession(target, end, account, src, ts.session, 'end');
    this.win.userLogoff(target, end + 600, account, ts.logonId);
    this.win.logoff(target, end + 1500, account, ts.logonId, 10);
  }

  /** `schtasks /create /s TARGET`: the task runs every night from then on. */
  private remoteTask(src: Host, s: Session, target: NetHost, account: string, t: number): void {
    this.label('admin-task');
    const [name, command, args, script] = this.pick(ADMIN_TASKS);
    const hour = 1 + this.rand(4);
    const schtasks = this.win.proc(src, t, {
      image: 'C:\\Windows\\System32\\schtasks.exe',
      cmd: `schtasks.exe /create /s ${target.name} /ru SYSTEM /sc daily /st 0${hour}:30 /tn "${name.slice(1)}" /tr "${command}${args ? ' ' + args.replace(/"/g, '\\"') : ''}" /f`,
      parent: this.shell(src, t, s),
    });
    this.win.conn(src, t + 100, schtasks, { ip: target.ip, port: 135, host: target.fqdn });
    const lid = this.netLogon(target, src, account, t + 300, 'kerberos', 'HOST');
    this.win.taskCreated(target, t + 600, {
      name,
      subject: account,
      subjectLogonId: lid,
      command,
      args,
      runAs: 'S-1-5-18',
      trigger: `<CalendarTrigger><StartBoundary>${new Date(t).toISOString().slice(0, 11)}0${hour}:30:00</StartBoundary><Enabled>true</Enabled><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>`,
      author: `${NETBIOS}\\${account}`,
    });
    this.win.logoff(target, t + 2000, account, lid, 3);
    this.jobs.push({ host: target, from: Math.floor((t - START) / DAY) + 1, hour, command, args, script });
  }

  private nightlyJobs(d: number): void {
    this.label('admin-task');
    for (const j of this.jobs) {
      if (d < j.from) continue;
      const t = this.at(d, j.hour, 30, 1);
      const p = this.win.proc(j.host, t, {
        image: j.command.includes('\\') ? j.command : `C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\${j.command}`,
        cmd: `${j.command} ${j.args}`,
        parent: this.win.schedule(j.host),
        user: SYSTEM,
      });
      if (j.script) {
        this.win.engine(j.host, t + 500, 'start', 'ConsoleHost', `${j.command} ${j.args}`, p);
        this.win.scriptBlock(j.host, t + 800, p, j.script, j.args.match(/-File (\S+)/)?.[1] ?? '');
      }
    }
  }

  // ---- helpdesk ------------------------------------------------------------------------------------

  private helpdeskDay(hd: { user: string; account: string; ws: NetHost }, d: number): void {
    this.label('helpdesk');
    const own = this.sessions.get(hd.ws.name);
    if (!own) return;
    const dc = this.win.dcFor(hd.ws);
    const t0 = this.at(d, 8, 30, 60);
    // ADUC as the helpdesk account ("Run as different user": seclogon).
    this.win.explicit(hd.ws, t0, {
      subject: hd.user,
      subjectLogonId: own.logonId,
      user: hd.account,
      target: 'localhost',
      info: 'localhost',
      process: 'C:\\Windows\\System32\\svchost.exe',
      pid: 1200 + this.rand(400),
      port: '-',
    });
    const lid = this.win.logonEvent(hd.ws, t0 + 300, { user: hd.account, type: 2, auth: 'negotiate', ip: '127.0.0.1', logonProcess: 'seclogo' });
    this.win.proc(hd.ws, t0 + 800, {
      image: 'C:\\Windows\\System32\\mmc.exe',
      cmd: '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\dsa.msc" ',
      parent: own.explorer,
      user: `${NETBIOS}\\${hd.account}`,
      logonId: lid,
      integrity: 'High',
    });
    const ldap = this.netLogon(dc, hd.ws, hd.account, t0 + 2000, 'kerberos', 'ldap');
    const subject = { user: hd.account, logonId: ldap };
    // Lockout tickets go to the helpdesk staff in turn.
    const mine = this.tickets.filter((x, i) => x.at < t0 + 10 * HOUR && this.helpdesk[i % this.helpdesk.length] === hd);
    for (const tk of mine) {
      this.tickets.splice(this.tickets.indexOf(tk), 1);
      const t = Math.max(tk.at, t0 + 5 * MIN);
      this.win.unlocked(dc, t, tk.user, subject);
      this.win.passwordReset(dc, t + 40_000, tk.user, subject);
      this.mustChange.add(tk.user);
    }
    for (let k = 2 + this.rand(5); k > 0; k--) {
      const t = this.at(d, 9, 0, 8 * 60);
      const user = this.pick(this.users);
      if (this.chance(0.3)) {
        const ps = this.powershell(hd.ws, t, own);
        this.win.scriptBlock(
          hd.ws,
          t,
          ps,
          `Set-ADAccountPassword -Identity '${user}' -Reset -NewPassword (ConvertTo-SecureString -AsPlainText 'Welcome-${1000 + this.rand(9000)}!' -Force) -Credential $cred\r\nSet-ADUser -Identity '${user}' -ChangePasswordAtLogon $true -Credential $cred`,
        );
      }
      this.win.passwordReset(dc, t + 2000, user, subject);
      this.mustChange.add(user);
    }
    if (this.chance(0.25)) {
      const [f, l] = [this.pick(FIRST), this.pick(LAST)];
      const name = `${f[0]}${l}${1 + this.rand(9)}`;
      const [group, rid] = this.pick(GROUPS);
      this.win.userCreated(dc, this.at(d, 10, 0, 6 * 60), { name, display: `${cap(f)} ${cap(l)}`, group, groupRid: rid, subject });
    }
    if (this.chance(0.2)) this.psexec(hd.ws, own, this.pick(this.role('ws')), hd.user, hd.account, this.at(d, 10, 0, 6 * 60), 'gpupdate /force', 'helpdesk');
  }

  // ---- software distribution ------------------------------------------------------------------------

  private deploy(d: number): void {
    this.label('deploy');
    const srv = this.one('deploy');
    const service = this.win.daemon(srv, 'C:\\Program Files (x86)\\Admin Arsenal\\PDQ Deploy\\PDQDeployService.exe', '"C:\\Program Files (x86)\\Admin Arsenal\\PDQ Deploy\\PDQDeployService.exe"');
    const pkgs = this.shuffle(PACKAGES).slice(0, 1 + this.rand(2));
    const ws = this.shuffle(this.workstations);
    const targets = [...ws.slice(0, Math.ceil(ws.length * (0.4 + this.r() * 0.55))), ...this.shuffle(this.role('app')).slice(0, this.rand(3))];
    const t0 = this.at(d, 1, 0, 20);
    targets.forEach((h, i) => {
      let t = t0 + Math.floor(i / 8) * 3 * MIN + this.rand(60_000);
      this.win.explicit(srv, t, {
        subject: 'svc_deploy',
        subjectLogonId: this.serviceLogonIds.get('deploy')!,
        user: 'svc_deploy',
        target: h,
        info: h.fqdn,
        process: service.image,
        pid: service.pid,
        port: '445',
      });
      this.win.conn(srv, t + 100, this.win.kernel(srv), { ip: h.ip, port: 445, host: h.fqdn });
      const lid = this.netLogon(h, srv, 'svc_deploy', t + 300, 'kerberos');
      const dir = 'AdminArsenal\\PDQDeployRunner\\service-1';
      this.win.shareOpened(h, t + 400, { user: 'svc_deploy', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows' });
      this.win.shareObject(h, t + 500, { user: 'svc_deploy', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows', target: `${dir}\\PDQDeployRunner-1.exe`, write: true });
      this.win.file(h, t + 550, this.win.kernel(h), `C:\\Windows\\${dir}\\PDQDeployRunner-1.exe`);
      this.win.shareOpened(h, t + 700, { user: 'svc_deploy', logonId: lid, ip: srv.ip, share: 'IPC$', path: '' });
      this.win.shareObject(h, t + 750, { user: 'svc_deploy', logonId: lid, ip: srv.ip, share: 'IPC$', path: '', target: 'svcctl', pipe: true });
      this.win.serviceInstalled(h, t + 900, 'PDQDeployRunner-1', `C:\\Windows\\${dir}\\PDQDeployRunner-1.exe`);
      this.win.serviceState(h, t + 1000, 'PDQDeployRunner-1', 'running');
      const runner = this.win.serviceProcess(h, t + 1050, `C:\\Windows\\${dir}\\PDQDeployRunner-1.exe`, `"C:\\Windows\\${dir}\\PDQDeployRunner-1.exe"`);
      t += 2000;
      for (const p of pkgs) {
        this.win.shareObject(h, t, { user: 'svc_deploy', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows', target: `${dir}\\exec\\${p.file}`, write: true });
        this.win.file(h, t + 300, this.win.kernel(h), `C:\\Windows\\${dir}\\exec\\${p.file}`);
        p.install(this, h, t + 2000, runner);
        t += 60_000 + this.rand(90_000);
      }
      this.win.serviceState(h, t, 'PDQDeployRunner-1', 'stopped');
      this.win.logoff(h, t + 800, 'svc_deploy', lid, 3);
    });
  }

  /** First install of a product on a host (services and tasks are registered once). */
  firstInstall(h: Host, product: string): boolean {
    const key = `${h.name}|${product}`;
    if (this.installed.has(key)) return false;
    this.installed.add(key);
    return true;
  }

  /** msiexec as SYSTEM from `parent`, the Windows Installer service doing the work. */
  msi(h: Host, t: number, parent: Proc, cmd: string, files: string[], uninstallKey: string, version: string): void {
    this.win.proc(h, t, { image: 'C:\\Windows\\System32\\msiexec.exe', cmd, parent });
    const svc = this.win.proc(h, t + 400, { image: 'C:\\Windows\\System32\\msiexec.exe', cmd: 'C:\\Windows\\system32\\msiexec.exe /V', parent: this.win.services(h), user: SYSTEM });
    this.win.serviceState(h, t + 300, 'Windows Installer', 'running', 'msiserver');
    files.forEach((f, i) => this.win.file(h, t + 5000 + i * 300, svc, f));
    this.win.registry(h, t + 9000, svc, `HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${uninstallKey}\\DisplayVersion`, version);
    this.win.serviceState(h, t + 11 * MIN, 'Windows Installer', 'stopped', 'msiserver');
  }

  // ---- patching -------------------------------------------------------------------------------------

  private patch(d: number): void {
    this.label('patch');
    const srv = this.one('patch');
    const console = this.win.daemon(srv, 'C:\\Program Files\\Ivanti\\Security Controls\\ST.Protect.exe', '"C:\\Program Files\\Ivanti\\Security Controls\\ST.Protect.exe" /scheduled');
    const ring = d % 3;
    const targets = ring === 0 ? this.servers.filter((h) => h !== srv && h.role !== 'dc') : this.workstations.filter((_, i) => i % 2 === ring - 1);
    const kb = PATCHES[d % PATCHES.length]!;
    const t0 = this.at(d, 3, 0, 15);
    targets.forEach((h, i) => {
      const t = t0 + Math.floor(i / 6) * 4 * MIN + this.rand(60_000);
      this.win.explicit(srv, t, {
        subject: 'svc_patch',
        subjectLogonId: this.serviceLogonIds.get('patch')!,
        user: 'svc_patch',
        target: h,
        info: h.fqdn,
        process: console.image,
        pid: console.pid,
        port: '445',
      });
      this.win.conn(srv, t + 100, this.win.kernel(srv), { ip: h.ip, port: 445, host: h.fqdn });
      const lid = this.netLogon(h, srv, 'svc_patch', t + 300, 'ntlm');
      this.win.shareOpened(h, t + 400, { user: 'svc_patch', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows' });
      for (const [k, f] of ['ProPatches\\STDeploy.exe', `ProPatches\\Patches\\${kb}`].entries()) {
        this.win.shareObject(h, t + 500 + k * 400, { user: 'svc_patch', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows', target: f, write: true });
        this.win.file(h, t + 600 + k * 400, this.win.kernel(h), `C:\\Windows\\${f}`);
      }
      this.win.shareOpened(h, t + 1500, { user: 'svc_patch', logonId: lid, ip: srv.ip, share: 'IPC$', path: '' });
      this.win.shareObject(h, t + 1550, { user: 'svc_patch', logonId: lid, ip: srv.ip, share: 'IPC$', path: '', target: 'svcctl', pipe: true });
      this.win.serviceInstalled(h, t + 1700, 'STDeploy', 'C:\\Windows\\ProPatches\\STDeploy.exe');
      this.win.serviceState(h, t + 1800, 'STDeploy', 'running');
      const agent = this.win.serviceProcess(h, t + 1850, 'C:\\Windows\\ProPatches\\STDeploy.exe', '"C:\\Windows\\ProPatches\\STDeploy.exe" /deploy');
      this.win.proc(h, t + 5000, { image: 'C:\\Windows\\System32\\wusa.exe', cmd: `"C:\\Windows\\system32\\wusa.exe" "C:\\Windows\\ProPatches\\Patches\\${kb}" /quiet /norestart`, parent: agent });
      this.win.serviceState(h, t + 8000, 'Windows Modules Installer', 'running', 'TrustedInstaller');
      this.win.proc(h, t + 8200, { image: 'C:\\Windows\\servicing\\TrustedInstaller.exe', cmd: 'C:\\Windows\\servicing\\TrustedInstaller.exe', parent: this.win.services(h), user: SYSTEM });
      this.win.proc(h, t + 9000, {
        image: 'C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4351_none_7e5c5b0a5f8f0f2d\\TiWorker.exe',
        cmd: 'C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.4351_none_7e5c5b0a5f8f0f2d\\TiWorker.exe -Embedding',
        parent: this.win.dcomLaunch(h),
        user: SYSTEM,
      });
      let end = t + 6 * MIN + this.rand(8 * MIN);
      if (h.kind === 'ws' && this.chance(0.5)) {
        const [file, cmd] = this.pick(THIRD_PARTY_PATCHES);
        this.win.proc(h, end - 2 * MIN, { image: `C:\\Windows\\ProPatches\\Patches\\${file}`, cmd: `"C:\\Windows\\ProPatches\\Patches\\${file}" ${cmd}`, parent: agent });
      }
      this.win.serviceState(h, end, 'STDeploy', 'stopped');
      this.win.logoff(h, end + 600, 'svc_patch', lid, 3);
      if (this.chance(0.6)) {
        const shutdown = this.win.proc(h, end - 1000, {
          image: 'C:\\Windows\\System32\\shutdown.exe',
          cmd: 'shutdown.exe /r /t 300 /c "Ivanti Security Controls: restarting to complete patch installation" /d p:2:17',
          parent: agent,
        });
        end += 5 * MIN;
        this.win.restart(h, end, shutdown, 'Ivanti Security Controls: restarting to complete patch installation', 2 * MIN + this.rand(3 * MIN));
      }
    });
  }

  // ---- backups --------------------------------------------------------------------------------------

  private backup(d: number): void {
    this.label('backup');
    const srv = this.one('backup');
    const manager = this.win.daemon(
      srv,
      'C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Manager.exe',
      '"C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Manager.exe" startbackupjob',
    );
    const t0 = this.at(d, 21, 0, 10);
    this.servers
      .filter((h) => h !== srv)
      .forEach((h, i) => {
        const t = t0 + Math.floor(i / 4) * 7 * MIN + this.rand(60_000);
        this.win.explicit(srv, t, {
          subject: 'svc_backup',
          subjectLogonId: this.serviceLogonIds.get('backup')!,
          user: 'svc_backup',
          target: h,
          info: h.fqdn,
          process: manager.image,
          pid: manager.pid,
          port: '445',
        });
        this.win.conn(srv, t + 100, this.win.kernel(srv), { ip: h.ip, port: 445, host: h.fqdn });
        const lid = this.netLogon(h, srv, 'svc_backup', t + 300, 'kerberos');
        this.win.shareOpened(h, t + 400, { user: 'svc_backup', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows' });
        this.win.shareObject(h, t + 500, { user: 'svc_backup', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows', target: 'VeeamVssSupport\\VeeamGuestHelper.exe', write: true });
        this.win.file(h, t + 550, this.win.kernel(h), 'C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe');
        this.win.shareOpened(h, t + 700, { user: 'svc_backup', logonId: lid, ip: srv.ip, share: 'IPC$', path: '' });
        this.win.shareObject(h, t + 750, { user: 'svc_backup', logonId: lid, ip: srv.ip, share: 'IPC$', path: '', target: 'svcctl', pipe: true });
        this.win.serviceInstalled(h, t + 900, 'VeeamVssSupport', 'C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe');
        this.win.serviceState(h, t + 1000, 'VeeamVssSupport', 'running');
        this.win.serviceProcess(h, t + 1050, 'C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe', '"C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe" -s');
        this.win.serviceState(h, t + 5000, 'Volume Shadow Copy', 'running', 'VSS');
        this.win.proc(h, t + 5100, { image: 'C:\\Windows\\System32\\VSSVC.exe', cmd: 'C:\\Windows\\system32\\vssvc.exe', parent: this.win.services(h), user: SYSTEM });
        const end = t + 3 * MIN + this.rand(5 * MIN);
        this.win.serviceState(h, end, 'Volume Shadow Copy', 'stopped', 'VSS');
        this.win.serviceState(h, end + 2000, 'VeeamVssSupport', 'stopped');
        this.win.logoff(h, end + 3000, 'svc_backup', lid, 3);
      });
    // Endpoint file backup of the workstations, by address (NTLM).
    this.workstations.forEach((h, i) => {
      const t = t0 + 40 * MIN + Math.floor(i / 6) * 3 * MIN + this.rand(60_000);
      const lid = this.netLogon(h, srv, 'svc_backup', t, 'ntlm');
      this.win.shareOpened(h, t + 200, { user: 'svc_backup', logonId: lid, ip: srv.ip, share: 'C$', path: '\\??\\C:\\' });
      this.win.logoff(h, t + 60_000 + this.rand(4 * MIN), 'svc_backup', lid, 3);
    });
    // Retention: the oldest restore points go.
    const job = this.win.proc(srv, t0 - 60_000, {
      image: 'C:\\Program Files\\Veeam\\Backup and Replication\\Backup\\Veeam.Backup.Manager.exe',
      cmd: manager.cmd,
      parent: manager,
      user: `${NETBIOS}\\svc_backup`,
    });
    const old = new Date(START + (d - 14) * DAY).toISOString().slice(0, 10);
    this.servers
      .filter((h) => h !== srv)
      .slice(0, 4 + this.rand(8))
      .forEach((h, i) => this.win.fileDelete(srv, t0 + 3 * HOUR + i * 2000, job, `E:\\Backups\\Servers\\${h.name}\\${h.name}D${old}T210512_${(0x1a2b + i).toString(16).toUpperCase()}.vib`));
  }

  // ---- the vulnerability scanner ------------------------------------------------------------------

  private scan(d: number): void {
    this.label('scan');
    const srv = this.one('scanner');
    const nessusd = this.win.daemon(srv, 'C:\\Program Files\\Tenable\\Nessus\\nessusd.exe', '"C:\\Program Files\\Tenable\\Nessus\\nessusd.exe" -q');
    const t0 = this.chance(0.5) ? this.at(d, 13, 0, 90) : this.at(d, 20, 0, 60);
    this.shuffle(this.hosts.filter((h) => h !== srv)).forEach((h, i) => {
      const t = t0 + Math.floor(i / 10) * 2 * MIN + this.rand(60_000);
      this.win.conn(srv, t, nessusd, { ip: h.ip, port: 445, host: h.fqdn });
      this.win.conn(srv, t + 50, nessusd, { ip: h.ip, port: 135, host: h.fqdn });
      const probe = `nessus${100000 + this.rand(900000)}`;
      this.win.failed(h, t + 1000, { user: probe, type: 3, auth: 'ntlm', ip: srv.ip, workstation: srv.name, status: 'user' });
      this.win.ntlmValidation(t + 998, probe, srv.name, false);
      const anon = this.win.logonEvent(h, t + 1500, { user: 'ANONYMOUS LOGON', domain: 'NT AUTHORITY', type: 3, auth: 'ntlm', ip: srv.ip, workstation: srv.name, keyLength: 0, elevated: false });
      this.win.logoff(h, t + 1800, 'ANONYMOUS LOGON', anon, 3);
      const lid = this.netLogon(h, srv, 'svc_scan', t + 2500, 'ntlm');
      this.win.shareOpened(h, t + 2600, { user: 'svc_scan', logonId: lid, ip: srv.ip, share: 'IPC$', path: '' });
      for (const [k, pipe] of ['winreg', 'srvsvc', 'svcctl', 'lsarpc', 'samr'].entries())
        this.win.shareObject(h, t + 2700 + k * 200, { user: 'svc_scan', logonId: lid, ip: srv.ip, share: 'IPC$', path: '', target: pipe, pipe: true });
      if (h.kind === 'ws') this.win.serviceStartType(h, t + 3800, 'Remote Registry', 'disabled', 'demand start', 'RemoteRegistry');
      this.win.serviceState(h, t + 3900, 'Remote Registry', 'running', 'RemoteRegistry');
      this.win.shareOpened(h, t + 9000, { user: 'svc_scan', logonId: lid, ip: srv.ip, share: 'C$', path: '\\??\\C:\\' });
      for (const [k, f] of ['Windows\\System32\\ntoskrnl.exe', 'Windows\\System32\\drivers\\srv2.sys', 'Program Files\\Google\\Chrome\\Application\\chrome.exe'].entries())
        this.win.shareObject(h, t + 9100 + k * 150, { user: 'svc_scan', logonId: lid, ip: srv.ip, share: 'C$', path: '\\??\\C:\\', target: f });
      this.win.shareOpened(h, t + 12_000, { user: 'svc_scan', logonId: lid, ip: srv.ip, share: 'ADMIN$', path: '\\??\\C:\\Windows' });
      const end = t + 60_000 + this.rand(90_000);
      this.win.serviceState(h, end, 'Remote Registry', 'stopped', 'RemoteRegistry');
      if (h.kind === 'ws') this.win.serviceStartType(h, end + 500, 'Remote Registry', 'demand start', 'disabled', 'RemoteRegistry');
      this.win.logoff(h, end + 1000, 'svc_scan', lid, 3);
    });
  }

  // ---- scheduled tasks and installs on workstations ---------------------------------------------

  private tasks(d: number): void {
    this.label('task');
    const fs = this.one('file');
    const author = this.admins[0]!.account;
    for (const h of this.workstations) {
      if (d === 0) {
        this.win.taskCreated(h, this.at(0, 7, 0, 180), {
          name: '\\Corp\\Hardware Inventory',
          subject: `${h.name}$`,
          subjectLogonId: '0x3e7',
          command: 'powershell.exe',
          args: INVENTORY_ARGS,
          runAs: 'S-1-5-18',
          trigger: '<CalendarTrigger><StartBoundary>2024-05-13T12:00:00</StartBoundary><Enabled>true</Enabled><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>',
          author: `${NETBIOS}\\${author}`,
          hidden: true,
        });
      }
      const t = this.at(d, 12, 0, 10);
      const ps = this.win.proc(h, t, { image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', cmd: `powershell.exe ${INVENTORY_ARGS}`, parent: this.win.schedule(h), user: SYSTEM });
      this.win.engine(h, t + 600, 'start', 'ConsoleHost', `powershell.exe ${INVENTORY_ARGS}`, ps);
      this.win.scriptBlock(h, t + 900, ps, INVENTORY_SCRIPT, '\\\\corp.local\\NETLOGON\\Inventory\\Get-Inventory.ps1');
      const lid = this.netLogon(fs, h, `${h.name}$`, t + 4000, 'kerberos');
      this.win.shareOpened(fs, t + 4100, { user: `${h.name}$`, logonId: lid, ip: h.ip, share: 'Inventory$', path: 'D:\\Inventory' });
      this.win.engine(h, t + 9000, 'stop', 'ConsoleHost', `powershell.exe ${INVENTORY_ARGS}`, ps);
      // Updaters' own tasks: Google hourly while the machine is in use, Edge and Office daily, OneDrive in the user's session.
      for (let hh = 8; hh < 19; hh++)
        this.win.proc(h, this.at(d, hh, 0, 5), { image: GOOGLE_UPDATE, cmd: `"${GOOGLE_UPDATE}" /ua /installsource scheduler`, parent: this.win.schedule(h), user: SYSTEM });
      this.win.proc(h, this.at(d, 10, 0, 60), { image: EDGE_UPDATE, cmd: `"${EDGE_UPDATE}" /ua /installsource scheduler`, parent: this.win.schedule(h), user: SYSTEM });
      this.win.proc(h, this.at(d, 3, 0, 120), {
        image: 'C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeC2RClient.exe',
        cmd: '"C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeC2RClient.exe" /frequentupdate SCHEDULEDTASK displaylevel=False',
        parent: this.win.schedule(h),
        user: SYSTEM,
      });
      if (this.weekday(d) && h.owner) {
        const updater = `C:\\Users\\${h.owner}\\AppData\\Local\\Microsoft\\OneDrive\\OneDriveStandaloneUpdater.exe`;
        this.win.proc(h, this.at(d, 11, 0, 240), {
          image: updater,
          cmd: `"${updater}" /reporting`,
          parent: this.win.schedule(h),
          user: `${NETBIOS}\\${h.owner}`,
          logonId: this.sessions.get(h.name)?.logonId,
          integrity: 'Medium',
        });
      }
    }
  }

  private installs(d: number): void {
    this.label('install');
    for (const h of this.workstations) {
      if (this.chance(0.2)) {
        // Chrome updates itself.
        const t = this.at(d, 8, 0, 10 * 60);
        const gu = this.win.proc(h, t, { image: GOOGLE_UPDATE, cmd: `"${GOOGLE_UPDATE}" /ua /installsource scheduler`, parent: this.win.schedule(h), user: SYSTEM });
        const dir = `C:\\Program Files (x86)\\Google\\Update\\Install\\{${hexGuid(h.name + d)}}`;
        const mini = this.win.proc(h, t + 40_000, {
          image: `${dir}\\124.0.6367.119_chrome_installer.exe`,
          cmd: `"${dir}\\124.0.6367.119_chrome_installer.exe" --system-level --verbose-logging --do-not-launch-chrome --channel=stable`,
          parent: gu,
        });
        const tmp = `${dir}\\CR_${hexGuid(h.name + d + 'cr').slice(0, 5)}.tmp`;
        const setup = this.win.proc(h, t + 42_000, {
          image: `${tmp}\\setup.exe`,
          cmd: `"${tmp}\\setup.exe" --install-archive="${tmp}\\CHROME.PACKED.7Z" --verbose-logging --do-not-launch-chrome --channel=stable --system-level`,
          parent: mini,
        });
        this.win.file(h, t + 50_000, setup, 'C:\\Program Files\\Google\\Chrome\\Application\\124.0.6367.119\\chrome.dll');
      }
      if (this.chance(0.1)) {
        const t = this.at(d, 9, 0, 8 * 60);
        const arm = this.win.proc(h, t, {
          image: 'C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\AdobeARM.exe',
          cmd: '"C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\AdobeARM.exe" /PRODUCT:Reader /VERSION:24.0 /MODE:3',
          parent: this.win.schedule(h),
          user: SYSTEM,
        });
        this.msi(
          h,
          t + 60_000,
          arm,
          'msiexec.exe /qn /p "C:\\ProgramData\\Adobe\\ARM\\Reader_24.002.20687\\AcroRdrDCx64Upd2400220736_MUI.msp" REBOOT=ReallySuppress',
          ['C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe'],
          '{AC76BA86-1033-FF00-7760-BC15014EA700}',
          '24.002.20736',
        );
      }
      const s = this.sessions.get(h.name);
      if (s && this.weekday(d) && this.chance(0.06)) {
        // A user installs software for themselves from Downloads.
        const [file, product, exe, runKey] = this.pick(USER_INSTALLS);
        const u = h.owner!;
        const t = this.at(d, 10, 0, 6 * 60);
        const inst = this.win.proc(h, t, { image: `C:\\Users\\${u}\\Downloads\\${file}`, cmd: `"C:\\Users\\${u}\\Downloads\\${file}" `, parent: s.explorer, cwd: `C:\\Users\\${u}\\Downloads\\` });
        const target = `C:\\Users\\${u}\\AppData\\Roaming\\${product}\\${exe}`;
        this.win.file(h, t + 20_000, inst, target);
        this.win.registry(h, t + 25_000, inst, `HKU\\${this.win.account(u).sid}\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\${runKey}`, `"${target}" --autostart`);
        this.win.proc(h, t + 30_000, { image: target, cmd: `"${target}" --autostart`, parent: inst });
      }
    }
  }
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

function hexGuid(seed: string): string {
  const h = (k: number) => (Math.imul(k + 1, 0x9e3779b1) ^ [...seed].reduce((a, c) => Math.imul(a ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261)) >>> 0;
  const x = (k: number, n: number) => h(k).toString(16).toUpperCase().padStart(8, '0').slice(0, n);
  return `${x(0, 8)}-${x(1, 4)}-${x(2, 4)}-${x(3, 4)}-${x(4, 8)}${x(5, 4)}`;
}

/** `"C:\path\x.exe" args` or `x.exe args` → [image, command line]. */
function splitCommand(cmd: string): [string, string] {
  const exe = cmd.split(' ')[0]!;
  const image = exe.includes('\\') ? exe : `C:\\Windows\\System32\\${exe.endsWith('.exe') ? exe : exe + '.exe'}`;
  return [image, cmd];
}

const GOOGLE_UPDATE = 'C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe';
const EDGE_UPDATE = 'C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe';

const APPS: [string, string][] = [
  ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" '],
  ['C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE', '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE" '],
  ['C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "H:\\Documents\\Report.docx" /o ""'],
  ['C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE', '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE" "\\\\FS\\Shares\\Finance\\Budget 2024.xlsx"'],
  ['C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe', '"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe" --single-argument https://intranet.corp.local/'],
  ['C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe', '"C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe" "C:\\Users\\Public\\Documents\\Invoice.pdf"'],
  ['C:\\Windows\\System32\\notepad.exe', '"C:\\Windows\\system32\\NOTEPAD.EXE" C:\\Users\\Public\\notes.txt'],
  ['C:\\Windows\\System32\\SnippingTool.exe', '"C:\\Windows\\system32\\SnippingTool.exe" '],
  ['C:\\Windows\\System32\\calc.exe', '"C:\\Windows\\system32\\calc.exe" '],
];

/** Things users (and power users) type in a command prompt. */
const USER_TOOLS: [string, string][] = [
  ['C:\\Windows\\System32\\ipconfig.exe', 'ipconfig /all'],
  ['C:\\Windows\\System32\\PING.EXE', 'ping intranet.corp.local'],
  ['C:\\Windows\\System32\\gpupdate.exe', 'gpupdate /force'],
  ['C:\\Windows\\System32\\net.exe', 'net use'],
  ['C:\\Windows\\System32\\whoami.exe', 'whoami'],
];

const PUBLIC = ['142.250.185.78', '52.113.194.132', '13.107.42.14', '20.190.159.2', '52.96.165.18', '104.18.32.47', '151.101.1.69', '23.52.40.103', '40.126.31.73', '172.217.16.142'];
const SHARES = ['Finance', 'HR', 'Sales', 'Projects', 'Public'];
const GROUPS: [string, number][] = [
  ['Sales', 1301],
  ['Finance', 1302],
  ['Marketing', 1303],
  ['Engineering', 1304],
];

const ROUTINE_WS: [string, string][] = [
  ['C:\\Windows\\System32\\CompatTelRunner.exe', 'C:\\Windows\\system32\\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun'],
  ['C:\\Windows\\System32\\MusNotification.exe', 'C:\\Windows\\system32\\MusNotification.exe'],
  ['C:\\Windows\\System32\\sihclient.exe', 'C:\\Windows\\System32\\sihclient.exe  /cv 3gbfpOZXb0WzINN9oY1gmg.0.2'],
  ['C:\\Windows\\System32\\defrag.exe', 'C:\\Windows\\system32\\defrag.exe -c -h -o -$'],
  ['C:\\Windows\\System32\\rundll32.exe', 'C:\\Windows\\system32\\rundll32.exe Windows.Storage.ApplicationData.dll,CleanupTemporaryState'],
  [
    'C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MpCmdRun.exe',
    '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MpCmdRun.exe" -IdleTask -TaskName WdCacheMaintenance',
  ],
  ['C:\\Windows\\System32\\taskhostw.exe', 'taskhostw.exe Install $(Arg0)'],
];
const ROUTINE_SRV: [string, string][] = [
  ['C:\\Windows\\System32\\defrag.exe', 'C:\\Windows\\system32\\defrag.exe -c -h -o -$'],
  [
    'C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MpCmdRun.exe',
    '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24030.9-0\\MpCmdRun.exe" -IdleTask -TaskName WdCacheMaintenance',
  ],
  ['C:\\Windows\\System32\\sc.exe', 'C:\\Windows\\system32\\sc.exe start wuauserv'],
  ['C:\\Windows\\System32\\taskhostw.exe', 'taskhostw.exe /RuntimeWide'],
  ['C:\\Windows\\System32\\cleanmgr.exe', 'C:\\Windows\\system32\\cleanmgr.exe /autoclean /d C:'],
];
const SERVICE_STATES: [string, string][] = [
  ['Windows Update', 'wuauserv'],
  ['Background Intelligent Transfer Service', 'BITS'],
  ['WinHTTP Web Proxy Auto-Discovery Service', 'WinHttpAutoProxySvc'],
  ['Windows Error Reporting Service', 'WerSvc'],
  ['Software Protection', 'sppsvc'],
];

const PSEXEC_COMMANDS = [
  'ipconfig /flushdns',
  'gpupdate /force',
  'cmd /c "net stop spooler && net start spooler"',
  'cmd /c "sc query wuauserv"',
  'qwinsta',
  'cmd /c "wuauclt /detectnow"',
  'cmd /c "w32tm /resync"',
  'cmd /c "dir C:\\inetpub\\logs\\LogFiles"',
];

/** [script block, a program it runs]. */
const WINRM_SCRIPTS: [string, string][] = [
  ['Get-Service -Name Spooler | Restart-Service -PassThru', ''],
  ['Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 5', ''],
  ['Get-EventLog -LogName System -EntryType Error -Newest 20 | Format-Table TimeGenerated, Source, Message -AutoSize', ''],
  ['Get-CimInstance Win32_LogicalDisk | Select-Object DeviceID, FreeSpace, Size', ''],
  ['Restart-Service W32Time; w32tm /resync /force', 'w32tm /resync /force'],
  ['Get-LocalGroupMember -Group Administrators', ''],
  ['Clear-DnsClientCache; ipconfig /registerdns', 'ipconfig /registerdns'],
  ['Get-ChildItem D:\\Logs -Recurse | Where-Object LastWriteTime -lt (Get-Date).AddDays(-30) | Remove-Item -Force', ''],
  ['Install-WindowsFeature -Name RSAT-AD-PowerShell', ''],
  ['Get-Process | Sort-Object CPU -Descending | Select-Object -First 10 Name, Id, CPU', ''],
];

const ADMIN_TOOLS: [string, string][] = [
  ['C:\\Windows\\System32\\mmc.exe', '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\services.msc" '],
  ['C:\\Windows\\System32\\mmc.exe', '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\eventvwr.msc" /s'],
  ['C:\\Windows\\System32\\cmd.exe', '"C:\\Windows\\system32\\cmd.exe" '],
  ['C:\\Windows\\System32\\ipconfig.exe', 'ipconfig /all'],
  ['C:\\Windows\\System32\\NETSTAT.EXE', 'netstat -ano'],
  ['C:\\Windows\\System32\\tasklist.exe', 'tasklist /svc'],
  ['C:\\Windows\\System32\\whoami.exe', 'whoami /all'],
  ['C:\\Windows\\System32\\net.exe', 'net localgroup administrators'],
  ['C:\\Windows\\System32\\sc.exe', 'sc query type= service state= all'],
  ['C:\\Windows\\System32\\gpresult.exe', 'gpresult /r'],
  ['C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" '],
];
const RDP_POWERSHELL = [
  'Get-WinEvent -LogName Application -MaxEvents 50 | Where-Object LevelDisplayName -eq Error',
  'Get-Service | Where-Object { $_.StartType -eq "Automatic" -and $_.Status -ne "Running" }',
  'Test-NetConnection -ComputerName DC01 -Port 389',
  'Get-ScheduledTask | Where-Object State -eq Ready | Select-Object TaskName, TaskPath',
];

/** [task name, command, arguments, script body it runs (PowerShell) or ''] */
const ADMIN_TASKS: [string, string, string, string][] = [
  [
    '\\Corp\\Purge Old Logs',
    'powershell.exe',
    '-NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\Purge-Logs.ps1',
    "Get-ChildItem -Path 'D:\\Logs','C:\\inetpub\\logs\\LogFiles' -Recurse -File | Where-Object LastWriteTime -lt (Get-Date).AddDays(-30) | Remove-Item -Force",
  ],
  ['\\Corp\\Restart Spooler', 'C:\\Windows\\System32\\cmd.exe', '/c "net stop spooler & net start spooler"', ''],
  [
    '\\Corp\\Export Config',
    'powershell.exe',
    '-NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\Export-Config.ps1',
    'Get-WindowsFeature | Where-Object Installed | Export-Csv -Path \\\\FS\\it$\\config\\$env:COMPUTERNAME.csv -NoTypeInformation',
  ],
];

const INVENTORY_ARGS = '-NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -File "\\\\corp.local\\NETLOGON\\Inventory\\Get-Inventory.ps1"';
const INVENTORY_SCRIPT = [
  '$os = Get-CimInstance Win32_OperatingSystem',
  '$cs = Get-CimInstance Win32_ComputerSystem',
  "$apps = Get-ItemProperty 'HKLM:\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*', 'HKLM:\\Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' | Where-Object DisplayName | Select-Object DisplayName, DisplayVersion, Publisher",
  '[pscustomobject]@{ Computer = $env:COMPUTERNAME; OS = $os.Caption; Build = $os.BuildNumber; Model = $cs.Model; User = $cs.UserName; Apps = ($apps | ConvertTo-Json -Compress) } |',
  '  Export-Csv -Path "\\\\corp.local\\dfs\\Inventory$\\$env:COMPUTERNAME.csv" -NoTypeInformation -Force',
].join('\r\n');

const PATCHES = ['windows10.0-kb5037768-x64_f2d3a4b9e1c7.msu', 'windows10.0-kb5037849-x64_a9e7c1f04b62.msu', 'windows10.0-kb5036620-x64_7c2b91e5d3f8.msu'];
const THIRD_PARTY_PATCHES: [string, string][] = [
  ['Firefox Setup 125.0.3.exe', '-ms'],
  ['jre-8u411-windows-x64.exe', '/s REBOOT=0'],
  ['npp.8.6.5.Installer.x64.exe', '/S'],
];

/** [installer in Downloads, folder under AppData\Roaming, program, Run key value]. */
const USER_INSTALLS: [string, string, string, string][] = [
  ['SpotifySetup.exe', 'Spotify', 'Spotify.exe', 'Spotify'],
  ['ZoomInstaller.exe', 'Zoom\\bin', 'Zoom.exe', 'ZoomAutoStart'],
  ['DropboxInstaller.exe', 'Dropbox\\bin', 'Dropbox.exe', 'Dropbox'],
];

const PDQ_EXEC = 'C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-1\\exec';

/** What the software distribution server deploys: each a silent install as SYSTEM under the runner service. */
const PACKAGES: Package[] = [
  {
    name: 'Google Chrome',
    file: 'googlechromestandaloneenterprise64.msi',
    install(n, h, t, runner) {
      n.msi(
        h,
        t,
        runner,
        `"C:\\Windows\\system32\\msiexec.exe" /i "${PDQ_EXEC}\\googlechromestandaloneenterprise64.msi" /qn /norestart`,
        ['C:\\Program Files\\Google\\Chrome\\Application\\124.0.6367.119\\chrome.dll', 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe'],
        '{2B8C5A0E-33F5-3C9B-9E8F-2E6C1A7D4B11}',
        '124.0.6367.119',
      );
      if (n.firstInstall(h, 'chrome')) {
        n.win.serviceInstalled(
          h,
          t + 20_000,
          'Google Chrome Elevation Service (GoogleChromeElevationService)',
          '"C:\\Program Files\\Google\\Chrome\\Application\\124.0.6367.119\\elevation_service.exe"',
        );
        n.win.serviceInstalled(h, t + 21_000, 'Google Update Service (gupdate)', '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc', { start: 'auto start' });
        n.win.taskCreated(h, t + 22_000, {
          name: '\\GoogleUpdateTaskMachineCore{6A0A8A36-6E31-4C41-9BC2-4D1C0C7E0A57}',
          subject: `${h.name}$`,
          subjectLogonId: '0x3e7',
          command: 'C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe',
          args: '/c',
          runAs: 'S-1-5-18',
          trigger: '<LogonTrigger><Enabled>true</Enabled></LogonTrigger>',
          author: 'Google LLC',
        });
      }
    },
  },
  {
    name: '7-Zip',
    file: '7z2301-x64.msi',
    install(n, h, t, runner) {
      n.msi(
        h,
        t,
        runner,
        `"C:\\Windows\\system32\\msiexec.exe" /i "${PDQ_EXEC}\\7z2301-x64.msi" /qn /norestart`,
        ['C:\\Program Files\\7-Zip\\7z.exe', 'C:\\Program Files\\7-Zip\\7z.dll'],
        '{23170F69-40C1-2702-2301-000001000000}',
        '23.01.00.0',
      );
    },
  },
  {
    name: 'Notepad++',
    file: 'npp.8.6.5.Installer.x64.exe',
    install(n, h, t, runner) {
      const p = n.win.proc(h, t, { image: `${PDQ_EXEC}\\npp.8.6.5.Installer.x64.exe`, cmd: `"${PDQ_EXEC}\\npp.8.6.5.Installer.x64.exe" /S`, parent: runner });
      n.win.file(h, t + 1500, p, `C:\\Windows\\TEMP\\nsk${(0x3a1 + h.name.length).toString(16).toUpperCase()}.tmp\\System.dll`);
      n.win.file(h, t + 6000, p, 'C:\\Program Files\\Notepad++\\notepad++.exe');
      n.win.registry(h, t + 7000, p, 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Notepad++\\DisplayVersion', '8.6.5');
    },
  },
  {
    name: 'Adobe Acrobat Reader',
    file: 'AcroRdrDCx642400220687_MUI.exe',
    install(n, h, t, runner) {
      const p = n.win.proc(h, t, { image: `${PDQ_EXEC}\\AcroRdrDCx642400220687_MUI.exe`, cmd: `"${PDQ_EXEC}\\AcroRdrDCx642400220687_MUI.exe" /sAll /rs /msi EULA_ACCEPT=YES`, parent: runner });
      n.msi(
        h,
        t + 30_000,
        p,
        '"C:\\Windows\\System32\\msiexec.exe" /i "C:\\Windows\\TEMP\\RarSFX0\\AcroPro.msi" /qn EULA_ACCEPT=YES',
        ['C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe'],
        '{AC76BA86-1033-FF00-7760-BC15014EA700}',
        '24.002.20687',
      );
      if (n.firstInstall(h, 'adobe')) {
        n.win.serviceInstalled(h, t + 90_000, 'Adobe Acrobat Update Service', '"C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\armsvc.exe"', { start: 'auto start' });
        n.win.taskCreated(h, t + 91_000, {
          name: '\\Adobe Acrobat Update Task',
          subject: `${h.name}$`,
          subjectLogonId: '0x3e7',
          command: 'C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\AdobeARM.exe',
          args: '',
          runAs: 'S-1-5-4',
          trigger: '<LogonTrigger><Enabled>true</Enabled><Delay>PT30S</Delay></LogonTrigger>',
          author: 'Adobe Systems Incorporated',
        });
      }
    },
  },
  {
    name: 'Zoom',
    file: 'ZoomInstallerFull.msi',
    install(n, h, t, runner) {
      n.msi(
        h,
        t,
        runner,
        `"C:\\Windows\\system32\\msiexec.exe" /i "${PDQ_EXEC}\\ZoomInstallerFull.msi" /qn ZoomAutoUpdate=1 ZNoDesktopShortCut=true`,
        ['C:\\Program Files\\Zoom\\bin\\Zoom.exe'],
        '{A3F4C5E6-8B1D-4C2E-9F0A-6B7C8D9E0F12}',
        '6.0.2.33403',
      );
    },
  },
  {
    name: 'Remove Java 8',
    file: 'Remove-Java.ps1',
    install(n, h, t, runner) {
      const ps = n.win.proc(h, t, {
        image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        cmd: `powershell.exe -NonInteractive -NoProfile -ExecutionPolicy Bypass -Command "& '${PDQ_EXEC}\\Remove-Java.ps1'"`,
        parent: runner,
      });
      n.win.engine(h, t + 800, 'start', 'ConsoleHost', ps.cmd, ps);
      n.win.scriptBlock(
        h,
        t + 1200,
        ps,
        '$java = Get-CimInstance -ClassName Win32_Product -Filter "Name LIKE \'Java 8%\'"\r\nforeach ($j in $java) { Start-Process msiexec.exe -ArgumentList "/x $($j.IdentifyingNumber) /qn /norestart" -Wait }',
        `${PDQ_EXEC}\\Remove-Java.ps1`,
      );
      n.win.engine(h, t + 40_000, 'stop', 'ConsoleHost', ps.cmd, ps);
    },
  },
];
