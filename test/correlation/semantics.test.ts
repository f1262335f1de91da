/**
 * The engine's own semantics: window edges, re-firing, out-of-order and late input, missing
 * timestamps and fields, generate/hidden, duplicates, bounded state and what it counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateName, numericValue, percentile } from '../../src/correlation/aggregate.js';
import { CorrelationEngine } from '../../src/correlation/engine.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import type { RuleCollection } from '../../src/sigma/collection.js';
import { at, flat, pack, run, T0, titles } from './helpers.js';

const BASE = `
title: base a
name: rule_a
id: 0b6a2b1e-8d0c-4a53-9a3e-1d2f6c7a0001
logsource: {category: test}
detection:
  selection: {kind: a}
  condition: selection
---
title: base b
name: rule_b
logsource: {category: test}
detection:
  selection: {kind: b}
  condition: selection
`;

const count = (cond: string, extra = '', span = '5m', groupBy = '[host]') =>
  pack(`${BASE}---
title: count a
name: count_a
correlation:
  type: event_count
  rules: [rule_a]
  group-by: ${groupBy}
  timespan: ${span}
  condition: {${cond}}
${extra}`);

const a = (t: number | null, host = 'h1', more: Record<string, unknown> = {}) => flat(t, { kind: 'a', host, ...more });
const b = (t: number | null, host = 'h1', more: Record<string, unknown> = {}) => flat(t, { kind: 'b', host, ...more });

/** A detection record of a rule of a collection, built by hand (for late and unordered input). */
function rec(col: RuleCollection, name: string, t: number | null, event: Record<string, unknown>): DetectionRecord {
  const r = col.rules.find((x) => x.name === name)!;
  return {
    timestamp: t === null ? null : at(t),
    computer: null,
    channel: null,
    provider: null,
    eventId: null,
    recordId: null,
    level: 'low',
    rule: { id: r.id ?? null, name: r.name ?? null, title: r.title, level: 'low', status: null, tags: [], file: r.file, kind: 'sigma' },
    matched: {},
    sourceFile: 'x',
    event: event as DetectionRecord['event'],
  };
}

describe('sliding window edges', () => {
  const col = count('gte: 2');
  it('the window is (t − timespan, t]: events exactly one timespan apart are not together', () => {
    assert.equal(run(col, [a(0), a(300)]).correlations.length, 0);
    assert.equal(run(col, [a(0), a(299.999)]).correlations.length, 1);
  });
  it('equal timestamps are in the same window', () => {
    assert.equal(run(col, [a(10), a(10)]).correlations.length, 1);
  });
});

describe('re-firing', () => {
  it('a group fires once per completed window: 25 events with gte 10 fire at the 10th and 20th', () => {
    const col = count('gte: 10');
    const r = run(
      col,
      Array.from({ length: 25 }, (_, i) => a(i)),
    );
    assert.deepEqual(
      r.correlations.map((c) => c.timestamp),
      [at(9), at(19)],
    );
    assert.equal(r.ce.stats().fired, 2);
  });
  it('a range fires at its lower bound, then the group starts again', () => {
    const col = count('gt: 2, lte: 4');
    const r = run(
      col,
      Array.from({ length: 7 }, (_, i) => a(i)),
    );
    assert.deepEqual(
      r.correlations.map((c) => c.correlation!.value),
      [3, 3],
    );
  });
  it('eq and neq', () => {
    assert.equal(run(count('eq: 3'), [a(0), a(1), a(2)]).correlations.length, 1);
    assert.equal(run(count('neq: 1'), [a(0), a(100)]).correlations.length, 1);
    assert.equal(run(count('neq: 1'), [a(0), a(400)]).correlations.length, 0);
  });
});

