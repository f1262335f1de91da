/** Levels, their colours and the number, time and duration formats the page shows. */
import type { CellValue, Level } from './data.js';

/** Levels from the least to the most severe (the order of the timeline's counts). */
export const LEVELS: readonly Level[] = ['informational', 'low', 'medium', 'high', 'critical'];
/** Levels from the most severe down, as the page lists them. */
export const LEVELS_DOWN: readonly Level[] = [...LEVELS].reverse();
export const LABEL: Readonly<Record<Level, string>> = { informational: 'Info', low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };
export const COLOR: Readonly<Record<Level, string>> = { critical: '#8e1b3a', high: '#dc4a2d', medium: '#e9a23b', low: '#3b82c4', informational: '#94a3b8' };

export const DAY_MS = 86_400_000;

/** True for the five level names (data from the page's blocks is checked, not trusted). */
export function isLevel(s: unknown): s is Level {
  return typeof s === 'string' && (LEVELS as readonly string[]).includes(s);
}

/** Index in LEVELS, -1 for anything else. */
export function levelIndex(s: unknown): number {
  return isLevel(s) ? LEVELS.indexOf(s) : -1;
}

export function num(n: number): string {
  return Number(n).toLocaleString('en-US');
}

/** An ISO time as `2024-03-01 10:00:00.123`, or a dash. */
export function time(iso: string | null | undefined): string {
  return iso ? String(iso).replace('T', ' ').replace(/Z$/, '') : '—';
}

/** A moment as a date, or as date and minute when bars are shorter than a day. */
export function stamp(ms: number, step: number): string {
  const s = new Date(ms).toISOString();
  return step >= DAY_MS ? s.slice(0, 10) : s.slice(0, 16).replace('T', ' ');
}

/** A duration in its two largest units (`3 h 12 min`). */
export function dur(ms: number): string {
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1).replace(/\.0$/, '') + ' s';
  const two = (a: number, ua: string, b: number, ub: string): string => a + ' ' + ua + (b ? ' ' + b + ' ' + ub : '');
  const m = Math.floor(s / 60);
  if (m < 60) return two(m, 'min', Math.round(s - m * 60), 's');
  const h = Math.floor(m / 60);
  if (h < 24) return two(h, 'h', m - h * 60, 'min');
  const d = Math.floor(h / 24);
  return two(d, 'd', h - d * 24, 'h');
}

/** A field value as text: lists one item per line, null as nothing. */
export function text(v: CellValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return (v as readonly CellValue[]).map(text).join('\n');
  return String(v);
}

/** An ISO time to the second, without the zone. */
export function short(iso: string | null | undefined): string {
  return iso
    ? String(iso)
        .replace('T', ' ')
        .replace(/(\.\d+)?Z$/, '')
    : '';
}

/** A time range, the date written once when both ends fall on the same day. */
export function range(a: string | null, b: string | null): string {
  if (!a) return 'no timestamps';
  const x = short(a);
  const y = short(b);
  return x.slice(0, 10) === y.slice(0, 10) ? x + ' → ' + y.slice(11) : x + ' →\n' + y;
}

/** A round grid step that splits `max` into about four parts. */
export function nice(max: number): number {
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
  const m = raw / p;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
  return Math.max(1, step);
}

/** `(s)` when `n` is not one: `plural(2, 'host')` is `hosts`. */
export function plural(n: number, word: string): string {
  return n === 1 ? word : word + 's';
}
