/**
 * Firebreak's own correlation rules (data/correlations): they load cleanly, carry proper Sigma
 * metadata, route to the right event logs, and each fires on its true positives and stays quiet
 * on its true negatives, run through the single-event engine and the correlation engine.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { loadLogsourceMap, resolveLogsource } from '../../src/engine/logsource.js';
import type { Event } from '../../src/events/event.js';
import { loadRules } from '../../src/sigma/collection.js';
import { REPO } from '../helpers.js';
import { at, run, win } from './helpers.js';

const col = loadRules([join(REPO, 'data/correlations')]);
const engine = new Engine(col.rules);

/** Titles of the correlation detections a hunt would output for these events. */
function fired(events: Event[]): string[] {
  const r = run(col, events, {}, engine);
  assert.ok(
    r.visible.every((d) => d.rule.kind === 'correlation'),
    'every single-event rule here is a building block',
  );
  return r.visible.map((d) => d.rule.title);
}

const SEC = 'Security';
const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const failedLogon = (t: number, host: string, user: string, ip: string) =>
  win(SEC, 4625, t, host, { TargetUserName: user, TargetDomainName: 'SPE', LogonType: 3, Status: '0xc000006d', SubStatus: '0xc000006a', IpAddress: ip, WorkstationName: 'KALI' });
const logon = (t: number, host: string, user: string, ip: string, type = 3) =>
  win(SEC, 4624, t, host, { TargetUserName: user, TargetDomainName: 'SPE', LogonType: type, IpAddress: ip, WorkstationName: 'WS99', AuthenticationPackageName: 'NTLM' });
const service7045 = (t: number, host: string, name: string, provider = 'Service Control Manager') =>
  win('System', 7045, t, host, { ServiceName: name, ImagePath: '%SystemRoot%\\PSEXESVC.exe', ServiceType: 'user mode service', StartType: 'demand start', AccountName: 'LocalSystem' }, { provider });
const service4697 = (t: number, host: string, name: string) =>
  win(SEC, 4697, t, host, { SubjectUserName: 'jdoe', ServiceName: name, ServiceFileName: '%SystemRoot%\\PSEXESVC.exe', ServiceType: '0x10', ServiceStartType: 3, ServiceAccount: 'LocalSystem' });
const share = (t: number, host: string, name: string, ip: string, id = 5140) =>
  win(SEC, id, t, host, { SubjectUserName: 'jdoe', SubjectDomainName: 'SPE', ObjectType: 'File', IpAddress: ip, IpPort: 49722, ShareName: name, ShareLocalPath: '\\??\\C:\\Windows' });
const privileged = (t: number, host: string, user: string, sid = 'S-1-5-21-1004336348-1177238915-682003330-1105') =>
  win(SEC, 4672, t, host, { SubjectUserSid: sid, SubjectUserName: user, SubjectDomainName: 'SPE', SubjectLogonId: '0x3e7a1', PrivilegeList: 'SeDebugPrivilege' });
const cleared1102 = (t: number, host: string, user: string) =>
  win(
    SEC,
    1102,
    t,
    host,
    { SubjectUserSid: 'S-1-5-21-1', SubjectUserName: user, SubjectDomainName: 'SPE', SubjectLogonId: '0x3e7a1' },
    { provider: 'Microsoft-Windows-Eventlog', userData: 'LogFileCleared' },
  );
const cleared104 = (t: number, host: string, user: string) =>
  win(
    'System',
    104,
    t,
    host,
    { SubjectUserName: user, SubjectDomainName: 'SPE', Channel: 'Microsoft-Windows-Sysmon/Operational', BackupPath: '' },
    { provider: 'Microsoft-Windows-Eventlog', userData: 'LogFileCleared' },
  );
const deletion = (t: number, host: string, image: string, file: string, id = 23) =>
  win(
    SYSMON,
    id,
    t,
    host,
    {
      RuleName: '-',
      UtcTime: at(t),
      ProcessGuid: '{6b7a3c1e-0000-0000-0000-000000000001}',
      ProcessId: 4242,
      User: 'SPE\\jdoe',
      Image: image,
      TargetFilename: file,
      Hashes: 'SHA256=00',
      IsExecutable: false,
    },
    { provider: 'Microsoft-Windows-Sysmon' },
  );

