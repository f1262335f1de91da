/**
 * Stories across Windows and Linux, through `hunt`: an attacker on a Windows workstation dumps
 * LSASS, connects to a Linux server over SSH with the user's password, runs sudo, and works as
 * root there (recorded by auditd in ENRICHED format: the login's USER_LOGIN, sudo's setuid start,
 * the root shell's commands). An administrator's routine SSH logon, sudo and `su -` on the same
 * server, from another workstation, is background. The expected result is written here, not read
 * from Firebreak: one story over both hosts, patient zero the workstation, an SSH edge from it to
 * the server at the logon, privilege escalation among its tactics (from the attacker's sudo, in
 * the session the SSH move brought), and nothing of the administrator's in it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DetectionRecord } from '../../src/detections/record.js';
import { hunt } from '../../src/hunt/run.js';
import type { Story } from '../../src/stories/model.js';
import { rng } from '../output/fixtures.js';
import { DOMAIN, flush, NETBIOS, Writer, type Host } from './winlog.js';

const T0 = Date.UTC(2024, 4, 14, 10, 0, 0);
const MIN = 60_000;
const host = (name: string, ip: string, user: string): Host => ({ name, fqdn: `${name}.${DOMAIN}`, ip, kind: 'ws', user });
const WS01 = host('WS01', '10.0.1.21', 'alice');
const WS02 = host('WS02', '10.0.1.22', 'bob');
const LNX = { name: 'lnx01', ip: '10.0.2.50' };

/** An RFC 3339 syslog line as rsyslog writes /var/log/auth.log on Debian 12. */
const syslog = (t: number, program: string, msg: string) => `${new Date(t).toISOString().replace('Z', '+00:00')} ${LNX.name} ${program}: ${msg}`;

/** The records auditd writes for one execve in ENRICHED format (translated fields after 0x1D). */
function execve(
  serial: number,
  t: number,
  o: { pid: number; ppid: number; exe: string; args: string[]; cwd: string; uid: number; user: string; auid: number; login: string; ses: number; euid?: number },
): string[] {
  const hdr = `msg=audit(${(t / 1000).toFixed(3)}:${serial}):`;
  const q = (s: string) => (/^[\x21\x23-\x7e]+$/.test(s) ? `"${s}"` : Buffer.from(s).toString('hex').toUpperCase());
  const comm = o.exe.slice(o.exe.lastIndexOf('/') + 1);
  // A setuid-root program: the effective and saved uids are root's, the real uid the caller's.
  const [e, euser] = o.euid === 0 ? [0, 'root'] : [o.uid, o.user];
  return [
    `node=${LNX.name} type=SYSCALL ${hdr} arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid=${o.ppid} pid=${o.pid} auid=${o.auid} uid=${o.uid} gid=${o.uid} euid=${e} suid=${e} fsuid=${e} egid=${o.uid} sgid=${o.uid} fsgid=${o.uid} tty=pts0 ses=${o.ses} comm=${q(comm)} exe=${q(o.exe)} subj=unconfined key="exec"\x1dARCH=x86_64 SYSCALL=execve AUID="${o.login}" UID="${o.user}" GID="${o.user}" EUID="${euser}" SUID="${euser}" FSUID="${euser}" EGID="${o.user}" SGID="${o.user}" FSGID="${o.user}"`,
    `node=${LNX.name} type=EXECVE ${hdr} argc=${o.args.length} ${o.args.map((a, i) => `a${i}=${q(a)}`).join(' ')}`,
    `node=${LNX.name} type=CWD ${hdr} cwd=${q(o.cwd)}`,
    `node=${LNX.name} type=PROCTITLE ${hdr} proctitle=${Buffer.from(o.args.join('\0')).toString('hex').toUpperCase()}`,
    `node=${LNX.name} type=EOE ${hdr}`,
  ];
}

/** The USER_LOGIN record sshd writes for a successful login (ENRICHED: the names after 0x1D). */
const userLogin = (serial: number, t: number, o: { pid: number; auid: number; login: string; ses: number; addr: string; tty: string }) =>
  `node=${LNX.name} type=USER_LOGIN msg=audit(${(t / 1000).toFixed(3)}:${serial}): pid=${o.pid} uid=0 auid=${o.auid} ses=${o.ses} subj=unconfined msg='op=login id=${o.auid} exe="/usr/sbin/sshd" hostname=${o.addr} addr=${o.addr} terminal=${o.tty} res=success'\x1dUID="root" AUID="${o.login}" ID="${o.login}"`;

