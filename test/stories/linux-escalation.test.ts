/**
 * Linux escalation and logons in stories, as domain data (data/domain.yml) and informational
 * context rules (data/correlations/mr_linux_context_ssh_sudo.yml): auditd's USER_LOGIN is an SSH
 * logon from `addr` like sshd's "Accepted" line (real records from go-libaudit's test data); su
 * ("(to root) alice on pts/0", PAM's "session opened for user root by alice") and a setuid-root
 * program started by a logged-in user are privilege escalation; each joins the story of the move
 * with evidence that brought its account or session to the host, and an administrator's own
 * routine su joins nothing. Records are read by the real readers; the expected results are
 * written here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toDetectionRecord } from '../../src/detections/convert.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { defaultDomain } from '../../src/events/domain.js';
import type { Event } from '../../src/events/event.js';
import { Engine } from '../../src/engine/engine.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { loadRules } from '../../src/sigma/collection.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import { detection } from '../output/fixtures.js';
import { REPO, sharedPath, skipWithoutShared } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-linux-esc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function read(name: string, text: string): Promise<Event[]> {
  const p = join(dir, name);
  writeFileSync(p, text);
  const out: Event[] = [];
  for await (const e of readEventsFromFile(p, { linux: { year: 2024 } })) out.push(e);
  return out;
}

const col = loadRules([join(REPO, 'data/correlations')]);
const context = new Engine(col.rules.filter((r) => ['fb_ssh_logon_accepted', 'fb_sudo_command_run', 'fb_ssh_logon_auditd', 'fb_su_session_opened', 'fb_setuid_root_by_user'].includes(r.name!)));
const detect = (events: Event[]): DetectionRecord[] => events.flatMap((e) => context.match(e).map((d) => toDetectionRecord(d, false)));
const domain = defaultDomain();
const meaning = (e: Event) => domain.meaningOf({ eventId: null, channel: e.channel ?? null, provider: null, fields: e.fields });

/** A SYSCALL execve of a program and its EXECVE, CWD and EOE records, as auditd writes them (rhel-7 layout). */
function execve(serial: number, t: number, o: { exe: string; args: string[]; uid: number; euid: number; auid: number; ses: number; pid: number }): string {
  const hdr = `msg=audit(${(t / 1000).toFixed(3)}:${serial}):`;
  return [
    `node=lnx01 type=SYSCALL ${hdr} arch=c000003e syscall=59 success=yes exit=0 a0=1d7a1f0 a1=1d7b5a0 a2=1d7c010 a3=7ffc4cf3a920 items=2 ppid=${o.pid - 1} pid=${o.pid} auid=${o.auid} uid=${o.uid} gid=${o.uid} euid=${o.euid} suid=${o.euid} fsuid=${o.euid} egid=${o.uid} sgid=${o.uid} fsgid=${o.uid} tty=pts0 ses=${o.ses} comm="${o.exe.slice(o.exe.lastIndexOf('/') + 1)}" exe="${o.exe}" subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 key="exec"`,
    `node=lnx01 type=EXECVE ${hdr} argc=${o.args.length} ${o.args.map((a, i) => `a${i}="${a}"`).join(' ')}`,
    `node=lnx01 type=CWD ${hdr}  cwd="/home/alice"`,
    `node=lnx01 type=EOE ${hdr}`,
  ].join('\n');
}

