/**
 * The intrusion the scenario generator hides in background activity, from a public address:
 * a password-guessing burst over SMB against the foothold (4625 × n, then a 4624 type 3),
 * credential dumping there (comsvcs MiniDump of LSASS: Sysmon 1 and Sysmon 10), pass-the-hash
 * spread (4624 type 3 from the source's address with its workstation name, 5145 IPC$ svcctl and
 * ADMIN$ writes, 7045 remote service installs: PsExec or smbexec style), procdump of LSASS on the
 * domain controller, password-protected archives on the file server (7-Zip), wiping (shadow copy
 * deletion, a Sysmon 23 burst of backup deletions, raw disk reads) and log clearing (1102 on the
 * DC, 104 on the file server).
 *
 * In the administered network (`win` given) every step also leaves what Windows writes beside it
 * there: 4672 after an administrator's logon (written with the logon), 4776 on a domain controller for each NTLM
 * validation, 4688 twins on hosts that audit process creation, PsExec's binary (Sysmon 11) and
 * pipes (Sysmon 17), so the attacker's PsExec looks exactly like an administrator's.
 */
import type { Win } from './shapes.js';
import { NETBIOS, SYSMON, SYSMON_CH, type Host, type Writer } from './winlog.js';

export const ATTACKER_IP = '203.0.113.66';

export interface IntrusionPlan {
  /** The foothold, reached from the attacker's address. */
  pz: Host;
  dc: Host;
  fs: Host;
  /** A server that is wiped besides the file server. */
  extra: Host;
  /** Host-to-host moves in order; `psexec` false is smbexec style (a cmd.exe service). */
  hops: { from: Host; to: Host; psexec: boolean }[];
  /** When the first guessed password is tried (ms). */
  start: number;
}

/** What really happened (the intrusion part of the ground truth). */
export interface IntrusionTruth {
  attackerIp: string;
  patientZero: string;
  compromisedHosts: string[];
  spreadEdges: [string, string][];
  spreadAt: string[];
  tactics: string[];
  logCleared: string[];
  wiped: string[];
  accounts: string[];
  start: string;
  end: string;
}

const SERVICES = { image: 'C:\\Windows\\System32\\services.exe', cmd: 'C:\\Windows\\system32\\services.exe' };

/** Writes the intrusion; `r` draws its timing (the writer's own sequence draws ports and IDs). */
export function intrude(w: Writer, r: () => number, p: IntrusionPlan, win?: Win): IntrusionTruth {
  const { pz, dc, fs, extra } = p;
  const user = 'svc_backup';
  const admin = 'Administrator';
  let t = p.start;
  const sec = (s: number) => (t += s * 1000);

  // 1. Password guessing over SMB from the internet, then a success.
  const guesses = ['administrator', 'admin', 'backup', 'svc_backup', 'scanner', 'test', 'user', 'sql', 'svc_sql', 'helpdesk'];
  for (let i = 0; i < 24; i++) {
    const at = sec(3 + Math.floor(r() * 4));
    w.failedLogon(pz, at, guesses[i % guesses.length]!, ATTACKER_IP, '-');
    win?.ntlmValidation(at + 5, guesses[i % guesses.length]!, '-', false);
  }
  sec(20);
  const entryLogon = w.logon(pz, t, { user, type: 3, ip: ATTACKER_IP, workstation: '-', ntlmPth: false });
  win?.ntlmValidation(t - 3, user, '-', true);
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
  win?.file(pz, t + 800, { guid: dumper, image: 'C:\\Windows\\System32\\rundll32.exe', user: `${NETBIOS}\\${user}` }, 'C:\\Windows\\Temp\\lsass.dmp');

  // 3. Spread: pass-the-hash logon with the dumped Administrator hash, admin shares, a service.
  const spreadEdges: [string, string][] = [];
  const spreadAt: string[] = [];
  sec(6 * 60);
  for (const { from, to: target, psexec } of p.hops) {
    sec(5 * 60 + Math.floor(r() * 120));
    w.connection(from, t - 500, { image: 'System', user: 'NT AUTHORITY\\SYSTEM', dstIp: target.ip, dstPort: 445, guid: '{5AA13A44-0000-0000-0000-000000000004}' });
    const lid = w.logon(target, t, { user: admin, type: 3, ip: from.ip, workstation: from.name, ntlmPth: true });
    win?.ntlmValidation(t - 2, admin, from.name, true);
    spreadEdges.push([from.fqdn, target.fqdn]);
    spreadAt.push(new Date(t).toISOString());
    sec(1);
    w.share(target, t, { user: admin, ip: from.ip, share: '\\\\*\\IPC$', path: '', target: 'svcctl', access: '%%4416 %%4417 %%4418 %%4419 %%4420 %%4423 %%4424', mask: '0x12019f', logonId: lid });
    sec(1);
    const svcName = psexec ? 'PSEXESVC' : 'BTOBTO';
    const svcImage = psexec
      ? '%SystemRoot%\\PSEXESVC.exe'
      : '%COMSPEC% /Q /c echo cd  ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & %COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat';
    if (psexec) {
      w.share(target, t, { user: admin, ip: from.ip, share: '\\\\*\\ADMIN$', path: '\\??\\C:\\Windows', target: 'PSEXESVC.exe', access: '%%4417 %%4418', mask: '0x2', logonId: lid });
      win?.file(target, t + 300, win.kernel(target), 'C:\\Windows\\PSEXESVC.exe');
    }
    sec(2);
    w.service(target, t, svcName, svcImage);
    sec(1);
    w.serviceState(target, t, svcName, 'running');
    sec(2);
    const svcGuid = w.guid(t);
    if (psexec && win) {
      const svc = win.serviceProcess(target, t - 400, 'C:\\Windows\\PSEXESVC.exe', 'C:\\Windows\\PSEXESVC.exe', svcGuid);
      win.psexecPipes(target, t - 200, svc, from.name);
    }
    w.process(target, t, {
      image: 'C:\\Windows\\System32\\cmd.exe',
      cmd: psexec ? '"cmd.exe" /c hostname' : 'C:\\Windows\\system32\\cmd.exe /Q /c echo cd ^> \\\\127.0.0.1\\C$\\__output 2^>^&1',
      user: 'NT AUTHORITY\\SYSTEM',
      parent: { image: psexec ? 'C:\\Windows\\PSEXESVC.exe' : 'C:\\Windows\\System32\\services.exe', cmd: psexec ? 'C:\\Windows\\PSEXESVC.exe' : 'C:\\Windows\\system32\\services.exe', guid: svcGuid },
      integrity: 'System',
      original: 'Cmd.Exe',
    });
  }

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
    { task: 104, keywords: '0x4020000000000000' },
  );
  sec(30);
  w.event(fs, t, 'Microsoft-Windows-Eventlog', 'System', 104, { LogFileCleared: { SubjectUserName: admin, SubjectDomainName: NETBIOS, Channel: 'System', BackupPath: '' } }, 'UserData', {
    task: 104,
    keywords: '0x8000000000000000',
  });

  const targets = p.hops.map((h) => h.to);
  return {
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
    end: new Date(t).toISOString(),
  };
}
