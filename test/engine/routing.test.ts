/**
 * Routing by event ID and the keyword screen are shortcuts: they may only skip work that could
 * not have matched. Each case runs the full engine (compiled, routed, prefiltered) and the
 * reference interpreter (no routing by detection IDs, no prefilter) and expects the same result.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { Event } from '../../src/events/event.js';
import { ruleEventIds } from '../../src/engine/prefilter.js';
import { event, matches, rule } from '../helpers.js';

const security = (detection: string) => `title: t\nlogsource: {product: windows, service: security}\ndetection:\n${detection.replace(/^/gm, '  ')}\n`;

function both(text: string, fields: Record<string, unknown>): boolean {
  const r = rule(text);
  const fast = new Engine([r]).match(event(fields)).length > 0;
  const slow = new Engine([r], { mode: 'interpreted' }).match(event(fields)).length > 0;
  assert.equal(fast, slow, `engine (${fast}) and interpreter (${slow}) disagree on ${JSON.stringify(fields)}`);
  assert.equal(fast, matches(r, fields));
  return fast;
}

describe('event IDs pinned down by a detection', () => {
  it('reads the IDs of every branch, and gives up where a branch does not name them', () => {
    const ids = (d: string) => {
      const s = ruleEventIds(rule(security(d)), {});
      return s === null ? null : [...s].sort((a, b) => a - b);
    };
    assert.deepEqual(ids('sel: {EventID: 4728}\ncondition: sel'), [4728]);
    assert.deepEqual(ids('sel: {EventID: [4728, 4732]}\ncondition: sel'), [4728, 4732]);
    assert.deepEqual(ids("sel: {EventID: '4625'}\ncondition: sel"), [4625]);
    assert.deepEqual(ids('a: {EventID: 1}\nb: {EventID: 2}\ncondition: a or b'), [1, 2]);
    assert.deepEqual(ids('a: {EventID: [1, 2]}\nb: {EventID: [2, 3]}\ncondition: a and b'), [2]);
    assert.deepEqual(ids('a: {EventID: 1}\nb: {Image|endswith: x.exe}\ncondition: a and not b'), [1]);
    assert.equal(ids('a: {EventID: 1}\nb: {Image|endswith: x.exe}\ncondition: a or b'), null);
    assert.equal(ids('a: {EventID: 1}\ncondition: not a'), null);
    assert.equal(ids('a: {EventID|gt: 1}\ncondition: a'), null);
    assert.equal(ids("a: {EventID: '46*'}\ncondition: a"), null);
    assert.deepEqual(ids('a:\n  - EventID: 1\n  - EventID: 7\ncondition: a'), [1, 7]);
    assert.equal(ids('a:\n  - EventID: 1\n  - Image: x\ncondition: a'), null);
  });

  it('routes exactly: same result as the interpreter on matching, other, missing and odd IDs', () => {
    const text = security('a: {EventID: [4728, 4732]}\nb: {TargetUserName: bob}\ncondition: a and b');
    for (const EventID of [4728, '4728', 4732, 4729, '4729', '04728', '4728 ', 'x', null, undefined]) {
      const fields: Record<string, unknown> = { Channel: 'Security', TargetUserName: 'bob' };
      if (EventID !== undefined) fields.EventID = EventID;
      // Sigma number values compare as numbers, so padded text matches too (engine and interpreter agree).
      const expect = EventID === 4728 || EventID === '4728' || EventID === '4728 ' || EventID === 4732;
      assert.equal(both(text, fields), expect, `EventID ${JSON.stringify(EventID)}`);
    }
  });

  it('one engine, many rules: an ID named by one rule does not hide rules without IDs', () => {
    const a = rule(security('a: {EventID: 4728}\ncondition: a'));
    const b = rule(security('b: {TargetUserName: bob}\ncondition: b').replace('title: t', 'title: u'));
    const engine = new Engine([a, b]);
    const titles = (fields: Record<string, unknown>) =>
      engine
        .match(event({ Channel: 'Security', ...fields }))
        .map((d) => d.rule.title)
        .sort();
    assert.deepEqual(titles({ EventID: 4728, TargetUserName: 'bob' }), ['t', 'u']);
    assert.deepEqual(titles({ EventID: 9999, TargetUserName: 'bob' }), ['u']);
    assert.deepEqual(titles({ TargetUserName: 'bob' }), ['u']);
    assert.deepEqual(titles({ Channel: 'SECURITY', EventID: 4728 }), ['t']);
    assert.deepEqual(titles({ Channel: 'Unheard/Of', EventID: 4728 }), []);
  });
});

describe('keyword screen', () => {
  const kw = security("keywords:\n  - 'sekurlsa::'\n  - 'kiwi'\n  - '*privilege::debug*'\ncondition: keywords");
  it('agrees with the full test on ASCII and non-ASCII text', () => {
    const cases: [string, boolean][] = [
      ['mimikatz # SEKURLSA::logonpasswords', true],
      ['nothing to see', false],
      ['Privilege::Debug', true],
      ['\u212Aiwi', true], // KELVIN SIGN folds to k
      ['KİWİ', false], // dotted capital I folds to i + U+0307: 'ki̇wi̇' does not contain 'kiwi'
      ['kiwİ', true], // …but 'kiwi̇' does
      ['ümlaut kiwi', true],
      ['ümlaut', false],
    ];
    for (const [text, expect] of cases) assert.equal(both(kw, { Channel: 'Security', EventID: 1, Message: text }), expect, text);
  });
  it('screens numbers and lists too', () => {
    const num = security('keywords:\n  - 4711\ncondition: keywords');
    assert.equal(both(num, { Channel: 'Security', EventID: 1, X: 4711 }), true);
    assert.equal(both(kw, { Channel: 'Security', EventID: 1, X: ['a', 'has kiwi'] }), true);
  });
  it('keyword literals are prefilter requirements over every value (ASCII lowered on the fly, other text folded)', () => {
    // The NotPetya shape: a field selection OR a keyword; two keyword lists ANDed; keywords under `not`.
    const mixed = security("sel:\n  Image|endswith: '\\rundll32.exe'\n  CommandLine|endswith: '.dat,#1'\nkw:\n  - '\\perfc.dat'\ncondition: 1 of sel or kw");
    const all = security("kw1:\n  - 'alpha'\nkw2:\n  - 'beta'\ncondition: all of kw*");
    const negated = security("sel: {EventID: 1}\nkeywords:\n  - 'kiwi'\ncondition: sel and not keywords");
    const cases: [string, Record<string, unknown>, boolean][] = [
      [mixed, { X: 'C:\\Windows\\PERFC.DAT' }, true],
      [mixed, { X: 'ü C:\\Windows\\perfc.dat' }, true], // non-ASCII before the literal: folded scan
      [mixed, { X: 'C:\\perfc.dat ü' }, true], // found before the non-ASCII code unit, then rescanned
      [mixed, { X: 'perfc.dat' }, false],
      [mixed, { Image: 'C:\\Windows\\rundll32.exe', CommandLine: 'x.dat,#1' }, true],
      [all, { A: 'ALPHA', B: ['x', 'Beta'] }, true],
      [all, { A: 'alpha' }, false],
      [negated, { X: 'nothing' }, true],
      [negated, { X: 'KIWI' }, false],
    ];
    for (const [text, fields, expect] of cases) assert.equal(both(text, { Channel: 'Security', EventID: 1, ...fields }), expect, JSON.stringify(fields));
  });
});

describe('events without a channel', () => {
  it('a Windows record without a channel meets Windows rules, never rules of other products', () => {
    const cisco = rule("title: c\nlogsource: {product: cisco, service: aaa}\ndetection:\n  keywords: ['aaa']\n  condition: keywords\n");
    const win = rule("title: w\nlogsource: {product: windows}\ndetection:\n  keywords: ['aaa']\n  condition: keywords\n");
    const engine = new Engine([cisco, win]);
    const fields = { EventID: 6, Provider_Name: 'Microsoft-Windows-RPC', Correlation_ActivityID: '81962F8A-071B07AAA37A' };
    const windowsEvent = new Event(fields, { file: 't' }, undefined, 'windows');
    assert.deepEqual(
      engine.match(windowsEvent).map((d) => d.rule.title),
      ['w'],
    );
    // The same fields from a generic JSON source: not a Windows record, so the product rules apply.
    assert.deepEqual(
      engine.match(new Event(fields, { file: 't' })).map((d) => d.rule.title),
      ['c'],
    );
  });
});

describe('prepare: every index built at start', () => {
  const rules = [
    rule(security('a: {EventID: [4624, 4625]}\nb: {LogonType: 3}\ncondition: a and b')),
    rule(security('b: {TargetUserName: bob}\ncondition: b').replace('title: t', 'title: any-id')),
    rule("title: proc\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: '\\\\cmd.exe'}\n  condition: s\n"),
    rule("title: win\nlogsource: {product: windows}\ndetection:\n  k: ['mimikatz']\n  condition: k\n"),
    rule('title: plain\nlogsource: {category: test}\ndetection:\n  s: {user: root}\n  condition: s\n'),
  ];
  const events: Record<string, unknown>[] = [
    { Channel: 'Security', EventID: 4624, LogonType: 3, TargetUserName: 'bob' },
    { Channel: 'security', EventID: 4625, LogonType: '3' },
    { Channel: 'Security', EventID: 4688, NewProcessName: 'C:\\Windows\\System32\\cmd.exe', TargetUserName: 'bob' },
    { Channel: 'Security', TargetUserName: 'bob' },
    { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, Image: 'C:\\Windows\\System32\\cmd.exe' },
    { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 3, Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'mimikatz' },
    { Channel: 'Unheard/Of', EventID: 7, Message: 'mimikatz here' },
    { Channel: 'Unheard/Of', Message: 'mimikatz' },
    { user: 'root' },
  ];
  const titles = (e: Engine) => events.map((f) => e.match(event(f)).map((d) => d.rule.title));

  it('matches exactly as the lazy engine, and matching builds no index prepare did not', () => {
    const prepared = new Engine(rules);
    const n = prepared.prepare();
    assert.ok(n > 0);
    const lazy = titles(new Engine(rules));
    assert.deepEqual(titles(prepared), lazy);
    assert.ok(lazy.flat().length >= 6, `the events meet the rules: ${JSON.stringify(lazy)}`);
    assert.equal(prepared.prepare(), n, 'no index was missing');
  });
});
