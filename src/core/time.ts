/**
 * Milliseconds of an ISO-8601 time, as `Date.parse` gives them, read without it for the form every
 * record carries (`2024-05-01T10:00:00Z`, `2024-05-01T10:00:00.1234567Z`: see
 * src/detections/convert.ts `normaliseTime`). Each detection's time is read by the correlation
 * and story stages and each event's by a hunt worker: `Date.parse` was the largest single cost of
 * a story stage's `add`. Anything else (another zone, a year before 1000, a field out of range)
 * goes to `Date.parse`, so the two always agree (test/core/time.test.ts compares them).
 */
const ZERO = 48;

/** The number of the `n` digits at `at`, or -1 if one is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

export function isoMs(s: string): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */ || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return Date.parse(s);
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return Date.parse(s);
  let ms = 0;
  if (n > 20) {
    // A fraction of any length: its first three digits count (Date.parse truncates).
    if (s[19] !== '.' || n === 21) return Date.parse(s);
    const frac = n - 21;
    if (digits(s, 20, frac) < 0) return Date.parse(s);
    for (let i = 0; i < 3; i++) ms = ms * 10 + (i < frac ? s.charCodeAt(20 + i) - ZERO : 0);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}
