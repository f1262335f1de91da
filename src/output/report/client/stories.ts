/**
 * Stories: detections joined into incidents (src/stories, docs/stories.md). Each story is a
 * card: score, narrative, tactics, the spread drawn as hosts (nodes) joined by timed arrows, and
 * the story's detections in time order. Drawn from #fb-stories only.
 */
import type { Level, SpreadView, StoryView } from './data.js';
import { $, add, badge, el, sv } from './dom.js';
import { COLOR, LEVELS_DOWN, num, plural, range, short, time } from './format.js';
import type { DetectionsTable } from './table.js';

const STORY_MAX = 25;
const GRAPH_MAX_NODES = 40;

const hhmm = (iso: string | null): string => (iso ? String(iso).slice(11, 16) : '');
/** A host name without its domain (an address stays whole). */
function shortHost(name: string): string {
  const s = String(name);
  const d = s.indexOf('.');
  return d > 0 && !/^\d/.test(s) ? s.slice(0, d) : s;
}

interface GraphNode {
  name: string;
  kind: 'host' | 'ip';
  first: string;
  level: Level | null;
  count: number;
  /** Only tried from another host of the story (failed logons), never reached. */
  tried: boolean;
  depth: number;
  row: number;
  placed: boolean;
  x: number;
  y: number;
}

// Node size, the gap between columns, the bend out of a node, row height and padding.
const NW = 176;
const NH = 50;
const GAP = 320;
const BEND = 64;
const RH = 78;
const PAD = 14;

