/** The header line, the summary figures, the detections per level and the hunt's problems. */
import type { ReportMeta, SummaryView } from './data.js';
import { $, add, el } from './dom.js';
import { dur, LABEL, LEVELS_DOWN, num, plural, range, short } from './format.js';

/** The "generated … · hunt started …" line under the title. */
export function drawHeader(meta: ReportMeta): void {
  $('fb-generated').textContent = 'generated ' + short(meta.generatedAt) + ' UTC · hunt started ' + short(meta.summary.startedAt) + ' UTC';
}

function stat(label: string, value: string, note: string, small = false): HTMLDivElement {
  const d = el('div', 'stat');
  add(d, el('div', 'label', label), el('div', 'value' + (small ? ' small' : ''), value), note ? el('div', 'note', note) : null);
  d.setAttribute('data-stat', label);
  return d;
}

/** The summary cards and the per-level chips. */
export function drawStats(meta: ReportMeta): void {
  const S = meta.summary;
  add(
    $('fb-stats'),
    stat('Files', num(S.files.read), S.files.skipped.length ? num(S.files.skipped.length) + ' skipped' : 'none skipped'),
    stat('Events', num(S.events), num(Math.round(S.eventsPerSecond)) + ' events/s'),
    stat('Detections', num(S.detections), num(meta.hostsDistinct) + ' ' + plural(meta.hostsDistinct, 'host') + ' with detections'),
    stat('Time range (UTC)', range(S.firstEvent, S.lastEvent), S.firstEvent ? dur(Date.parse(S.lastEvent ?? '') - Date.parse(S.firstEvent)) + ' of events' : '', true),
    stat('Rules', num(S.rules.loaded), (S.rules.failed ? num(S.rules.failed) + ' failed to load' : 'all loaded') + (S.rules.unmapped ? ', ' + num(S.rules.unmapped) + ' unmapped' : '')),
    stat('Errors', num(S.errors.count), 'elapsed ' + dur(S.elapsedMs)),
  );
  for (const l of LEVELS_DOWN) {
    const chip = add(el('span', 'lvl ' + l), el('span', '', LABEL[l]), el('span', 'n', num(S.byLevel[l] || 0)));
    chip.setAttribute('data-level', l);
    $('fb-levels').appendChild(chip);
  }
}

/** The "Problems met during the hunt" section: errors (a sample) and skipped files; hidden when there are none. */
export function drawProblems(S: SummaryView): void {
  const skipped = S.files.skipped;
  const errs = S.errors.sample;
  if (!skipped.length && !errs.length && !S.errors.count) return;
  $('problems').hidden = false;
  const box = $('fb-problems');
  if (S.errors.count) {
    box.appendChild(el('p', '', num(S.errors.count) + ' ' + plural(S.errors.count, 'error') + (errs.length < S.errors.count ? ' (first ' + num(errs.length) + ' shown)' : '') + ':'));
    const ul = el('ul', 'errs');
    for (const e of errs) ul.appendChild(add(el('li'), el('code', '', e.code), document.createTextNode(' ' + e.kind + ' · ' + e.file + ': ' + e.message)));
    box.appendChild(ul);
  }
  if (skipped.length) {
    box.appendChild(el('p', '', num(skipped.length) + ' ' + plural(skipped.length, 'file') + ' skipped:'));
    const us = el('ul', 'errs');
    for (const s of skipped) us.appendChild(add(el('li'), el('code', '', s.file), document.createTextNode(' ' + s.reason)));
    box.appendChild(us);
  }
}
