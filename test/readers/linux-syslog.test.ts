/**
 * Syslog: every line of loghub's real sshd and Linux syslog files parses into the host, program,
 * pid and message that loghub's own structured CSV gives; the SSH brute-force correlation fires
 * on exactly the sources that hammer the server (worked out independently from the CSV); routing
 * by program takes keyword rules to the messages they are written for. Fixtures cover RFC 5424,
 * RFC 3339 files, year inference, time zones and the message fields of sshd, sudo and useradd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/core/errors.js';
import { CorrelationEngine } from '../../src/correlation/engine.js';
import { Engine } from '../../src/engine/engine.js';
import type { Event } from '../../src/events/event.js';
import { toDetectionRecord } from '../../src/detections/convert.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { LinuxStream } from '../../src/readers/linux/stream.js';
import { parseSyslogLine, SyslogParseError, YearInference, ZoneConverter, type SyslogHeader } from '../../src/readers/syslog.js';
import { loadRules } from '../../src/sigma/collection.js';
import type { SigmaRule } from '../../src/sigma/model.js';
import { HAVE_SHARED, REPO, SHARED, cli, collection } from '../helpers.js';

const LOGHUB = join(SHARED, 'linux/loghub');
const skip = HAVE_SHARED ? false : 'needs ../shared/linux (loghub); absent';

/** RFC 4180 rows (quoted fields with "" escapes). */
function csv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

async function readAll(file: string, opts: Parameters<typeof readEventsFromFile>[1] = {}): Promise<{ events: Event[]; errors: string[] }> {
  const events: Event[] = [];
  const errors: string[] = [];
  for await (const ev of readEventsFromFile(file, { ...opts, onError: (e) => errors.push(e instanceof RecordError ? e.format() : e.message) })) events.push(ev);
  return { events, errors };
}

function lines(texts: string[], opts: ConstructorParameters<typeof LinuxStream>[1] = {}): { events: Event[]; errors: RecordError[] } {
  const s = new LinuxStream('t.log', opts);
  const events: Event[] = [];
  const errors: RecordError[] = [];
  const take = (xs: (Event | RecordError)[]) => xs.forEach((x) => (x instanceof RecordError ? errors.push(x) : events.push(x)));
  texts.forEach((t, i) => take(s.syslogLine(t, { file: 't.log', line: i + 1 })));
  take(s.finish());
  return { events, errors };
}