/** The spread between a story's hosts: columns by order of movement, arrows labelled with time and technique. */
function storyGraph(s: StoryView): SVGSVGElement {
  const pz = s.patientZero ? s.patientZero.computer : null;
  const nodes: GraphNode[] = [];
  // A Map, not an object: host names come from the logs ("__proto__" is a valid one).
  const byName = new Map<string, GraphNode>();
  const node = (name: string, kind: GraphNode['kind'], first: string, level: Level | null, count: number): void => {
    if (byName.has(name) || nodes.length >= GRAPH_MAX_NODES) return;
    const n: GraphNode = { name, kind, first, level, count: count || 0, tried: false, depth: 0, row: 0, placed: false, x: 0, y: 0 };
    byName.set(name, n);
    nodes.push(n);
  };
  for (const e of s.spread) if (e.fromKind === 'ip') node(e.from, 'ip', e.at, null, 0);
  for (const h of s.hosts) node(h.computer, 'host', h.firstTouched, h.maxLevel, h.detections);
  // A host only tried from another host of the story is not one of its hosts, but its attempt is drawn.
  for (const e of s.spread) node(e.to, 'host', e.at, null, 0);
  const storyHosts = new Set(s.hosts.map((h) => h.computer));
  const reached = new Set(s.spread.filter((e) => !e.attempt).map((e) => e.to));
  for (const n of nodes) n.tried = n.kind === 'host' && !storyHosts.has(n.name) && !reached.has(n.name);
  const edges: { e: SpreadView; a: GraphNode; b: GraphNode }[] = [];
  for (const e of s.spread) {
    const a = byName.get(e.from);
    const b = byName.get(e.to);
    if (a && b && e.from !== e.to) edges.push({ e, a, b });
  }
  // Columns by order of movement: a host sits one column right of the host that first reached it.
  const incoming = new Set(edges.map(({ b }) => b));
  const queue = nodes.filter((n) => !incoming.has(n));
  const start = pz === null ? undefined : byName.get(pz);
  if (!queue.length && start) queue.push(start);
  for (const n of queue) n.placed = true;
  for (let qi = 0; qi < queue.length; qi++) {
    const cur = queue[qi]!;
    for (const { a, b } of edges) {
      if (a !== cur || b.placed) continue;
      b.placed = true;
      b.depth = cur.depth + 1;
      queue.push(b);
    }
  }
  for (const n of nodes) {
    if (!n.placed) {
      n.placed = true;
      n.depth = 0;
    }
  }
  const cols: GraphNode[][] = [];
  for (const n of nodes) (cols[n.depth] ??= []).push(n);
  for (const c of cols) {
    c.sort((a, b) => (a.name === pz ? -1 : b.name === pz ? 1 : 0) || (a.kind === b.kind ? 0 : a.kind === 'ip' ? -1 : 1) || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    c.forEach((n, i) => (n.row = i));
  }
  let rows = 1;
  for (const c of cols) rows = Math.max(rows, c.length);
  const W = PAD * 2 + cols.length * NW + (cols.length - 1) * GAP;
  const H = PAD * 2 + rows * RH - (RH - NH) + 18;
  const svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', class: 'spread', 'aria-label': 'Spread between hosts' });
  const defs = sv('defs', {});
  const mk = sv('marker', { id: 'fb-arrow-' + s.id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  mk.appendChild(sv('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#475569' }));
  defs.appendChild(mk);
  svg.appendChild(defs);
  for (const n of nodes) {
    n.x = PAD + n.depth * (NW + GAP);
    n.y = PAD + 18 + n.row * RH;
  }
  const labels: { x: number; y: number; t1: string; t2: string; g: SVGGElement }[] = [];
  for (const { e, a, b } of edges) {
    let x1 = a.x + NW;
    let y1 = a.y + NH / 2;
    let x2 = b.x;
    let y2 = b.y + NH / 2;
    let d: string;
    // Forward: a short bend out of the source, then a straight run into the target that carries the label.
    if (b.depth > a.depth) d = 'M' + x1 + ',' + y1 + ' C' + (x1 + BEND / 2) + ',' + y1 + ' ' + (x1 + BEND / 2) + ',' + y2 + ' ' + (x1 + BEND) + ',' + y2 + ' L' + x2 + ',' + y2;
    else {
      x2 = b.x + NW / 2;
      y2 = b.y + (b.y > a.y ? 0 : NH);
      x1 = a.x + NW / 2;
      y1 = a.y + (b.y > a.y ? NH : 0);
      const bend = a.x + NW + 40;
      d = 'M' + x1 + ',' + y1 + ' C' + bend + ',' + y1 + ' ' + bend + ',' + y2 + ' ' + x2 + ',' + y2;
    }
    const g = sv('g', { class: 'edge' + (e.attempt ? ' attempt' : ''), 'data-from': e.from, 'data-to': e.to, 'data-at': e.at, 'data-technique': e.technique.id || '' });
    g.appendChild(sv('path', { d, fill: 'none', stroke: '#475569', 'stroke-width': 1.6, 'stroke-dasharray': e.attempt ? '5 4' : 'none', 'marker-end': 'url(#fb-arrow-' + s.id + ')' }));
    const techniques = e.techniques.map((t) => (t.id ? t.id + ' ' : '') + t.name).join(', ');
    const shownBy = e.detections.length ? '\nshown by: ' + e.detections.map((x) => x.title).join('; ') : '';
    const why = e.evidence ? '\nwhy it is part of the story: ' + e.evidence : '';
    g.appendChild(sv('title', {}, e.from + ' → ' + e.to + (e.attempt ? ' (tried, not reached)' : '') + ' at ' + time(e.at) + ' UTC: ' + techniques + why + shownBy));
    svg.appendChild(g);
    const lx = b.depth > a.depth ? (x1 + BEND + x2) / 2 - 4 : a.x + NW + 44;
    const ly = b.depth > a.depth ? y2 : (y1 + y2) / 2;
    labels.push({ x: lx, y: ly, t1: hhmm(e.at), t2: (e.technique.id ? e.technique.id + ' ' : '') + e.technique.name, g });
  }
  // Edge labels above the lines: time, then technique, on a white plate.
  for (const l of labels) {
    const t2 = l.t2.length > 34 ? l.t2.slice(0, 33) + '…' : l.t2;
    const w = Math.max(l.t1.length, t2.length) * 5.9 + 12;
    const lg = sv('g', { class: 'elabel' });
    lg.appendChild(sv('rect', { x: l.x - w / 2, y: l.y - 15, width: w, height: 30, rx: 4, fill: '#fff', stroke: '#cbd5e1' }));
    lg.appendChild(sv('text', { x: l.x, y: l.y - 3, 'text-anchor': 'middle', class: 'et' }, l.t1));
    lg.appendChild(sv('text', { x: l.x, y: l.y + 10, 'text-anchor': 'middle', class: 'eq' }, t2));
    l.g.appendChild(lg);
  }
  for (const n of nodes) {
    const isPz = n.name === pz;
    const ip = n.kind === 'ip';
    const g = sv('g', { class: 'node' + (isPz ? ' pz' : '') + (ip ? ' ext' : '') + (n.tried ? ' tried' : ''), 'data-host': n.name });
    const stroke = isPz ? '#f97316' : ip ? '#94a3b8' : '#334155';
    g.appendChild(sv('rect', { x: n.x, y: n.y, width: NW, height: NH, rx: 8, fill: ip ? '#f8fafc' : '#fff', stroke, 'stroke-width': isPz ? 3 : 1.4, 'stroke-dasharray': ip ? '5 4' : 'none' }));
    if (n.level) g.appendChild(sv('rect', { x: n.x, y: n.y, width: 6, height: NH, rx: 3, fill: COLOR[n.level] || COLOR.informational }));
    const label = ip ? n.name : shortHost(n.name);
    g.appendChild(sv('text', { x: n.x + 14, y: n.y + 20, class: 'nn' }, label.length > 19 ? label.slice(0, 18) + '…' : label));
    g.appendChild(
      sv(
        'text',
        { x: n.x + 14, y: n.y + 38, class: 'ns' },
        ip ? 'outside address' : n.tried ? 'tried ' + hhmm(n.first) + ', not reached' : 'from ' + hhmm(n.first) + (n.count ? ' · ' + num(n.count) + ' det.' : ''),
      ),
    );
    if (isPz) g.appendChild(sv('text', { x: n.x, y: n.y - 6, class: 'pzl' }, 'PATIENT ZERO'));
    g.appendChild(
      sv(
        'title',
        {},
        n.name +
          (ip
            ? ' (no host in the evidence owns this address)'
            : n.tried
              ? '\ntried from another host of the story at ' + time(n.first) + ' UTC, not reached'
              : '\nfirst touched ' + time(n.first) + ' UTC · ' + num(n.count) + ' detections'),
      ),
    );
    svg.appendChild(g);
  }
  return svg;
}

function storyCard(s: StoryView, i: number, table: DetectionsTable): HTMLElement {
  const card = el('article', 'story');
  card.setAttribute('data-story', s.id);
  const head = el('div', 'sh');
  const sc = el('span', 'score', String(s.score));
  sc.title = 'Score: rises with severity (rare detections weigh more), reach (hosts with suspicious activity, spread) and progression (tactics reached); routine is left out';
  const lv = LEVELS_DOWN.filter((l) => s.levels[l])
    .map((l) => num(s.levels[l]) + ' ' + l)
    .join(', ');
  add(
    head,
    sc,
    add(
      el('div', 'st'),
      el('div', 'sn', 'Story ' + (i + 1) + (s.patientZero ? ' · from ' + shortHost(s.patientZero.computer) : '')),
      el(
        'div',
        'sm',
        num(s.hosts.length) + ' ' + plural(s.hosts.length, 'host') + ' · ' + num(s.detections) + ' detections (' + lv + ') · ' + range(s.firstSeen, s.lastSeen).replace('\n', ' ') + ' UTC · ' + s.id,
      ),
    ),
  );
  card.appendChild(head);
  card.appendChild(el('p', 'narrative', s.narrative));
  const tl = el('div', 'tactics');
  s.tactics.forEach((t, k) => {
    if (k) tl.appendChild(el('span', 'arrow', '→'));
    const c = el('span', 'tactic', t.name);
    c.title = t.id + ' · first: ' + time(t.first.at) + ' on ' + (t.first.computer || '?') + ' (' + t.first.title + ')';
    c.setAttribute('data-tactic', t.short);
    tl.appendChild(c);
  });
  if (s.tactics.length) card.appendChild(tl);
  const facts = el('div', 'facts');
  if (s.earned) add(facts, add(el('div', 'earned'), el('b', '', 'Why a story: '), document.createTextNode(s.earned)));
  if (s.patientZero) add(facts, add(el('div'), el('b', '', 'Patient zero: '), el('span', 'pzname', s.patientZero.computer), el('span', 'muted', ' — ' + s.patientZero.why)));
  if (s.accounts.length) add(facts, add(el('div'), el('b', '', 'Accounts: '), document.createTextNode(s.accounts.join(', ') + (s.omitted.accounts ? ' (+' + num(s.omitted.accounts) + ' more)' : ''))));
  const own: string[] = [];
  for (const h of s.hosts) if (h.addresses.length) own.push(shortHost(h.computer) + ' ' + h.addresses.join(', '));
  if (s.sourceIps.length) add(facts, add(el('div'), el('b', '', 'Outside addresses: '), document.createTextNode(s.sourceIps.slice(0, 20).join(', ') + (s.sourceIps.length > 20 ? ' …' : ''))));
  if (own.length) add(facts, add(el('div'), el('b', '', 'Host addresses: '), document.createTextNode(own.slice(0, 20).join(' · '))));
  for (const e of s.spread) {
    if (e.fromKind === 'host')
      add(
        facts,
        add(
          el('div', 'evidence'),
          el('b', '', (e.attempt ? 'Tried ' : 'Spread ') + shortHost(e.from) + ' → ' + shortHost(e.to) + (e.attempt ? ' (not reached): ' : ': ')),
          document.createTextNode(e.evidence || ''),
        ),
      );
  }
  if (s.context.length) {
    const total = s.context.length + (s.omitted.context || 0);
    const ctx = el('details', 'context');
    ctx.appendChild(el('summary', '', 'Context, not spread: ' + num(total) + ' ' + plural(total, 'movement') + ' into its hosts without evidence, or routine'));
    const ul = el('ul');
    for (const c of s.context) {
      ul.appendChild(el('li', '', (c.fromKind === 'host' ? shortHost(c.from) : c.from) + ' → ' + shortHost(c.to) + ' at ' + time(c.at) + ' UTC (' + c.technique.name + '): ' + c.why));
    }
    ctx.appendChild(ul);
    facts.appendChild(ctx);
  }
  if (s.routine.length) {
    const total = s.routine.reduce((k, r) => k + r.detections, 0);
    const rt = el('details', 'routine');
    rt.appendChild(el('summary', '', 'Routine left out: ' + num(total) + ' ' + plural(total, 'detection') + ' on its hosts'));
    const rl = el('ul');
    for (const r of s.routine) rl.appendChild(el('li', '', r.why + ' (' + num(r.detections) + ')'));
    rt.appendChild(rl);
    facts.appendChild(rt);
  }
  card.appendChild(facts);
  if (s.spread.length || s.hosts.length > 1) card.appendChild(add(el('div', 'graphwrap'), storyGraph(s)));
  const det = el('details', 'stl');
  const n = s.timeline.length;
  det.appendChild(el('summary', '', 'Timeline: ' + num(n) + ' ' + plural(n, 'detection') + (s.omitted.timeline ? ' (' + num(s.omitted.timeline) + ' less severe ones left out)' : '')));
  const tb = el('table', 'det stimeline');
  for (const r of s.timeline) {
    const tr = add(
      el('tr'),
      el('td', 'ts', short(r.timestamp)),
      add(el('td'), badge(r.level)),
      el('td', '', shortHost(r.computer || '')),
      el('td', '', r.title + (r.kind === 'correlation' ? ' (correlation)' : '')),
    );
    tr.className = 'link';
    tr.addEventListener('click', () => table.searchFor(r.title));
    tb.appendChild(tr);
  }
  if (i === 0) det.open = true;
  det.appendChild(add(el('div', 'stlwrap'), tb));
  card.appendChild(det);
  return card;
}

/** The Stories section, shown only when the block holds stories. */
export function drawStories(stories: unknown, table: DetectionsTable): void {
  if (!Array.isArray(stories) || !stories.length) return;
  const list = stories as StoryView[];
  $('stories').hidden = false;
  const box = $('fb-stories-view');
  box.appendChild(
    el(
      'p',
      'muted',
      num(list.length) +
        ' ' +
        (list.length === 1 ? 'story' : 'stories') +
        ': detections joined by shared hosts, logon sessions, processes, outside addresses and (for suspicious ones) accounts, services and files close in time, and by movement with evidence; routine learnt from the data is left out; highest score first.' +
        (list.length > STORY_MAX ? ' The first ' + STORY_MAX + ' are drawn.' : ''),
    ),
  );
  list.slice(0, STORY_MAX).forEach((s, i) => box.appendChild(storyCard(s, i, table)));
}
