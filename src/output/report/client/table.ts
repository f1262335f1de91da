/**
 * The detections table: filter by text, minimum level and one facet (rule, host or technique,
 * picked in the figures above), sort by a column, page by PAGE rows; a row opens the full event
 * in a dialog.
 */
import type { CellValue, Row, RowCells, RowField, TableLimits } from './data.js';
import { $, add, badge, byId, el } from './dom.js';
import { LEVELS_DOWN, levelIndex, num, text, time } from './format.js';

const PAGE = 100;

export type FacetKind = 'rule' | 'computer' | 'technique';
interface Facet {
  kind: FacetKind;
  value: string;
  label: string;
}

/** Reads a row's cells by column name (the order comes from the meta block). */
export class Cells {
  private readonly at = new Map<string, number>();

  constructor(columns: readonly string[]) {
    columns.forEach((c, i) => this.at.set(c, i));
  }

  /** The cell as the writer typed it (the data blocks are the page's only input). */
  get<K extends RowField>(r: Row, k: K): RowCells[K] {
    const i = this.at.get(k);
    return (i === undefined ? undefined : r[i]) as RowCells[K];
  }
}

const SORT_KEYS = ['ts', 'level', 'rule', 'computer', 'channel', 'eid', 'details'] as const;
type SortKey = (typeof SORT_KEYS)[number];
const isSortKey = (k: string | null): k is SortKey => (SORT_KEYS as readonly (string | null)[]).includes(k);

export class DetectionsTable {
  private key: SortKey = 'ts';
  private dir = 1;
  private page = 0;
  private search = '';
  private minLevel = -1;
  private facet: Facet | null = null;
  private view: readonly Row[];
  /** Each row's searchable text, lower-cased; made on the first search. */
  private hay: string[] | null = null;
  private readonly sortBy: Readonly<Record<SortKey, (r: Row) => string | number>>;

  constructor(
    private readonly rows: readonly Row[],
    private readonly c: Cells,
  ) {
    this.view = rows;
    this.sortBy = {
      ts: (r) => c.get(r, 'timestamp') || '',
      level: (r) => levelIndex(c.get(r, 'level')),
      rule: (r) => String(c.get(r, 'rule_title')).toLowerCase(),
      computer: (r) => String(c.get(r, 'computer') || '').toLowerCase(),
      channel: (r) => String(c.get(r, 'channel') || '').toLowerCase(),
      eid: (r) => c.get(r, 'event_id') ?? -1,
      details: (r) => this.details(r).toLowerCase(),
    };
  }