describe('loghub syslog files (real sshd and /var/log/messages lines)', { skip }, () => {
  for (const [name, hostCol, progCol, pidCol] of [
    ['OpenSSH', 'Component', null, 'Pid'],
    ['Linux', 'Level', 'Component', 'PID'],
  ] as const) {
    it(`${name}_2k.log: every line parses into loghub's host, program, pid and message`, async () => {
      const { events, errors } = await readAll(join(LOGHUB, name, `${name}_2k.log`));
      assert.deepEqual(errors, []);
      const rows = csv(readFileSync(join(LOGHUB, name, `${name}_2k.log_structured.csv`), 'utf8'));
      const head = rows[0]!;
      const col = (r: string[], c: string) => r[head.indexOf(c)]!;
      const data = rows.slice(1).filter((r) => r.length > 1);
      assert.equal(events.length, 2000);
      assert.equal(data.length, 2000);
      events.forEach((ev, i) => {
        const r = data[i]!;
        assert.equal(ev.fields.Computer, col(r, hostCol), `line ${i + 1} host`);
        assert.equal(ev.fields.ProcessId ?? '', col(r, pidCol), `line ${i + 1} pid`);
        if (progCol && col(r, progCol).includes(' ') && !col(r, progCol).startsWith('-- ')) {
          // `syslogd 1.4.1: restart.`: RFC 3164 ends the tag at the first non-alphanumeric
          // character, loghub at the colon; the text is the same.
          assert.equal(`${String(ev.fields.Program)} ${String(ev.fields.Message)}`, `${col(r, progCol)}: ${col(r, 'Content')}`, `line ${i + 1}`);
          return;
        }
        if (progCol) assert.equal(ev.fields.Program ?? '', col(r, progCol), `line ${i + 1} program`);
        else assert.equal(ev.fields.Program, 'sshd', `line ${i + 1} program`);
        assert.equal(String(ev.fields.Message).trim(), col(r, 'Content').trim(), `line ${i + 1} message`);
        assert.match(String(ev.fields['@timestamp']), new RegExp(`-\\d\\dT${col(r, 'Time')}\\.000Z$`), `line ${i + 1} time`);
        assert.equal(ev.product, 'linux');
      });
    });
  }

  it('the SSH brute-force correlation fires on exactly the sources that hammer the server', async () => {
    const file = join(LOGHUB, 'OpenSSH/OpenSSH_2k.log');
    const { events } = await readAll(file, { linux: { year: 2024 } });
    const fired = runCorrelations(events, 'fb_ssh_brute_force_source');
    // Independent of the reader: loghub's CSV rows, failed-attempt lines per source address,
    // 10 or more in any five-minute window (the rule's condition).
    const rows = csv(readFileSync(join(LOGHUB, 'OpenSSH/OpenSSH_2k.log_structured.csv'), 'utf8')).slice(1);
    const perIp = new Map<string, number[]>();
    for (const r of rows) {
      const content = r[6] ?? '';
      const m = /^(?:message repeated \d+ times: \[ )?Failed (\S+) for (?:invalid user )?.*? from (\S+) port \d+/.exec(content);
      if (!m || m[1] === 'none') continue;
      const t = Date.parse(`2024-12-${r[2]!.padStart(2, '0')}T${r[3]}Z`);
      perIp.set(m[2]!, [...(perIp.get(m[2]!) ?? []), t]);
    }
    const hammering = [...perIp]
      .filter(([, ts]) => {
        ts.sort((a, b) => a - b);
        for (let i = 0, j = 0; j < ts.length; j++) {
          while (ts[j]! - ts[i]! >= 300_000) i++;
          if (j - i + 1 >= 10) return true;
        }
        return false;
      })
      .map(([ip]) => ip)
      .sort();
    assert.ok(hammering.length >= 3, `sources hammering: ${hammering.join(', ')}`);
    assert.deepEqual([...new Set(fired.map((d) => String(d.event.IpAddress)))].sort(), hammering);
  });

  it('Linux_2k.log: old PAM failures (sshd(pam_unix)) feed the same correlation', async () => {
    const { events } = await readAll(join(LOGHUB, 'Linux/Linux_2k.log'), { linux: { year: 2005 } });
    const failures = events.filter((e) => e.fields.AuthResult === 'failure' && e.channel === 'linux/sshd');
    assert.ok(failures.length > 300, `${failures.length} failures`);
    assert.ok(runCorrelations(events, 'fb_ssh_brute_force_source').length > 0);
  });
});

/** Events → Firebreak's correlations (time order) → the detections of one correlation. */
function runCorrelations(events: Event[], name: string) {
  const col = loadRules([join(REPO, 'data/correlations')]);
  assert.deepEqual(col.errors, []);
  const engine = new Engine(col.rules);
  const ce = new CorrelationEngine(col.correlations, col.rules);
  const dets = events.flatMap((e) => engine.match(e).map((d) => toDetectionRecord(d, false)));
  dets.sort((a, b) => (a.timestamp ?? '').localeCompare(b.timestamp ?? ''));
  return dets.flatMap((d) => ce.push(d)).filter((d) => d.rule.name === name);
}

describe('syslog header forms', () => {
  const ok = (line: string): SyslogHeader => {
    const h = parseSyslogLine(line);
    assert.ok(!(h instanceof SyslogParseError), `${line}: ${h instanceof SyslogParseError ? h.message : ''}`);
    return h;
  };
  it('RFC 5424 with structured data and a BOM (RFC 5424 section 6.5 examples)', () => {
    const h = ok(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 a="b\\]c"] \uFEFFAn application event log entry...',
    );
    assert.deepEqual([h.facility, h.severity, h.host, h.program, h.pid, h.msgId, h.message], [20, 5, 'mymachine.example.com', 'evntslog', undefined, 'ID47', 'An application event log entry...']);
    assert.equal(h.structuredData, '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 a="b\\]c"]');
    assert.deepEqual(h.time, { kind: 'absolute', ms: Date.parse('2003-10-11T22:14:15.003Z') });
    const z = ok("<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
    assert.deepEqual(z.time, { kind: 'absolute', ms: Date.parse('2003-08-24T12:14:15.000Z') });
    assert.equal(z.pid, '8710');
    assert.equal(z.message, "%% It's time to make the do-nuts.");
  });
  it('RFC 3164 with a PRI and without a host; rsyslog RFC 3339 files; odd tags', () => {
    const a = ok("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    assert.deepEqual([a.facility, a.severity, a.host, a.program, a.message], [4, 2, 'mymachine', 'su', "'su root' failed for lonvick on /dev/pts/8"]);
    const b = ok('<13>Feb  5 17:32:18 sshd[42]: Accepted password for x from 10.0.0.1 port 22 ssh2');
    assert.deepEqual([b.host, b.program, b.pid], [undefined, 'sshd', '42']);
    const c = ok('2024-03-01T12:00:00.123456+01:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id');
    assert.deepEqual(c.time, { kind: 'absolute', ms: Date.parse('2024-03-01T11:00:00.123Z') });
    assert.deepEqual([c.host, c.program, c.format], ['web1', 'sudo', 'rfc3339']);
    const d = ok('Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=1.2.3.4');
    assert.deepEqual([d.program, d.pid], ['sshd(pam_unix)', '19939']);
    const e = ok('Jul 27 14:41:58 combo syslogd 1.4.1: restart.');
    assert.deepEqual([e.program, e.message], ['syslogd', '1.4.1: restart.']);
    assert.ok(parseSyslogLine('hello world') instanceof SyslogParseError);
    assert.ok(parseSyslogLine('<999>Oct 11 22:14:15 x y: z') instanceof SyslogParseError);
    assert.ok(parseSyslogLine('Foo 11 22:14:15 x y: z') instanceof SyslogParseError);
  });
  it('year inference: the file ends at its modification time; December wraps into January', () => {
    const y = new YearInference(new Date('2024-01-05T10:00:00Z'));
    assert.deepEqual([y.yearOf(11, 20), y.yearOf(11, 31), y.yearOf(0, 1), y.yearOf(11, 31), y.yearOf(0, 4)], [2023, 2023, 2024, 2023, 2024]);
    assert.equal(new YearInference(new Date('2024-06-01Z')).yearOf(4, 1), 2024);
    assert.equal(new YearInference(new Date('2024-06-01Z'), 2019).yearOf(4, 1), 2019);
    const anchored = new YearInference(new Date('2030-01-01Z'));
    anchored.anchor(2021, 2);
    assert.equal(anchored.yearOf(2, 3), 2021);
  });
  it('time zones: UTC by default, fixed offsets and IANA names with daylight saving', () => {
    const berlin = new ZoneConverter('Europe/Berlin');
    assert.equal(new Date(berlin.toUtc(2024, 0, 15, 12, 0, 0, 0)).toISOString(), '2024-01-15T11:00:00.000Z');
    assert.equal(new Date(berlin.toUtc(2024, 6, 15, 12, 0, 0, 0)).toISOString(), '2024-07-15T10:00:00.000Z');
    assert.equal(new Date(new ZoneConverter('-05:00').toUtc(2024, 0, 1, 0, 0, 0, 0)).toISOString(), '2024-01-01T05:00:00.000Z');
    assert.throws(() => new ZoneConverter('Mars/Olympus'));
    const { events } = lines(['Jan 15 12:00:00 h cron[1]: x'], { timeZone: 'Europe/Berlin', year: 2024 });
    assert.equal(events[0]!.fields['@timestamp'], '2024-01-15T11:00:00.000Z');
  });
});

describe('message fields and routing by program', () => {
  it('sshd, PAM, sudo, su, useradd and logind messages carry who, from where and the result', () => {
    const { events } = lines([
      'Mar  1 10:00:00 web1 sshd[100]: Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2',
      'Mar  1 10:00:01 web1 sshd[100]: Accepted publickey for alice from 2001:db8::7 port 50100 ssh2: ED25519 SHA256:abc',
      'Mar  1 10:00:02 web1 sshd[100]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)',
      'Mar  1 10:00:03 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow',
      'Mar  1 10:00:04 web1 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash',
      'Mar  1 10:00:05 web1 sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob',
      'Mar  1 10:00:06 web1 useradd[300]: new user: name=backdoor, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0',
      'Mar  1 10:00:07 web1 systemd-logind[1]: New session 42 of user alice.',
      'Mar  1 10:00:08 web1 su: (to root) alice on pts/0',
      'Mar  1 10:00:09 web1 sshd[101]: message repeated 3 times: [ Failed password for root from 198.51.100.4 port 22 ssh2]',
    ]);
    const pick = (e: Event, ...ks: string[]) => ks.map((k) => e.fields[k]);
    assert.deepEqual(pick(events[0]!, 'Channel', 'AuthResult', 'AuthMethod', 'TargetUserName', 'InvalidUser', 'IpAddress', 'IpPort'), [
      'linux/sshd',
      'failure',
      'password',
      'admin',
      true,
      '203.0.113.9',
      '50022',
    ]);
    assert.deepEqual(pick(events[1]!, 'AuthResult', 'AuthMethod', 'TargetUserName', 'IpAddress'), ['success', 'publickey', 'alice', '2001:db8::7']);
    assert.deepEqual(pick(events[2]!, 'SessionAction', 'TargetUserName', 'ProcessId'), ['opened', 'alice', '100']);
    assert.deepEqual(pick(events[3]!, 'Channel', 'AuthResult', 'SubjectUserName', 'TargetUserName', 'CommandLine', 'CurrentDirectory'), [
      'linux/sudo',
      'success',
      'alice',
      'root',
      '/usr/bin/cat /etc/shadow',
      '/home/alice',
    ]);
    assert.deepEqual(pick(events[4]!, 'AuthResult', 'SubjectUserName', 'FailedAttempts'), ['failure', 'bob', 3]);
    assert.deepEqual(pick(events[5]!, 'AuthResult', 'SubjectUserName', 'TargetUserName'), ['failure', 'bob', 'bob']);
    assert.deepEqual(pick(events[6]!, 'Channel', 'AccountAction', 'TargetUserName', 'TargetUid'), ['linux/auth', 'user_created', 'backdoor', '0']);
    assert.deepEqual(pick(events[7]!, 'LogonId', 'TargetUserName'), ['42', 'alice']);
    assert.deepEqual(pick(events[8]!, 'Channel', 'AuthResult', 'SubjectUserName', 'TargetUserName'), ['linux/auth', 'success', 'alice', 'root']);
    assert.deepEqual(pick(events[9]!, 'AuthResult', 'RepeatCount', 'TargetUserName', 'IpAddress'), ['failure', 3, 'root', '198.51.100.4']);
  });

  it('keyword rules meet the message of the programs their service names, and only the message', () => {
    const file = (p: string) => readFileSync(join(REPO, 'data/sigma/rules/linux/builtin', p), 'utf8');
    const rules: SigmaRule[] = [
      ...collection(file('sshd/lnx_sshd_susp_ssh.yml')).rules,
      ...collection(file('lnx_file_copy.yml')).rules,
      ...collection(file('lnx_privileged_user_creation.yml')).rules,
      ...collection(file('cron/lnx_cron_crontab_file_modification.yml')).rules,
    ];
    const engine = new Engine(rules);
    const titles = (line: string) =>
      lines([line])
        .events.flatMap((e) => engine.match(e))
        .map((d) => d.rule.title);
    assert.deepEqual(titles('Mar  1 10:00:00 h sshd[1]: Corrupted MAC on input.'), ['Suspicious OpenSSH Daemon Error']);
    // The same text from another program is not an sshd message.
    assert.deepEqual(titles('Mar  1 10:00:00 h cron[1]: Corrupted MAC on input.'), []);
    // "scp " and ':' — the time stamp's colons are not part of the message.
    assert.deepEqual(titles('Mar  1 10:00:00 h bash[1]: scp notes.txt backup'), []);
    assert.deepEqual(titles('Mar  1 10:00:00 h bash[1]: scp notes.txt u@10.0.0.2'), ['Remote File Copy']);
    assert.deepEqual(titles('Mar  1 10:00:00 h useradd[1]: new user: name=john, UID=0, GID=0, home=/home/john, shell=/bin/bash'), ['Privileged User Has Been Created']);
    assert.deepEqual(titles('Mar  1 10:00:00 h crontab[1]: (root) REPLACE (root)'), ['Modifying Crontab']);
  });

  it('a syslog file whose lines do not all parse: each bad line is reported, the rest read', () => {
    const { events, errors } = lines(['Mar  1 10:00:00 h a: one', 'garbage line', '', 'Mar  1 10:00:01 h b: two']);
    assert.equal(events.length, 2);
    assert.deepEqual(
      errors.map((e) => [e.code, e.position.line]),
      [['syslog-no-time', 2]],
    );
  });

  it('raw audit records forwarded through syslog (audisp-syslog) are read as audit records', () => {
    const { events } = lines([
      'Mar  1 10:00:00 web1 audisp-syslog: type=SYSCALL msg=audit(1709287200.000:5): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=7 auid=0 uid=0 ses=1 comm="id" exe="/usr/bin/id"',
      'Mar  1 10:00:00 web1 audisp-syslog: type=EXECVE msg=audit(1709287200.000:5): argc=1 a0="id"',
      'Mar  1 10:00:00 web1 audisp-syslog: type=EOE msg=audit(1709287200.000:5): ',
    ]);
    const p = events.find((e) => e.channel === 'linux/auditd/process_creation');
    assert.equal(p?.fields.Image, '/usr/bin/id');
    assert.equal(p?.fields.Computer, 'web1');
  });
});

describe('hunt --log-timezone / --log-year', () => {
  it('reads RFC 3164 time stamps in the zone and year given; a bad zone is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-tz-'));
    writeFileSync(join(dir, 'auth.log'), 'Jul 14 12:00:00 web1 useradd[9]: new user: name=john, UID=0, GID=0, home=/home/john, shell=/bin/bash\n');
    const out = join(dir, 'out.jsonl');
    const r = await cli('hunt', dir, '--log-timezone', 'Europe/Berlin', '--log-year', '2019', '--jsonl', out, '--quiet', '--no-stories');
    assert.equal(r.code, 0, r.err);
    const first = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]!) as { timestamp: string; computer: string };
    assert.deepEqual([first.timestamp, first.computer], ['2019-07-14T10:00:00.000Z', 'web1']);
    const bad = await cli('hunt', dir, '--log-timezone', 'Nowhere/Town');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown time zone 'Nowhere\/Town'/);
  });
});
