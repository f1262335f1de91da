/**
 * A multi-host intrusion written as evtx-crate-shaped JSON events (one NDJSON file per host,
 * time-ordered), hidden in background activity, with its ground truth.
 *
 * Two backgrounds:
 * - `simple` (the default, and what the bundled sample `data/samples/intrusion` is made of): one
 *   day of ordinary activity on a small network (`hosts`, `noiseEvents`). Its output for a given
 *   seed and options never changes.
 * - `administered` (opt in): a network of 40 or more hosts over several days with the routine
 *   administration real networks have (./network.ts): software distribution and patch servers
 *   pushing services nightly, backup and monitoring logons everywhere, administrators' PsExec,
 *   remote PowerShell and RDP from jump hosts, helpdesk password resets, scheduled tasks and
 *   silent installs, a vulnerability scanner, mistyped passwords. Seeds vary which host plays
 *   which role and where and when the intrusion happens.
 *
 * The intrusion itself (./intrusion.ts) is shaped so that the bundled SigmaHQ rules fire on it.
 */
import { rng } from '../output/fixtures.js';
import { intrude, type IntrusionPlan } from './intrusion.js';
import { administer, type Activity, type NetworkTruth } from './network.js';
import { DOMAIN, flush, NETBIOS, Writer, type Host } from './winlog.js';

export interface ScenarioOptions {
  seed?: number;
  /** Hosts in the network (simple: at least 6, default 12; administered: at least 40, default 40). */
  hosts?: number;
  /** Simple background: benign events over the whole day (spread over all hosts). */
  noiseEvents?: number;
  /** `simple` (default) or `administered` (see above). */
  background?: 'simple' | 'administered';
  /** Administered background: days of activity, from Monday 2024-05-13 00:00 UTC (default 3, at least 2). */
  days?: number;
  /**
   * Administered background: activities left out (e.g. `['monitor']`), to see what the others
   * make on their own. Everything else is exactly as with them.
   */
  without?: readonly Activity[];
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
  /** Administered background only: roles, accounts, days and what each activity wrote. */
  network?: NetworkTruth;
  /** Administered background only: `computer|recordId` → the activity that wrote the event ('intrusion' for the attack). */
  labels?: Map<string, string>;
}

/** Background only: the network and what was written. */
export interface BackgroundTruth {
  hosts: string[];
  addresses: Record<string, string>;
  files: string[];
  events: number;
  network?: NetworkTruth;
  labels?: Map<string, string>;
}

const DAY = Date.UTC(2024, 4, 14, 6, 0, 0);
const ATTACK = Date.UTC(2024, 4, 14, 11, 2, 0);

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

/** Background activity only (no attack): the same network and day(s) as `writeScenario` with the same options. */
export function writeBackgroundOnly(dir: string, opts: ScenarioOptions = {}): BackgroundTruth {
  if (opts.background === 'administered') {
    const { w, net } = administered(opts);
    const written = flush(dir, w);
    return { hosts: net.hosts.map((h) => h.fqdn), addresses: net.addresses, ...written, network: net.truth };
  }
  const r = rng(opts.seed ?? 1);
  const hosts = network(opts.hosts ?? 12, r);
  const w = new Writer(r);
  background(w, hosts, opts.noiseEvents ?? 3000, r, DAY, DAY + 12 * 3_600_000);
  return { hosts: hosts.map((h) => h.fqdn), addresses: Object.fromEntries(hosts.map((h) => [h.fqdn, h.ip])), ...flush(dir, w) };
}

/** The intrusion inside background activity; returns what really happened. */
export function writeScenario(dir: string, opts: ScenarioOptions = {}): GroundTruth {
  if (opts.background === 'administered') {
    const { w, net } = administered(opts);
    // The intrusion draws from its own sequence, so the background is the same with or without it.
    const plan = net.intrusionPlan(rng(((opts.seed ?? 1) ^ 0x5eed1e55) >>> 0));
    w.label = 'intrusion';
    const truth = intrude(w, plan.r, plan.plan, net.win);
    const written = flush(dir, w);
    return { domain: DOMAIN, hosts: net.hosts.map((h) => h.fqdn), addresses: net.addresses, ...truth, ...written, network: net.truth };
  }
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
  const plan: IntrusionPlan = {
    pz,
    dc,
    fs,
    extra,
    hops: [fs, dc, extra].map((to, i) => ({ from: pz, to, psexec: i !== 1 })),
    start: ATTACK,
  };
  const truth = intrude(w, r, plan);
  return { domain: DOMAIN, hosts: hosts.map((h) => h.fqdn), addresses: Object.fromEntries(hosts.map((h) => [h.fqdn, h.ip])), ...truth, ...flush(dir, w) };
}

function administered(opts: ScenarioOptions): { w: Writer; net: ReturnType<typeof administer> } {
  const seed = opts.seed ?? 1;
  // The writer's own sequence (ports, process IDs) and the background's choices.
  const w = new Writer(rng((seed * 0x9e3779b1) >>> 0), 'full');
  const net = administer(w, rng(seed), { hosts: opts.hosts ?? 40, days: opts.days ?? 3, without: opts.without });
  return { w, net };
}
