import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collection, matches } from '../helpers.js';

describe('YAML and detection forms', () => {
  it('YAML 1.1 leading-zero scalars stay strings (00000429)', () => {
    const c = collection(`title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    Details|contains: [00000429, 00050429]\n  condition: sel\n`);
    assert.deepEqual(c.errors, []);
    assert.equal(matches(c.rules[0]!, { Details: 'Layout 00000429 loaded' }), true);
    assert.equal(matches(c.rules[0]!, { Details: '429' }), false);
  });
  it('keyword lists search every field, as substrings', () => {
    const text = `title: t\nlogsource: {product: windows}\ndetection:\n  keywords:\n    - mimikatz\n    - 'sekurlsa::'\n  condition: keywords\n`;
    assert.equal(matches(text, { A: 'x', CommandLine: 'run MIMIKATZ.exe' }), true);
    assert.equal(matches(text, { A: 'x' }), false);
  });
  it("'|all' keyword lists need every keyword somewhere in the event", () => {
    const text = `title: t\nlogsource: {product: windows}\ndetection:\n  keywords:\n    '|all': [alpha, beta]\n  condition: keywords\n`;
    assert.equal(matches(text, { A: 'alpha', B: 'beta' }), true);
    assert.equal(matches(text, { A: 'alpha' }), false);
  });
  it('list of maps is OR, map entries are AND', () => {
    const text = `title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    - {A: 1, B: 2}\n    - {C: 3}\n  condition: sel\n`;
    assert.equal(matches(text, { A: 1, B: 2 }), true);
    assert.equal(matches(text, { A: 1 }), false);
    assert.equal(matches(text, { C: 3 }), true);
  });
  it('null, empty string and empty list', () => {
    const nul = `title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: null}\n  condition: sel\n`;
    assert.equal(matches(nul, {}), true);
    assert.equal(matches(nul, { A: null }), true);
    assert.equal(matches(nul, { A: 'x' }), false);
    const empty = `title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: ''}\n  condition: sel\n`;
    assert.equal(matches(empty, { A: '' }), true);
    assert.equal(matches(empty, {}), false);
    const list = `title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: []}\n  condition: sel\n`;
    assert.equal(matches(list, {}), true);
  });
  it('multi-valued fields match when any element does', () => {
    const text = `title: t\nlogsource: {product: windows}\ndetection:\n  sel: {Data|contains: evil}\n  condition: sel\n`;
    assert.equal(matches(text, { Data: ['good', 'very evil'] }), true);
    assert.equal(matches(text, { Data: ['good'] }), false);
  });
  it('dotted field names reach nested JSON', () => {
    const text = `title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {userIdentity.type: Root}\n  condition: sel\n`;
    assert.equal(matches(text, { userIdentity: { type: 'Root' } }), true);
    assert.equal(matches(text, { 'userIdentity.type': 'Root' }), true);
  });
  it('multi-document files', () => {
    const c = collection(`title: a\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n---\ntitle: b\nlogsource: {product: windows}\ndetection: {s: {B: 1}, condition: s}\n`);
    assert.deepEqual(
      c.rules.map((r) => r.title),
      ['a', 'b'],
    );
  });
});

