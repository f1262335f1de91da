/** The top rules and hosts lists and the ATT&CK heatmap; a click on an item filters the table. */
import type { HeatColumn, Level, ReportMeta } from './data.js';
import { $, add, badge, byId, el } from './dom.js';
import { COLOR, num, plural } from './format.js';
import type { FacetKind } from './table.js';

/** Called with what was clicked: the table shows only the detections it names. */
export type PickFacet = (kind: FacetKind, value: string, label: string) => void;

function topList<T extends { count: number; level?: Level }>(table: HTMLTableElement, items: readonly T[], label: (it: T) => string, onPick: (it: T) => void): void {
  const max = items[0]?.count ?? 1;
  if (!items.length) {
    table.appendChild(add(el('tr'), add(el('td', 'muted', 'No detections.'))));
    return;
  }
  for (const it of items) {
    const tr = el('tr', 'link');
    const bar = el('div', 'bar');
    bar.style.width = Math.max(1, (100 * it.count) / max) + '%';
    if (it.level) bar.style.background = COLOR[it.level];
    const name = el('td', 'name', label(it));
    name.title = label(it);
    add(tr, it.level ? add(el('td'), badge(it.level)) : null, name, add(el('td', 'barcell'), bar), el('td', 'count', num(it.count)));
    tr.addEventListener('click', () => onPick(it));
    table.appendChild(tr);
  }
}

/** The top rules and top hosts tables. */
export function drawTopLists(meta: ReportMeta, pick: PickFacet): void {
  topList(
    byId('fb-top-rules', HTMLTableElement),
    meta.topRules,
    (r) => r.title,
    (r) => pick('rule', r.title, 'Rule'),
  );
  const hosts = byId('fb-top-hosts', HTMLTableElement);
  topList(
    hosts,
    meta.topHosts,
    (h) => h.computer || '(no computer name)',
    (h) => pick('computer', h.computer, 'Host'),
  );
  if (meta.otherHosts) hosts.appendChild(add(el('tr'), add(el('td', 'muted', num(meta.otherHosts) + ' more detections on hosts beyond the first ' + num(meta.maxHosts) + ' names'))));
}

// Soft hyphens where long tactic names may break in a narrow matrix column.
const SHY = new Map([
  ['Reconnaissance', 'Reconnais\u00ADsance'],
  ['Development', 'Develop\u00ADment'],
  ['Persistence', 'Persis\u00ADtence'],
  ['Exfiltration', 'Exfiltra\u00ADtion'],
  ['Escalation', 'Escala\u00ADtion'],
  ['Credential', 'Creden\u00ADtial'],
]);
const breakable = (name: string): string =>
  name
    .split(' ')
    .map((w) => SHY.get(w) ?? w)
    .join(' ');

/** The ATT&CK matrix: one column per tactic, cells shaded by detections per technique (log scale). */
export function drawHeatmap(attack: readonly HeatColumn[], pick: PickFacet): void {
  let max = 1;
  for (const col of attack) for (const t of col.techniques) max = Math.max(max, t.count);
  for (const col of attack) {
    const c = el('div', 'col');
    c.setAttribute('data-tactic', col.short);
    const th = add(
      el('div', 'th' + (col.count || col.techniques.length ? '' : ' none')),
      el('div', 'nm', breakable(col.name)),
      el('div', 'ct', col.id ? col.id + ' · ' + num(col.count) : num(col.count)),
    );
    c.appendChild(th);
    if (!col.techniques.length) c.appendChild(el('div', 'empty', '—'));
    for (const t of col.techniques) {
      const cell = add(el('div', 'cell'), el('span', 'id', t.technique), el('span', 'n', num(t.count)));
      const f = Math.log(1 + t.count) / Math.log(1 + max);
      cell.style.background = 'rgba(67, 56, 202,' + (0.1 + 0.8 * f).toFixed(3) + ')';
      if (f > 0.55) cell.style.color = '#fff';
      cell.title = t.technique + ' under ' + col.name + ': ' + num(t.count) + ' detections from ' + num(t.rules) + ' ' + plural(t.rules, 'rule');
      cell.setAttribute('data-technique', t.technique);
      cell.setAttribute('data-count', String(t.count));
      cell.addEventListener('click', () => pick('technique', t.technique, 'Technique'));
      c.appendChild(cell);
    }
    $('fb-heat').appendChild(c);
  }
}
