/**
 * Raw audit logs: every record of go-libaudit's real logs parses, hex-encoded values decode to
 * the values go-libaudit's reference output gives, and the processes joined from its events give
 * the reference's executable, arguments and working directory. Fixtures written from the
 * documented formats cover what that material lacks (ENRICHED records, split and hex arguments,
 * interleaved events, node= prefixes).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { RecordError } from '../../src/core/errors.js';
import { Engine } from '../../src/engine/engine.js';
import type { Event } from '../../src/events/event.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { AuditParseError, parseAuditRecord, type AuditRecord } from '../../src/readers/linux/audit.js';
import { AuditJoiner } from '../../src/readers/linux/audit-join.js';
import { LinuxStream } from '../../src/readers/linux/stream.js';
import { HAVE_SHARED, SHARED, collection } from '../helpers.js';

const GOLIBAUDIT = join(SHARED, 'linux/go-libaudit');
const skip = HAVE_SHARED ? false : 'needs ../shared/linux (go-libaudit test data); absent';

/** Feed lines through one stream; events and errors in order. */
function readLines(lines: readonly string[], file = 'test.log'): { events: Event[]; errors: RecordError[]; stream: LinuxStream } {
  const stream = new LinuxStream(file);
  const events: Event[] = [];
  const errors: RecordError[] = [];
  const take = (xs: (Event | RecordError)[]) => xs.forEach((x) => (x instanceof RecordError ? errors.push(x) : events.push(x)));
  lines.forEach((l, i) => take(stream.auditLine(l, { file, line: i + 1 })));
  take(stream.finish());
  return { events, errors, stream };
}

const derived = (evs: Event[]) => evs.filter((e) => e.channel === 'linux/auditd/process_creation');

async function readAll(file: string): Promise<{ events: Event[]; errors: string[] }> {
  const events: Event[] = [];
  const errors: string[] = [];
  for await (const ev of readEventsFromFile(file, { onError: (e) => errors.push(e instanceof RecordError ? e.format() : e.message) })) events.push(ev);
  return { events, errors };
}

/** go-libaudit's values where it names or formats a value differently from the raw log. */
function comparable(key: string, golden: string, mine: unknown): [string, unknown] | undefined {
  if (['result', 'syscall', 'arch', 'exit', 'family', 'addr', 'port', 'path', 'saddr'].includes(key) || key.startsWith('subj_') || key.startsWith('obj_')) return undefined;
  if (['auid', 'ses', 'old-auid', 'old_auid', 'new_auid', 'old-ses'].includes(key)) return [golden === 'unset' ? '4294967295' : golden, mine];
  return [golden, mine];
}