describe('Linux logons and escalation as domain data', () => {
  it('auditd USER_LOGIN: a successful one is an SSH logon from addr, a failed one guesses (real go-libaudit records)', { skip: skipWithoutShared('linux/go-libaudit') }, async () => {
    const text = ['audit-rhel7.log', 'audit-ubuntu16.log'].map((f) => readFileSync(sharedPath('linux/go-libaudit/auparse/testdata', f), 'utf8')).join('\n');
    const logins = (await read('real.log', text)).filter((e) => e.fields.type === 'USER_LOGIN');
    assert.equal(logins.length, 3);
    const ok = logins.filter((e) => e.fields.res === 'success');
    assert.deepEqual(
      ok.map((e) => [meaning(e)?.meaning, meaning(e)?.context, e.fields[meaning(e)!.sources.address[0]!], meaning(e)?.technique(e.fields)]),
      [
        ['logon', true, '96.241.146.97', { id: 'T1021.004' }],
        ['logon', true, '72.83.230.100', { id: 'T1021.004' }],
      ],
    );
    const failed = logins.find((e) => e.fields.res === 'failed')!;
    assert.equal(meaning(failed)?.meaning, 'failed-logon');
    assert.equal(meaning(failed)?.guesses, true);
    assert.deepEqual(
      detect(logins).map((d) => [d.rule.title, d.event.addr]),
      [
        ['SSH Logon Accepted (auditd)', '96.241.146.97'],
        ['SSH Logon Accepted (auditd)', '72.83.230.100'],
      ],
    );
  });

  it('su and a setuid-root start by a logged-in user are privilege escalation; root at work and daemons are not', async () => {
    const su = await read(
      'auth.log',
      [
        '2024-05-14T10:06:00+00:00 lnx01 su[2330]: (to root) alice on pts/0',
        '2024-05-14T10:06:00+00:00 lnx01 su[2330]: pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)',
        '2024-05-14T10:06:30+00:00 lnx01 su[2340]: FAILED su for root by alice',
        '2024-05-14T10:07:00+00:00 lnx01 sshd[2211]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)',
      ].join('\n') + '\n',
    );
    assert.deepEqual(
      su.map((e) => meaning(e)?.meaning ?? null),
      ['privilege-escalation', 'privilege-escalation', null, null],
    );
    assert.deepEqual(
      detect(su).map((d) => d.rule.title),
      ['Switch User Session Opened', 'Switch User Session Opened'],
    );
    const t = Date.UTC(2024, 4, 14, 10, 8);
    const audit = await read(
      'audit.log',
      [
        execve(201, t, { exe: '/usr/bin/sudo', args: ['sudo', '-i'], uid: 1000, euid: 0, auid: 1000, ses: 7, pid: 3001 }),
        execve(202, t + 1000, { exe: '/usr/bin/id', args: ['id'], uid: 0, euid: 0, auid: 1000, ses: 7, pid: 3002 }),
        execve(203, t + 2000, { exe: '/usr/bin/passwd', args: ['passwd'], uid: 1000, euid: 0, auid: 4294967295, ses: 4294967295, pid: 3003 }),
        execve(204, t + 3000, { exe: '/usr/bin/ls', args: ['ls'], uid: 1000, euid: 1000, auid: 1000, ses: 7, pid: 3004 }),
      ].join('\n') + '\n',
    );
    const procs = audit.filter((e) => e.channel === 'linux/auditd/process_creation');
    assert.equal(procs.length, 4);
    assert.deepEqual(
      procs.map((e) => [e.fields.Image, meaning(e)?.meaning ?? null]),
      [
        ['/usr/bin/sudo', 'privilege-escalation'],
        ['/usr/bin/id', null],
        ['/usr/bin/passwd', null],
        ['/usr/bin/ls', null],
      ],
    );
    assert.deepEqual(
      detect(audit).map((d) => [d.rule.title, d.event.Image]),
      [['Setuid Root Program Started By A User', '/usr/bin/sudo']],
    );
  });

  it("join the story of the move with evidence that brought the session; an administrator's routine su joins nothing", async () => {
    const ws01 = '10.0.1.21';
    const ws02 = '10.0.1.22';
    const t = (min: number) => Date.UTC(2024, 4, 14, 10, min);
    // auditd only on the server (no auth.log): the USER_LOGIN is the move; the session's sudo start joins it.
    const audit = await read(
      'session.log',
      [
        `node=lnx01 type=USER_LOGIN msg=audit(${t(5) / 1000}.100:90): pid=2211 uid=0 auid=1000 ses=7 msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=${ws01} addr=${ws01} terminal=/dev/pts/0 res=success'`,
        execve(91, t(6), { exe: '/usr/bin/sudo', args: ['sudo', '-i'], uid: 1000, euid: 0, auid: 1000, ses: 7, pid: 2301 }),
        `node=lnx01 type=USER_LOGIN msg=audit(${t(20) / 1000}.100:92): pid=2401 uid=0 auid=1001 ses=9 msg='op=login id=1001 exe="/usr/sbin/sshd" hostname=${ws02} addr=${ws02} terminal=/dev/pts/1 res=success'`,
        execve(93, t(21), { exe: '/usr/bin/su', args: ['su', '-'], uid: 1001, euid: 0, auid: 1001, ses: 9, pid: 2402 }),
      ].join('\n') + '\n',
    );
    // syslog only on another server: sshd's line is the move, su by the same account joins it.
    const syslog = await read(
      'lnx02-auth.log',
      [
        `2024-05-14T10:10:00+00:00 lnx02 sshd[501]: Accepted password for alice from ${ws01} port 50600 ssh2`,
        '2024-05-14T10:11:00+00:00 lnx02 su[520]: (to root) alice on pts/0',
        `2024-05-14T10:30:00+00:00 lnx02 sshd[601]: Accepted publickey for bob from ${ws02} port 50700 ssh2: ED25519 SHA256:q3Vx0RkM3m2b`,
        '2024-05-14T10:31:00+00:00 lnx02 su[620]: (to root) bob on pts/1',
      ].join('\n') + '\n',
    );
    // The foothold: alice's session on WS01 dumps LSASS (two events of one actor: a story of its own).
    const onWs01 = (min: number, record: number, title: string, tactic: string) =>
      detection(
        {
          timestamp: new Date(t(min)).toISOString(),
          computer: 'WS01.corp.local',
          level: 'high',
          eventId: 1,
          recordId: record,
          channel: 'Microsoft-Windows-Sysmon/Operational',
          event: { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', User: 'CORP\\alice', Image: 'C:\\Windows\\System32\\rundll32.exe' },
        },
        { id: `r-${title}`, title, level: 'high', tags: [`attack.${tactic}`] },
      );
    const foothold = [onWs01(0, 1, 'Whoami', 'discovery'), onWs01(1, 2, 'LSASS dump', 'credential-access')];
    const b = new StoryBuilder();
    b.learnAddress(ws01, 'WS01.corp.local');
    b.learnAddress(ws02, 'WS02.corp.local');
    const ds = [...foothold, ...detect([...audit, ...syslog])].sort((x, y) => (x.timestamp! < y.timestamp! ? -1 : x.timestamp! > y.timestamp! ? 1 : 0));
    assert.deepEqual(
      ds.map((d) => d.rule.title),
      [
        'Whoami',
        'LSASS dump',
        'SSH Logon Accepted (auditd)',
        'Setuid Root Program Started By A User',
        'SSH Logon Accepted',
        'Switch User Session Opened',
        'SSH Logon Accepted (auditd)',
        'Setuid Root Program Started By A User',
        'SSH Logon Accepted',
        'Switch User Session Opened',
      ],
    );
    for (const d of ds) b.add(d);
    const stories = b.finish();
    assert.equal(stories.length, 1, stories.map((s) => s.narrative).join('\n'));
    const s = stories[0]!;
    assert.deepEqual(
      s.spread.filter((e) => e.fromKind === 'host').map((e) => [e.from, e.to, e.technique.id]),
      [
        ['WS01.corp.local', 'lnx01', 'T1021.004'],
        ['WS01.corp.local', 'lnx02', 'T1021.004'],
      ],
    );
    assert.ok(s.tactics.some((x) => x.short === 'privilege-escalation'));
    assert.deepEqual(
      s.timeline.filter((r) => r.level === 'informational').map((r) => [r.computer, r.title]),
      [
        ['lnx01', 'SSH Logon Accepted (auditd)'],
        ['lnx01', 'Setuid Root Program Started By A User'],
        ['lnx02', 'SSH Logon Accepted'],
        ['lnx02', 'Switch User Session Opened'],
      ],
      "alice's logons and escalations; none of bob's",
    );
  });
});