describe('data/correlations: loading and metadata', () => {
  it('loads with zero errors', () => {
    assert.deepEqual(
      col.errors.map((e) => e.format()),
      [],
    );
    assert.ok(col.correlations.length >= 8);
  });

  it('every document has proper Sigma metadata', () => {
    const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = new Set<string>();
    for (const d of [...col.rules, ...col.correlations]) {
      const what = `${d.file}: ${d.title}`;
      assert.match(d.id ?? '', UUID4, what);
      assert.ok(!ids.has(d.id!), `${what}: duplicate id`);
      ids.add(d.id!);
      assert.match(d.name ?? '', /^fb_[a-z0-9_]+$/, what);
      assert.equal(d.author, 'Firebreak', what);
      assert.ok(d.status === 'experimental' || d.status === 'test', what);
      assert.ok(d.description, what);
      assert.ok(d.level, what);
      assert.ok(d.date, what);
      assert.match(d.file, /mr_[a-z0-9_]{7,67}\.yml$/, `${what}: file name per the specification`);
    }
    const referenced = new Set(col.correlations.flatMap((c) => c.rules));
    const outermost = col.correlations.filter((c) => !referenced.has(c.name!) && !referenced.has(c.id!));
    for (const c of outermost) {
      assert.ok(c.tags.some((t) => /^attack\.t\d{4}/.test(t)) && c.tags.some((t) => /^attack\.[a-z-]+$/.test(t)), `${c.title}: ATT&CK tactic and technique`);
      assert.ok(c.falsepositives.length, `${c.title}: falsepositives`);
      assert.ok(c.level === 'medium' || c.level === 'high', c.title);
    }
    for (const r of col.rules) {
      // Or shown as informational context for stories (an SSH logon, sudo, su, a setuid start: data/domain.yml `context`).
      const context = ['fb_ssh_logon_accepted', 'fb_sudo_command_run', 'fb_ssh_logon_auditd', 'fb_su_session_opened', 'fb_setuid_root_by_user'].includes(r.name!);
      assert.ok(referenced.has(r.name!) || context, `${r.title} is a building block of some correlation`);
      if (context) {
        // Shown (never hidden by a correlation) so stories see them.
        assert.equal(r.level, 'informational', r.title);
        assert.ok(!referenced.has(r.name!), `${r.title}: not consumed by a correlation`);
        continue;
      }
      assert.ok(r.level === 'informational' || r.level === 'low', `${r.title}: building blocks stay low`);
      assert.ok(
        col.correlations.some((c) => c.rules.includes(r.name!) && !c.generate),
        `${r.title}: referenced with generate: false`,
      );
    }
  });

  it('routes every building block to the event log that writes its events', () => {
    const map = loadLogsourceMap();
    const expected: Record<string, { channel: string | string[]; eventIds?: number[]; also?: string[][] }> = {
      fb_failed_logon: { channel: SEC },
      fb_failed_remote_logon: { channel: SEC },
      fb_remote_logon: { channel: SEC },
      fb_successful_remote_logon: { channel: SEC },
      fb_service_installed_system: { channel: 'System' },
      fb_service_installed_security: { channel: SEC },
      fb_admin_share_access: { channel: SEC },
      fb_ipc_share_access: { channel: SEC },
      fb_special_privileges_logon: { channel: SEC },
      fb_security_log_cleared: { channel: SEC },
      fb_system_log_cleared: { channel: 'System' },
      fb_file_deleted: { channel: SYSMON, eventIds: [23] },
      fb_file_delete_detected: { channel: SYSMON, eventIds: [26] },
      fb_ssh_failed_logon: { channel: 'linux/sshd' },
      fb_ssh_successful_logon: { channel: 'linux/sshd' },
      fb_sudo_failure: { channel: 'linux/sudo' },
      fb_sudo_command: { channel: 'linux/sudo' },
      fb_ssh_logon_accepted: { channel: 'linux/sshd' },
      fb_sudo_command_run: { channel: 'linux/sudo' },
      fb_ssh_logon_auditd: { channel: 'linux/auditd' },
      fb_su_session_opened: { channel: ['linux/sshd', 'linux/sudo', 'linux/auth'] },
      // Process starts from Sysmon for Linux (no effective uid there: it never matches) and from auditd.
      fb_setuid_root_by_user: { channel: 'Linux-Sysmon/Operational', eventIds: [1], also: [['linux/auditd/process_creation']] },
      fb_linux_account_created: { channel: ['linux/sshd', 'linux/sudo', 'linux/auth'] },
    };
    assert.deepEqual(col.rules.map((r) => r.name).sort(), Object.keys(expected).sort());
    for (const r of col.rules) {
      const res = resolveLogsource(r.logsource, map);
      assert.equal(res.kind, 'routed', r.title);
      if (res.kind !== 'routed') continue;
      const want = expected[r.name!]!;
      assert.deepEqual(
        res.sources.map((s) => s.channels),
        [Array.isArray(want.channel) ? want.channel : [want.channel], ...(want.also ?? [])],
        r.title,
      );
      if (want.eventIds) assert.deepEqual(res.sources[0]!.eventIds, want.eventIds, r.title);
    }
    assert.deepEqual(engine.unmapped, []);
  });
});