describe('groups', () => {
  it('no group-by: one group for everything', () => {
    const col = count('gte: 3', '', '5m', '[]');
    const r = run(col, [a(0, 'h1'), a(1, 'h2'), a(2, 'h3')]);
    assert.equal(r.correlations.length, 1);
    assert.deepEqual(r.correlations[0]!.correlation!.group, {});
    assert.equal(r.correlations[0]!.computer, null);
  });
  it('a missing group-by field is not grouped (not a null group), and is counted', () => {
    const col = count('gte: 2');
    const r = run(col, [flat(0, { kind: 'a' }), flat(1, { kind: 'a', host: '' }), flat(2, { kind: 'a', host: null })]);
    assert.equal(r.correlations.length, 0);
    assert.equal(r.ce.stats().missingGroupField, 3);
  });
  it('the computer of a detection grouped by Computer is the group’s', () => {
    const col = count('gte: 2', '', '5m', '[Computer]');
    const r = run(col, [a(0, 'x', { Computer: 'DC1' }), a(1, 'y', { Computer: 'DC1' })]);
    assert.equal(r.correlations[0]!.computer, 'DC1');
    assert.deepEqual(r.correlations[0]!.matched, { Computer: 'DC1', count: '2' });
  });
  it('carries fields constant over the window into its own event, for chained group-bys', () => {
    const col = count('gte: 2');
    const r = run(col, [a(0, 'h1', { Computer: 'DC1', TargetUserName: 'x' }), a(1, 'h1', { Computer: 'DC1', TargetUserName: 'y' })]);
    const ev = r.correlations[0]!.event;
    assert.equal(ev.Computer, 'DC1');
    assert.equal(ev.TargetUserName, undefined, 'differs across the window');
    assert.equal(ev.host, 'h1');
  });
});

describe('value_count details', () => {
  const col = pack(`${BASE}---
title: distinct users
correlation:
  type: value_count
  rules: [rule_a]
  group-by: [host]
  timespan: 5m
  condition: {field: user, gte: 3}
`);
  it('counts distinct values in the window only, and counts events without the field', () => {
    assert.equal(run(col, [a(0, 'h1', { user: 'u1' }), a(1, 'h1', { user: 'u1' }), a(2, 'h1', { user: 'u2' }), a(3, 'h1')]).correlations.length, 0);
    assert.equal(run(col, [a(0, 'h1', { user: 'u1' }), a(200, 'h1', { user: 'u2' }), a(301, 'h1', { user: 'u3' })]).correlations.length, 0, 'u1 left the window');
    const r = run(col, [a(0, 'h1', { user: 'u1' }), a(200, 'h1', { user: 'u2' }), a(299, 'h1', { user: 'u3' }), a(299, 'h1')]);
    assert.equal(r.correlations.length, 1);
    assert.equal(r.ce.stats().missingField, 1);
  });
});

describe('temporal_ordered details', () => {
  const col = pack(`${BASE}---
title: a then b
correlation:
  type: temporal_ordered
  rules: [rule_a, rule_b]
  group-by: [host]
  timespan: 1m
`);
  it('needs the listed order; a later a before b still fires', () => {
    assert.equal(run(col, [b(0), a(10)]).correlations.length, 0);
    assert.equal(run(col, [b(0), a(10), b(20)]).correlations.length, 1);
    assert.equal(run(col, [a(0), b(0)]).correlations.length, 1, 'same timestamp: arrival order decides');
  });
  it('temporal counts one event matched by two rules as two event types', () => {
    const both = pack(`${BASE.replace('{kind: b}', '{tag: x}')}---
title: a and b
correlation:
  type: temporal
  rules: [rule_a, rule_b]
  group-by: [host]
  timespan: 1m
`);
    assert.equal(run(both, [a(0, 'h1', { tag: 'x' })]).correlations.length, 1);
  });
});

