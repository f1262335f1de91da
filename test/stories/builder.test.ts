/** StoryBuilder on hand-made detections: joining, evidence for spread, patient zero, earning a place, caps, outputs. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FieldValue } from '../../src/events/event.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import type { Level } from '../../src/sigma/model.js';
import { addressClaims, normaliseIp } from '../../src/events/addresses.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import { accountsOf } from '../../src/stories/entities.js';
import { detectionFact, type RoutineFact } from '../../src/stories/facts.js';
import { defaultDomain } from '../../src/events/domain.js';
import type { Story } from '../../src/stories/model.js';
import { renderStoriesText, StoriesJsonlWriter } from '../../src/output/stories.js';
import { detection } from '../output/fixtures.js';
import { rng } from '../../src/core/rng.js';
import { contributorsOn } from './contributors.js';

const T0 = Date.UTC(2024, 2, 1, 10, 0, 0);
const at = (min: number): string => new Date(T0 + min * 60_000).toISOString();

let n = 0;
/** A detection at minute `min` on `computer` with only the given event fields. */
function det(
  min: number,
  computer: string | null,
  level: Level,
  fields: Record<string, FieldValue> = {},
  tags: string[] = ['attack.execution'],
  title = `Rule ${level}`,
  over: Partial<DetectionRecord> = {},
): DetectionRecord {
  n++;
  const channel = typeof fields.Channel === 'string' ? { channel: fields.Channel, provider: null } : {};
  return detection(
    { timestamp: at(min), computer, level, recordId: n, eventId: typeof fields.EventID === 'number' ? fields.EventID : 1, event: { Computer: computer, ...fields }, matched: {}, ...channel, ...over },
    { id: `rule-${title}`, title, level, tags },
  );
}

/** Build stories as a hunt does: what every detection says about routine is learnt first (the workers send it), then the detections in time order. */
function build(ds: DetectionRecord[], learn: [string, string, string?][] = [], opts = {}): { stories: Story[]; b: StoryBuilder } {
  const b = new StoryBuilder(opts);
  for (const [ip, host, when] of learn) b.learnAddress(ip, host, when);
  for (const d of ds) {
    const f = d.rule.kind === 'sigma' ? detectionFact(d.rule.id ?? d.rule.title, d.event, d.computer, Date.parse(d.timestamp!), defaultDomain()) : undefined;
    if (f) b.learnRoutine([f]);
  }
  for (const d of [...ds].sort((x, y) => (x.timestamp! < y.timestamp! ? -1 : 1))) b.add(d);
  return { stories: b.finish(), b };
}

/** A pass-the-hash network logon (NTLM without a session key): suspicious in itself (data/domain.yml). */
const PTH = { LogonProcessName: 'NtLmSsp', AuthenticationPackageName: 'NTLM', KeyLength: 0 };

const LOGON3 = (ip: string, ws: string, user = 'Administrator', extra: Record<string, FieldValue> = {}): Record<string, FieldValue> => ({
  EventID: 4624,
  Channel: 'Security',
  LogonType: 3,
  IpAddress: ip,
  WorkstationName: ws,
  TargetUserName: user,
  TargetDomainName: 'CORP',
  ...extra,
});

