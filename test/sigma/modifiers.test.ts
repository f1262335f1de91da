import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64Offsets } from '../../src/sigma/modifiers.js';
import type { ValueMatcher } from '../../src/sigma/model.js';
import { collection, detection, matches, rule } from '../helpers.js';

const det = (body: string) => detection(body);
/** The literal strings a single-item rule expands into. */
function literals(r: ReturnType<typeof rule>): string[] {
  const item = r.searches.sel!;
  assert.equal(item.kind, 'item');
  const out: string[] = [];
  const walk = (m: ValueMatcher) => {
    if (m.kind === 'anyOf') m.values.forEach(walk);
    else if (m.kind === 'string') out.push(m.parts.map((p) => (typeof p === 'string' ? p : p.wildcard)).join(''));
  };
  if (item.kind === 'item') item.values.forEach(walk);
  return out;
}

describe('contains / startswith / endswith / all', () => {
  it('position modifiers', () => {
    assert.equal(matches(det(`sel:\n  F|contains: mid\ncondition: sel`), { F: 'xxMIDxx' }), true);
    assert.equal(matches(det(`sel:\n  F|startswith: pre\ncondition: sel`), { F: 'prefix' }), true);
    assert.equal(matches(det(`sel:\n  F|startswith: pre\ncondition: sel`), { F: 'xprefix' }), false);
    assert.equal(matches(det(`sel:\n  F|endswith: .exe\ncondition: sel`), { F: 'a.EXE' }), true);
    assert.equal(matches(det(`sel:\n  F|endswith: .exe\ncondition: sel`), { F: 'a.exe.txt' }), false);
  });
  it('contains does not double a wildcard already there', () => {
    assert.deepEqual(literals(rule(det(`sel:\n  F|contains: '*abc'\ncondition: sel`))), ['*abc*']);
  });
  it('lists are OR, |all makes them AND', () => {
    const any = det(`sel:\n  F|contains: [a1, b2]\ncondition: sel`);
    const all = det(`sel:\n  F|contains|all: [a1, b2]\ncondition: sel`);
    assert.equal(matches(any, { F: 'xa1' }), true);
    assert.equal(matches(all, { F: 'xa1' }), false);
    assert.equal(matches(all, { F: 'b2 a1' }), true);
  });
});

describe('cased, exists, neq', () => {
  it('cased is case-sensitive', () => {
    const r = det(`sel:\n  F|cased: Abc\ncondition: sel`);
    assert.equal(matches(r, { F: 'Abc' }), true);
    assert.equal(matches(r, { F: 'abc' }), false);
    assert.equal(matches(det(`sel:\n  F|contains|cased: Bc\ncondition: sel`), { F: 'aBcd' }), true);
    assert.equal(matches(det(`sel:\n  F|contains|cased: Bc\ncondition: sel`), { F: 'abcd' }), false);
  });
  it('exists checks presence only', () => {
    assert.equal(matches(det(`sel:\n  F|exists: true\ncondition: sel`), { F: '' }), true);
    assert.equal(matches(det(`sel:\n  F|exists: true\ncondition: sel`), { G: 'x' }), false);
    assert.equal(matches(det(`sel:\n  F|exists: false\ncondition: sel`), { G: 'x' }), true);
    assert.match(collection(det(`sel:\n  F|exists: yes please\ncondition: sel`)).errors[0]!.code, /modifier-type/);
  });
  it('neq: the field differs from every value', () => {
    const r = det(`sel:\n  F|neq: [a, b]\ncondition: sel`);
    assert.equal(matches(r, { F: 'a' }), false);
    assert.equal(matches(r, { F: 'c' }), true);
    assert.equal(matches(det(`sel:\n  F|neq: 5\ncondition: sel`), { F: 6 }), true);
  });
});

describe('windash', () => {
  it('expands -param-1 -param2 into 25 variants (pySigma test_modifiers)', () => {
    const vals = literals(rule(det(`sel:\n  F|windash: '-param-1 -param2'\ncondition: sel`)));
    assert.equal(vals.length, 25);
    assert.equal(new Set(vals).size, 25);
    for (const a of ['-', '/', '–', '—', '―']) for (const b of ['-', '/', '–', '—', '―']) assert.ok(vals.includes(`${a}param-1 ${b}param2`), `${a}param-1 ${b}param2`);
  });
  it('matches every dash form', () => {
    const r = det(`sel:\n  F|windash|contains: ' -enc '\ncondition: sel`);
    for (const d of ['-', '/', '–', '—', '―']) assert.equal(matches(r, { F: `powershell ${d}enc AAA` }), true, d);
    assert.equal(matches(r, { F: 'powershell +enc AAA' }), false);
  });
});