describe('out-of-order and late input', () => {
  it('inserts an out-of-order detection within the window in place and fires on the window it completes', () => {
    const col = count('gte: 3');
    const ce = new CorrelationEngine(col.correlations, col.rules);
    const host = { host: 'h1' };
    assert.deepEqual(ce.push(rec(col, 'rule_a', 100, host)), []);
    assert.deepEqual(ce.push(rec(col, 'rule_a', 130, host)), []);
    const out = ce.push(rec(col, 'rule_a', 110, host));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.timestamp, at(130), 'the window ending at 130 is the one completed');
    assert.equal(out[0]!.correlation!.windowStart, at(100));
    assert.deepEqual(
      out[0]!.correlation!.contributors.map((c) => c.timestamp),
      [at(100), at(110), at(130)],
    );
  });

  it('checks the windows ending after a late event: b late before a later b completes a then b', () => {
    const col = pack(`${BASE}---
title: a then b
correlation:
  type: temporal_ordered
  rules: [rule_a, rule_b]
  group-by: [host]
  timespan: 1m
`);
    const ce = new CorrelationEngine(col.correlations, col.rules);
    ce.push(rec(col, 'rule_b', 100, { host: 'h1' }));
    const out = ce.push(rec(col, 'rule_a', 70, { host: 'h1' }));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.timestamp, at(100));
  });

  it('drops and counts detections older than the watermark − timespan', () => {
    const col = count('gte: 2');
    const ce = new CorrelationEngine(col.correlations, col.rules);
    ce.push(rec(col, 'rule_a', 1000, { host: 'h1' }));
    ce.push(rec(col, 'rule_a', 1000, { host: 'h2' }));
    assert.deepEqual(ce.push(rec(col, 'rule_a', 600, { host: 'h2' })), []);
    assert.equal(ce.stats().late, 1);
    assert.equal(ce.push(rec(col, 'rule_a', 750, { host: 'h1' })).length, 1, 'within one timespan of the watermark: accepted');
  });

  it('counts detections without a timestamp, which still obey generate: false', () => {
    const col = count('gte: 2');
    const r = run(col, [a(null), a(null), a(0)]);
    assert.equal(r.correlations.length, 0);
    assert.equal(r.ce.stats().noTimestamp, 2);
    assert.ok(r.base.every((d) => d.hidden));
  });
});

describe('generate and hidden', () => {
  it('generate: true keeps the referenced rules as outputs of their own', () => {
    const r = run(count('gte: 2', 'generate: true'), [a(0), a(1)]);
    assert.deepEqual(titles(r.visible), ['base a', 'base a', 'count a']);
    assert.ok(r.base.every((d) => !d.hidden));
  });
  it('a rule referenced by several correlations is hidden when any of them has generate: false', () => {
    const col = pack(`${BASE}---
title: c1
correlation: {type: event_count, rules: [rule_a], group-by: [host], timespan: 1m, condition: {gte: 2}, generate: true}
---
title: c2
correlation: {type: event_count, rules: [rule_a], group-by: [host], timespan: 1m, condition: {gte: 3}}
`);
    const r = run(col, [a(0), a(1), a(2)]);
    assert.ok(r.base.every((d) => d.hidden));
    assert.deepEqual(titles(r.visible), ['c1', 'c2']);
    assert.equal(r.ce.hides(r.base[0]!), true);
  });
  it('rules no correlation references are untouched', () => {
    const r = run(count('gte: 2'), [b(0)]);
    assert.equal(r.base[0]!.hidden, undefined);
    assert.equal(r.ce.hides(r.base[0]!), false);
  });
  it('pushing back a correlation detection the engine returned is a no-op', () => {
    const col = count('gte: 2');
    const ce = new CorrelationEngine(col.correlations, col.rules);
    ce.push(rec(col, 'rule_a', 0, { host: 'h' }));
    const [c] = ce.push(rec(col, 'rule_a', 1, { host: 'h' }));
    assert.ok(c);
    assert.deepEqual(ce.push(c), []);
    assert.equal(ce.stats().consumed, 2);
  });
});