describe('addressClaims', () => {
  it('reads the local side of Sysmon 3, the client of 4624/4625, the target of 4648 and outbound 5156', () => {
    const sysmon = 'Microsoft-Windows-Sysmon/Operational';
    assert.deepEqual(addressClaims({ EventID: 3, Channel: sysmon, Initiated: true, SourceIp: '10.0.0.5', DestinationIp: '10.0.0.9' }, 'WS01.corp.local'), [
      { ip: '10.0.0.5', host: 'WS01.corp.local' },
    ]);
    assert.deepEqual(addressClaims({ EventID: 3, Channel: sysmon, Initiated: 'false', SourceIp: '10.0.0.5', DestinationIp: '10.0.0.9' }, 'FS01'), [{ ip: '10.0.0.9', host: 'FS01' }]);
    assert.deepEqual(addressClaims({ EventID: 4624, Channel: 'Security', IpAddress: '10.0.0.5', WorkstationName: 'WS01' }, 'FS01'), [{ ip: '10.0.0.5', host: 'WS01' }]);
    assert.deepEqual(addressClaims({ EventID: '4625', Channel: 'Security', IpAddress: '::ffff:10.0.0.6', WorkstationName: 'WS02' }, 'FS01'), [{ ip: '10.0.0.6', host: 'WS02' }]);
    assert.deepEqual(addressClaims({ EventID: 4648, Channel: 'Security', IpAddress: '10.0.0.9', TargetServerName: 'FS01.corp.local' }, 'WS01'), [{ ip: '10.0.0.9', host: 'FS01.corp.local' }]);
    assert.deepEqual(addressClaims({ EventID: 5156, Channel: 'Security', Direction: '%%14593', SourceAddress: '10.0.0.7' }, 'SRV1'), [{ ip: '10.0.0.7', host: 'SRV1' }]);
    assert.deepEqual(addressClaims({ EventID: 5156, Channel: 'Security', Direction: '%%14592', SourceAddress: '10.0.0.7' }, 'SRV1'), []);
  });

  it('claims nothing for placeholders, loopback and link-local addresses, or other events', () => {
    for (const [ip, ws] of [
      ['-', 'WS01'],
      ['127.0.0.1', 'WS01'],
      ['::1', 'WS01'],
      ['fe80::1c2b:3d4e', 'WS01'],
      ['10.0.0.5', '-'],
      ['10.0.0.5', ''],
    ]) {
      assert.deepEqual(addressClaims({ EventID: 4624, Channel: 'Security', IpAddress: ip!, WorkstationName: ws! }, 'FS01'), [], `${ip} ${ws}`);
    }
    assert.deepEqual(addressClaims({ EventID: 4624, Channel: 'Application', IpAddress: '10.0.0.5', WorkstationName: 'WS01' }, 'FS01'), []);
    assert.deepEqual(addressClaims({ EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', SourceIp: '10.0.0.5' }, 'WS01'), []);
    assert.deepEqual(addressClaims({}, null), []);
    assert.equal(normaliseIp('0.0.0.0'), undefined);
    assert.equal(normaliseIp('::'), undefined);
    assert.equal(normaliseIp('169.254.3.4'), undefined);
    assert.equal(normaliseIp(' 10.1.2.3 '), '10.1.2.3');
    assert.equal(normaliseIp('2001:DB8::5'), '2001:db8::5');
  });
});

describe('accounts', () => {
  it('normalises domains, skips service identities and a machine account on its own host', () => {
    assert.deepEqual(accountsOf({ TargetUserName: 'Alice', TargetDomainName: 'corp.local', SubjectUserName: 'WS01$', SubjectDomainName: 'CORP' }, 'ws01', defaultDomain()), [
      { key: 'alice', display: 'CORP\\Alice' },
    ]);
    assert.deepEqual(accountsOf({ SubjectUserName: 'WS01$', SubjectDomainName: 'CORP' }, 'dc01', defaultDomain()), [{ key: 'ws01$', display: 'CORP\\WS01$' }]);
    assert.deepEqual(accountsOf({ User: 'NT AUTHORITY\\SYSTEM' }, 'ws01', defaultDomain()), []);
    assert.deepEqual(accountsOf({ TargetUserName: 'ANONYMOUS LOGON', TargetDomainName: 'NT AUTHORITY' }, 'ws01', defaultDomain()), []);
    assert.deepEqual(accountsOf({ User: 'Window Manager\\DWM-1' }, 'ws01', defaultDomain()), []);
    assert.deepEqual(accountsOf({ TargetUserName: 'bob@corp.local' }, 'ws01', defaultDomain()), [{ key: 'bob', display: 'CORP\\bob' }]);
  });
});

describe('StoryBuilder', () => {
  it('joins across hosts through a shared account and draws learnt-address spread', () => {
    const ds = [
      det(0, 'WS01.corp.local', 'high', { User: 'CORP\\alice' }, ['attack.credential-access', 'attack.t1003.001'], 'LSASS dump'),
      det(10, 'FS01.corp.local', 'medium', LOGON3('10.0.0.5', '-', 'alice', { EventID: 4624 }), ['attack.lateral-movement', 'attack.t1550.002'], 'Pass the hash'),
      det(11, 'FS01.corp.local', 'high', { EventID: 7045, ServiceName: 'PSEXESVC', ImagePath: '%SystemRoot%\\PSEXESVC.exe' }, ['attack.execution', 'attack.t1569.002'], 'PsExec service'),
      det(30, 'DC01.corp.local', 'medium', { EventID: 7045, ServiceName: 'PSEXESVC', ImagePath: '%SystemRoot%\\PSEXESVC.exe' }, ['attack.execution', 'attack.t1569.002'], 'PsExec service'),
      det(29, 'DC01.corp.local', 'medium', LOGON3('10.0.0.5', 'WS01', 'Administrator'), ['attack.lateral-movement', 'attack.t1550.002'], 'Pass the hash'),
    ];
    const { stories } = build(ds, [['10.0.0.5', 'WS01']]);
    assert.equal(stories.length, 1);
    const s = stories[0]!;
    assert.deepEqual(
      s.hosts.map((h) => h.computer),
      ['WS01.corp.local', 'FS01.corp.local', 'DC01.corp.local'],
    );
    assert.equal(s.patientZero?.computer, 'WS01.corp.local');
    assert.deepEqual(
      s.spread.map((e) => [e.from, e.to, e.at, e.technique.id]),
      [
        ['WS01.corp.local', 'FS01.corp.local', at(10), 'T1569.002'],
        ['WS01.corp.local', 'DC01.corp.local', at(29), 'T1569.002'],
      ],
    );
    assert.deepEqual(
      s.spread[0]!.detections.map((d) => d.title),
      ['Pass the hash', 'PsExec service'],
    );
    assert.deepEqual(
      s.tactics.map((t) => t.short),
      ['execution', 'credential-access', 'lateral-movement'],
    );
    assert.deepEqual(s.accounts, ['CORP\\Administrator', 'CORP\\alice']);
    assert.match(
      s.narrative,
      /^It started on WS01 at 10:00 UTC on 2024-03-01 with LSASS dump\. From there it reached FS01 \(10:10, remote service install; after LSASS dump on WS01 at 10:00 UTC\) and DC01 \(10:29, remote service install; after LSASS dump on WS01 at 10:00 UTC\)\./,
    );
    assert.deepEqual(
      s.spread.map((e) => e.evidence),
      ['after LSASS dump on WS01 at 10:00 UTC', 'after LSASS dump on WS01 at 10:00 UTC'],
    );
    assert.match(s.patientZero.why, /^first suspicious activity: LSASS dump at 2024-03-01 10:00 UTC; not reached from another host of the story before$/);
    assert.match(s.earned, /^suspicious activity on WS01 and FS01, joined by movement with evidence/);
    assert.match(s.narrative, /Execution on FS01 at 10:11 \(PsExec service\)\. Accounts involved: CORP\\Administrator, CORP\\alice\.$/);
    assert.equal(s.detections, 5);
    assert.deepEqual(s.levels, { informational: 0, low: 0, medium: 3, high: 2, critical: 0 });
    assert.match(s.id, /^st-[0-9a-f]{12}$/);
    assert.equal(build(ds, [['10.0.0.5', 'WS01']]).stories[0]!.id, s.id, 'stable id');
  });

  it('keeps an unknown source address as a node and names it as the way in', () => {
    const ds = [
      det(0, 'WS01', 'medium', LOGON3('203.0.113.9', '-', 'svc'), ['attack.initial-access', 'attack.t1133'], 'Public logon'),
      det(5, 'WS01', 'high', { User: 'CORP\\svc' }, ['attack.credential-access'], 'Dump'),
    ];
    const s = build(ds).stories[0]!;
    assert.deepEqual(
      s.spread.map((e) => [e.from, e.fromKind, e.to]),
      [['203.0.113.9', 'ip', 'WS01']],
    );
    assert.equal(s.patientZero?.computer, 'WS01');
    assert.equal(s.patientZero?.entry?.from, '203.0.113.9');
    assert.deepEqual(s.sourceIps, ['203.0.113.9']);
    assert.match(s.narrative, /from 203\.0\.113\.9/);
  });

  it('picks as patient zero a source host with no detections of its own', () => {
    const ds = [
      det(10, 'FS01', 'high', LOGON3('10.0.0.5', '-', 'Administrator', PTH), ['attack.lateral-movement', 'attack.t1021.002'], 'Admin share'),
      det(20, 'DC01', 'high', LOGON3('10.0.0.5', '-', 'Administrator', PTH), ['attack.lateral-movement', 'attack.t1021.002'], 'Admin share'),
    ];
    const s = build(ds, [['10.0.0.5', 'WS07.corp.local']]).stories[0]!;
    assert.equal(s.patientZero?.computer, 'WS07.corp.local');
    assert.match(s.patientZero.why, /^first suspicious activity: moved to FS01 \(pass-the-hash logon \(NTLM without a session key\)\) at 2024-03-01 10:10 UTC/);
    assert.deepEqual(
      s.hosts.map((h) => [h.computer, h.detections]),
      [
        ['WS07.corp.local', 0],
        ['FS01', 1],
        ['DC01', 1],
      ],
    );
  });

  it('resolves an address learnt after the detection when the story is finished', () => {
    const b = new StoryBuilder();
    b.add(det(10, 'FS01', 'critical', LOGON3('10.0.0.5', '-', 'Administrator', PTH), ['attack.lateral-movement'], 'Logon'));
    b.learnAddress('10.0.0.5', 'WS09', at(0));
    const s = b.finish()[0]!;
    assert.deepEqual(
      s.spread.map((e) => [e.from, e.fromKind, e.to]),
      [['WS09', 'host', 'FS01']],
    );
  });

  it('uses the latest claim for an address handed to another host later (DHCP)', () => {
    const ds = [det(120, 'FS01', 'high', LOGON3('10.0.0.5', '-', 'Administrator', PTH), ['attack.lateral-movement'], 'Logon')];
    const s = build(ds, [
      ['10.0.0.5', 'WS01', at(0)],
      ['10.0.0.5', 'WS02', at(60)],
      ['10.0.0.5', 'WS03', at(600)],
    ]).stories[0]!;
    assert.equal(s.spread[0]!.from, 'WS02');
  });

  it('draws spread from correlation contributors (one address, many targets)', () => {
    const targets = ['SRV1', 'SRV2', 'SRV3', 'SRV4', 'SRV5', 'SRV6'];
    const corr = det(12, null, 'high', {}, ['attack.lateral-movement', 'attack.t1021.002'], 'Network logons to many hosts', {
      rule: { id: 'corr-1', title: 'Network logons to many hosts', level: 'high', status: 'test', tags: ['attack.lateral-movement', 'attack.t1021.002'], file: 'c.yml', kind: 'correlation' },
      eventId: null,
      correlation: {
        type: 'value_count',
        group: { IpAddress: '10.0.0.5' },
        value: 6,
        windowStart: at(0),
        windowEnd: at(10),
        contributors: contributorsOn(targets, { at: (i) => at(i * 2), ruleId: 'r', ruleTitle: 'Network logon', fields: () => ({ EventID: 4624, LogonType: 3, TargetUserName: 'adm' }) }),
        omitted: 0,
      },
    });
    const withOwner = build([corr], [['10.0.0.5', 'WS09']]).stories;
    assert.equal(withOwner.length, 1);
    const s = withOwner[0]!;
    assert.equal(s.correlations, 1);
    assert.equal(s.patientZero?.computer, 'WS09');
    assert.deepEqual(
      s.spread.map((e) => [e.from, e.to, e.at]),
      targets.map((t, i) => ['WS09', t, at(i * 2)]),
    );
    assert.equal(s.spread[0]!.technique.id, 'T1021.002');
    assert.deepEqual(
      s.hosts.map((h) => h.computer),
      ['WS09', ...targets],
    );
    // Without an owner the address itself is the source, and the first target patient zero.
    const bare = build([corr]).stories[0]!;
    assert.deepEqual(new Set(bare.spread.map((e) => e.from)), new Set(['10.0.0.5']));
    assert.equal(bare.patientZero?.computer, 'SRV1');
  });

  it('a spray from a host of the evidence is one host that tried many: the hosts only tried are edges, not hosts of the story', () => {
    // A sweep of failed network logons with a different guessed name on each host (a scanner's
    // probe, or an attacker's): the source is the story's host; the hosts that only refused a
    // logon were tried, and are drawn as attempts.
    // A host the source then reaches by a pass-the-hash logon is a host of the story.
    const targets = Array.from({ length: 12 }, (_, i) => `WS${String(i + 1).padStart(2, '0')}`);
    const spray = (ip: string) =>
      det(30, null, 'high', {}, ['attack.credential-access', 'attack.t1110.003'], 'Password spraying', {
        rule: { id: 'corr-spray', title: 'Password spraying', level: 'high', status: 'test', tags: ['attack.credential-access', 'attack.t1110.003'], file: 'c.yml', kind: 'correlation' },
        eventId: null,
        correlation: {
          type: 'value_count',
          group: { IpAddress: ip },
          value: targets.length,
          windowStart: at(0),
          windowEnd: at(24),
          contributors: contributorsOn(targets, {
            at: (i) => at(i * 2),
            ruleId: 'r-failed',
            ruleTitle: 'Failed remote logon',
            firstRecord: 100,
            fields: (i) => ({ EventID: 4625, Channel: 'Security', LogonType: 3, TargetUserName: `probe${i}`, IpAddress: ip }),
          }),
          omitted: 0,
        },
      });
    const inside = build([spray('10.0.0.5')], [['10.0.0.5', 'SCAN01']]).stories;
    assert.equal(inside.length, 1);
    const s = inside[0]!;
    assert.deepEqual(
      s.hosts.map((h) => h.computer),
      ['SCAN01'],
    );
    assert.equal(s.patientZero?.computer, 'SCAN01');
    assert.equal(s.spread.length, targets.length);
    assert.ok(s.spread.every((e) => e.from === 'SCAN01' && e.attempt === true));
    assert.deepEqual(s.spread.map((e) => e.to).sort(), [...targets].sort());
    assert.match(s.narrative, /tried 12 hosts/);

    const reached = det(45, 'WS05', 'medium', { ...LOGON3('10.0.0.5', 'SCAN01', 'Administrator', PTH) }, ['attack.lateral-movement', 'attack.t1550.002'], 'Pass the hash');
    const grown = build([spray('10.0.0.5'), reached], [['10.0.0.5', 'SCAN01']]).stories;
    const top = grown.find((x) => x.hosts.some((h) => h.computer === 'SCAN01'))!;
    assert.deepEqual(top.hosts.map((h) => h.computer).sort(), ['SCAN01', 'WS05']);
    assert.ok(top.spread.some((e) => e.to === 'WS05' && !e.attempt));

    // Tried from an outside address, the hosts tried are the story's hosts: they are the ones exposed.
    const outside = build([spray('203.0.113.7')]).stories;
    assert.equal(outside.length, 1);
    assert.deepEqual(outside[0]!.hosts.map((h) => h.computer).sort(), [...targets].sort());
  });

  it("a correlation's contributor the baselines explain joins nothing: an administrator's install counted with an attacker's", () => {
    const DAY = 86_400_000;
    const facts: RoutineFact[] = [];
    // Three days before: every workstation reached by its user, and DEPLOY01 reaching 20 of them every night (a management host).
    for (let d = 3; d >= 1; d--) {
      for (let i = 0; i < 40; i++) facts.push({ kind: 'access', t: T0 - d * DAY + i * 1000, source: `ip:10.0.9.${i}`, target: `ws${i}`, account: `user${i}` });
      for (let i = 0; i < 20; i++) facts.push({ kind: 'access', t: T0 - d * DAY - 9 * 3_600_000 + i * 60_000, source: 'h:deploy01', target: `ws${i}`, account: 'svc_deploy' });
    }
    const service = (min: number, host: string) =>
      det(min, host, 'medium', { EventID: 7045, Channel: 'System', ServiceName: 'updsvc', ImagePath: 'C:\\Windows\\updsvc.exe' }, ['attack.persistence'], 'Service installed');
    const attacker = ['SRV1', 'SRV2', 'SRV3'];
    const admin = ['SRV4', 'SRV5'];
    const contributors = [...attacker.map((h, i) => [h, 5.5 + i] as const), ...admin.map((h, i) => [h, 8.5 + i] as const)];
    const corr = det(20, null, 'high', {}, ['attack.lateral-movement', 'attack.t1021.002'], 'Same service on many hosts', {
      rule: { id: 'corr-svc', title: 'Same service on many hosts', level: 'high', status: 'test', tags: ['attack.lateral-movement', 'attack.t1021.002'], file: 'c.yml', kind: 'correlation' },
      eventId: null,
      correlation: {
        type: 'value_count',
        group: { ServiceName: 'updsvc' },
        value: contributors.length,
        windowStart: at(5.5),
        windowEnd: at(9.5),
        contributors: contributors.map(([c, min], i) => ({
          timestamp: at(min),
          computer: c,
          ruleId: 'r-svc',
          ruleTitle: 'Service installed',
          recordId: 300 + i,
          sourceFile: 'x',
          fields: { EventID: 7045, Channel: 'System', ServiceName: 'updsvc' },
        })),
        omitted: 0,
      },
    });
    const ds = [
      det(
        0,
        'WS05',
        'high',
        { Image: 'C:\\Windows\\System32\\rundll32.exe', CommandLine: 'rundll32.exe comsvcs.dll MiniDump 652 l.dmp full', User: 'CORP\\eve' },
        ['attack.credential-access'],
        'LSASS dump',
      ),
      // The attacker's pass-the-hash logons from WS05, each followed by the service.
      ...attacker.map((h, i) => det(5 + i, h, 'medium', LOGON3('10.0.1.5', 'WS05', 'Administrator', PTH), ['attack.lateral-movement', 'attack.t1550.002'], 'Pass the hash')),
      // The distribution server's logons (a low rule fires on them), each followed by the same service name.
      ...admin.map((h, i) => det(8 + i, h, 'low', LOGON3('10.0.0.50', 'DEPLOY01', 'svc_deploy'), ['attack.lateral-movement'], 'Remote logon')),
      ...contributors.map(([h, min]) => service(min, h)),
      corr,
    ];
    const b = new StoryBuilder();
    b.learnRoutine(facts);
    b.learnAddress('10.0.1.5', 'WS05');
    b.learnAddress('10.0.0.50', 'DEPLOY01');
    for (const d of [...ds].sort((x, y) => (x.timestamp! < y.timestamp! ? -1 : 1))) b.add(d);
    const stories = b.finish();
    const top = stories.find((s) => s.hosts.some((h) => h.computer === 'WS05'))!;
    assert.ok(top, stories.map((s) => s.hosts.map((h) => h.computer).join(',')).join(' | '));
    assert.deepEqual(top.hosts.map((h) => h.computer).sort(), ['SRV1', 'SRV2', 'SRV3', 'WS05']);
    assert.equal(top.patientZero?.computer, 'WS05');
    assert.ok(!stories.some((s) => s.hosts.some((h) => admin.includes(h.computer))), stories.map((s) => s.hosts.map((h) => h.computer).join(',')).join(' | '));
  });

  it('joins hosts named by a correlation on another field (same service on five hosts)', () => {
    const hosts = ['A', 'B', 'C', 'D', 'E'];
    const corr = det(20, null, 'medium', {}, ['attack.persistence'], 'Same service', {
      rule: { id: 'c2', title: 'Same service', level: 'medium', status: 'test', tags: ['attack.persistence'], file: 'c.yml', kind: 'correlation' },
      correlation: {
        type: 'value_count',
        group: { ServiceName: 'updsvc' },
        value: 5,
        windowStart: at(0),
        windowEnd: at(20),
        contributors: hosts.map((c, i) => ({ timestamp: at(i), computer: c, ruleId: 'r', ruleTitle: 'Service', recordId: i, sourceFile: 'x', fields: { EventID: 7045, ServiceName: 'updsvc' } })),
        omitted: 0,
      },
    });
    const later = det(50, 'C', 'high', { Image: 'x' }, ['attack.impact'], 'Wipe');
    const { stories } = build([corr, later]);
    assert.equal(stories.length, 1);
    assert.deepEqual(
      stories[0]!.hosts.map((h) => h.computer),
      hosts,
    );
    assert.equal(stories[0]!.detections, 2);
  });

  it('an administrator fanning out from changing jump hosts is routine; the same account after suspicious activity on its source, or by pass-the-hash, is not', () => {
    const DAY = 86_400_000;
    const facts: RoutineFact[] = [];
    // Three days before: every workstation reached by its user; the administrator reaching 4 servers a day from another jump host each day (none of them a management host).
    for (let d = 3; d >= 1; d--) {
      for (let i = 0; i < 40; i++) facts.push({ kind: 'access', t: T0 - d * DAY + i * 1000, source: `ip:10.0.9.${i}`, target: `ws${i}`, account: `user${i}` });
      for (let i = 0; i < 4; i++) facts.push({ kind: 'access', t: T0 - d * DAY + 3_600_000 + i * 60_000, source: `h:jump0${d}`, target: `srv${(d * 4 + i) % 12}`, account: 'adm_alice' });
    }
    const sysmon = 'Microsoft-Windows-Sysmon/Operational';
    const proc = (cmd: string, guid: number) => ({
      EventID: 1,
      Channel: sysmon,
      User: 'CORP\\adm_alice',
      Image: `C:\\Windows\\System32\\${cmd.split(' ')[0]}`,
      CommandLine: cmd,
      ProcessGuid: `{bbbbbbbb-0000-0000-0000-00000000000${guid}}`,
    });
    const run = (ds: DetectionRecord[]) => {
      const b = new StoryBuilder();
      b.learnRoutine(facts);
      for (const d of ds) {
        const f = detectionFact(d.rule.id ?? d.rule.title, d.event, d.computer, Date.parse(d.timestamp!), defaultDomain());
        if (f) b.learnRoutine([f]);
      }
      for (const d of ds) b.add(d);
      return { stories: b.finish(), routine: b.stats().routine };
    };
    // Her PsExec and a remote task from a jump host: two tactics by one account, and routine.
    const admin = run([
      det(0, 'JUMP01', 'high', proc('PsExec64.exe \\\\SRV05 -accepteula -s cmd /c hostname', 1), ['attack.execution'], 'PsExec escalation'),
      det(60, 'JUMP01', 'high', proc('schtasks.exe /create /s SRV06 /ru SYSTEM /tn Cleanup /tr c:\\ops\\clean.cmd', 2), ['attack.persistence'], 'Remote task'),
    ]);
    assert.equal(admin.stories.length, 0, admin.stories.map((s) => s.earned).join(' | '));
    assert.equal(admin.routine, 2);
    // The same account from a workstation right after an LSASS dump there: spread with evidence.
    const attacker = run([
      det(0, 'WS05', 'high', { ...proc('rundll32.exe comsvcs.dll MiniDump 652 C:\\Windows\\Temp\\l.dmp full', 3) }, ['attack.credential-access'], 'LSASS dump'),
      det(10, 'WS05', 'high', proc('PsExec64.exe \\\\SRV07 -accepteula -s cmd /c hostname', 4), ['attack.execution'], 'PsExec escalation'),
      det(12, 'SRV07', 'medium', { User: 'CORP\\adm_alice' }, ['attack.discovery'], 'Recon'),
    ]);
    assert.equal(attacker.stories.length, 1);
    assert.deepEqual(
      attacker.stories[0]!.spread.map((e) => [e.from, e.to, e.evidence]),
      [['WS05', 'SRV07', 'after LSASS dump on WS05 at 10:00 UTC']],
    );
    // The launcher runs as the desktop user (mstsc, Invoke-Command): the access the administrator's account made from there that day is routine.
    facts.push({ kind: 'access', t: T0 - 3_600_000, source: 'h:ws10', target: 'jump01', account: 'adm_alice' });
    const desktop = (min: number, record: number, title: string, tactic: string, cmd: string) =>
      det(min, 'WS10', 'high', { EventID: 1, Channel: sysmon, User: 'CORP\\alice', Image: 'C:\\Windows\\System32\\mstsc.exe', CommandLine: cmd }, [`attack.${tactic}`], title, { recordId: record });
    const own = run([desktop(0, 501, 'RDP client', 'lateral-movement', 'mstsc.exe /v:JUMP01'), desktop(60, 502, 'Run key', 'persistence', 'setup.exe')]);
    assert.equal(own.stories.length, 0, own.stories.map((s) => s.earned).join(' | '));
    // An administrator's own tools at work on the jump host before her move do not make it the foothold; someone else's suspicious activity there does.
    const tool = (user: string) =>
      det(
        -5,
        'JUMP01',
        'medium',
        { EventID: 13, Channel: sysmon, User: `CORP\\${user}`, TargetObject: 'HKU\\S-1\\Software\\Sysinternals\\PsExec\\EulaAccepted' },
        ['attack.resource-development'],
        'Sysinternals EULA',
      );
    const launch = det(0, 'JUMP01', 'high', proc('PsExec64.exe \\\\SRV05 -accepteula -s cmd /c hostname', 5), ['attack.execution'], 'PsExec escalation');
    const recon = det(2, 'SRV05', 'medium', { User: 'CORP\\adm_alice' }, ['attack.discovery'], 'Recon');
    assert.equal(run([tool('adm_alice'), launch, recon]).stories.length, 0);
    const other = run([tool('eve'), launch, recon]);
    assert.equal(other.stories.length, 1);
    assert.deepEqual(
      other.stories[0]!.spread.map((e) => [e.from, e.to, e.evidence]),
      [['JUMP01', 'SRV05', 'after Sysinternals EULA on JUMP01 at 09:55 UTC']],
    );
    // …and by pass-the-hash from a quiet host: a technique suspicious in itself is evidence whoever uses it.
    const pth = run([
      det(0, 'SRV08', 'medium', LOGON3('10.0.0.66', 'WS06', 'adm_alice', PTH), ['attack.lateral-movement'], 'Pass the hash'),
      det(2, 'SRV08', 'high', { User: 'CORP\\adm_alice' }, ['attack.credential-access'], 'Dump'),
    ]);
    assert.equal(pth.stories.length, 1);
    assert.match(pth.stories[0]!.spread.find((e) => e.from === 'WS06')!.evidence, /pass-the-hash/);
  });

  it('makes a story only of what earns its place', () => {
    const one = (ds: DetectionRecord[]) => build(ds).stories;
    assert.equal(one([det(0, 'A', 'low')]).length, 0, 'lone low');
    assert.equal(one([det(0, 'A', 'medium')]).length, 0, 'lone medium');
    assert.equal(one([det(0, 'A', 'medium', {}, ['attack.discovery'], 'M1'), det(5, 'A', 'medium', {}, ['attack.collection'], 'M2')]).length, 0, 'medium detections alone, whatever their tactics');
    assert.equal(one([det(0, 'A', 'medium', LOGON3('10.9.9.9', 'B'), ['attack.lateral-movement'], 'M')]).length, 0, 'a medium logon from another host, nothing suspicious around it');
    assert.equal(one([det(0, 'A', 'medium', LOGON3('203.0.113.1', '-'), ['attack.initial-access'], 'Failed logon from public IP')]).length, 0, 'medium from an unknown address');
    // One event is one alert, however many rules it matches and however rare they are.
    assert.equal(one([det(0, 'A', 'high', {}, ['attack.execution'], 'H')]).length, 0, 'a lone high detection of a rare rule');
    const runKeyEvent = { EventID: 13, Channel: 'Microsoft-Windows-Sysmon/Operational', User: 'CORP\\ldavis', Image: 'C:\\Users\\ldavis\\Downloads\\SpotifySetup.exe' };
    const sameRecord = (title: string, level: Level) => det(0, 'A', level, runKeyEvent, ['attack.persistence'], title, { recordId: 77 });
    assert.equal(one([sameRecord('Run key', 'high'), sameRecord('Run key from Downloads', 'high'), sameRecord('Autorun', 'medium')]).length, 0, 'three rules on one record');
    // A rare high corroborated by more suspicious activity of the same actor is a story.
    const corroborated = one([det(0, 'A', 'high', { User: 'CORP\\eve' }, ['attack.execution'], 'H'), det(20, 'A', 'medium', { User: 'CORP\\eve' }, ['attack.execution'], 'M')]);
    assert.equal(corroborated.length, 1);
    assert.match(corroborated[0]!.earned, /^high detection of a rule seen on no other host, with more suspicious activity of the same actor: H$/);
    // …but not by another account on the same host (an administrator's remote session near a user's install), nor by its own twin.
    assert.equal(one([det(0, 'A', 'high', { User: 'CORP\\eve' }, ['attack.execution'], 'H'), det(20, 'A', 'medium', { User: 'CORP\\adm_bob' }, ['attack.discovery'], 'M')]).length, 0, 'two accounts');
    const twin = (channel: string, ms: number) => det(0, 'A', 'high', { Channel: channel, User: 'CORP\\eve' }, ['attack.execution'], 'H', { timestamp: new Date(T0 + ms).toISOString() });
    assert.equal(one([twin('Microsoft-Windows-Sysmon/Operational', 0), twin('Security', 40)]).length, 0, 'Sysmon 1 and its 4688 twin are one action');
    assert.equal(one([twin('Microsoft-Windows-Sysmon/Operational', 0), twin('Microsoft-Windows-Sysmon/Operational', 40)]).length, 1, 'two records of one channel are two events');
    // A program one actor wrote and the system later ran (an unquoted service path) is one actor.
    const planted = det(0, 'A', 'high', { EventID: 11, ProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000001}', TargetFilename: 'C:\\program.exe' }, ['attack.persistence'], 'Planted');
    const ran = det(30, 'A', 'medium', { User: 'NT AUTHORITY\\SYSTEM', ProcessGuid: '{aaaaaaaa-0000-0000-0000-000000000002}', Image: 'C:\\program.exe' }, ['attack.privilege-escalation'], 'Ran');
    assert.equal(one([planted, ran]).length, 1, 'written, then run');
    // The same high rule on two hosts (users' installers writing Run keys here and there): alerts, unless with more.
    const runKey = (min: number, host: string) => det(min, host, 'high', { Image: `C:\\Users\\u\\Downloads\\setup${host}.exe` }, ['attack.persistence', 'attack.privilege-escalation'], 'Run key');
    assert.equal(one([runKey(0, 'A'), runKey(300, 'B')]).length, 0, 'a high rule firing on two hosts');
    assert.equal(
      one([runKey(0, 'A'), runKey(300, 'B'), det(5, 'A', 'medium', {}, ['attack.persistence', 'attack.privilege-escalation'], 'Autorun')]).length,
      0,
      'a second rule with the same tactics is no progression',
    );
    const progressed = one([runKey(0, 'A'), runKey(300, 'B'), det(5, 'A', 'medium', {}, ['attack.credential-access'], 'Dump')]);
    assert.equal(progressed.length, 1, 'high with suspicious activity in another tactic');
    assert.match(progressed[0]!.earned, /^high detection \(Run key\) with suspicious activity of the same actor in more than one tactic$/);
    // Two tactics from two actors on one host are no progression.
    const userKey = (min: number, host: string) => det(min, host, 'high', { User: 'CORP\\ldavis' }, ['attack.persistence'], 'Run key');
    assert.equal(one([userKey(0, 'A'), userKey(300, 'B'), det(40, 'A', 'medium', { User: 'CORP\\adm_amoore' }, ['attack.execution'], 'Remote PowerShell')]).length, 0, 'a user and an administrator');
    assert.equal(one([userKey(0, 'A'), userKey(300, 'B'), det(40, 'A', 'medium', { User: 'CORP\\ldavis' }, ['attack.execution'], 'Remote PowerShell')]).length, 1, 'the same user');
    assert.match(one([det(0, 'A', 'critical', {}, [], 'C')])[0]!.earned, /^critical detection: C$/);
    assert.equal(one([det(0, 'A', 'critical', {}, [], 'C', { hidden: true })]).length, 0, 'hidden');
    assert.equal(one([det(0, 'A', 'informational'), det(1, 'A', 'informational')]).length, 0, 'informational');
    // Suspicious activity on two hosts joined by movement with evidence.
    const moved = one([det(0, 'A', 'medium', {}, ['attack.credential-access'], 'Dump'), det(10, 'B', 'medium', LOGON3('10.0.0.5', 'A', 'Administrator'), ['attack.lateral-movement'], 'Logon')]);
    assert.equal(moved.length, 1);
    assert.match(moved[0]!.earned, /^suspicious activity on A and B, joined by movement with evidence \(after Dump on A at 10:00 UTC\)$/);
  });

  it('joins only within the proximity window; unique ids keep joining longer', () => {
    assert.equal(build([det(0, 'A', 'high'), det(60, 'A', 'high')]).stories.length, 1);
    assert.equal(build([det(0, 'A', 'critical'), det(300, 'A', 'critical')]).stories.length, 2);
    assert.equal(build([det(0, 'A', 'critical'), det(300, 'A', 'critical')], [], { windowMs: 6 * 3_600_000 }).stories.length, 1);
    const g = { ProcessGuid: '{11111111-2222-3333-4444-555555555555}' };
    assert.equal(build([det(0, 'A', 'high', g), det(600, 'A', 'high', { ParentProcessGuid: g.ProcessGuid })]).stories.length, 1, 'process GUID within 24 h');
  });

  it('does not join on service identities, a logon ID on another host, or a machine account at home', () => {
    // Two critical detections, so each host's would be a story on its own.
    const two = (a: Record<string, FieldValue>, b: Record<string, FieldValue>) =>
      build([det(0, 'A', 'critical', a, ['attack.execution'], 'R1'), det(1, 'B', 'critical', b, ['attack.execution'], 'R2')]).stories.length;
    const sys = { User: 'NT AUTHORITY\\SYSTEM', SubjectLogonId: '0x3e7' };
    assert.equal(two(sys, sys), 2);
    assert.equal(two({ TargetLogonId: '0x1234' }, { TargetLogonId: '0x1234' }), 2);
    assert.equal(two({ SubjectUserName: 'A$' }, { SubjectUserName: 'A$' }), 1, 'A$ acting on B is A');
    assert.equal(two({ TargetUserName: 'alice' }, { User: 'CORP\\Alice' }), 1);
    assert.equal(two({ IpAddress: '127.0.0.1' }, { IpAddress: '127.0.0.1' }), 2);
    assert.equal(two({ IpAddress: '203.0.113.7' }, { IpAddress: '203.0.113.7' }), 1, 'an outside address joins');
  });

  it('orders stories by score: severity, breadth and progression', () => {
    const small = [det(0, 'A', 'critical', {}, ['attack.execution'], 'Small')];
    const wide = [
      det(0, 'B', 'high', { User: 'CORP\\bob' }, ['attack.execution'], 'W1'),
      det(2, 'C', 'high', { User: 'CORP\\bob' }, ['attack.credential-access'], 'W2'),
      det(4, 'D', 'critical', { User: 'CORP\\bob' }, ['attack.impact'], 'W3'),
    ];
    const { stories } = build([...small, ...wide]);
    assert.equal(stories.length, 2);
    assert.deepEqual(
      stories.map((s) => s.hosts.length),
      [3, 1],
    );
    assert.ok(stories[0]!.score > stories[1]!.score);
  });

  it('caps the timeline, keeping the most severe, and says what it left out', () => {
    const ds = Array.from({ length: 30 }, (_, i) => det(i, 'A', i === 25 ? 'critical' : 'medium', {}, ['attack.execution'], i % 2 ? 'M1' : 'M2'));
    const s = build(ds, [], { maxTimeline: 5 }).stories[0]!;
    assert.equal(s.timeline.length, 5);
    assert.equal(s.omitted.timeline, 25);
    assert.ok(s.timeline.some((r) => r.level === 'critical'));
    assert.deepEqual(
      s.timeline.map((r) => r.timestamp),
      [...s.timeline.map((r) => r.timestamp)].sort(),
    );
    assert.equal(s.detections, 30);
  });

  it('a capped timeline keeps exactly the entries the plain rule keeps (replace the weakest: lowest level, then latest)', () => {
    const r = rng(3);
    const levels: Level[] = ['low', 'medium', 'high', 'critical'];
    for (let round = 0; round < 20; round++) {
      const cap = 3 + Math.floor(r() * 5);
      const ds = Array.from({ length: 40 + Math.floor(r() * 60) }, (_, i) => det(i, 'A', levels[Math.floor(r() * levels.length)]!, {}, ['attack.execution'], `R${i % 7}`));
      // The rule, applied the slow way: scan for the weakest entry at every detection.
      const rank = (l: Level) => levels.indexOf(l);
      const kept: DetectionRecord[] = [];
      for (const d of ds) {
        if (kept.length < cap) {
          kept.push(d);
          continue;
        }
        let worst = 0;
        for (let i = 1; i < kept.length; i++) {
          const x = kept[i]!;
          const w = kept[worst]!;
          if (rank(x.level) < rank(w.level) || (rank(x.level) === rank(w.level) && x.timestamp! > w.timestamp!)) worst = i;
        }
        if (rank(d.level) > rank(kept[worst]!.level)) kept[worst] = d;
      }
      const s = build(ds, [], { maxTimeline: cap }).stories[0]!;
      assert.deepEqual(
        s.timeline.map((t) => t.timestamp),
        kept.map((d) => d.timestamp).sort(),
        `round ${round}`,
      );
      assert.equal(s.omitted.timeline, ds.length - cap);
    }
  });

  it('keeps memory bounded over a long run of unrelated detections', () => {
    const b = new StoryBuilder({ maxOpen: 100, maxStories: 10 });
    for (let i = 0; i < 20_000; i++) {
      b.add(det(i, `H${i % 500}`, i % 97 === 0 ? 'high' : 'low', { TargetUserName: `u${i}` }));
    }
    const st = b.stats();
    assert.ok(st.open <= 1100, `open ${st.open}`);
    assert.ok(st.entities < 5000, `entities ${st.entities}`);
    assert.ok(st.discarded > 0);
    const stories = b.finish();
    assert.ok(stories.length <= 20);
    assert.equal(b.stats().seen, 20_000);
  });
});

describe('story outputs', () => {
  const ds = [
    det(0, 'WS01.corp.local', 'high', { User: 'CORP\\alice' }, ['attack.credential-access'], 'LSASS dump'),
    det(10, 'FS01.corp.local', 'high', LOGON3('10.0.0.5', 'WS01', 'alice'), ['attack.lateral-movement', 'attack.t1021.002'], 'Admin share'),
    // A logon into FS01 with nothing suspicious around it: context, not spread.
    det(12, 'FS01.corp.local', 'medium', LOGON3('10.0.0.9', 'WS05', 'bob'), ['attack.lateral-movement'], 'Odd logon'),
  ];
  const { stories } = build(ds);

  it('renders a compact terminal summary', () => {
    const text = renderStoriesText(stories);
    assert.match(text, /^Stories: 1 \(top 1 by score\)/);
    assert.match(text, /patient zero: WS01\.corp\.local/);
    assert.match(text, /why a story: suspicious activity on WS01 and FS01, joined by movement with evidence/);
    const flat = text.replace(/\n +/g, ' ');
    assert.match(flat, /spread: WS01\.corp\.local → FS01\.corp\.local 10:10 admin share access \[after LSASS dump on WS01 at 10:00 UTC\]/);
    assert.match(flat, /context \(not spread\): 1 movement into its hosts, e\.g\. WS05 → FS01\.corp\.local \(no suspicious activity around it\)/);
    assert.match(text, /tactics: Credential Access → Lateral Movement/);
    assert.ok(text.split('\n').every((l) => l.length <= 100));
    assert.match(renderStoriesText([]), /^Stories: none/);
  });

  it('writes one story per JSONL line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-stories-'));
    try {
      const file = join(dir, 'stories.jsonl');
      const w = new StoriesJsonlWriter(file);
      await w.writeAll([...stories, ...stories]);
      await w.close();
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 2);
      assert.deepEqual(JSON.parse(lines[0]!), JSON.parse(JSON.stringify(stories[0])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