describe('regular expressions', () => {
  it('re is case-sensitive and unanchored; i/m/s flags', () => {
    assert.equal(matches(det(`sel:\n  F|re: 'ab+c'\ncondition: sel`), { F: 'xxabbbcxx' }), true);
    assert.equal(matches(det(`sel:\n  F|re: 'ab+c'\ncondition: sel`), { F: 'ABC' }), false);
    assert.equal(matches(det(`sel:\n  F|re|i: 'ab+c'\ncondition: sel`), { F: 'ABC' }), true);
    assert.equal(matches(det(`sel:\n  F|re: '^b$'\ncondition: sel`), { F: 'a\nb' }), false);
    assert.equal(matches(det(`sel:\n  F|re|m: '^b$'\ncondition: sel`), { F: 'a\nb' }), true);
    assert.equal(matches(det(`sel:\n  F|re: 'a.b'\ncondition: sel`), { F: 'a\nb' }), false);
    assert.equal(matches(det(`sel:\n  F|re|s: 'a.b'\ncondition: sel`), { F: 'a\nb' }), true);
  });
  it('a leading (?i) inline flag works (SigmaHQ uses it)', () => {
    assert.equal(matches(det(`sel:\n  F|re: '(?i)ab+c'\ncondition: sel`), { F: 'ABBC' }), true);
  });
  it('re with startswith/endswith anchors the whole pattern, after a leading (?i)', () => {
    const starts = det(`sel:\n  F|re|startswith: '(?i)ab+c'\ncondition: sel`);
    assert.equal(matches(starts, { F: 'ABBCx' }), true);
    assert.equal(matches(starts, { F: 'xABBC' }), false);
    const alt = det(`sel:\n  F|re|startswith: '^a|b'\ncondition: sel`);
    assert.equal(matches(alt, { F: 'bx' }), true);
    assert.equal(matches(alt, { F: 'xb' }), false);
    const dollar = det(`sel:\n  F|re|endswith: 'a\\$'\ncondition: sel`);
    assert.equal(matches(dollar, { F: 'xa$' }), true);
    assert.equal(matches(dollar, { F: 'xa$y' }), false);
    const ends = det(`sel:\n  F|re|endswith: '(?i)B|c'\ncondition: sel`);
    assert.equal(matches(ends, { F: 'xxC' }), true);
    assert.equal(matches(ends, { F: 'bx' }), false);
  });
  it('re must be first; a bad regex is a rule error', () => {
    assert.equal(collection(det(`sel:\n  F|contains|re: 'a'\ncondition: sel`)).errors[0]!.code, 'modifier-order');
    const bad = collection(det(`sel:\n  F|re: 'a(b'\ncondition: sel`));
    assert.equal(bad.errors[0]?.code, 'bad-regex');
  });
});

describe('encodings', () => {
  it('base64offset: foobar → Zm9vYmFy, Zvb2Jhc, mb29iYX (pySigma vectors)', () => {
    assert.deepEqual(base64Offsets(Buffer.from('foobar')), ['Zm9vYmFy', 'Zvb2Jhc', 'mb29iYX']);
    assert.deepEqual(literals(rule(det(`sel:\n  F|base64offset|contains: foobar\ncondition: sel`))), ['*Zm9vYmFy*', '*Zvb2Jhc*', '*mb29iYX*']);
  });
  it('base64offset finds the value at any offset of an encoded blob', () => {
    const r = det(`sel:\n  F|base64offset|contains: 'IEX (New-Object'\ncondition: sel`);
    for (const prefix of ['', 'a', 'ab', 'abc']) assert.equal(matches(r, { F: Buffer.from(prefix + 'IEX (New-Object Net.WebClient)').toString('base64') }), true, prefix);
  });
  it('base64 of the UTF-8 value; wildcards refused', () => {
    assert.deepEqual(literals(rule(det(`sel:\n  F|base64: foobar\ncondition: sel`))), ['Zm9vYmFy']);
    assert.equal(collection(det(`sel:\n  F|base64: 'foo*'\ncondition: sel`)).errors[0]!.code, 'modifier-wildcard');
  });
  it('utf16le/wide, utf16be, utf16 before base64', () => {
    const b = (s: string, enc: Buffer) => assert.deepEqual(literals(rule(det(`sel:\n  F|${s}|base64: cmd\ncondition: sel`))), [enc.toString('base64')]);
    b('wide', Buffer.from([0x63, 0, 0x6d, 0, 0x64, 0]));
    b('utf16le', Buffer.from([0x63, 0, 0x6d, 0, 0x64, 0]));
    b('utf16be', Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]));
    b('utf16', Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]));
  });
});