describe('audit records: go-libaudit auparse reference (one golden entry per line)', { skip }, () => {
  const files = ['audit-rhel6.log', 'audit-rhel7.log', 'audit-ubuntu14.log', 'audit-ubuntu16.log', 'test2.log'];
  it('parses every record; decodes every hex value to the reference value', () => {
    let records = 0;
    let compared = 0;
    let hexCompared = 0;
    for (const f of files) {
      const lines = readFileSync(join(GOLIBAUDIT, 'auparse/testdata', f), 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      const golden = JSON.parse(readFileSync(join(GOLIBAUDIT, 'auparse/testdata', `${f}.golden`), 'utf8')) as ({ record_type: string; sequence: number; data: Record<string, string> } | null)[];
      assert.equal(lines.length, golden.length, f);
      lines.forEach((line, i) => {
        const g = golden[i]!;
        const rec = parseAuditRecord(line);
        if (g === null || g === undefined) {
          // go-libaudit rejects this line too (`type=UNKNOWN[1329] msg=?`).
          assert.ok(rec instanceof AuditParseError, `${f}:${i + 1} should be rejected`);
          return;
        }
        assert.ok(!(rec instanceof AuditParseError), `${f}:${i + 1}: ${rec instanceof AuditParseError ? rec.message : ''}`);
        records++;
        const r = rec;
        assert.equal(r.type.toLowerCase(), g.record_type, `${f}:${i + 1} type`);
        assert.equal(r.serial, g.sequence, `${f}:${i + 1} serial`);
        for (const [k, v] of Object.entries(g.data ?? {})) {
          if (!(k in r.fields)) continue;
          const c = comparable(k, v, r.fields[k]);
          if (!c) continue;
          const mine = Array.isArray(c[1]) ? (c[1] as string[]).join('\u0001') : c[1];
          assert.equal(mine, c[0], `${f}:${i + 1} ${k}`);
          compared++;
          // Was the raw value hex? (unquoted, even-length hex, in a field auditd escapes)
          if (new RegExp(`[ ']${k.replace(/[[\]]/g, '\\$&')}=([0-9A-F]{2})+(?: |'|$)`).test(line) && /[^0-9A-Fa-f]/.test(String(mine))) hexCompared++;
        }
      });
    }
    assert.equal(records, 65);
    console.log(`  auparse reference: ${records} records, ${compared} values compared, ${hexCompared} of them hex-encoded in the log`);
    assert.ok(compared > 450, `compared ${compared} values`);
    // cwd, exe (×2), cmd (×2), data (TTY, USER_TTY), a2 of jq, acct "(invalid user)", name.
    assert.ok(hexCompared >= 9, `hex values compared: ${hexCompared}`);
  });

  it('decodes the hex sockaddr into family, address and port', () => {
    const r = parseAuditRecord('type=SOCKADDR msg=audit(1481078424.953:688): saddr=02000050A9FEA9FE0000000000000000') as AuditRecord;
    assert.deepEqual([r.fields.family, r.fields.addr, r.fields.port], ['ipv4', '169.254.169.254', '80']);
    const r6 = parseAuditRecord('type=SOCKADDR msg=audit(1490816924.990:517644): saddr=0A000016000000000000000000000000000000000000000000000000') as AuditRecord;
    assert.deepEqual([r6.fields.family, r6.fields.addr, r6.fields.port], ['ipv6', '::', '22']);
  });
});

interface GoldenEvent {
  test_name: string;
  event: { sequence: number; process?: { exe?: string; cwd?: string; args?: string[]; pid?: string; ppid?: string; title?: string }; summary?: { action?: string } };
}

describe('audit events: go-libaudit aucoalesce reference (joined events)', { skip }, () => {
  const sets = ['rhel-7-linux-3.10.0', 'ubuntu-16.04-linux-4.13.0', 'ubuntu-16.10-linux-4.8.0', 'ubuntu-17.04-linux-4.10.0'];
  it('every record parses; joined processes give the reference executable, arguments and working directory', () => {
    let records = 0;
    let processes = 0;
    let syscalls = 0;
    for (const set of sets) {
      const doc = parseYaml(readFileSync(join(GOLIBAUDIT, 'aucoalesce/testdata', `${set}.yaml`), 'utf8')) as { tests: Record<string, string> };
      const golden = JSON.parse(readFileSync(join(GOLIBAUDIT, 'aucoalesce/testdata', `${set}.json.golden`), 'utf8')) as GoldenEvent[];
      const byName = new Map(golden.map((g) => [g.test_name, g]));
      for (const [name, text] of Object.entries(doc.tests)) {
        const lines = text.split('\n').filter((l) => l.trim());
        const { events, errors } = readLines(lines);
        assert.deepEqual(
          errors.map((e) => e.format()),
          [],
          `${set} ${name}`,
        );
        records += lines.length;
        const g = byName.get(name);
        assert.ok(g, `${set}: golden for ${name}`);
        const proc = g.event.process ?? {};
        const procs = derived(events);
        if (g.event.summary?.action === 'executed') {
          assert.equal(procs.length, 1, `${set} ${name}: one derived process`);
          const p = procs[0]!;
          assert.equal(p.fields.Image, proc.exe, `${name} Image`);
          assert.equal(p.fields.CommandLine, proc.args!.join(' '), `${name} CommandLine`);
          assert.equal(p.fields.CurrentDirectory, proc.cwd, `${name} CurrentDirectory`);
          assert.equal(p.fields.ProcessId, proc.pid, `${name} ProcessId`);
          assert.equal(p.fields.ParentProcessId, proc.ppid, `${name} ParentProcessId`);
          assert.equal(p.fields.Derived, 'auditd');
          processes++;
        } else assert.equal(procs.length, 0, `${set} ${name}: not an execve`);
        // Every SYSCALL event: the record's exe and the event's cwd are the reference's.
        const sys = events.find((e) => e.fields.type === 'SYSCALL');
        if (sys && proc.exe) {
          assert.equal(sys.fields.exe, proc.exe, `${name} exe`);
          const cwd = events.find((e) => e.fields.type === 'CWD');
          if (proc.cwd) assert.equal(cwd?.fields.cwd, proc.cwd, `${name} cwd`);
          if (proc.title && lines.some((l) => l.includes('type=PROCTITLE'))) assert.equal(events.find((e) => e.fields.type === 'PROCTITLE')?.fields.proctitle, proc.title, `${name} proctitle`);
          syscalls++;
        }
      }
    }
    assert.equal(records, 19 + 11 + 36 + 36);
    assert.equal(processes, 2);
    assert.ok(syscalls >= 12, `syscall events compared: ${syscalls}`);
  });

  it('execve.log: the 2017 reference command line and working directory', async () => {
    const { events, errors } = await readAll(join(GOLIBAUDIT, 'aucoalesce/testdata/execve.log'));
    assert.deepEqual(errors, []);
    const golden = JSON.parse(readFileSync(join(GOLIBAUDIT, 'aucoalesce/testdata/execve.log.golden'), 'utf8')) as {
      cwd: string;
      execve: { cmdline: string };
      syscall: { exe: string; name: string; key: string };
    };
    const [p] = derived(events);
    assert.ok(p);
    // The reference quotes each argument: "grep" "--color=auto" "mapping".
    assert.equal(p.fields.CommandLine, golden.execve.cmdline.replace(/"/g, ''));
    assert.equal(p.fields.CurrentDirectory, golden.cwd);
    assert.equal(p.fields.Image, golden.syscall.exe);
    const sys = events.find((e) => e.fields.type === 'SYSCALL')!;
    assert.equal(sys.fields.SYSCALL, golden.syscall.name);
    assert.equal(sys.fields.key, golden.syscall.key);
    assert.equal(events.length, 6, '5 records (EOE is not an event) and the derived process');
  });

  it('normal.log and out_of_order.log (records moved around) join into the same processes', async () => {
    const a = await readAll(join(GOLIBAUDIT, 'testdata/normal.log'));
    const b = await readAll(join(GOLIBAUDIT, 'testdata/out_of_order.log'));
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    const shape = (evs: Event[]) => derived(evs).map((e) => [e.fields.audit_id, e.fields.Image, e.fields.CommandLine, e.fields.CurrentDirectory, e.fields.ParentProcessId]);
    assert.equal(derived(a.events).length, 2);
    assert.deepEqual(shape(b.events).sort(), shape(a.events).sort());
    assert.equal(a.events.length, b.events.length);
  });
});

// Fixtures written from the documented formats (audit.rules(7), auditd.conf(5) log_format,
// the kernel's audit_log_execve_info), each with its expected result stated independently.
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

describe('audit fixtures', () => {
  it('ENRICHED records: translated names after 0x1D, upper-case, next to the raw values', () => {
    const line =
      'type=SYSCALL msg=audit(1700000000.123:4242): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=1000 pid=1001 auid=1000 uid=33 gid=33 euid=33 suid=33 fsuid=33 egid=33 sgid=33 fsgid=33 tty=(none) ses=4 comm="id" exe="/usr/bin/id" key="detect_execve_www"\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="www-data" GID="www-data" EUID="www-data" SUID="www-data" FSUID="www-data" EGID="www-data" SGID="www-data" FSGID="www-data"';
    const r = parseAuditRecord(line) as AuditRecord;
    assert.equal(r.fields.SYSCALL, 'execve');
    assert.equal(r.fields.UID, 'www-data');
    assert.equal(r.fields.AUID, 'alice');
    assert.equal(r.fields.uid, '33');
    assert.equal(r.fields.key, 'detect_execve_www');
    // SigmaHQ's web RCE rule (type SYSCALL, SYSCALL execve, euid 33) fires on it.
    const rules = collection(readFileSync(new URL('../../../data/sigma/rules/linux/auditd/syscall/lnx_auditd_web_rce.yml', import.meta.url), 'utf8')).rules;
    const engine = new Engine(rules);
    const { events } = readLines([line, 'type=EOE msg=audit(1700000000.123:4242): ']);
    assert.equal(events.filter((e) => engine.match(e).length).length, 1);
  });

  it('RAW records: the syscall name is added as ENRICHED logs carry it (x86_64, i386, aarch64)', () => {
    const name = (arch: string, nr: number) => (parseAuditRecord(`type=SYSCALL msg=audit(1.000:1): arch=${arch} syscall=${nr} success=yes exe="/x"`) as AuditRecord).fields.SYSCALL;
    assert.equal(name('c000003e', 59), 'execve');
    assert.equal(name('c000003e', 319), 'memfd_create');
    assert.equal(name('40000003', 11), 'execve');
    assert.equal(name('c00000b7', 221), 'execve');
    assert.equal(name('c00000b7', 281), 'execveat');
    assert.equal(name('deadbeef', 59), undefined);
  });

  it('hex arguments, names, proctitle and several keys decode; (null) is null', () => {
    const r = parseAuditRecord(`type=EXECVE msg=audit(1.000:1): argc=3 a0="sh" a1="-c" a2=${hex('echo "hi there" > /tmp/x y')}`) as AuditRecord;
    assert.equal(r.fields.a2, 'echo "hi there" > /tmp/x y');
    const p = parseAuditRecord(`type=PROCTITLE msg=audit(1.000:1): proctitle=${hex('bash\0-c\0id; whoami')}`) as AuditRecord;
    assert.equal(p.fields.proctitle, 'bash -c id; whoami');
    const s = parseAuditRecord(`type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=2 key=${hex('one\x01two')} comm=${hex('naïve')}`) as AuditRecord;
    assert.deepEqual(s.fields.key, ['one', 'two']);
    assert.equal(s.fields.comm, 'naïve');
    const n = parseAuditRecord('type=CONFIG_CHANGE msg=audit(1.000:1): auid=0 key=(null) res=1') as AuditRecord;
    assert.equal(n.fields.key, null);
    // SYSCALL register arguments are hex numbers, not strings: never decoded.
    const a = parseAuditRecord('type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=135 a0=40000 a1=4142') as AuditRecord;
    assert.equal(a.fields.a0, '40000');
    assert.equal(a.fields.a1, '4142');
  });

  it('node= prefixes: the node names the host and keeps events of two hosts apart', () => {
    const lines = [
      'node=web1 type=SYSCALL msg=audit(1700000000.000:7): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=10 auid=0 uid=0 ses=1 comm="ls" exe="/bin/ls"',
      'node=web2 type=SYSCALL msg=audit(1700000000.000:7): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=20 auid=0 uid=0 ses=1 comm="id" exe="/usr/bin/id"',
      'node=web1 type=EXECVE msg=audit(1700000000.000:7): argc=2 a0="ls" a1="-la"',
      'node=web2 type=EXECVE msg=audit(1700000000.000:7): argc=1 a0="id"',
      'node=web2 type=EOE msg=audit(1700000000.000:7): ',
      'node=web1 type=EOE msg=audit(1700000000.000:7): ',
    ];
    const procs = derived(readLines(lines).events);
    assert.deepEqual(
      procs.map((p) => [p.fields.Computer, p.fields.Image, p.fields.CommandLine]),
      [
        ['web2', '/usr/bin/id', 'id'],
        ['web1', '/bin/ls', 'ls -la'],
      ],
    );
  });

  it('split arguments (a1[0]=… across several EXECVE records) are rejoined', () => {
    const long = 'A'.repeat(7500) + 'B'.repeat(7500) + 'C'.repeat(100);
    const h = hex(long);
    const lines = [
      'type=SYSCALL msg=audit(1700000001.000:9): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=30 auid=1000 uid=1000 ses=2 comm="python3" exe="/usr/bin/python3.11"',
      `type=EXECVE msg=audit(1700000001.000:9): argc=3 a0="python3" a1_len=${long.length} a1[0]=${h.slice(0, 15000)}`,
      `type=EXECVE msg=audit(1700000001.000:9): a1[1]=${h.slice(15000, 30000)}`,
      `type=EXECVE msg=audit(1700000001.000:9): a1[2]=${h.slice(30000)} a2="tail"`,
      'type=CWD msg=audit(1700000001.000:9): cwd="/tmp"',
      'type=EOE msg=audit(1700000001.000:9): ',
    ];
    const { events } = readLines(lines);
    const execve = events.filter((e) => e.fields.type === 'EXECVE');
    assert.equal(execve.length, 1, 'the three EXECVE records are one event');
    assert.equal(execve[0]!.fields.a1, long);
    assert.equal(execve[0]!.fields.a2, 'tail');
    const [p] = derived(events);
    assert.equal(p!.fields.CommandLine, `python3 ${long} tail`);
    assert.equal(p!.fields.CurrentDirectory, '/tmp');
  });

  it('interleaved events join within the window; parents come from the process table', () => {
    const lines = [
      // bash (pid 100) runs; its exec is seen first.
      'type=SYSCALL msg=audit(1700000100.000:20): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=100 auid=1000 uid=1000 ses=3 comm="bash" exe="/usr/bin/bash"',
      'type=EXECVE msg=audit(1700000100.000:20): argc=2 a0="bash" a1="-i"',
      // Two children whose records interleave, the second one's EOE first.
      'type=SYSCALL msg=audit(1700000101.000:21): arch=c000003e syscall=59 success=yes exit=0 ppid=100 pid=101 auid=1000 uid=1000 ses=3 comm="curl" exe="/usr/bin/curl"',
      'type=SYSCALL msg=audit(1700000101.001:22): arch=c000003e syscall=59 success=yes exit=0 ppid=100 pid=102 auid=1000 uid=0 ses=3 comm="id" exe="/usr/bin/id"',
      'type=EXECVE msg=audit(1700000101.001:22): argc=1 a0="id"',
      'type=EXECVE msg=audit(1700000101.000:21): argc=2 a0="curl" a1="http://x/a.sh"',
      'type=CWD msg=audit(1700000101.001:22): cwd="/root"',
      'type=EOE msg=audit(1700000101.001:22): ',
      'type=CWD msg=audit(1700000101.000:21): cwd="/home/u"',
      'type=EOE msg=audit(1700000101.000:21): ',
      'type=EOE msg=audit(1700000100.000:20): ',
    ];
    const { events, stream } = readLines(lines);
    const procs = derived(events);
    assert.deepEqual(
      procs.map((p) => [p.fields.Image, p.fields.CommandLine, p.fields.CurrentDirectory, p.fields.ParentImage, p.fields.ParentCommandLine, p.fields.User]),
      [
        ['/usr/bin/id', 'id', '/root', undefined, undefined, 'root'],
        ['/usr/bin/curl', 'curl http://x/a.sh', '/home/u', undefined, undefined, '1000'],
        ['/usr/bin/bash', 'bash -i', undefined, undefined, undefined, '1000'],
      ],
    );
    assert.equal(stream.joiner.stats.late, 0);
    // With the parent's EOE first, its children learn their parent.
    const ordered = [lines[0]!, lines[1]!, lines[10]!, ...lines.slice(2, 10)];
    const again = derived(readLines(ordered).events);
    assert.deepEqual(
      again.slice(1).map((p) => [p.fields.ParentImage, p.fields.ParentCommandLine]),
      [
        ['/usr/bin/bash', 'bash -i'],
        ['/usr/bin/bash', 'bash -i'],
      ],
    );
  });

  it('counts what it cannot join: a late record, an EXECVE without its SYSCALL', () => {
    const lines = [
      'type=SYSCALL msg=audit(1700000200.000:30): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=5 auid=0 uid=0 ses=1 comm="a" exe="/a"',
      'type=EOE msg=audit(1700000200.000:30): ',
      'type=EXECVE msg=audit(1700000200.000:30): argc=1 a0="a"',
      'type=EXECVE msg=audit(1700000300.000:31): argc=1 a0="b"',
      'type=EOE msg=audit(1700000300.000:31): ',
    ];
    const { events, errors, stream } = readLines(lines);
    assert.equal(stream.joiner.stats.late, 1);
    assert.equal(stream.joiner.stats.unjoined.execveWithoutArguments, 1);
    assert.equal(stream.joiner.stats.unjoined.argumentsWithoutSyscall, 1);
    assert.equal(derived(events).length, 0);
    assert.equal(events.length, 3, 'every record is still an event');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /1 execve events without their EXECVE record; 1 EXECVE records without their SYSCALL record; 1 records that arrived after/);
  });

  it('bounded: pending events beyond the cap are completed early and counted', () => {
    const j = new AuditJoiner({ maxPending: 8, serialWindow: 1e9, timeWindowSeconds: 1e9 });
    let out = 0;
    for (let i = 0; i < 100; i++) out += j.push(parseAuditRecord(`type=SYSCALL msg=audit(1.000:${i}): arch=c000003e syscall=2 pid=1 exe="/x"`) as AuditRecord, { file: 't' }).length;
    assert.ok(j.pendingEvents <= 8);
    assert.equal(j.stats.completedEarly, 92);
    out += j.flush().length;
    assert.equal(out, 100);
  });

  it('the record type matches case-insensitively, as SigmaHQ rules write it (type: execve)', () => {
    const rules = collection(readFileSync(new URL('../../../data/sigma/rules/linux/auditd/execve/lnx_auditd_data_compressed.yml', import.meta.url), 'utf8')).rules;
    const engine = new Engine(rules);
    const { events } = readLines(['type=EXECVE msg=audit(1.000:1): argc=3 a0="tar" a1="-czf" a2="/tmp/x.tgz"', 'type=EOE msg=audit(1.000:1): ']);
    assert.equal(events.filter((e) => engine.match(e).length).length, 1);
  });

  it('reads rotated, gzipped audit logs by content', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = mkdtempSync(join(tmpdir(), 'fb-audit-'));
    const file = join(dir, 'audit.log.2.gz');
    writeFileSync(
      file,
      gzipSync(
        [
          'type=EXECVE msg=audit(1700000000.000:1): argc=1 a0="id"',
          'type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 success=yes exit=0 pid=2 ppid=1 uid=0 auid=0 ses=1 exe="/usr/bin/id"',
          '',
        ].join('\n'),
      ),
    );
    const { events, errors } = await readAll(file);
    assert.deepEqual(errors, []);
    assert.equal(derived(events).length, 1);
    assert.equal(derived(events)[0]!.fields.Image, '/usr/bin/id');
  });
});