describe('counting and bounds', () => {
  it('counts one event matched by two referenced rules once (event_count)', () => {
    const col = pack(`${BASE.replace('{kind: b}', '{tag: x}')}---
title: count both
correlation: {type: event_count, rules: [rule_a, rule_b], group-by: [host], timespan: 1m, condition: {gte: 2}}
`);
    const r = run(col, [a(0, 'h1', { tag: 'x' })]);
    assert.equal(r.correlations.length, 0);
    assert.equal(r.ce.stats().duplicates, 1);
  });

  it('caps contributors, keeping the first and last, and says how many were omitted', () => {
    const r = run(
      count('gte: 10'),
      Array.from({ length: 10 }, (_, i) => a(i)),
      { maxContributors: 4 },
    );
    const d = r.correlations[0]!.correlation!;
    assert.deepEqual(
      d.contributors.map((c) => c.timestamp),
      [at(0), at(1), at(8), at(9)],
    );
    assert.equal(d.omitted, 6);
  });

  it('drops the least recently used group beyond maxGroups, and counts it', () => {
    const col = count('gte: 2');
    const ce = new CorrelationEngine(col.correlations, col.rules, { maxGroups: 3 });
    ['h1', 'h2', 'h3', 'h4', 'h5'].forEach((host, i) => ce.push(rec(col, 'rule_a', i, { host })));
    assert.equal(ce.push(rec(col, 'rule_a', 9, { host: 'h1' })).length, 0, 'h1 was dropped: starts again');
    assert.equal(ce.push(rec(col, 'rule_a', 9, { host: 'h5' })).length, 1);
    const s = ce.stats();
    assert.equal(s.groups, 2, 'h4 and h1: h5 fired and was consumed');
    assert.equal(s.droppedGroups, 3, 'h1, h2, then h3 to make room for h1 again');
    assert.equal(s.droppedEvents, 3);
  });

  it('expires groups that can no longer fire, without counting them as dropped', () => {
    const col = count('gte: 2');
    const ce = new CorrelationEngine(col.correlations, col.rules, { maxGroups: 2 });
    ce.push(rec(col, 'rule_a', 0, { host: 'h1' }));
    ce.push(rec(col, 'rule_a', 1, { host: 'h2' }));
    ce.push(rec(col, 'rule_a', 2000, { host: 'h3' }));
    const s = ce.stats();
    assert.equal(s.expired, 2);
    assert.equal(s.droppedGroups, 0);
    assert.equal(s.groups, 1);
    ce.advance(T0 + 10_000_000);
    assert.equal(ce.stats().groups, 0);
  });

  it('bounds one group’s detections and counts the dropped ones', () => {
    const r = run(
      count('gte: 1000', '', '1h'),
      Array.from({ length: 250 }, (_, i) => a(i)),
      { maxEventsPerGroup: 100 },
    );
    assert.equal(r.correlations.length, 0);
    assert.ok(r.ce.stats().droppedEvents >= 150);
  });

  it('the smallest per-group bound still evaluates the newest detection', () => {
    const r = run(count('gte: 1'), [a(0), a(1), a(2)], { maxEventsPerGroup: 1 });
    assert.equal(r.correlations.length, 3);
  });

  it('a huge group stays fast (incremental windows)', () => {
    const col = pack(`${BASE}---
title: distinct
correlation: {type: value_count, rules: [rule_a], group-by: [host], timespan: 1h, condition: {field: user, gte: 1000000}}
`);
    const ce = new CorrelationEngine(col.correlations, col.rules);
    const started = Date.now();
    for (let i = 0; i < 50_000; i++) ce.push(rec(col, 'rule_a', i / 10, { host: 'h', user: `u${i % 5000}` }));
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    const dropped = ce.stats().droppedEvents;
    assert.ok(dropped >= 40_000 && dropped <= 41_000, `default 10,000 per group, dropped ${dropped}`);
  });

  it('finish releases state (its groups count as expired)', () => {
    const col = count('gte: 2');
    const ce = new CorrelationEngine(col.correlations, col.rules);
    ce.push(rec(col, 'rule_a', 0, { host: 'h1' }));
    assert.equal(ce.stats().groups, 1);
    ce.finish();
    assert.equal(ce.stats().groups, 0);
    assert.equal(ce.stats().expired, 1);
  });

  it('reports correlations whose references do not resolve instead of throwing', () => {
    const col = count('gte: 2');
    const ce = new CorrelationEngine(col.correlations, []);
    assert.equal(ce.unresolved.length, 1);
    assert.equal(ce.stats().correlations, 0);
  });
});

describe('aggregate helpers', () => {
  it('percentile interpolates; numbers parse from decimal and hex text only', () => {
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.equal(percentile([5], 95), 5);
    assert.equal(percentile([], 50), undefined);
    assert.equal(numericValue('0x10'), 16);
    assert.equal(numericValue(' 12.5 '), 12.5);
    assert.equal(numericValue('12 apples'), undefined);
    assert.equal(numericValue(true), undefined);
  });
  it('names aggregates after the field', () => {
    const col = pack(`${BASE}---
title: p
correlation: {type: value_percentile, rules: [rule_a], group-by: [host], timespan: 1h, condition: {field: bytes, percentile: 95, gt: 1}}
`);
    assert.equal(aggregateName(col.correlations[0]!), 'bytes_p95');
  });
});
