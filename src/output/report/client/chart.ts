/** Detections over time: stacked bars by level (critical at the bottom) with round time ticks. */
import type { TimelineData } from './data.js';
import { $, add, el, sv } from './dom.js';
import { COLOR, DAY_MS, LABEL, LEVELS, LEVELS_DOWN, nice, num, plural, stamp, dur } from './format.js';

/** Tick spacings the axis may use (1 min … 1 year), the first that gives at most about eight ticks wins. */
const TICKS = [60000, 300000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000, 172800000, 604800000, 2592000000, 31536000000];
const W = 1000;
const H = 230;
const L = 48;
const R = 10;
const TOP = 10;
const B = 28;

const sum = (c: readonly number[]): number => c.reduce((a, b) => a + b, 0);

export function drawChart(T: TimelineData): void {
  const box = $('fb-chart');
  const hint = $('fb-chart-hint');
  const notes: string[] = [];
  if (T.noTimestamp) notes.push(num(T.noTimestamp) + ' without a timestamp');
  if (T.before || T.after) notes.push(num(T.before + T.after) + ' outside the shown range (clock outliers)');
  hint.textContent = (T.counts.length ? 'one bar = ' + dur(T.step) : '') + (notes.length ? ' · ' + notes.join(' · ') : '');
  if (!T.counts.length) {
    box.appendChild(el('p', 'muted', 'No detections with a timestamp.'));
    return;
  }
  let top = 1;
  for (const c of T.counts) top = Math.max(top, sum(c));
  const gstep = nice(top);
  const max = Math.ceil(top / gstep) * gstep;
  const svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Detections over time by level' });
  const ph = H - TOP - B;
  const pw = W - L - R;
  const bw = pw / T.counts.length;
  for (let g = 0; g <= max; g += gstep) {
    const y = TOP + ph - (ph * g) / max;
    svg.appendChild(sv('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'gridline' }));
    svg.appendChild(sv('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, num(g)));
  }
  T.counts.forEach((c, i) => {
    const x = L + i * bw;
    const total = sum(c);
    if (!total) return;
    let y = TOP + ph;
    const grp = sv('g', { class: 'bar', 'data-total': total });
    let tip = stamp(T.start + i * T.step, T.step) + ' UTC: ' + num(total) + ' ' + plural(total, 'detection');
    for (let l = LEVELS.length - 1; l >= 0; l--) {
      const n = c[l];
      const level = LEVELS[l];
      if (!n || !level) continue;
      const h = (ph * n) / max;
      y -= h;
      grp.appendChild(sv('rect', { x: x + bw * 0.1, y, width: Math.max(1, bw * 0.8), height: Math.max(h, 0.5), fill: COLOR[level], 'data-level': level, 'data-count': n }));
      tip += ' · ' + num(n) + ' ' + level;
    }
    grp.appendChild(sv('title', {}, tip));
    svg.appendChild(grp);
  });
  // Ticks on round times (every 2 h, every day, …), at most about eight of them.
  const span = T.counts.length * T.step;
  const every = TICKS.find((t) => t >= T.step && span / t <= 8) ?? TICKS[TICKS.length - 1]!;
  const oneDay = stamp(T.start, DAY_MS) === stamp(T.start + span - 1, DAY_MS);
  for (let tk = Math.ceil(T.start / every) * every; tk <= T.start + span; tk += every) {
    const tx = L + ((tk - T.start) / span) * pw;
    const lbl = every >= DAY_MS ? stamp(tk, DAY_MS) : oneDay ? new Date(tk).toISOString().slice(11, 16) : stamp(tk, T.step).slice(5);
    svg.appendChild(sv('line', { x1: tx, x2: tx, y1: TOP + ph, y2: TOP + ph + 4, class: 'gridline' }));
    svg.appendChild(sv('text', { x: tx, y: H - 8, 'text-anchor': tx > W - 40 ? 'end' : tx < L + 30 ? 'start' : 'middle', class: 'axis' }, lbl));
  }
  if (oneDay) hint.textContent = stamp(T.start, DAY_MS) + ' · ' + hint.textContent;
  box.appendChild(svg);
  for (const l of LEVELS_DOWN) {
    const sw = el('span', 'sw');
    sw.style.background = COLOR[l];
    $('fb-legend').appendChild(add(el('span'), sw, document.createTextNode(LABEL[l])));
  }
}