  /** Wire the controls, say what the table leaves out, and draw the first page. */
  start(limits: TableLimits): void {
    const dialog = byId('fb-dialog', HTMLDialogElement);
    $('fb-d-close').addEventListener('click', () => dialog.close());
    dialog.addEventListener('click', (e) => {
      if (e.target === dialog) dialog.close();
    });
    for (const th of this.headers()) {
      th.addEventListener('click', () => {
        const k = th.getAttribute('data-key');
        if (!isSortKey(k)) return;
        if (this.key === k) this.dir = -this.dir;
        else {
          this.key = k;
          this.dir = k === 'level' ? -1 : 1;
        }
        this.apply();
      });
    }
    const search = byId('fb-search', HTMLInputElement);
    let timer = 0;
    search.addEventListener('input', () => {
      const v = search.value;
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.search = v.trim();
        this.apply();
      }, 120);
    });
    const level = byId('fb-level', HTMLSelectElement);
    level.addEventListener('change', () => {
      this.minLevel = level.value ? levelIndex(level.value) : -1;
      this.apply();
    });
    $('fb-prev').addEventListener('click', () => {
      if (this.page > 0) {
        this.page--;
        this.draw();
      }
    });
    $('fb-next').addEventListener('click', () => {
      if ((this.page + 1) * PAGE < this.view.length) {
        this.page++;
        this.draw();
      }
    });
    if (limits.omitted) {
      const parts: string[] = [];
      LEVELS_DOWN.forEach((l, i) => {
        const n = limits.omittedByLevel[4 - i];
        if (n) parts.push(num(n) + ' ' + l);
      });
      $('fb-left-out').appendChild(
        el(
          'div',
          'notice',
          'This table holds the ' +
            num(limits.included) +
            ' most severe of ' +
            num(limits.total) +
            ' detections (limits: ' +
            num(limits.maxRows) +
            ' rows, ' +
            num(Math.round(limits.maxChars / 1048576)) +
            ' MiB). ' +
            num(limits.omitted) +
            ' are left out (' +
            parts.join(', ') +
            '); the CSV, JSONL and database outputs hold them all.',
        ),
      );
    }
    this.apply();
  }

  /** Show only the detections of one rule, host or technique (a removable chip says which). */
  setFacet(kind: FacetKind, value: string, label: string): void {
    this.facet = { kind, value, label };
    const box = $('fb-facet');
    box.textContent = '';
    const x = el('button', '', '×');
    x.type = 'button';
    x.title = 'Remove this filter';
    x.setAttribute('aria-label', 'Remove filter');
    x.addEventListener('click', () => {
      this.facet = null;
      box.textContent = '';
      this.apply();
    });
    box.appendChild(add(el('span', 'chip'), el('span', '', label + ': ' + (value || '(none)')), x));
    this.apply();
    $('detections').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  /** Put `q` in the filter box, filter by it and scroll to the table. */
  searchFor(q: string): void {
    byId('fb-search', HTMLInputElement).value = q;
    this.search = q;
    this.apply();
    $('detections').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  private headers(): HTMLTableCellElement[] {
    const head = byId('fb-table', HTMLTableElement).tHead?.rows[0];
    return head ? [...head.cells] : [];
  }

  private details(r: Row): string {
    const m = this.c.get(r, 'matched') || {};
    return Object.keys(m)
      .map((k) => k + ': ' + m[k])
      .join(' ¦ ');
  }

  private haystack(r: Row): string {
    const c = this.c;
    const parts: (string | number | null)[] = [
      c.get(r, 'rule_title'),
      c.get(r, 'rule_id'),
      c.get(r, 'computer'),
      c.get(r, 'channel'),
      c.get(r, 'provider'),
      c.get(r, 'event_id'),
      c.get(r, 'source_file'),
      this.details(r),
      (c.get(r, 'tags') || []).join(' '),
    ];
    const ev = c.get(r, 'event') || {};
    for (const k of Object.keys(ev)) parts.push(k + ' ' + text(ev[k]));
    return parts.join('\n').toLowerCase();
  }

  private facetMatch(r: Row, f: Facet): boolean {
    switch (f.kind) {
      case 'rule':
        return this.c.get(r, 'rule_title') === f.value;
      case 'computer':
        return (this.c.get(r, 'computer') || '') === (f.value || '');
      case 'technique':
        return (this.c.get(r, 'tags') || []).some((t) => t.toUpperCase() === 'ATTACK.' + f.value);
    }
  }

  private apply(): void {
    const q = this.search.toLowerCase();
    const f = this.facet;
    const min = this.minLevel;
    const hay = q ? (this.hay ??= this.rows.map((r) => this.haystack(r))) : null;
    const v: Row[] = [];
    this.rows.forEach((r, i) => {
      if (min >= 0 && levelIndex(this.c.get(r, 'level')) < min) return;
      if (f && !this.facetMatch(r, f)) return;
      if (hay && (hay[i] ?? '').indexOf(q) < 0) return;
      v.push(r);
    });
    const key = this.sortBy[this.key];
    const dir = this.dir;
    v.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      return x < y ? -dir : x > y ? dir : 0;
    });
    this.view = v;
    this.page = 0;
    this.draw();
  }

  private draw(): void {
    const table = byId('fb-table', HTMLTableElement);
    const tb = table.tBodies[0];
    if (!tb) return;
    tb.textContent = '';
    const v = this.view;
    const from = this.page * PAGE;
    const to = Math.min(v.length, from + PAGE);
    for (const r of v.slice(from, to)) tb.appendChild(this.rowEl(r));
    if (!v.length) {
      const td = el('td', 'muted', 'No detections match.');
      td.colSpan = 7;
      tb.appendChild(add(el('tr'), td));
    }
    $('fb-count').textContent = 'Showing ' + num(v.length) + ' of ' + num(this.rows.length);
    const pages = Math.max(1, Math.ceil(v.length / PAGE));
    $('fb-page').textContent = 'Page ' + (this.page + 1) + ' of ' + pages;
    byId('fb-prev', HTMLButtonElement).disabled = this.page === 0;
    byId('fb-next', HTMLButtonElement).disabled = this.page >= pages - 1;
    for (const th of this.headers()) {
      if (th.getAttribute('data-key') === this.key) th.setAttribute('aria-sort', this.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  private rowEl(r: Row): HTMLTableRowElement {
    const c = this.c;
    const tr = el('tr');
    tr.tabIndex = 0;
    add(
      tr,
      el('td', 'ts', time(c.get(r, 'timestamp'))),
      add(el('td'), badge(c.get(r, 'level'))),
      el('td', '', c.get(r, 'rule_title')),
      el('td', '', c.get(r, 'computer')),
      el('td', '', c.get(r, 'channel')),
      el('td', 'num', c.get(r, 'event_id')),
      el('td', 'details', this.details(r)),
    );
    tr.addEventListener('click', () => this.openRow(r));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.openRow(r);
    });
    return tr;
  }

  private openRow(r: Row): void {
    const c = this.c;
    const d = byId('fb-dialog', HTMLDialogElement);
    const body = $('fb-d-body');
    const level = $('fb-d-level');
    level.textContent = '';
    level.appendChild(badge(c.get(r, 'level')));
    $('fb-d-title').textContent = c.get(r, 'rule_title');
    body.textContent = '';
    add(
      body,
      el('h4', '', 'Detection'),
      kv({
        'Time (UTC)': time(c.get(r, 'timestamp')),
        Computer: c.get(r, 'computer'),
        Channel: c.get(r, 'channel'),
        Provider: c.get(r, 'provider'),
        'Event ID': c.get(r, 'event_id'),
        'Record ID': c.get(r, 'record_id'),
        'Source file': c.get(r, 'source_file'),
        'Rule ID': c.get(r, 'rule_id'),
        'Rule status': c.get(r, 'rule_status'),
        'Rule file': c.get(r, 'rule_file'),
        Tags: (c.get(r, 'tags') || []).join(', '),
      }),
    );
    const matched = c.get(r, 'matched') || {};
    add(body, el('h4', '', 'Matched fields'), kv(matched));
    add(body, el('h4', '', 'Full event'), kv(c.get(r, 'event') || {}, matched));
    const cut = c.get(r, 'cut');
    if (cut) body.appendChild(el('p', 'muted', num(cut) + ' long values or fields were shortened in this report; the JSONL output and the database hold them whole.'));
    if (typeof d.showModal === 'function') d.showModal();
    else d.setAttribute('open', '');
  }
}

/** A two-column table of names and values; names found in `hits` are marked. */
function kv(obj: Readonly<Record<string, CellValue>>, hits?: Readonly<Record<string, string>>): HTMLTableElement {
  const t = el('table', 'kv');
  for (const k of Object.keys(obj)) {
    const tr = add(el('tr', hits && Object.prototype.hasOwnProperty.call(hits, k) ? 'hit' : ''), el('td', 'k', k), el('td', 'v', text(obj[k])));
    t.appendChild(tr);
  }
  if (!Object.keys(obj).length) t.appendChild(add(el('tr'), el('td', 'muted', '(none)')));
  return t;
}
