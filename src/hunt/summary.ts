/** The terminal summary and the progress line of `hunt`. */
import { isAbsolute, join, relative } from 'node:path';
import type { HuntError, HuntSummary } from '../output/records.js';
import { DATA_DIR } from '../sigma/bundled.js';
import { LEVELS } from '../sigma/model.js';
import type { Story } from '../stories/model.js';
import { renderStoriesText } from '../output/stories.js';

const n = (x: number) => x.toLocaleString('en-US');

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function bytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export interface SummaryOptions {
  /** A placeholders file was given: a placeholder still without values is then an error. */
  placeholdersGiven?: boolean;
}

/** The example placeholders file, as a path the user can type from here. */
function examplePlaceholders(): string {
  const p = join(DATA_DIR, 'placeholders.example.yml');
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/**
 * Rules that use `|expand` placeholders load only with values for them (`--placeholders FILE`).
 * With no file given that is how the bundled set is configured, not an error: they are counted
 * apart and named once, in a note. Rule errors come first in the error sample, so it holds
 * them all unless rule errors alone fill it (then the count is a lower bound).
 */
function waitingForPlaceholders(s: HuntSummary, opts: SummaryOptions): { errors: HuntError[]; exact: boolean } {
  if (opts.placeholdersGiven) return { errors: [], exact: true };
  const errors = s.errors.sample.filter((e) => e.kind === 'rule' && e.code === 'unresolved-placeholder');
  const exact = s.errors.sample.length === s.errors.count || s.errors.sample.some((e) => e.kind !== 'rule');
  return { errors, exact };
}

/** A plain-text summary for the terminal (no colour codes, so it pipes cleanly). */
export function renderSummary(s: HuntSummary, extra: string[] = [], stories?: readonly Story[], opts: SummaryOptions = {}): string {
  const waiting = waitingForPlaceholders(s, opts);
  const nWaiting = waiting.errors.length;
  const lines: string[] = [];
  lines.push('Firebreak hunt summary');
  lines.push('');
  lines.push(`  files      ${n(s.files.read)} read, ${n(s.files.skipped.length)} skipped`);
  lines.push(`  events     ${n(s.events)}`);
  lines.push(`  time range ${s.firstEvent ?? '-'}  →  ${s.lastEvent ?? '-'}`);
  lines.push(
    `  rules      ${n(s.rules.loaded)} run${s.rules.correlations ? ` and ${n(s.rules.correlations)} correlations` : ''}, ${n(s.rules.failed - nWaiting)} failed to load, ${nWaiting ? `${n(nWaiting)}${waiting.exact ? '' : '+'} waiting for placeholder values, ` : ''}${n(s.rules.unmapped)} without an event log source`,
  );
  const c = s.correlation;
  if (c && (c.droppedGroups || c.droppedEvents || c.late || c.noTimestamp))
    lines.push(`  correlation dropped ${n(c.droppedGroups)} groups and ${n(c.droppedEvents)} detections to stay bounded; ${n(c.late)} late, ${n(c.noTimestamp)} without a timestamp`);
  lines.push(`  elapsed    ${duration(s.elapsedMs)} (${n(s.eventsPerSecond)} events/s)${s.peakRssBytes ? `, peak memory ${n(Math.round(s.peakRssBytes / 2 ** 20))} MiB` : ''}`);
  lines.push('');
  lines.push(`Detections: ${n(s.detections)}`);
  for (const l of [...LEVELS].reverse()) if (s.byLevel[l]) lines.push(`  ${l.padEnd(13)} ${n(s.byLevel[l]).padStart(9)}`);
  if (s.topRules.length) {
    lines.push('');
    lines.push('Top rules');
    for (const r of s.topRules) lines.push(`  ${n(r.count).padStart(9)}  ${r.level.padEnd(13)} ${r.title}`);
  }
  if (s.topHosts.length) {
    lines.push('');
    lines.push('Top hosts');
    for (const h of s.topHosts) lines.push(`  ${n(h.count).padStart(9)}  ${h.computer}`);
  }
  if (stories) {
    lines.push('');
    lines.push(renderStoriesText(stories).trimEnd());
  }
  if (s.files.skipped.length) {
    lines.push('');
    lines.push(`Skipped files (${n(s.files.skipped.length)})`);
    for (const f of s.files.skipped.slice(0, 20)) lines.push(`  ${f.file}: ${f.reason}`);
    if (s.files.skipped.length > 20) lines.push(`  … and ${n(s.files.skipped.length - 20)} more`);
  }
  if (nWaiting) {
    lines.push('');
    lines.push(
      `Note: ${n(nWaiting)}${waiting.exact ? '' : '+'} ${nWaiting === 1 ? 'rule compares' : 'rules compare'} against values from your own environment (|expand placeholders such as %DomainControllers%) and ${nWaiting === 1 ? 'was' : 'were'} not run: give the values with --placeholders FILE (template: ${examplePlaceholders()}; 'firebreak rules lint' names the rules).`,
    );
  }
  const errorCount = s.errors.count - nWaiting;
  if (errorCount > 0) {
    const others = s.errors.sample.filter((e) => !waiting.errors.includes(e));
    lines.push('');
    lines.push(`Errors (${n(errorCount)})`);
    for (const e of others.slice(0, 10)) lines.push(`  ${e.message.includes(e.file) ? e.message : `${e.file}: ${e.message}`}`);
    const unshown = errorCount - Math.min(others.length, 10);
    if (unshown > 0) lines.push(`  … and ${n(unshown)} more (--summary-json keeps the first ${n(s.errors.sample.length)})`);
  }
  lines.push(...extra);
  return lines.join('\n') + '\n';
}

/** One progress line: bar, percentage of bytes, ETA. */
export function progressLine(p: { bytesDone: number; bytesTotal: number; events: number; detections: number }, elapsedMs: number, width = 30): string {
  const frac = p.bytesTotal ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
  const filled = Math.round(frac * width);
  const eta = frac > 0 && frac < 1 ? duration(Math.round((elapsedMs / frac) * (1 - frac))) : '-';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${bytes(p.bytesDone)}/${bytes(p.bytesTotal)}  ETA ${eta}  ${n(p.events)} events  ${n(p.detections)} detections`;
}
