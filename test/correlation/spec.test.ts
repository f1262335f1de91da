/**
 * Every correlation example of the Sigma correlation specification (v2.0.2 text; v2.1 metric
 * types), re-expressed with our own events and expected results.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventFromJson } from '../../src/readers/json.js';
import type { Event } from '../../src/events/event.js';
import { at, flat, pack, run, titles } from './helpers.js';

const FAILED_LOGIN = `
title: failed login
id: 5638f7c0-ac70-491d-8465-2a65075e0d86
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4625}
  condition: selection
`;

const failed = (t: number, fields: Record<string, unknown>) => flat(t, { Channel: 'Security', EventID: 4625, ...fields });

describe('spec: event_count ("Many failed logins", gte 100 per ComputerName in 1h)', () => {
  const col = pack(`${FAILED_LOGIN}---
title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
correlation:
  type: event_count
  rules: [5638f7c0-ac70-491d-8465-2a65075e0d86]
  group-by: [ComputerName]
  timespan: 1h
  condition: {gte: 100}
level: high
`);

  it('fires on the 100th failure within the hour, once, with the count and the group', () => {
    const evs = [];
    for (let i = 0; i < 120; i++) evs.push(failed(i * 30, { ComputerName: 'DC01' }));
    for (let i = 0; i < 99; i++) evs.push(failed(5000 + i, { ComputerName: 'WS07' }));
    const r = run(col, evs);
    assert.equal(r.correlations.length, 1);
    const c = r.correlations[0]!;
    assert.equal(c.rule.kind, 'correlation');
    assert.equal(c.rule.title, 'Many failed logins');
    assert.equal(c.level, 'high');
    assert.equal(c.timestamp, at(99 * 30), 'the time of the event that completed the condition');
    assert.deepEqual(c.matched, { ComputerName: 'DC01', count: '100' });
    assert.deepEqual(c.correlation?.group, { ComputerName: 'DC01' });
    assert.equal(c.correlation?.value, 100);
    assert.equal(c.correlation?.windowStart, at(0));
    assert.equal(c.correlation?.contributors.length, 50);
    assert.equal(c.correlation?.omitted, 50);
    assert.equal(c.event.count, 100);
    assert.equal(c.event.ComputerName, 'DC01');
    // generate defaults to false: the 219 single failures are building blocks only.
    assert.ok(r.base.every((b) => b.hidden));
    assert.deepEqual(titles(r.visible), ['Many failed logins']);
  });

  it('counts over a sliding window, not fixed hours: a burst across 11:00 fires', () => {
    const evs = [];
    for (let i = 0; i < 50; i++) evs.push(failed(3540 + i, { ComputerName: 'DC01' })); // 10:59:00…
    for (let i = 0; i < 50; i++) evs.push(failed(3600 + i, { ComputerName: 'DC01' })); // 11:00:00…
    assert.equal(run(col, evs).correlations.length, 1);
  });

  it('does not fire when the same 100 failures are spread over more than an hour', () => {
    const evs = [];
    for (let i = 0; i < 100; i++) evs.push(failed(i * 37, { ComputerName: 'DC01' }));
    assert.equal(run(col, evs).correlations.length, 0);
  });
});

describe('spec: value_count (gte 100 distinct User per ComputerName and WorkstationName in 1d)', () => {
  const col = pack(`${FAILED_LOGIN}---
title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
  type: value_count
  rules: [5638f7c0-ac70-491d-8465-2a65075e0d86]
  group-by: [ComputerName, WorkstationName]
  timespan: 1d
  condition: {field: User, gte: 100}
`);

  it('fires at the 100th distinct user of one source/destination pair', () => {
    const evs = [];
    for (let i = 0; i < 100; i++) evs.push(failed(i * 600, { ComputerName: 'DC01', WorkstationName: 'KIOSK3', User: `user${i}` }));
    const r = run(col, evs);
    assert.equal(r.correlations.length, 1);
    assert.deepEqual(r.correlations[0]!.matched, { ComputerName: 'DC01', WorkstationName: 'KIOSK3', User_distinct: '100' });
    assert.equal(r.correlations[0]!.level, 'medium', 'no level: medium');
  });

  it('does not fire on many failures of 99 users, nor across workstations', () => {
    const evs = [];
    for (let i = 0; i < 300; i++) evs.push(failed(i * 60, { ComputerName: 'DC01', WorkstationName: 'KIOSK3', User: `user${i % 99}` }));
    for (let i = 0; i < 100; i++) evs.push(failed(20000 + i, { ComputerName: 'DC01', WorkstationName: `WS${i % 2}`, User: `other${i}` }));
    assert.equal(run(col, evs).correlations.length, 0);
  });
});

describe('spec: temporal (recon commands a, b, c in any order within 5m, same ComputerName and User)', () => {
  const recon = (name: string, cmd: string) => `
title: ${name}
name: ${name}
logsource: {product: windows, category: process_creation}
detection:
  selection: {CommandLine|contains: '${cmd}'}
  condition: selection
`;
  const col = pack(`${recon('recon_cmd_a', 'whoami')}---${recon('recon_cmd_b', 'net group')}---${recon('recon_cmd_c', 'nltest')}---
title: Recon burst
correlation:
  type: temporal
  rules: [recon_cmd_a, recon_cmd_b, recon_cmd_c]
  group-by: [ComputerName, User]
  timespan: 5m
`);
  const proc = (t: number, cmd: string, user = 'corp\\eve', host = 'WS01') =>
    flat(t, { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, ComputerName: host, User: user, CommandLine: cmd });

  it('fires when all three ran, in any order, within 5 minutes', () => {
    const r = run(col, [proc(0, 'nltest /dclist:corp'), proc(60, 'net group "domain admins" /domain'), proc(200, 'whoami /all')]);
    assert.equal(r.correlations.length, 1);
    assert.equal(r.correlations[0]!.timestamp, at(200));
    assert.deepEqual(r.correlations[0]!.matched, { ComputerName: 'WS01', User: 'corp\\eve', rules: '3' });
    assert.deepEqual(
      r.correlations[0]!.correlation!.contributors.map((c) => c.ruleTitle),
      ['recon_cmd_c', 'recon_cmd_b', 'recon_cmd_a'],
    );
  });

  it('does not fire when one is missing, too far apart, or by another user', () => {
    assert.equal(run(col, [proc(0, 'whoami'), proc(10, 'whoami'), proc(20, 'nltest /dclist')]).correlations.length, 0);
    assert.equal(run(col, [proc(0, 'whoami'), proc(100, 'net group x'), proc(300, 'nltest')]).correlations.length, 0, '0 and 300 are 5m apart: not within');
    assert.equal(run(col, [proc(0, 'whoami'), proc(10, 'net group x'), proc(20, 'nltest', 'corp\\bob')]).correlations.length, 0);
  });
});

describe('spec: temporal_ordered and chaining ("Failed Logins Followed by Successful Login")', () => {
  // The specification's complete example, as written (User as the group field).
  const SPEC_EXAMPLE = `
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
  type: temporal_ordered
  rules:
    - multiple_failed_login
    - successful_login
  group-by:
    - User
  timespan: 10m
falsepositives:
  - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
  type: event_count
  rules:
    - failed_login
  group-by:
    - User
  timespan: 10m
  condition:
    gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID:
      - 529
      - 4625
  condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
description: Detects a successful login
name: successful_login
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID:
      - 528
      - 4624
  condition: selection
`;
  const col = pack(SPEC_EXAMPLE);
  const logon = (t: number, id: number, user: string, host = 'SRV1') => flat(t, { Channel: 'Security', EventID: id, User: user, Computer: host });
  const burst = (start: number, n: number, user: string) => Array.from({ length: n }, (_, i) => logon(start + i * 5, 4625, user));

  it('fires on 10 failures then a success of the same user; only the outer correlation is visible', () => {
    const r = run(col, [...burst(0, 10, 'bob'), logon(120, 4624, 'bob')]);
    assert.deepEqual(titles(r.correlations), ['Multiple failed logons', 'Correlation - Multiple Failed Logins Followed by Successful Login']);
    const [inner, outer] = r.correlations;
    assert.equal(inner!.hidden, true, 'an intermediate correlation is consumed with generate: false');
    assert.equal(outer!.hidden, undefined);
    assert.equal(outer!.level, 'high');
    assert.equal(outer!.timestamp, at(120));
    assert.deepEqual(outer!.matched, { User: 'bob', rules: '2' });
    assert.deepEqual(
      outer!.correlation!.contributors.map((c) => c.ruleTitle),
      ['Multiple failed logons', 'Successful login'],
    );
    assert.equal(outer!.computer, 'SRV1', 'not grouped by computer: the last contributor’s');
    assert.deepEqual(titles(r.visible), ['Correlation - Multiple Failed Logins Followed by Successful Login']);
  });

  it('does not fire on the wrong order, too few failures, another user, or a success too late', () => {
    assert.equal(run(col, [logon(0, 4624, 'bob'), ...burst(10, 10, 'bob')]).correlations.filter((c) => !c.hidden).length, 0);
    assert.equal(run(col, [...burst(0, 9, 'bob'), logon(120, 4624, 'bob')]).correlations.length, 0);
    assert.equal(run(col, [...burst(0, 10, 'bob'), logon(120, 4624, 'alice')]).correlations.filter((c) => !c.hidden).length, 0);
    assert.equal(run(col, [...burst(0, 10, 'bob'), logon(45 + 600, 4624, 'bob')]).correlations.filter((c) => !c.hidden).length, 0);
  });

  it('uses only its own group-by even when the inner correlation groups by more (spec note)', () => {
    const col2 = pack(SPEC_EXAMPLE.replace(/group-by:\n {4}- User\n {2}timespan: 10m\n {2}condition/, 'group-by:\n    - User\n    - ComputerName\n  timespan: 10m\n  condition'));
    const evs = [...Array.from({ length: 10 }, (_, i) => flat(i, { Channel: 'Security', EventID: 4625, User: 'bob', ComputerName: 'WS1' })), logon(60, 4624, 'bob')];
    assert.equal(run(col2, evs).visible.length, 1);
  });
});

describe('spec: field name aliases (internal_error then new_network_connection, same addresses)', () => {
  const col = pack(`
title: internal error
name: internal_error
logsource: {category: webserver}
detection:
  selection:
    http.response.status_code: 500
  condition: selection
---
title: new network connection
name: new_network_connection
logsource: {product: zeek, category: network_connection}
detection:
  selection:
    event.category: network
    event.type: connection
    event.outcome: success
  condition: selection
---
title: Error then outbound connection
correlation:
  type: temporal
  rules: [internal_error, new_network_connection]
  group-by: [internal_ip, remote_ip]
  timespan: 10s
  aliases:
    internal_ip:
      internal_error: destination.ip
      new_network_connection: source.ip
    remote_ip:
      internal_error: source.ip
      new_network_connection: destination.ip
`);
  // Nested ECS-style JSON, as a JSON log reader would see it.
  const json = (doc: Record<string, unknown>): Event => eventFromJson(doc, { file: 'ecs.json' })!;
  const error = (t: number, src: string, dst: string) => json({ '@timestamp': at(t), source: { ip: src }, destination: { ip: dst }, http: { response: { status_code: 500 } } });
  const conn = (t: number, src: string, dst: string) =>
    json({ '@timestamp': at(t), source: { ip: src }, destination: { ip: dst }, event: { category: 'network', type: 'connection', outcome: 'success' } });

  it('groups each rule by its own fields through the aliases', () => {
    const r = run(col, [error(0, '203.0.113.7', '10.0.0.5'), conn(4, '10.0.0.5', '203.0.113.7')]);
    assert.equal(r.correlations.length, 1);
    assert.deepEqual(r.correlations[0]!.correlation!.group, { internal_ip: '10.0.0.5', remote_ip: '203.0.113.7' });
    assert.equal(r.correlations[0]!.event.internal_ip, '10.0.0.5');
  });

  it('does not fire when the addresses are not mirrored, or more than 10s apart', () => {
    assert.equal(run(col, [error(0, '203.0.113.7', '10.0.0.5'), conn(4, '203.0.113.7', '10.0.0.5')]).correlations.length, 0);
    assert.equal(run(col, [error(0, '203.0.113.7', '10.0.0.5'), conn(11, '10.0.0.5', '203.0.113.7')]).correlations.length, 0);
  });
});

describe('spec v2.1: metric correlations (value_sum, value_avg, value_percentile, value_median)', () => {
  const base = `
title: website access
name: website_access
logsource: {category: proxy}
detection:
  selection: {action: upload}
  condition: selection
`;
  const metric = (type: string, cond: string) =>
    pack(`${base}---
title: metric ${type}
correlation:
  type: ${type}
  rules: [website_access]
  group-by: [SourceIP, User]
  timespan: 1h
  condition: {${cond}}
`);
  const up = (t: number, bytes: unknown, user = 'eve') => flat(t, { action: 'upload', SourceIP: '10.1.1.1', User: user, bytes_sent: bytes });

  it('value_sum: possible exfiltration, sum of bytes_sent gt 1000000 per source and user', () => {
    const col = metric('value_sum', 'field: bytes_sent, gt: 1000000');
    const r = run(col, [up(0, 400001), up(60, '400000'), up(120, 'n/a'), up(130, 150000, 'bob'), up(180, '0x30D40')]);
    assert.equal(r.correlations.length, 1, '400001 + 400000 + 0x30D40 (200000) > 1000000; bob and "n/a" do not count');
    assert.deepEqual(r.correlations[0]!.matched, { SourceIP: '10.1.1.1', User: 'eve', bytes_sent_sum: '1000001' });
    assert.equal(r.ce.stats().nonNumeric, 1);
    assert.equal(run(col, [up(0, 600000), up(3600, 600000)]).correlations.length, 0, 'outside one hour');
  });

  it('value_avg with a range (AND of two operators)', () => {
    const col = metric('value_avg', 'field: bytes_sent, gte: 100, lte: 200');
    assert.equal(run(col, [up(0, 250), up(10, 300)]).correlations.length, 0, 'average 275: above the range');
    const r = run(col, [up(0, 250), up(10, 50)]);
    assert.equal(r.correlations.length, 1, 'average 150');
    assert.equal(r.correlations[0]!.matched.bytes_sent_avg, '150');
  });

  it('value_percentile: the 90th percentile, linear interpolation', () => {
    const col = metric('value_percentile', 'field: bytes_sent, percentile: 90, gte: 900');
    // values 100..1000: p90 = 100 + 0.9 × 9 × 100 = 910 once all ten are in.
    const evs = Array.from({ length: 10 }, (_, i) => up(i, (i + 1) * 100));
    const r = run(col, evs);
    assert.equal(r.correlations.length, 1);
    assert.equal(r.correlations[0]!.timestamp, at(9));
    assert.equal(r.correlations[0]!.matched.bytes_sent_p90, '910');
  });

  it('value_median', () => {
    const col = metric('value_median', 'field: bytes_sent, gt: 500');
    assert.equal(run(col, [up(0, 100), up(1, 900), up(2, 50)]).correlations.length, 0, 'median 100');
    const r = run(col, [up(0, 100), up(1, 900), up(2, 800)]);
    assert.equal(r.correlations.length, 1, 'median of 100, 800, 900 is 800');
    assert.equal(r.correlations[0]!.correlation!.value, 800);
  });
});

describe('spec: group-by several fields are AND-ed (TargetUserName and TargetDomainName)', () => {
  const col = pack(`${FAILED_LOGIN}---
title: Brute force per account
correlation:
  type: event_count
  rules: [5638f7c0-ac70-491d-8465-2a65075e0d86]
  group-by: [TargetUserName, TargetDomainName]
  timespan: 5m
  condition: {gte: 3}
`);
  it('splits the same name in two domains', () => {
    const evs = [0, 1, 2, 3].map((i) => failed(i, { TargetUserName: 'admin', TargetDomainName: i % 2 ? 'CORP' : 'LAB' }));
    assert.equal(run(col, evs).correlations.length, 0);
    const r = run(
      col,
      [0, 1, 2].map((i) => failed(i, { TargetUserName: 'admin', TargetDomainName: 'CORP' })),
    );
    assert.deepEqual(r.correlations[0]!.correlation!.group, { TargetUserName: 'admin', TargetDomainName: 'CORP' });
  });
});