describe('numeric and time modifiers', () => {
  it('lt/lte/gt/gte on numbers and numeric text', () => {
    assert.equal(matches(det(`sel:\n  F|gt: 10\ncondition: sel`), { F: 11 }), true);
    assert.equal(matches(det(`sel:\n  F|gt: 10\ncondition: sel`), { F: '10' }), false);
    assert.equal(matches(det(`sel:\n  F|gte: 10\ncondition: sel`), { F: '10' }), true);
    assert.equal(matches(det(`sel:\n  F|lt: 10\ncondition: sel`), { F: '0x9' }), true);
    assert.equal(matches(det(`sel:\n  F|lte: 10\ncondition: sel`), { F: 'abc' }), false);
    assert.equal(collection(det(`sel:\n  F|gt: abc\ncondition: sel`)).errors[0]!.code, 'modifier-type');
  });
  it('date parts', () => {
    const ts = { T: '2026-03-07T22:15:09.123Z' };
    assert.equal(matches(det(`sel:\n  T|hour: 22\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|minute: 15\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|day: 7\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|month: 3\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|year: 2026\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|week: 10\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|hour|gte: 20\ncondition: sel`), ts), true);
    assert.equal(matches(det(`sel:\n  T|hour|lt: 20\ncondition: sel`), ts), false);
    assert.equal(matches(det(`sel:\n  T|hour: 22\ncondition: sel`), { T: 'not a date' }), false);
  });
});

describe('cidr', () => {
  it('IPv4', () => {
    const r = det(`sel:\n  Ip|cidr: [10.0.0.0/8, 192.168.1.0/24]\ncondition: sel`);
    assert.equal(matches(r, { Ip: '10.1.2.3' }), true);
    assert.equal(matches(r, { Ip: '192.168.1.77' }), true);
    assert.equal(matches(r, { Ip: '192.168.2.1' }), false);
    assert.equal(matches(r, { Ip: 'not-an-ip' }), false);
  });
  it('IPv6 (pySigma test_types cidr vectors)', () => {
    const r = det(`sel:\n  Ip|cidr: '2001:db8:0:0:0:0:0:0/32'\ncondition: sel`);
    assert.equal(matches(r, { Ip: '2001:db8::1' }), true);
    assert.equal(matches(r, { Ip: '2001:0db8:ffff::' }), true);
    assert.equal(matches(r, { Ip: '2001:db9::1' }), false);
    assert.equal(matches(r, { Ip: '10.0.0.1' }), false);
    const ll = det(`sel:\n  Ip|cidr: 'fe80::/10'\ncondition: sel`);
    assert.equal(matches(ll, { Ip: 'fe80::1%eth0' }), true);
    assert.equal(matches(ll, { Ip: 'febf::1' }), true);
    assert.equal(matches(ll, { Ip: 'fec0::1' }), false);
    assert.equal(matches(det(`sel:\n  Ip|cidr: 10.0.0.0/8\ncondition: sel`), { Ip: '::ffff:10.9.8.7' }), true);
  });
  it('a bad network is a rule error', () => {
    for (const bad of ['10.0.0.0/33', '300.1.1.1/8', '::1/129', 'foo']) assert.equal(collection(det(`sel:\n  Ip|cidr: '${bad}'\ncondition: sel`)).errors[0]?.code, 'bad-cidr', bad);
  });
});

describe('expand and fieldref', () => {
  it('expand substitutes placeholder values (OR)', () => {
    const placeholders = new Map([['Admins', ['root', 'adm*']]]);
    const r = rule(det(`sel:\n  User|expand: '%Admins%'\ncondition: sel`), { placeholders });
    assert.equal(matches(r, { User: 'root' }), true);
    assert.equal(matches(r, { User: 'admin' }), true);
    assert.equal(matches(r, { User: 'guest' }), false);
    assert.deepEqual(r.placeholders, ['Admins']);
  });
  it('an unresolved placeholder is reported, not dropped', () => {
    const c = collection(det(`sel:\n  User|expand: '%Nope%'\ncondition: sel`));
    assert.equal(c.rules.length, 0);
    assert.equal(c.errors[0]!.code, 'unresolved-placeholder');
    assert.match(c.errors[0]!.message, /%Nope%/);
  });
  it('fieldref compares two fields of the event, with startswith/contains and neq', () => {
    assert.equal(matches(det(`sel:\n  A|fieldref: B\ncondition: sel`), { A: 'X', B: 'x' }), true);
    assert.equal(matches(det(`sel:\n  A|fieldref: B\ncondition: sel`), { A: 'X', B: 'y' }), false);
    assert.equal(matches(det(`sel:\n  A|fieldref: B\ncondition: sel`), { A: 'X' }), false);
    assert.equal(matches(det(`sel:\n  A|fieldref|startswith: B\ncondition: sel`), { A: 'C:\\dir\\file', B: 'c:\\dir' }), true);
    assert.equal(matches(det(`sel:\n  A|fieldref|contains: B\ncondition: sel`), { A: 'xxabcxx', B: 'abc' }), true);
    assert.equal(matches(det(`sel:\n  A|neq|fieldref: B\ncondition: sel`), { A: 'a', B: 'b' }), true);
  });
});

describe('unknown modifiers', () => {
  it('are rule errors with a location', () => {
    const c = collection(det(`sel:\n  F|contains|bogus: x\ncondition: sel`));
    assert.equal(c.errors[0]!.code, 'unknown-modifier');
    assert.equal(c.errors[0]!.location.line, 5);
  });
});