describe('brute force against one account (event_count)', () => {
  it('fires on 10 failures for one account within 5 minutes, from several sources', () => {
    const evs = range(12).map((i) => failedLogon(i * 10, 'DC01', 'administrator', `10.0.0.${i % 3}`));
    assert.deepEqual(fired(evs), ['Brute Force Against One Account']);
    const r = run(col, evs, {}, engine);
    assert.deepEqual(r.visible[0]!.matched, { TargetUserName: 'administrator', TargetDomainName: 'SPE', count: '10' });
    assert.equal(r.visible[0]!.timestamp, at(90));
  });
  it('stays quiet on 9 failures, or 10 spread over an hour', () => {
    assert.deepEqual(fired(range(9).map((i) => failedLogon(i, 'DC01', 'administrator', '10.0.0.1'))), []);
    assert.deepEqual(fired(range(10).map((i) => failedLogon(i * 400, 'DC01', 'administrator', '10.0.0.1'))), []);
  });
});

describe('password spraying from one source (value_count)', () => {
  it('fires on failures for 10 distinct accounts from one address within 30 minutes', () => {
    const evs = range(12).map((i) => failedLogon(i * 100, 'DC01', `user${i}`, '203.0.113.50'));
    assert.deepEqual(fired(evs), ['Password Spraying From One Source']);
  });
  it('stays quiet for many accounts from many addresses, local failures, or 9 accounts', () => {
    assert.deepEqual(fired(range(12).map((i) => failedLogon(i, 'DC01', `user${i}`, `10.0.1.${i}`))), []);
    assert.deepEqual(fired(range(12).map((i) => failedLogon(i, 'DC01', `user${i}`, '-'))), []);
    assert.deepEqual(fired(range(30).map((i) => failedLogon(i, 'DC01', `user${i % 9}`, '203.0.113.50'))), []);
  });
});

describe('one source logging on to many hosts (value_count of Computer)', () => {
  it('fires on network logons from one address to 10 hosts within 15 minutes', () => {
    const evs = range(10).map((i) => logon(i * 60, `HOST${i}`, 'jdoe', '10.0.0.66', i % 2 ? 3 : 10));
    const r = run(col, evs, {}, engine);
    assert.deepEqual(
      r.visible.map((d) => d.rule.title),
      ['One Source Logging On To Many Hosts'],
    );
    assert.equal(r.visible[0]!.matched.Computer_distinct, '10');
    assert.equal(r.visible[0]!.event.TargetUserName, 'jdoe', 'the account, constant over the window');
  });
  it('stays quiet for computer accounts, interactive logons, 9 hosts, or 10 hosts over hours', () => {
    assert.deepEqual(fired(range(12).map((i) => logon(i, `HOST${i}`, 'WS01$', '10.0.0.66'))), []);
    assert.deepEqual(fired(range(12).map((i) => logon(i, `HOST${i}`, 'jdoe', '10.0.0.66', 2))), []);
    assert.deepEqual(fired(range(9).map((i) => logon(i, `HOST${i}`, 'jdoe', '10.0.0.66'))), []);
    assert.deepEqual(fired(range(10).map((i) => logon(i * 1200, `HOST${i}`, 'jdoe', '10.0.0.66'))), []);
  });
});

describe('same service installed on many hosts (7045 and 4697)', () => {
  it('fires when one service name appears on 5 hosts within an hour, from either log', () => {
    const evs = [
      service7045(0, 'HOST1', 'PSEXESVC'),
      service4697(60, 'HOST2', 'PSEXESVC'),
      service7045(120, 'HOST3', 'PSEXESVC'),
      service7045(180, 'HOST4', 'PSEXESVC'),
      service4697(240, 'HOST5', 'PSEXESVC'),
    ];
    const r = run(col, evs, {}, engine);
    assert.deepEqual(
      r.visible.map((d) => d.rule.title),
      ['Same Service Installed On Many Hosts'],
    );
    assert.deepEqual(r.visible[0]!.matched, { ServiceName: 'PSEXESVC', Computer_distinct: '5' });
  });
  it('stays quiet for 4 hosts (both logs on one host count once), other names, or another provider', () => {
    assert.deepEqual(fired([service7045(0, 'HOST1', 'PSEXESVC'), service4697(1, 'HOST1', 'PSEXESVC'), ...range(3).map((i) => service7045(10 + i, `HOST${i + 2}`, 'PSEXESVC'))]), []);
    assert.deepEqual(fired(range(6).map((i) => service7045(i, `HOST${i}`, `svc${i}`))), []);
    assert.deepEqual(fired(range(6).map((i) => service7045(i, `HOST${i}`, 'PSEXESVC', 'Some-Other-Provider'))), []);
  });
});