describe('bad rules: typed errors with file, line, column; the others still load', () => {
  const good = `title: good\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n`;
  const cases: [string, string, number][] = [
    ['malformed YAML', `title: x\nlogsource: {product: windows\ndetection: {}\n`, 0],
    ['no title', `logsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n`, 1],
    ['no detection', `title: x\nlogsource: {product: windows}\n`, 1],
    ['no condition', `title: x\nlogsource: {product: windows}\ndetection:\n  s: {A: 1}\n`, 3],
    ['bad level', `title: x\nlevel: severe\nlogsource: {product: windows}\ndetection: {s: {A: 1}, condition: s}\n`, 2],
    ['unknown modifier', `title: x\nlogsource: {product: windows}\ndetection:\n  s:\n    A|startwith: 1\n  condition: s\n`, 5],
    ['bad regex', `title: x\nlogsource: {product: windows}\ndetection:\n  s:\n    A|re: '[a-'\n  condition: s\n`, 5],
    ['bad cidr', `title: x\nlogsource: {product: windows}\ndetection:\n  s:\n    A|cidr: 1.2.3/99\n  condition: s\n`, 5],
    ['bad condition', `title: x\nlogsource: {product: windows}\ndetection:\n  s: {A: 1}\n  condition: s and\n`, 5],
    ['nested value', `title: x\nlogsource: {product: windows}\ndetection:\n  s:\n    A: {b: 1}\n  condition: s\n`, 5],
    ['v1 timeframe', `title: x\nlogsource: {product: windows}\ndetection:\n  s: {A: 1}\n  timeframe: 5m\n  condition: s\n`, 5],
  ];
  for (const [name, bad, line] of cases)
    it(name, () => {
      const c = collection(bad + '---\n' + good);
      assert.equal(c.rules.length, 1, 'the good rule still loads');
      assert.equal(c.rules[0]!.title, 'good');
      assert.equal(c.errors.length >= 1, true);
      const e = c.errors[0]!;
      assert.equal(e.location.file, 'test.yml');
      if (line) assert.equal(e.location.line, line, e.format());
      assert.ok(e.location.column >= 1, e.format());
      assert.match(e.format(), /^test\.yml:\d+:\d+: [a-z-]+: .+/);
    });
  it('duplicate ids are reported', () => {
    const c = collection(good + '---\n' + good);
    assert.equal(c.rules.length, 1);
    assert.equal(c.errors[0]!.code, 'duplicate-id');
  });
  it('alias bombs are refused', () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ntitle: x\n`;
    const c = collection(bomb);
    assert.equal(c.rules.length, 0);
    assert.equal(c.errors.length, 1);
  });
});

describe('filters (Sigma meta-filters)', () => {
  const rules = `title: Whoami
id: 22222222-2222-2222-2222-222222222222
name: whoami_exec
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\whoami.exe'}
  condition: sel
---
title: Other
id: 33333333-3333-3333-3333-333333333333
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\net.exe'}
  condition: sel
`;
  const filter = (rulesList: string, ls = '{product: windows}') => `---
title: Filter out domain controllers
logsource: ${ls}
filter:
  rules: ${rulesList}
  selection:
    ComputerName|startswith: 'DC'
  condition: not selection
`;
  it('applies to the rules it names, by id or name', () => {
    for (const ref of ['[22222222-2222-2222-2222-222222222222]', '[whoami_exec]']) {
      const c = collection(rules + filter(ref));
      assert.deepEqual(c.errors, []);
      const [who, other] = c.rules;
      assert.equal(matches(who!, { Image: 'C:\\whoami.exe', ComputerName: 'WS1' }), true);
      assert.equal(matches(who!, { Image: 'C:\\whoami.exe', ComputerName: 'DC01' }), false);
      assert.equal(matches(other!, { Image: 'C:\\net.exe', ComputerName: 'DC01' }), true, 'unnamed rule unaffected');
      assert.deepEqual(who!.filters, ['Filter out domain controllers']);
    }
  });
  it('applies to no rule whose logsource it does not cover', () => {
    const c = collection(rules + filter('[whoami_exec]', '{product: linux}'));
    assert.equal(matches(c.rules[0]!, { Image: 'C:\\whoami.exe', ComputerName: 'DC01' }), true);
  });
  it('an empty rules list applies to every covered rule', () => {
    const c = collection(rules + filter('[]'));
    assert.equal(matches(c.rules[1]!, { Image: 'C:\\net.exe', ComputerName: 'DC01' }), false);
  });
});

describe('correlation rules: parsing and validation', () => {
  const base = `title: Failed logon
id: 44444444-4444-4444-4444-444444444444
name: failed_logon
logsource: {product: windows, service: security}
detection: {s: {EventID: 4625}, condition: s}
---
`;
  const corr = (body: string) => collection(base + `title: Many failed logons\n${body}`);
  it('parses a valid event_count correlation', () => {
    const c = corr(`correlation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName, IpAddress]\n  timespan: 5m\n  condition: {gte: 10}\n`);
    assert.deepEqual(c.errors, []);
    const x = c.correlations[0]!;
    assert.equal(x.type, 'event_count');
    assert.equal(x.timespan, 300);
    assert.deepEqual(x.groupBy, ['TargetUserName', 'IpAddress']);
    assert.deepEqual(x.condition, [{ op: 'gte', value: 10 }]);
  });
  it('a range condition (gt + lte) is kept as two bounds', () => {
    const c = corr(`correlation:\n  type: event_count\n  rules: failed_logon\n  timespan: 1h\n  condition: {gt: 10, lte: 20}\n`);
    assert.equal(c.correlations[0]!.condition.length, 2);
  });
  it('temporal defaults to all rules', () => {
    const c = collection(
      base.replace('---\n', '') +
        `---\ntitle: b\nname: b\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4624}, condition: s}\n---\ntitle: seq\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_logon, b]\n  group-by: TargetUserName\n  timespan: 10m\n`,
    );
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.correlations[0]!.condition, [{ op: 'gte', value: 2 }]);
  });
  const bad: [string, string, string][] = [
    ['unknown type', `correlation:\n  type: event_sum\n  rules: [failed_logon]\n  timespan: 5m\n  condition: {gte: 1}\n`, 'correlation-type'],
    ['no rules', `correlation:\n  type: event_count\n  timespan: 5m\n  condition: {gte: 1}\n`, 'correlation-rules'],
    ['bad timespan', `correlation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: 5 minutes\n  condition: {gte: 1}\n`, 'correlation-timespan'],
    ['missing condition', `correlation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: 5m\n`, 'correlation-condition'],
    ['unknown operator', `correlation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: 5m\n  condition: {more: 1}\n`, 'correlation-condition'],
    ['value_count without field', `correlation:\n  type: value_count\n  rules: [failed_logon]\n  timespan: 5m\n  condition: {gte: 1}\n`, 'correlation-field'],
    ['percentile without percentile', `correlation:\n  type: value_percentile\n  rules: [failed_logon]\n  timespan: 5m\n  condition: {gte: 1, field: X}\n`, 'correlation-condition'],
    ['unknown rule', `correlation:\n  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition: {gte: 1}\n`, 'correlation-unknown-rule'],
    ['temporal with one rule', `correlation:\n  type: temporal\n  rules: [failed_logon]\n  timespan: 5m\n`, 'correlation-rules'],
    [
      'alias to a rule not listed',
      `correlation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [u]\n  timespan: 5m\n  aliases: {u: {other: User}}\n  condition: {gte: 1}\n`,
      'correlation-aliases',
    ],
    ['bad group-by', `correlation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: {a: 1}\n  timespan: 5m\n  condition: {gte: 1}\n`, 'correlation-group-by'],
  ];
  for (const [name, body, code] of bad)
    it(`${name} → ${code}`, () => {
      const c = corr(body);
      assert.equal(c.correlations.length, 0);
      assert.equal(c.errors[0]?.code, code, c.errors.map((e) => e.format()).join('\n'));
      assert.ok(c.errors[0].location.line > 0);
    });
  it('a correlation cycle is reported', () => {
    const c = collection(
      base +
        `title: c1\nname: c1\ncorrelation: {type: event_count, rules: [c2], timespan: 5m, condition: {gte: 1}}\n---\ntitle: c2\nname: c2\ncorrelation: {type: event_count, rules: [c1], timespan: 5m, condition: {gte: 1}}\n`,
    );
    assert.equal(c.errors.filter((e) => e.code === 'correlation-cycle').length, 2);
  });
});
