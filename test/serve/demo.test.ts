/** The demo's replay of the sample: its times moved forward by whole weeks into the last week, or kept. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoEvents } from '../../src/serve/demo.js';

const WEEK = 7 * 24 * 3600_000;

describe('serve --demo: the sample in recent time', () => {
  it('moves every event by the same whole number of weeks, the last into the week before the given time', () => {
    const own = demoEvents();
    const endBy = Date.parse('2026-12-06T03:00:00Z');
    const moved = demoEvents(endBy);
    assert.equal(moved.length, own.length);
    const shift = moved.at(-1)!.time - own.at(-1)!.time;
    assert.ok(shift > 0 && shift % WEEK === 0, `shift ${shift}`);
    assert.ok(moved.at(-1)!.time <= endBy && moved.at(-1)!.time > endBy - WEEK);
    for (let i = 0; i < own.length; i++) {
      assert.equal(moved[i]!.time - own[i]!.time, shift);
      const t = /"SystemTime":"([^"]+)"/.exec(moved[i]!.line)![1]!;
      assert.equal(Date.parse(t), moved[i]!.time, 'the line carries its new time');
      assert.equal(moved[i]!.line.replace(/"SystemTime":"[^"]+"/, ''), own[i]!.line.replace(/"SystemTime":"[^"]+"/, ''), 'nothing else changes');
    }
    // Same weekday and time of day.
    assert.equal(new Date(moved[0]!.time).getUTCDay(), new Date(own[0]!.time).getUTCDay());
    assert.equal(new Date(moved[0]!.time).toISOString().slice(11), new Date(own[0]!.time).toISOString().slice(11));
  });

  it('keeps the times when asked for none, or when the sample is not older than the given time', () => {
    const own = demoEvents();
    assert.deepEqual(demoEvents(own.at(-1)!.time - 1), own);
    assert.deepEqual(demoEvents(own.at(-1)!.time + 1000), own, 'less than a week later: no whole week to move');
  });
});
