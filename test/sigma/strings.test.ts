import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSigmaString } from '../../src/sigma/strings.js';
import { detection, matches } from '../helpers.js';

const W = { wildcard: '*' } as const;
const Q = { wildcard: '?' } as const;

describe('Sigma string escaping (spec + pySigma test_types vectors)', () => {
  it('escaped wildcards and backslash become literals', () => {
    // pySigma: "escaped\\*\\?\\\\*?" → ["escaped*?\\", WILDCARD_MULTI, WILDCARD_SINGLE]
    assert.deepEqual(parseSigmaString('escaped\\*\\?\\\\*?'), ['escaped*?\\', W, Q]);
  });
  it('a backslash before an ordinary character is literal', () => {
    assert.deepEqual(parseSigmaString('escaped\\nonspecial'), ['escaped\\nonspecial']);
    assert.deepEqual(parseSigmaString('C:\\Windows\\System32'), ['C:\\Windows\\System32']);
  });
  it('a trailing backslash is literal', () => {
    assert.deepEqual(parseSigmaString('finalescape\\'), ['finalescape\\']);
    assert.deepEqual(parseSigmaString('\\Temp\\'), ['\\Temp\\']);
  });
  it('\\\\* is a literal backslash then a wildcard; \\\\\\* a literal backslash-star', () => {
    assert.deepEqual(parseSigmaString('a\\\\*'), ['a\\', W]);
    assert.deepEqual(parseSigmaString('a\\\\\\*'), ['a\\*']);
    assert.deepEqual(parseSigmaString('\\\\\\\\'), ['\\\\']);
  });
  it('wildcards', () => {
    assert.deepEqual(parseSigmaString('*a?b*'), [W, 'a', Q, 'b', W]);
  });
});

describe('wildcard matching', () => {
  const r = (v: string) => detection(`sel:\n  F: '${v}'\ncondition: sel`);
  it('is anchored and case-insensitive by default', () => {
    assert.equal(matches(r('abc'), { F: 'ABC' }), true);
    assert.equal(matches(r('abc'), { F: 'xabc' }), false);
  });
  it('* and ? wildcards', () => {
    assert.equal(matches(r('a*c'), { F: 'abbbc' }), true);
    assert.equal(matches(r('a?c'), { F: 'abc' }), true);
    assert.equal(matches(r('a?c'), { F: 'abbc' }), false);
    assert.equal(matches(r('*\\cmd.exe'), { F: 'C:\\Windows\\System32\\CMD.EXE' }), true);
    assert.equal(matches(r('a*b*c'), { F: 'acb' }), false);
    assert.equal(matches(r('a*b*c'), { F: 'aXbYc' }), true);
  });
  it('escaped wildcards match only the literal character', () => {
    assert.equal(matches(r('a\\*c'), { F: 'a*c' }), true);
    assert.equal(matches(r('a\\*c'), { F: 'abc' }), false);
    assert.equal(matches(r('what\\?'), { F: 'what?' }), true);
    assert.equal(matches(r('what\\?'), { F: 'whatx' }), false);
  });
  it('values ending in a backslash (2,853 SigmaHQ values do) keep it', () => {
    const rr = detection(`sel:\n  F|contains: '\\Temp\\'\ncondition: sel`);
    assert.equal(matches(rr, { F: 'C:\\Users\\x\\AppData\\Local\\Temp\\a.exe' }), true);
    assert.equal(matches(rr, { F: 'C:\\Temp' }), false);
  });
  it('Unicode case folding', () => {
    assert.equal(matches(r('ПРИВЕТ'), { F: 'привет' }), true);
    assert.equal(matches(r('straße'), { F: 'STRAßE' }), true);
  });
  it('numbers and booleans in events compare as text', () => {
    assert.equal(matches(detection(`sel:\n  F: 4688\ncondition: sel`), { F: '4688' }), true);
    assert.equal(matches(detection(`sel:\n  F: 4688\ncondition: sel`), { F: 4688 }), true);
    assert.equal(matches(detection(`sel:\n  F: '46*'\ncondition: sel`), { F: 4688 }), true);
    assert.equal(matches(detection(`sel:\n  F: true\ncondition: sel`), { F: 'True' }), true);
  });
});
