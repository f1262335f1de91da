/** isoMs against Date.parse: the same milliseconds, or the same NaN, for record times and for anything else. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoMs } from '../../src/core/time.js';
import { rng } from '../../src/core/rng.js';

const same = (s: string) => assert.ok(Object.is(isoMs(s), Date.parse(s)), `${JSON.stringify(s)}: ${isoMs(s)} against Date.parse ${Date.parse(s)}`);

test('record times: every field at and past its bounds, fractions of any length', () => {
  for (const s of [
    '2024-01-01T00:00:00Z',
    '2024-12-31T23:59:59.999Z',
    '2024-02-29T12:00:00.1Z',
    '2023-02-29T12:00:00Z',
    '2024-02-31T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-01-32T00:00:00Z',
    '2024-01-00T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-13-10T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T23:60:00Z',
    '2024-01-01T23:59:60Z',
    '2024-01-01T00:00:00.Z',
    '2024-01-01T00:00:00.12345678901234567890Z',
    '2024-01-01T00:00:00.12a4Z',
    '0999-01-01T00:00:00Z',
    '0050-06-01T00:00:00Z',
    '1000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.9999999Z',
    '1601-01-01T00:00:00Z',
    '2024-01-01T00:00:00+02:00',
    '2024-01-01T00:00:00',
    '2024-01-01 00:00:00Z',
    '+002024-01-01T00:00:00Z',
    '2024-1-01T00:00:00Z',
    '２０２４-01-01T00:00:00Z',
    '2024-01-01T00:00:00ZZ',
    '',
    'Z',
    'not a time at all, but twenty chars Z',
  ])
    same(s);
});

test('generated times, valid and damaged, agree with Date.parse', () => {
  const r = rng(17);
  const pick = (s: string) => s[Math.floor(r() * s.length)]!;
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  for (let i = 0; i < 20_000; i++) {
    const y = Math.floor(r() * 10_000);
    let s = `${pad(y, 4)}-${pad(Math.floor(r() * 14), 2)}-${pad(Math.floor(r() * 33), 2)}T${pad(Math.floor(r() * 25), 2)}:${pad(Math.floor(r() * 61), 2)}:${pad(Math.floor(r() * 61), 2)}`;
    const frac = Math.floor(r() * 10);
    if (frac) s += '.' + Array.from({ length: frac - 1 }, () => pick('0123456789')).join('');
    s += 'Z';
    // One character in five is damaged.
    if (r() < 0.2) {
      const at = Math.floor(r() * s.length);
      s = s.slice(0, at) + pick('0123456789-:.TZ xé') + s.slice(at + 1);
    }
    same(s);
  }
});
