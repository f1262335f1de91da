/**
 * Hostile input for the Linux readers: mutated and truncated audit records, syslog lines and
 * journal exports. Nothing throws, every line is either read or counted as bad, state stays
 * within its caps, and an endless line is cut off and reported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { RecordError } from '../../src/core/errors.js';
import { LIMITS } from '../../src/core/limits.js';
import { rng } from '../../src/core/rng.js';
import { splitLines } from '../../src/readers/lines.js';
import { splitJournalExport } from '../../src/readers/linux/journal.js';
import { LinuxStream } from '../../src/readers/linux/stream.js';

const AUDIT = [
  'type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 ses=3 tty=pts0 comm="bash" exe="/usr/bin/bash" key="x"\x1dARCH=x86_64 SYSCALL=execve AUID="alice"',
  'type=EXECVE msg=audit(1700000000.123:42): argc=3 a0="bash" a1="-c" a2=6563686F202268692220',
  'type=EXECVE msg=audit(1700000000.123:42): a3_len=8 a3[0]=41414141 a3[1]=42424242',
  'type=CWD msg=audit(1700000000.123:42):  cwd="/root"',
  'type=PATH msg=audit(1700000000.123:42): item=0 name="/usr/bin/bash" inode=1 dev=08:01 mode=0100755 nametype=NORMAL',
  'type=PROCTITLE msg=audit(1700000000.123:42): proctitle=62617368002D63',
  'type=SOCKADDR msg=audit(1700000000.123:42): saddr=0A000016000000000000000000000000000000000000000000000000',
  'type=USER_LOGIN msg=audit(1700000001.000:43): pid=1 uid=0 auid=4294967295 ses=4294967295 msg=\'op=login acct=28696E76616C6964207573657229 exe="/usr/sbin/sshd" hostname=? addr=1.2.3.4 terminal=sshd res=failed\'',
  'node=h1 type=EOE msg=audit(1700000000.123:42): ',
];
const SYSLOG = [
  'Mar  1 10:00:00 web1 sshd[100]: Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2',
  '<34>1 2003-10-11T22:14:15.003Z host app 1 ID [a b="c\\]"] msg',
  '2024-03-01T12:00:00.123+01:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id',
  '<13>Feb  5 17:32:18 su: pam_unix(su:auth): authentication failure; logname=a uid=1 euid=0 tty=pts/0 ruser=a rhost=  user=root',
  'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4',
  'Mar  1 10:00:00 web1 sshd[101]: message repeated 3 times: [ Failed password for root from 198.51.100.4 port 22 ssh2]',
];
const NASTY = ['\x1d', '"', "'", '=', '(', ')', ':', '[', ']', '\0', ' ', '\u00e9', '\ufffd', '%', '<', '>', 'msg=audit(', 'type=', '0x', '\t'];

function mutate(line: string, r: () => number): string {
  let s = line;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = Math.floor(r() * 5);
    if (op === 0)
      s = s.slice(0, at); // truncated
    else if (op === 1) s = s.slice(0, at) + NASTY[Math.floor(r() * NASTY.length)]! + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 8));
    else if (op === 3) s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x250)) + s.slice(at + 1);
    else s = s.slice(0, at) + s.slice(Math.floor(r() * s.length));
  }
  return s;
}

describe('fuzzed Linux input', () => {
  it('audit records: no throw; every line read or counted; pending events capped', () => {
    const r = rng(15);
    const stream = new LinuxStream('fuzz.log', { join: { maxPending: 64 } });
    let nonEmpty = 0;
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      const line = mutate(AUDIT[i % AUDIT.length]!, r);
      if (line.trim()) nonEmpty++;
      for (const x of stream.auditLine(line, { file: 'fuzz.log', line: i + 1 })) if (x instanceof RecordError) errors++;
      assert.ok(stream.joiner.pendingEvents <= 64);
    }
    stream.finish();
    const s = stream.stats;
    assert.equal(s.badLines + s.audit.records, nonEmpty, 'each line is a record or a counted bad line');
    assert.equal(errors, s.badLines);
    assert.ok(s.badLines > 1000 && s.audit.records > 1000, `bad ${s.badLines}, records ${s.audit.records}`);
  });

  it('syslog lines: no throw; every line an event or a counted error', () => {
    const r = rng(16);
    const stream = new LinuxStream('fuzz.log');
    let nonEmpty = 0;
    let events = 0;
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      const line = mutate(SYSLOG[i % SYSLOG.length]!, r);
      if (line.trim()) nonEmpty++;
      for (const x of stream.syslogLine(line, { file: 'fuzz.log', line: i + 1 }))
        if (x instanceof RecordError) errors++;
        else events++;
    }
    assert.equal(events + errors, nonEmpty);
    assert.equal(errors, stream.stats.badLines);
  });

  it('an endless line is cut off and reported; the next line is read', async () => {
    const huge = Buffer.alloc(LIMITS.textLineMaxBytes * 3, 0x41);
    const chunks = [Buffer.from('first\n'), huge.subarray(0, 1_000_000), huge.subarray(1_000_000), Buffer.from('\r\nlast')];
    const out = [];
    for await (const l of splitLines(Readable.from(chunks) as AsyncIterable<Buffer>, 'big.log')) out.push(l instanceof RecordError ? `error ${l.code} line ${l.position.line}` : `${l.line}:${l.text}`);
    assert.deepEqual(out, ['1:first', 'error line-too-long line 2', '3:last']);
  });

  it('journal exports: random and truncated bytes never throw, oversized fields are reported', async () => {
    const r = rng(17);
    const good = Buffer.from('__CURSOR=a\n__REALTIME_TIMESTAMP=1709287200123456\nMESSAGE=hello\n\n__CURSOR=b\nMESSAGE\n\x05\0\0\0\0\0\0\0abcde\n\n');
    for (let i = 0; i < 500; i++) {
      const b = Buffer.from(good);
      for (let k = 0; k < 4; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const cut = b.subarray(0, Math.floor(r() * b.length) + 1);
      for await (const e of splitJournalExport(Readable.from([cut]) as AsyncIterable<Buffer>, 'j')) assert.ok(e instanceof RecordError || typeof e.fields === 'object');
    }
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(LIMITS.textLineMaxBytes + 1));
    const big = Buffer.concat([Buffer.from('__CURSOR=c\nMESSAGE\n'), size, Buffer.alloc(LIMITS.textLineMaxBytes + 1), Buffer.from('\n\n__CURSOR=d\nMESSAGE=after\n\n')]);
    const got = [];
    for await (const e of splitJournalExport(Readable.from([big.subarray(0, 100), big.subarray(100)]) as AsyncIterable<Buffer>, 'j')) got.push(e instanceof RecordError ? e.code : e.fields.MESSAGE);
    assert.deepEqual(got, ['journal-export', 'after']);
  });
});