function writeEvidence(dir: string): void {
  const w = new Writer(rng(5));
  // The administrator's routine: SSH from WS02 at 09:00 (its address claimed by the connection).
  w.connection(WS02, T0 - 60 * MIN, { image: 'C:\\Windows\\System32\\OpenSSH\\ssh.exe', user: `${NETBIOS}\\bob`, dstIp: LNX.ip, dstPort: 22, guid: w.guid(T0 - 60 * MIN) });
  // The attack on WS01: LSASS dumped with comsvcs, then SSH to the Linux server.
  const shell = w.guid(T0);
  w.process(WS01, T0, {
    image: 'C:\\Windows\\System32\\rundll32.exe',
    cmd: 'rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 652 C:\\Users\\alice\\AppData\\Local\\Temp\\l.dmp full',
    user: `${NETBIOS}\\alice`,
    parent: { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'cmd.exe', guid: shell },
    integrity: 'High',
    original: 'RUNDLL32.EXE',
  });
  w.connection(WS01, T0 + 5 * MIN - 2000, { image: 'C:\\Windows\\System32\\OpenSSH\\ssh.exe', user: `${NETBIOS}\\alice`, dstIp: LNX.ip, dstPort: 22, guid: w.guid(T0 + 5 * MIN) });
  flush(join(dir, 'windows'), w);

  const at = T0 + 5 * MIN;
  writeFileSync(
    join(dir, 'auth.log'),
    [
      syslog(T0 - 60 * MIN + 1000, 'sshd[1801]', `Accepted publickey for bob from ${WS02.ip} port 51022 ssh2: ED25519 SHA256:q3Vx0RkM3m2b`),
      syslog(T0 - 59 * MIN, 'sudo', '     bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/apt update'),
      syslog(T0 - 58 * MIN, 'su[1830]', '(to root) bob on pts/1'),
      syslog(T0 - 58 * MIN + 10, 'su[1830]', 'pam_unix(su-l:session): session opened for user root(uid=0) by bob(uid=1001)'),
      syslog(at, 'sshd[2211]', `Accepted password for alice from ${WS01.ip} port 50522 ssh2`),
      syslog(at + 40_000, 'sudo', '   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash'),
    ].join('\n') + '\n',
  );
  const root = { uid: 0, user: 'root', auid: 1000, login: 'alice', ses: 7, cwd: '/root' };
  const bob = { uid: 1001, user: 'bob', auid: 1001, login: 'bob', ses: 5, cwd: '/home/bob' };
  writeFileSync(
    join(dir, 'audit.log'),
    [
      userLogin(90, T0 - 60 * MIN + 1000, { pid: 1801, auid: 1001, login: 'bob', ses: 5, addr: WS02.ip, tty: '/dev/pts/1' }),
      ...execve(91, T0 - 58 * MIN, { ...bob, pid: 1830, ppid: 1810, exe: '/usr/bin/su', args: ['su', '-'], euid: 0 }),
      userLogin(99, at, { pid: 2211, auid: 1000, login: 'alice', ses: 7, addr: WS01.ip, tty: '/dev/pts/0' }),
      ...execve(100, at + 40_000, {
        uid: 1000,
        user: 'alice',
        auid: 1000,
        login: 'alice',
        ses: 7,
        cwd: '/home/alice',
        pid: 2295,
        ppid: 2290,
        exe: '/usr/bin/sudo',
        args: ['sudo', '/bin/bash'],
        euid: 0,
      }),
      ...execve(101, at + 41_000, { ...root, pid: 2301, ppid: 2290, exe: '/usr/bin/bash', args: ['/bin/bash'] }),
      ...execve(102, at + 90_000, { ...root, pid: 2310, ppid: 2301, exe: '/usr/bin/find', args: ['find', '/', '-perm', '-4000', '-type', 'f'] }),
      ...execve(103, at + 150_000, { ...root, pid: 2320, ppid: 2301, exe: '/usr/bin/cp', args: ['cp', '/etc/shadow', '/tmp/.s'] }),
      ...execve(104, at + 200_000, { ...root, pid: 2330, ppid: 2301, exe: '/usr/bin/rm', args: ['rm', '-f', '/home/alice/.bash_history'] }),
    ].join('\n') + '\n',
  );
}