describe('administrative and IPC$ share fan-out (5140/5145)', () => {
  it('fires on ADMIN$/C$ of 5 hosts from one address within 15 minutes', () => {
    const evs = range(5).map((i) => share(i * 60, `HOST${i}`, i % 2 ? '\\\\*\\C$' : '\\\\*\\ADMIN$', '10.0.0.66', i % 2 ? 5145 : 5140));
    assert.deepEqual(fired(evs), ['Administrative Share Access On Many Hosts']);
  });
  it('fires on IPC$ of 15 hosts within 10 minutes (enumeration)', () => {
    assert.deepEqual(fired(range(15).map((i) => share(i * 30, `HOST${i}`, '\\\\*\\IPC$', '10.0.0.66'))), ['IPC$ Share Access On Many Hosts']);
  });
  it('stays quiet on ordinary shares, local access, 4 admin shares or 14 IPC$', () => {
    assert.deepEqual(fired(range(20).map((i) => share(i, `HOST${i}`, '\\\\*\\SYSVOL', '10.0.0.66'))), []);
    assert.deepEqual(fired(range(20).map((i) => share(i, `HOST${i}`, '\\\\*\\ADMIN$', '-'))), []);
    assert.deepEqual(fired(range(4).map((i) => share(i, `HOST${i}`, '\\\\*\\ADMIN$', '10.0.0.66'))), []);
    assert.deepEqual(fired(range(14).map((i) => share(i, `HOST${i}`, '\\\\*\\IPC$', '10.0.0.66'))), []);
  });
});

describe('failed logons followed by a successful logon (temporal_ordered over an event_count)', () => {
  const burst = (ip: string) => range(6).map((i) => failedLogon(i * 20, 'SRV01', 'jdoe', ip));
  it('fires when the account logs on from the address that just failed 5 times', () => {
    const r = run(col, [...burst('198.51.100.7'), logon(300, 'SRV01', 'jdoe', '198.51.100.7')], {}, engine);
    assert.deepEqual(
      r.visible.map((d) => d.rule.title),
      ['Failed Logons Followed By A Successful Logon'],
    );
    assert.deepEqual(
      r.correlations.map((d) => [d.rule.title, d.hidden ?? false]),
      [
        ['Failed Logon Burst For One Account From One Source', true],
        ['Failed Logons Followed By A Successful Logon', false],
      ],
    );
    assert.deepEqual(r.visible[0]!.correlation!.group, { TargetUserName: 'jdoe', IpAddress: '198.51.100.7' });
    assert.equal(r.visible[0]!.computer, 'SRV01');
  });
  it('stays quiet when the success came first, from another address, or too late', () => {
    assert.deepEqual(fired([logon(0, 'SRV01', 'jdoe', '198.51.100.7'), ...burst('198.51.100.7').map((_, i) => failedLogon(10 + i, 'SRV01', 'jdoe', '198.51.100.7'))]), []);
    assert.deepEqual(fired([...burst('198.51.100.7'), logon(300, 'SRV01', 'jdoe', '198.51.100.8')]), []);
    assert.deepEqual(fired([...burst('198.51.100.7'), logon(80 + 1800, 'SRV01', 'jdoe', '198.51.100.7')]), []);
  });
});

