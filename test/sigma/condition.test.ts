import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionError, parseCondition } from '../../src/sigma/condition.js';
import { collection, matches } from '../helpers.js';

/** A rule with identifiers a, b, c (fields A, B, C equal to 1) and the given condition. */
const r = (cond: string, extra = '') => `title: t\nlogsource: {product: windows}\ndetection:\n  a: {A: 1}\n  b: {B: 1}\n  c: {C: 1}\n${extra}  condition: ${JSON.stringify(cond)}\n`;
/** All 8 truth assignments of a, b, c. */
const rows = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ a: !!(n & 4), b: !!(n & 2), c: !!(n & 1) }));
const ev = (row: { a: boolean; b: boolean; c: boolean }) => ({ A: row.a ? 1 : 0, B: row.b ? 1 : 0, C: row.c ? 1 : 0 });

describe('condition precedence (pySigma test_conditions)', () => {
  const cases: [string, (x: { a: boolean; b: boolean; c: boolean }) => boolean][] = [
    ['a or b and c', (x) => x.a || (x.b && x.c)],
    ['a and b or c', (x) => (x.a && x.b) || x.c],
    ['not a and b', (x) => !x.a && x.b],
    ['not a or b', (x) => !x.a || x.b],
    ['not (a or b)', (x) => !(x.a || x.b)],
    ['a and not b and not c', (x) => x.a && !x.b && !x.c],
    ['(a or b) and c', (x) => (x.a || x.b) && x.c],
    ['a and (b or not c)', (x) => x.a && (x.b || !x.c)],
    ['not not a', (x) => x.a],
    ['1 of them', (x) => x.a || x.b || x.c],
    ['all of them', (x) => x.a && x.b && x.c],
    ['any of them', (x) => x.a || x.b || x.c],
    ['not 1 of them', (x) => !(x.a || x.b || x.c)],
    ['a and 1 of b* or c', (x) => (x.a && x.b) || x.c],
  ];
  for (const [cond, truth] of cases)
    it(cond, () => {
      for (const row of rows) assert.equal(matches(r(cond), ev(row)), truth(row), `${cond} with ${JSON.stringify(row)}`);
    });
});

describe('x of patterns', () => {
  const rule = `title: t\nlogsource: {product: windows}\ndetection:\n  sel_a: {A: 1}\n  sel_b: {B: 1}\n  filter_x: {X: 1}\n  _hidden: {H: 1}\n  condition: COND\n`;
  const with_ = (c: string) => rule.replace('COND', c);
  it('wildcard patterns pick matching identifiers', () => {
    assert.equal(matches(with_('all of sel_*'), { A: 1, B: 1 }), true);
    assert.equal(matches(with_('all of sel_*'), { A: 1 }), false);
    assert.equal(matches(with_('1 of sel_* and not 1 of filter*'), { A: 1, X: 1 }), false);
    assert.equal(matches(with_('1 of *_b'), { B: 1 }), true);
  });
  it('them excludes identifiers starting with an underscore', () => {
    assert.equal(matches(with_('1 of them'), { H: 1 }), false);
    assert.equal(matches(with_('all of them'), { A: 1, B: 1, X: 1 }), true);
    assert.equal(matches(with_('_hidden'), { H: 1 }), true);
  });
  it('a pattern that names nothing is an error', () => {
    assert.equal(collection(with_('1 of nothing_*')).errors[0]!.code, 'condition-unknown-identifier');
  });
});

describe('condition lists and errors', () => {
  it('a list of conditions is OR-ed', () => {
    const text = `title: t\nlogsource: {product: windows}\ndetection:\n  a: {A: 1}\n  b: {B: 1}\n  condition:\n    - a\n    - b\n`;
    assert.equal(matches(text, { A: 1 }), true);
    assert.equal(matches(text, { B: 1 }), true);
    assert.equal(matches(text, { C: 1 }), false);
  });
  it('rejects the v1 pipe syntax with a clear error', () => {
    assert.throws(
      () => parseCondition('selection | count() by host > 5', ['selection']),
      (e: ConditionError) => e.code === 'condition-pipe' && /removed in Sigma v2/.test(e.message),
    );
    const c = collection(r('a | near b'));
    assert.equal(c.errors[0]!.code, 'condition-pipe');
  });
  it('names the bad token and its column', () => {
    const c = collection(r('a and and b'));
    assert.equal(c.errors[0]!.code, 'condition-syntax');
    assert.equal(c.errors[0]!.location.line, 7);
    assert.equal(c.errors[0]!.location.column, 14 + 6);
  });
  for (const [cond, code] of <[string, string][]>[
    ['a and', 'condition-syntax'],
    ['(a or b', 'condition-syntax'],
    ['a or b)', 'condition-syntax'],
    ['unknown', 'condition-unknown-identifier'],
    ['2 of them', 'condition-quantifier'],
    ['', 'condition-empty'],
    ['('.repeat(100) + 'a' + ')'.repeat(100), 'condition-depth'],
  ])
    it(`'${cond.slice(0, 20)}' → ${code}`, () => assert.equal(collection(r(cond)).errors[0]?.code, code));
});
