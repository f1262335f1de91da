/**
 * The Linux twins of Firebreak's own correlations (data/correlations/mr_ssh_*.yml, mr_sudo_*.yml,
 * mr_linux_new_account_then_sudo.yml), each on auth.log lines read by the real syslog reader and
 * routed by program: SSH brute force and spraying by source address and by account, failed SSH
 * logons then a successful one, sudo failures then success, a new account then sudo. Each fires
 * on its true positive and stays quiet on the near misses.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/core/errors.js';
import { Engine } from '../../src/engine/engine.js';
import type { Event } from '../../src/events/event.js';
import { LinuxStream } from '../../src/readers/linux/stream.js';
import { loadRules } from '../../src/sigma/collection.js';
import { REPO } from '../helpers.js';
import { at, run } from './helpers.js';

const col = loadRules([join(REPO, 'data/correlations')]);
const engine = new Engine(col.rules);
const HOST = 'srv1';

/** An auth.log line (rsyslog's RFC 3339 file format), `t` in seconds from the helpers' T0. */
const line = (t: number, program: string, message: string, host = HOST) => `${at(t)} ${host} ${program}: ${message}`;
const failed = (t: number, user: string, ip: string, method = 'password') => line(t, `sshd[${1000 + t}]`, `Failed ${method} for ${user} from ${ip} port ${40000 + t} ssh2`);
const failedInvalid = (t: number, user: string, ip: string) => line(t, `sshd[${1000 + t}]`, `Failed password for invalid user ${user} from ${ip} port ${40000 + t} ssh2`);
const accepted = (t: number, user: string, ip: string) => line(t, `sshd[${1000 + t}]`, `Accepted password for ${user} from ${ip} port ${40000 + t} ssh2`);
const sudoFailure = (t: number, user: string) => line(t, 'sudo', `pam_unix(sudo:auth): authentication failure; logname=${user} uid=1000 euid=0 tty=/dev/pts/0 ruser=${user} rhost=  user=${user}`);
const sudoCommand = (t: number, user: string, command = '/bin/bash') => line(t, 'sudo', `${user} : TTY=pts/0 ; PWD=/home/${user} ; USER=root ; COMMAND=${command}`);
const useradd = (t: number, user: string) => line(t, 'useradd[5000]', `new user: name=${user}, UID=1001, GID=1001, home=/home/${user}, shell=/bin/bash, from=/dev/pts/0`);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Lines → events through the syslog reader; every line must read. */
function read(lines: string[]): Event[] {
  const stream = new LinuxStream('auth.log');
  const out = lines.flatMap((l, i) => stream.syslogLine(l, { file: 'auth.log', line: i + 1 }));
  const errors = out.filter((x) => x instanceof RecordError);
  assert.deepEqual(errors, []);
  return out as Event[];
}

/** Titles of the visible correlation detections, sorted. */
function fired(lines: string[]): string[] {
  const r = run(col, read(lines), {}, engine);
  return r.visible
    .filter((d) => d.rule.kind === 'correlation')
    .map((d) => d.rule.title)
    .sort();
}