describe('event log cleared after a privileged logon (temporal_ordered over an OR of two rules)', () => {
  it('fires on 4672 then 1102 by the same account on the same host', () => {
    const r = run(col, [privileged(0, 'FS01', 'jdoe'), cleared1102(600, 'FS01', 'jdoe')], {}, engine);
    assert.deepEqual(
      r.visible.map((d) => d.rule.title),
      ['Event Log Cleared After A Privileged Logon'],
    );
    assert.equal(r.visible[0]!.computer, 'FS01');
    assert.equal(r.visible[0]!.timestamp, at(600));
  });
  it('fires on 4672 then System 104', () => {
    assert.deepEqual(fired([privileged(0, 'FS01', 'jdoe'), cleared104(60, 'FS01', 'jdoe')]), ['Event Log Cleared After A Privileged Logon']);
  });
  it('stays quiet without the privileged logon, for SYSTEM, on another host, or after more than an hour', () => {
    assert.deepEqual(fired([cleared1102(0, 'FS01', 'jdoe')]), []);
    assert.deepEqual(fired([privileged(0, 'FS01', 'SYSTEM', 'S-1-5-18'), cleared1102(10, 'FS01', 'SYSTEM')]), []);
    assert.deepEqual(fired([privileged(0, 'FS01', 'jdoe'), cleared1102(10, 'FS02', 'jdoe')]), []);
    assert.deepEqual(fired([privileged(0, 'FS01', 'jdoe'), cleared1102(3600, 'FS01', 'jdoe')]), []);
    assert.deepEqual(fired([cleared1102(0, 'FS01', 'jdoe'), privileged(10, 'FS01', 'jdoe')]), []);
  });
});

describe('mass file deletion by one process (Sysmon 23/26)', () => {
  const wiper = 'C:\\Windows\\Temp\\igfxtrayex.exe';
  it('fires on 100 distinct files deleted by one program within 5 minutes', () => {
    const evs = range(120).map((i) => deletion(i, 'WS05', wiper, `C:\\Users\\jdoe\\Documents\\f${i}.docx`, i % 2 ? 23 : 26));
    const r = run(col, evs, {}, engine);
    assert.deepEqual(
      r.visible.map((d) => d.rule.title),
      ['Mass File Deletion By One Process'],
    );
    assert.deepEqual(r.visible[0]!.matched, { Computer: 'WS05', Image: wiper, TargetFilename_distinct: '100' });
    assert.equal(r.visible[0]!.correlation!.omitted, 50);
  });
  it('stays quiet on 99 distinct files, two programs sharing the work, or a slow trickle', () => {
    assert.deepEqual(fired(range(150).map((i) => deletion(i, 'WS05', wiper, `C:\\d\\f${i % 99}.docx`))), []);
    assert.deepEqual(fired(range(150).map((i) => deletion(i, 'WS05', i % 2 ? wiper : 'C:\\Windows\\explorer.exe', `C:\\d\\f${i}.docx`))), []);
    assert.deepEqual(fired(range(120).map((i) => deletion(i * 30, 'WS05', wiper, `C:\\d\\f${i}.docx`))), []);
  });
});

describe('a Sony-style intrusion timeline', () => {
  it('raises each signal, in order, over one interleaved stream', () => {
    const timeline: Event[] = [
      ...range(12).map((i) => failedLogon(i * 60, 'DC01', `user${i}`, '203.0.113.50')), // spraying
      ...range(6).map((i) => failedLogon(800 + i * 10, 'VPN01', 'jdoe', '203.0.113.50')),
      logon(900, 'VPN01', 'jdoe', '203.0.113.50'), // the guess that worked
      ...range(10).map((i) => share(1000 + i * 20, `HOST${i}`, '\\\\*\\ADMIN$', '10.0.0.66')),
      ...range(10).map((i) => logon(1000 + i * 20 + 1, `HOST${i}`, 'jdoe', '10.0.0.66')),
      ...range(10).map((i) => service7045(1000 + i * 20 + 2, `HOST${i}`, 'WinHelpSvc')),
      privileged(2000, 'HOST3', 'jdoe'),
      ...range(100).map((i) => deletion(2100 + i, 'HOST3', 'C:\\Windows\\Temp\\igfxtrayex.exe', `C:\\Shares\\Finance\\q${i}.xlsx`)),
      cleared1102(2400, 'HOST3', 'jdoe'),
    ];
    timeline.sort((x, y) => x.timestamp!.localeCompare(y.timestamp!));
    assert.deepEqual(fired(timeline), [
      'Password Spraying From One Source',
      'Failed Logons Followed By A Successful Logon',
      // Fan-out to 10 hosts: the 5-host rules fire at the 5th and again at the 10th host.
      'Administrative Share Access On Many Hosts',
      'Same Service Installed On Many Hosts',
      'Administrative Share Access On Many Hosts',
      'One Source Logging On To Many Hosts',
      'Same Service Installed On Many Hosts',
      'Mass File Deletion By One Process',
      'Event Log Cleared After A Privileged Logon',
    ]);
  });
});