describe('stories across Windows and Linux (hunt: Windows workstation → SSH → sudo on a Linux server)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-linux-story-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tells one story over both hosts with the SSH move, patient zero the workstation', async () => {
    writeEvidence(dir);
    const detections: DetectionRecord[] = [];
    const stories: Story[] = [];
    await hunt({ paths: [dir], filter: {}, threads: 1, sinks: [{ write: (d) => void detections.push(d), close: async () => undefined }], onStories: (s) => void stories.push(...s) });
    const titles = detections.map((d) => `${d.rule.title} @ ${d.computer}`);
    for (const t of ['Linux Recon Indicators', 'Copy Passwd Or Shadow From TMP Path', 'History File Deletion'])
      assert.ok(
        titles.some((x) => x.startsWith(t + ' @ lnx01')),
        `${t} on lnx01 from auditd; got ${titles.join('; ')}`,
      );
    const count = (title: string) => detections.filter((d) => d.rule.title === title).length;
    assert.equal(count('SSH Logon Accepted'), 2, 'both SSH logons are informational detections');
    assert.equal(count('SSH Logon Accepted (auditd)'), 2, "and both logons' USER_LOGIN records");
    assert.equal(count('Switch User Session Opened'), 2, "the administrator's su: its own line and PAM's");
    assert.deepEqual(
      detections.filter((d) => d.rule.title === 'Setuid Root Program Started By A User').map((d) => d.event.Image),
      ['/usr/bin/su', '/usr/bin/sudo'],
      'su and sudo started by users (setuid root)',
    );

    assert.equal(stories.length, 1, stories.map((s) => s.narrative).join('\n'));
    const s = stories[0]!;
    assert.deepEqual(s.hosts.map((h) => h.computer).sort(), [WS01.fqdn, LNX.name]);
    assert.equal(s.patientZero?.computer, WS01.fqdn);
    const moves = s.spread.filter((e) => e.fromKind === 'host');
    assert.deepEqual(
      moves.map((e) => [e.from, e.to, e.technique.id]),
      [[WS01.fqdn, LNX.name, 'T1021.004']],
    );
    assert.equal(moves[0]!.at.slice(0, 19), new Date(T0 + 5 * MIN).toISOString().slice(0, 19), 'the edge is the SSH logon');
    const tactics = s.tactics.map((t) => t.short);
    for (const t of ['credential-access', 'lateral-movement', 'privilege-escalation', 'discovery', 'stealth']) assert.ok(tactics.includes(t), `${t} in ${tactics.join(', ')}`);
    // The escalation is the attacker's: sudo (its syslog line and its setuid start) in the session the SSH move brought.
    const escalation = s.timeline.filter((r) => r.title === 'Sudo Command Run' || r.title === 'Setuid Root Program Started By A User');
    assert.deepEqual(
      escalation.map((r) => [r.timestamp.slice(0, 19), r.title]),
      [
        [new Date(T0 + 5 * MIN + 40_000).toISOString().slice(0, 19), 'Setuid Root Program Started By A User'],
        [new Date(T0 + 5 * MIN + 40_000).toISOString().slice(0, 19), 'Sudo Command Run'],
      ],
    );
    assert.ok(!s.timeline.some((r) => r.title === 'Switch User Session Opened'), "the administrator's su is not in the story");
    // The administrator's session (WS02, bob) shares the server but not the account or source.
    assert.ok(!s.hosts.some((h) => h.computer === WS02.fqdn), 'WS02 is not in the story');
    assert.ok(!s.accounts.some((a) => /bob/i.test(a)), `accounts ${s.accounts.join(', ')}`);
    assert.ok(
      s.accounts.some((a) => /alice/i.test(a)),
      `accounts ${s.accounts.join(', ')}`,
    );
    assert.ok(!s.accounts.some((a) => /^root$/i.test(a)), 'root links nothing');
    assert.match(s.narrative, /^It started on WS01 /);
  });
});

describe('SSH password guessing (hunt: auth.log)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-ssh-guess-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the names a bot tried are guesses: the story lists no account for them', async () => {
    // Thirty failed logons from one outside address in three minutes, each for another name, as
    // sshd writes them (invalid users and one existing account).
    const lines: string[] = [];
    const names = Array.from({ length: 29 }, (_, i) => `guess${i}`);
    names.forEach((u, i) => {
      const t = T0 + i * 6000;
      lines.push(syslog(t, `sshd[${4000 + i}]`, `Invalid user ${u} from 198.51.100.23 port ${40000 + i}`));
      lines.push(syslog(t + 1500, `sshd[${4000 + i}]`, `Failed password for invalid user ${u} from 198.51.100.23 port ${40000 + i} ssh2`));
    });
    lines.push(syslog(T0 + 200_000, 'sshd[4100]', 'Failed password for alice from 198.51.100.23 port 41000 ssh2'));
    writeFileSync(join(dir, 'auth.log'), lines.join('\n') + '\n');
    const stories: Story[] = [];
    await hunt({ paths: [dir], filter: {}, threads: 1, sinks: [{ write: () => undefined, close: async () => undefined }], onStories: (s) => void stories.push(...s) });
    assert.equal(stories.length, 1, stories.map((s) => s.earned).join('; '));
    const s = stories[0]!;
    assert.match(s.earned, /^correlation: SSH (Brute Force|Password Spraying) From One Source$/);
    assert.deepEqual(
      s.hosts.map((h) => h.computer),
      [LNX.name],
    );
    assert.deepEqual(s.accounts, [], 'names tried in failed logons are not accounts of the story');
    assert.ok(s.spread.some((e) => e.fromKind === 'ip' && e.from === '198.51.100.23' && e.attempt));
    // Guessing that never succeeded is not how anyone got in.
    assert.equal(s.patientZero?.entry, undefined);
    assert.match(s.patientZero?.why ?? '', /; tried from 198\.51\.100\.23 from .*, not entered$/);
  });
});