describe('Linux correlation twins on auth.log lines', () => {
  it('routes the lines to sshd, sudo and auth with the fields the building blocks read', () => {
    const [f, a, sf, sc, ua] = read([failed(0, 'root', '198.51.100.7'), accepted(1, 'root', '198.51.100.7'), sudoFailure(2, 'bob'), sudoCommand(3, 'bob'), useradd(4, 'backdoor')]);
    assert.deepEqual(
      [f, a, sf, sc, ua].map((e) => e!.channel),
      ['linux/sshd', 'linux/sshd', 'linux/sudo', 'linux/sudo', 'linux/auth'],
    );
    assert.deepEqual([f!.fields.AuthResult, f!.fields.TargetUserName, f!.fields.IpAddress], ['failure', 'root', '198.51.100.7']);
    assert.equal(a!.fields.AuthResult, 'success');
    assert.deepEqual([sf!.fields.AuthResult, sf!.fields.SubjectUserName], ['failure', 'bob']);
    assert.deepEqual([sc!.fields.AuthResult, sc!.fields.SubjectUserName], ['success', 'bob']);
    assert.deepEqual([ua!.fields.AccountAction, ua!.fields.TargetUserName], ['user_created', 'backdoor']);
  });

  it('SSH brute force: 10 failures from one source for one account fire by source and by account', () => {
    assert.deepEqual(fired(range(10).map((i) => failed(i * 20, 'root', '198.51.100.7'))), ['SSH Brute Force Against One Account', 'SSH Brute Force From One Source']);
  });

  it('SSH brute force stays quiet on 9 failures, on 10 over half an hour, and on the "none" method', () => {
    assert.deepEqual(fired(range(9).map((i) => failed(i * 20, 'root', '198.51.100.7'))), []);
    assert.deepEqual(fired(range(10).map((i) => failed(i * 200, 'root', '198.51.100.7'))), []);
    assert.deepEqual(fired([...range(9).map((i) => failed(i * 20, 'root', '198.51.100.7')), failed(190, 'root', '198.51.100.7', 'none')]), []);
  });

  it('SSH brute force against one account from two sources, five failures each, fires by account only', () => {
    assert.deepEqual(fired(range(10).map((i) => failed(i * 20, 'root', `203.0.113.${10 + (i % 2)}`))), ['SSH Brute Force Against One Account']);
  });

  it('SSH password spraying: one source, five account names within 10 minutes; quiet at four', () => {
    const users = ['admin', 'test', 'oracle', 'guest', 'ubuntu'];
    assert.deepEqual(fired(users.map((u, i) => failedInvalid(i * 30, u, '198.51.100.8'))), ['SSH Password Spraying From One Source']);
    assert.deepEqual(fired(users.slice(0, 4).map((u, i) => failedInvalid(i * 30, u, '198.51.100.8'))), []);
    assert.deepEqual(fired(users.map((u, i) => failedInvalid(i * 300, u, '198.51.100.8'))), [], 'five names over 20 minutes');
  });

  it('SSH failures for one account from five sources within 30 minutes; quiet at four', () => {
    assert.deepEqual(fired(range(5).map((i) => failed(i * 300, 'deploy', `203.0.113.${10 + i}`))), ['SSH Logon Failures For One Account From Many Sources']);
    assert.deepEqual(fired(range(4).map((i) => failed(i * 300, 'deploy', `203.0.113.${10 + i}`))), []);
  });

  it('SSH failures then a successful logon for that account from that source', () => {
    const burst = range(5).map((i) => failed(i * 20, 'alice', '198.51.100.9'));
    assert.deepEqual(fired([...burst, accepted(300, 'alice', '198.51.100.9')]), ['SSH Logon Failures Followed By A Successful Logon']);
    assert.deepEqual(fired([...range(4).map((i) => failed(i * 20, 'alice', '198.51.100.9')), accepted(300, 'alice', '198.51.100.9')]), [], 'four failures');
    assert.deepEqual(fired([...burst, accepted(300, 'alice', '198.51.100.10')]), [], 'success from another address');
    assert.deepEqual(fired([...burst, accepted(300, 'bob', '198.51.100.9')]), [], 'another account');
    assert.deepEqual(fired([accepted(0, 'alice', '198.51.100.9'), ...range(5).map((i) => failed(10 + i * 20, 'alice', '198.51.100.9'))]), [], 'success first');
    assert.deepEqual(fired([...burst, accepted(80 + 1900, 'alice', '198.51.100.9')]), [], 'success too late');
  });

  it('sudo: three failures by one account then a command it ran', () => {
    const failures = range(3).map((i) => sudoFailure(i * 10, 'bob'));
    assert.deepEqual(fired([...failures, sudoCommand(60, 'bob')]), ['Sudo Authentication Failures Followed By Success']);
    assert.deepEqual(fired([...failures.slice(0, 2), sudoCommand(60, 'bob')]), [], 'two failures');
    assert.deepEqual(fired([...failures, sudoCommand(60, 'carol')]), [], 'another account ran the command');
    assert.deepEqual(fired([sudoCommand(0, 'bob'), ...range(3).map((i) => sudoFailure(10 + i * 10, 'bob'))]), [], 'command first');
  });

  it('a new account that uses sudo within a day on the same host', () => {
    assert.deepEqual(fired([useradd(0, 'backdoor'), sudoCommand(3600, 'backdoor', '/usr/bin/id')]), ['New Linux Account Uses Sudo']);
    assert.deepEqual(fired([useradd(0, 'backdoor'), sudoCommand(3600, 'bob')]), [], 'another account');
    assert.deepEqual(fired([sudoCommand(0, 'backdoor'), useradd(60, 'backdoor')]), [], 'sudo before the account existed');
    assert.deepEqual(fired([useradd(0, 'backdoor'), line(3600, 'sudo', 'backdoor : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id', 'srv2')]), [], 'on another host');
    assert.deepEqual(fired([useradd(0, 'backdoor'), sudoCommand(25 * 3600, 'backdoor')]), [], 'more than a day later');
  });
});
