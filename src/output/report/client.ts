/**
 * The report's in-page script (plain ES2017, no libraries), kept as text because it runs in the
 * browser, not in Node. Rules it keeps: data comes only from the JSON blocks; every string from
 * the data reaches the page through `textContent` or an SVG text node, never as markup; no
 * network. It is hashed into the page's Content-Security-Policy, so it must stay one constant.
 */
export const REPORT_CLIENT_JS = String.raw`(function () {
'use strict';
var LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
var LABEL = { informational: 'Info', low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };
var COLOR = { critical: '#8e1b3a', high: '#dc4a2d', medium: '#e9a23b', low: '#3b82c4', informational: '#94a3b8' };
var PAGE = 100;

function $(id) { return document.getElementById(id); }
function data(id) { var n = $(id); return n && n.textContent ? JSON.parse(n.textContent) : null; }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function add(parent) { for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]); return parent; }
var SVGNS = 'http://www.w3.org/2000/svg';
function sv(tag, attrs, text) {
  var e = document.createElementNS(SVGNS, tag);
  for (var k in attrs) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function num(n) { return Number(n).toLocaleString('en-US'); }
function time(iso) { return iso ? String(iso).replace('T', ' ').replace(/Z$/, '') : '—'; }
function stamp(ms, step) {
  var s = new Date(ms).toISOString();
  return step >= 86400000 ? s.slice(0, 10) : s.slice(0, 16).replace('T', ' ');
}
function dur(ms) {
  if (ms < 1000) return Math.round(ms) + ' ms';
  var s = ms / 1000; if (s < 60) return s.toFixed(1).replace(/\.0$/, '') + ' s';
  function two(a, ua, b, ub) { return a + ' ' + ua + (b ? ' ' + b + ' ' + ub : ''); }
  var m = Math.floor(s / 60); if (m < 60) return two(m, 'min', Math.round(s - m * 60), 's');
  var h = Math.floor(m / 60); if (h < 24) return two(h, 'h', m - h * 60, 'min');
  var d = Math.floor(h / 24); return two(d, 'd', h - d * 24, 'h');
}
function text(v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(text).join('\n');
  return String(v);
}
function short(iso) { return iso ? String(iso).replace('T', ' ').replace(/(\.\d+)?Z$/, '') : ''; }
function range(a, b) {
  if (!a) return 'no timestamps';
  var x = short(a), y = short(b);
  return x.slice(0, 10) === y.slice(0, 10) ? x + ' → ' + y.slice(11) : x + ' →\n' + y;
}
function nice(max) {
  var raw = max / 4, p = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10)), m = raw / p;
  var step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
  return Math.max(1, step);
}
var TICKS = [60000, 300000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000, 172800000, 604800000, 2592000000, 31536000000];
function badge(level) { return el('span', 'badge ' + (LEVELS.indexOf(level) >= 0 ? level : 'informational'), LABEL[level] || level); }

var meta = data('fb-meta');
var rows = data('fb-rows') || [];
var stories = data('fb-stories');
var C = {};
meta.columns.forEach(function (c, i) { C[c] = i; });
var S = meta.summary;

// ---- header and summary -------------------------------------------------------------------
$('fb-generated').textContent = 'generated ' + short(meta.generatedAt) + ' UTC · hunt started ' + short(S.startedAt) + ' UTC';
function stat(label, value, note, small) {
  var d = el('div', 'stat');
  add(d, el('div', 'label', label), el('div', 'value' + (small ? ' small' : ''), value), note ? el('div', 'note', note) : null);
  d.setAttribute('data-stat', label);
  return d;
}
add($('fb-stats'),
  stat('Files', num(S.files.read), S.files.skipped.length ? num(S.files.skipped.length) + ' skipped' : 'none skipped'),
  stat('Events', num(S.events), num(Math.round(S.eventsPerSecond)) + ' events/s'),
  stat('Detections', num(S.detections), num(meta.hostsDistinct) + ' host' + (meta.hostsDistinct === 1 ? '' : 's') + ' with detections'),
  stat('Time range (UTC)', range(S.firstEvent, S.lastEvent), S.firstEvent ? dur(Date.parse(S.lastEvent) - Date.parse(S.firstEvent)) + ' of events' : '', true),
  stat('Rules', num(S.rules.loaded), (S.rules.failed ? num(S.rules.failed) + ' failed to load' : 'all loaded') + (S.rules.unmapped ? ', ' + num(S.rules.unmapped) + ' unmapped' : '')),
  stat('Errors', num(S.errors.count), 'elapsed ' + dur(S.elapsedMs)));
LEVELS.slice().reverse().forEach(function (l) {
  var chip = add(el('span', 'lvl ' + l), el('span', '', LABEL[l]), el('span', 'n', num(S.byLevel[l] || 0)));
  chip.setAttribute('data-level', l);
  $('fb-levels').appendChild(chip);
});

// ---- detections over time (stacked bars, critical at the bottom) ---------------------------
(function chart() {
  var T = meta.timeline, box = $('fb-chart');
  var notes = [];
  if (T.noTimestamp) notes.push(num(T.noTimestamp) + ' without a timestamp');
  if (T.before || T.after) notes.push(num(T.before + T.after) + ' outside the shown range (clock outliers)');
  $('fb-chart-hint').textContent = (T.counts.length ? 'one bar = ' + dur(T.step) : '') + (notes.length ? ' · ' + notes.join(' · ') : '');
  if (!T.counts.length) { box.appendChild(el('p', 'muted', 'No detections with a timestamp.')); return; }
  var W = 1000, H = 230, L = 48, R = 10, TOP = 10, B = 28;
  var top = 1;
  T.counts.forEach(function (c) { var s = c[0] + c[1] + c[2] + c[3] + c[4]; if (s > top) top = s; });
  var gstep = nice(top), max = Math.ceil(top / gstep) * gstep;
  var svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Detections over time by level' });
  var ph = H - TOP - B, pw = W - L - R, bw = pw / T.counts.length;
  for (var g = 0; g <= max; g += gstep) {
    var y = TOP + ph - (ph * g) / max;
    svg.appendChild(sv('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'gridline' }));
    svg.appendChild(sv('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, num(g)));
  }
  T.counts.forEach(function (c, i) {
    var x = L + i * bw, y = TOP + ph, total = c[0] + c[1] + c[2] + c[3] + c[4];
    if (!total) return;
    var grp = sv('g', { class: 'bar', 'data-total': total });
    var tip = stamp(T.start + i * T.step, T.step) + ' UTC: ' + num(total) + ' detection' + (total === 1 ? '' : 's');
    for (var l = 4; l >= 0; l--) {
      if (!c[l]) continue;
      var h = (ph * c[l]) / max;
      y -= h;
      grp.appendChild(sv('rect', { x: x + bw * 0.1, y: y, width: Math.max(1, bw * 0.8), height: Math.max(h, 0.5), fill: COLOR[LEVELS[l]], 'data-level': LEVELS[l], 'data-count': c[l] }));
      tip += ' · ' + num(c[l]) + ' ' + LEVELS[l];
    }
    grp.appendChild(sv('title', {}, tip));
    svg.appendChild(grp);
  });
  // Ticks on round times (every 2 h, every day, …), at most about eight of them.
  var span = T.counts.length * T.step, every = TICKS[TICKS.length - 1];
  for (var q = 0; q < TICKS.length; q++) if (TICKS[q] >= T.step && span / TICKS[q] <= 8) { every = TICKS[q]; break; }
  var oneDay = stamp(T.start, 86400000) === stamp(T.start + span - 1, 86400000);
  for (var tk = Math.ceil(T.start / every) * every; tk <= T.start + span; tk += every) {
    var tx = L + ((tk - T.start) / span) * pw;
    var lbl = every >= 86400000 ? stamp(tk, 86400000) : oneDay ? new Date(tk).toISOString().slice(11, 16) : stamp(tk, T.step).slice(5);
    svg.appendChild(sv('line', { x1: tx, x2: tx, y1: TOP + ph, y2: TOP + ph + 4, class: 'gridline' }));
    svg.appendChild(sv('text', { x: tx, y: H - 8, 'text-anchor': tx > W - 40 ? 'end' : tx < L + 30 ? 'start' : 'middle', class: 'axis' }, lbl));
  }
  if (oneDay) $('fb-chart-hint').textContent = stamp(T.start, 86400000) + ' · ' + $('fb-chart-hint').textContent;
  box.appendChild(svg);
  LEVELS.slice().reverse().forEach(function (l) {
    var sw = el('span', 'sw'); sw.style.background = COLOR[l];
    $('fb-legend').appendChild(add(el('span'), sw, document.createTextNode(LABEL[l])));
  });
})();

// ---- top rules and hosts ------------------------------------------------------------------
function topList(table, items, label, onPick) {
  var max = items.length ? items[0].count : 1;
  if (!items.length) { table.appendChild(add(el('tr'), add(el('td', 'muted', 'No detections.')))); return; }
  items.forEach(function (it) {
    var tr = el('tr', 'link');
    var bar = el('div', 'bar'); bar.style.width = Math.max(1, (100 * it.count) / max) + '%';
    if (it.level) bar.style.background = COLOR[it.level];
    var name = el('td', 'name', label(it)); name.title = label(it);
    add(tr, it.level ? add(el('td'), badge(it.level)) : null, name, add(el('td', 'barcell'), bar), el('td', 'count', num(it.count)));
    tr.addEventListener('click', function () { onPick(it); });
    table.appendChild(tr);
  });
}
topList($('fb-top-rules'), meta.topRules, function (r) { return r.title; }, function (r) { setFacet('rule', r.title, 'Rule'); });
topList($('fb-top-hosts'), meta.topHosts, function (h) { return h.computer || '(no computer name)'; }, function (h) { setFacet('computer', h.computer, 'Host'); });
if (meta.otherHosts) $('fb-top-hosts').appendChild(add(el('tr'), add(el('td', 'muted', num(meta.otherHosts) + ' more detections on hosts beyond the first ' + num(meta.maxHosts) + ' names'))));

// ---- ATT&CK heatmap -----------------------------------------------------------------------
// Soft hyphens where long tactic names may break in a narrow matrix column.
var SHY = { Reconnaissance: 'Reconnais\u00ADsance', Development: 'Develop\u00ADment', Persistence: 'Persis\u00ADtence', Exfiltration: 'Exfiltra\u00ADtion', Escalation: 'Escala\u00ADtion', Credential: 'Creden\u00ADtial' };
function breakable(name) { return name.split(' ').map(function (w) { return SHY[w] || w; }).join(' '); }
(function heat() {
  var max = 1;
  meta.attack.forEach(function (col) { col.techniques.forEach(function (t) { if (t.count > max) max = t.count; }); });
  meta.attack.forEach(function (col) {
    var c = el('div', 'col');
    c.setAttribute('data-tactic', col.short);
    var th = add(el('div', 'th' + (col.count || col.techniques.length ? '' : ' none')), el('div', 'nm', breakable(col.name)), el('div', 'ct', col.id ? col.id + ' · ' + num(col.count) : num(col.count)));
    c.appendChild(th);
    if (!col.techniques.length) c.appendChild(el('div', 'empty', '—'));
    col.techniques.forEach(function (t) {
      var cell = add(el('div', 'cell'), el('span', 'id', t.technique), el('span', 'n', num(t.count)));
      var f = Math.log(1 + t.count) / Math.log(1 + max);
      cell.style.background = 'rgba(67, 56, 202,' + (0.10 + 0.80 * f).toFixed(3) + ')';
      if (f > 0.55) cell.style.color = '#fff';
      cell.title = t.technique + ' under ' + col.name + ': ' + num(t.count) + ' detections from ' + num(t.rules) + ' rule' + (t.rules === 1 ? '' : 's');
      cell.setAttribute('data-technique', t.technique);
      cell.setAttribute('data-count', t.count);
      cell.addEventListener('click', function () { setFacet('technique', t.technique, 'Technique'); });
      c.appendChild(cell);
    });
    $('fb-heat').appendChild(c);
  });
})();

// ---- stories: detections joined into incidents (src/stories, docs/stories.md) ---------------
// Each story is a card: score, narrative, tactics, the spread drawn as hosts (nodes) joined by
// timed arrows, and the story's detections in time order. Drawn from #fb-stories only.
var STORY_MAX = 25, GRAPH_MAX_NODES = 40;
function hhmm(iso) { return iso ? String(iso).slice(11, 16) : ''; }
function shortHost(name) { var s = String(name); var d = s.indexOf('.'); return d > 0 && !/^\d/.test(s) ? s.slice(0, d) : s; }
function storyGraph(s) {
  var pz = s.patientZero ? s.patientZero.computer : null;
  var nodes = [], byName = {};
  function node(name, kind, first, level, count) {
    if (byName[name]) return byName[name];
    if (nodes.length >= GRAPH_MAX_NODES) return null;
    var n = { name: name, kind: kind, first: first, level: level, count: count || 0, depth: 0, row: 0, placed: false };
    byName[name] = n; nodes.push(n);
    return n;
  }
  (s.spread || []).forEach(function (e) { if (e.fromKind === 'ip') node(e.from, 'ip', e.at, null, 0); });
  (s.hosts || []).forEach(function (h) { node(h.computer, 'host', h.firstTouched, h.maxLevel, h.detections); });
  var edges = (s.spread || []).filter(function (e) { return byName[e.from] && byName[e.to] && e.from !== e.to; });
  // Columns by order of movement: a host sits one column right of the host that first reached it.
  var incoming = {};
  edges.forEach(function (e) { incoming[e.to] = (incoming[e.to] || 0) + 1; });
  var queue = nodes.filter(function (n) { return !incoming[n.name]; });
  if (!queue.length && byName[pz]) queue.push(byName[pz]);
  queue.forEach(function (n) { n.placed = true; });
  for (var qi = 0; qi < queue.length; qi++) {
    var cur = queue[qi];
    edges.forEach(function (e) {
      if (e.from !== cur.name) return;
      var t = byName[e.to];
      if (t.placed) return;
      t.placed = true; t.depth = cur.depth + 1; queue.push(t);
    });
  }
  nodes.forEach(function (n) { if (!n.placed) { n.placed = true; n.depth = 0; } });
  var cols = [];
  nodes.forEach(function (n) { (cols[n.depth] = cols[n.depth] || []).push(n); });
  cols.forEach(function (c) {
    c.sort(function (a, b) { return (a.name === pz ? -1 : b.name === pz ? 1 : 0) || (a.kind === b.kind ? 0 : a.kind === 'ip' ? -1 : 1) || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0); });
    c.forEach(function (n, i) { n.row = i; });
  });
  var NW = 176, NH = 50, GAP = 320, BEND = 64, RH = 78, PAD = 14;
  var rows = 1; cols.forEach(function (c) { if (c && c.length > rows) rows = c.length; });
  var W = PAD * 2 + cols.length * NW + (cols.length - 1) * GAP, H = PAD * 2 + rows * RH - (RH - NH) + 18;
  var svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', class: 'spread', 'aria-label': 'Spread between hosts' });
  var defs = sv('defs', {});
  var mk = sv('marker', { id: 'fb-arrow-' + s.id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  mk.appendChild(sv('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#475569' }));
  defs.appendChild(mk); svg.appendChild(defs);
  nodes.forEach(function (n) { n.x = PAD + n.depth * (NW + GAP); n.y = PAD + 18 + n.row * RH; });
  var labels = [];
  edges.forEach(function (e, i) {
    var a = byName[e.from], b = byName[e.to];
    var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, d;
    // Forward: a short bend out of the source, then a straight run into the target that carries the label.
    if (b.depth > a.depth) d = 'M' + x1 + ',' + y1 + ' C' + (x1 + BEND / 2) + ',' + y1 + ' ' + (x1 + BEND / 2) + ',' + y2 + ' ' + (x1 + BEND) + ',' + y2 + ' L' + x2 + ',' + y2;
    else { x2 = b.x + NW / 2; y2 = b.y + (b.y > a.y ? 0 : NH); x1 = a.x + NW / 2; y1 = a.y + (b.y > a.y ? NH : 0); var bend = a.x + NW + 40; d = 'M' + x1 + ',' + y1 + ' C' + bend + ',' + y1 + ' ' + bend + ',' + y2 + ' ' + x2 + ',' + y2; }
    var g = sv('g', { class: 'edge', 'data-from': e.from, 'data-to': e.to, 'data-at': e.at, 'data-technique': e.technique.id || '' });
    g.appendChild(sv('path', { d: d, fill: 'none', stroke: '#475569', 'stroke-width': 1.6, 'marker-end': 'url(#fb-arrow-' + s.id + ')' }));
    g.appendChild(sv('title', {}, e.from + ' → ' + e.to + ' at ' + time(e.at) + ' UTC: ' + e.techniques.map(function (t) { return (t.id ? t.id + ' ' : '') + t.name; }).join(', ') + (e.evidence ? '\nwhy it is part of the story: ' + e.evidence : '') + (e.detections.length ? '\nshown by: ' + e.detections.map(function (x) { return x.title; }).join('; ') : '')));
    svg.appendChild(g);
    var lx = b.depth > a.depth ? (x1 + BEND + x2) / 2 - 4 : a.x + NW + 44, ly = b.depth > a.depth ? y2 : (y1 + y2) / 2;
    labels.push({ x: lx, y: ly, t1: hhmm(e.at), t2: (e.technique.id ? e.technique.id + ' ' : '') + e.technique.name, g: g });
  });
  // Edge labels above the lines: time, then technique, on a white plate.
  labels.forEach(function (l) {
    var t2 = l.t2.length > 34 ? l.t2.slice(0, 33) + '…' : l.t2;
    var w = Math.max(l.t1.length, t2.length) * 5.9 + 12;
    var lg = sv('g', { class: 'elabel' });
    lg.appendChild(sv('rect', { x: l.x - w / 2, y: l.y - 15, width: w, height: 30, rx: 4, fill: '#fff', stroke: '#cbd5e1' }));
    lg.appendChild(sv('text', { x: l.x, y: l.y - 3, 'text-anchor': 'middle', class: 'et' }, l.t1));
    lg.appendChild(sv('text', { x: l.x, y: l.y + 10, 'text-anchor': 'middle', class: 'eq' }, t2));
    l.g.appendChild(lg);
  });
  nodes.forEach(function (n) {
    var g = sv('g', { class: 'node' + (n.name === pz ? ' pz' : '') + (n.kind === 'ip' ? ' ext' : ''), 'data-host': n.name });
    var stroke = n.name === pz ? '#f97316' : n.kind === 'ip' ? '#94a3b8' : '#334155';
    g.appendChild(sv('rect', { x: n.x, y: n.y, width: NW, height: NH, rx: 8, fill: n.kind === 'ip' ? '#f8fafc' : '#fff', stroke: stroke, 'stroke-width': n.name === pz ? 3 : 1.4, 'stroke-dasharray': n.kind === 'ip' ? '5 4' : 'none' }));
    if (n.level) g.appendChild(sv('rect', { x: n.x, y: n.y, width: 6, height: NH, rx: 3, fill: COLOR[n.level] || COLOR.informational }));
    var label = n.kind === 'ip' ? n.name : shortHost(n.name);
    g.appendChild(sv('text', { x: n.x + 14, y: n.y + 20, class: 'nn' }, label.length > 19 ? label.slice(0, 18) + '…' : label));
    g.appendChild(sv('text', { x: n.x + 14, y: n.y + 38, class: 'ns' }, n.kind === 'ip' ? 'outside address' : 'from ' + hhmm(n.first) + (n.count ? ' · ' + num(n.count) + ' det.' : '')));
    if (n.name === pz) g.appendChild(sv('text', { x: n.x, y: n.y - 6, class: 'pzl' }, 'PATIENT ZERO'));
    g.appendChild(sv('title', {}, n.name + (n.kind === 'ip' ? ' (no host in the evidence owns this address)' : '\nfirst touched ' + time(n.first) + ' UTC · ' + num(n.count) + ' detections')));
    svg.appendChild(g);
  });
  return svg;
}
function storyCard(s, i) {
  var card = el('article', 'story');
  card.setAttribute('data-story', s.id);
  var head = el('div', 'sh');
  var sc = el('span', 'score', String(s.score)); sc.title = 'Score: rises with severity (rare detections weigh more), reach (hosts with suspicious activity, spread) and progression (tactics reached); routine is left out';
  var lv = LEVELS.slice().reverse().filter(function (l) { return s.levels[l]; }).map(function (l) { return num(s.levels[l]) + ' ' + l; }).join(', ');
  add(head, sc, add(el('div', 'st'), el('div', 'sn', 'Story ' + (i + 1) + (s.patientZero ? ' · from ' + shortHost(s.patientZero.computer) : '')),
    el('div', 'sm', num(s.hosts.length) + ' host' + (s.hosts.length === 1 ? '' : 's') + ' · ' + num(s.detections) + ' detections (' + lv + ') · ' + range(s.firstSeen, s.lastSeen).replace('\n', ' ') + ' UTC · ' + s.id)));
  card.appendChild(head);
  card.appendChild(el('p', 'narrative', s.narrative));
  var tl = el('div', 'tactics');
  s.tactics.forEach(function (t, k) {
    if (k) tl.appendChild(el('span', 'arrow', '→'));
    var c = el('span', 'tactic', t.name); c.title = t.id + ' · first: ' + time(t.first.at) + ' on ' + (t.first.computer || '?') + ' (' + t.first.title + ')';
    c.setAttribute('data-tactic', t.short);
    tl.appendChild(c);
  });
  if (s.tactics.length) card.appendChild(tl);
  var facts = el('div', 'facts');
  if (s.earned) add(facts, add(el('div', 'earned'), el('b', '', 'Why a story: '), document.createTextNode(s.earned)));
  if (s.patientZero) add(facts, add(el('div'), el('b', '', 'Patient zero: '), el('span', 'pzname', s.patientZero.computer), el('span', 'muted', ' — ' + s.patientZero.why)));
  if (s.accounts.length) add(facts, add(el('div'), el('b', '', 'Accounts: '), document.createTextNode(s.accounts.join(', ') + (s.omitted.accounts ? ' (+' + num(s.omitted.accounts) + ' more)' : ''))));
  var own = [];
  s.hosts.forEach(function (h) { if (h.addresses && h.addresses.length) own.push(shortHost(h.computer) + ' ' + h.addresses.join(', ')); });
  if (s.sourceIps.length) add(facts, add(el('div'), el('b', '', 'Outside addresses: '), document.createTextNode(s.sourceIps.slice(0, 20).join(', ') + (s.sourceIps.length > 20 ? ' …' : ''))));
  if (own.length) add(facts, add(el('div'), el('b', '', 'Host addresses: '), document.createTextNode(own.slice(0, 20).join(' · '))));
  (s.spread || []).forEach(function (e) {
    if (e.fromKind === 'host') add(facts, add(el('div', 'evidence'), el('b', '', 'Spread ' + shortHost(e.from) + ' → ' + shortHost(e.to) + ': '), document.createTextNode(e.evidence || '')));
  });
  if (s.context && s.context.length) {
    var ctx = el('details', 'context');
    ctx.appendChild(el('summary', '', 'Context, not spread: ' + num(s.context.length + (s.omitted.context || 0)) + ' movement' + (s.context.length + (s.omitted.context || 0) === 1 ? '' : 's') + ' into its hosts without evidence, or routine'));
    var ul = el('ul');
    s.context.forEach(function (c) { ul.appendChild(el('li', '', (c.fromKind === 'host' ? shortHost(c.from) : c.from) + ' → ' + shortHost(c.to) + ' at ' + time(c.at) + ' UTC (' + c.technique.name + '): ' + c.why)); });
    ctx.appendChild(ul);
    facts.appendChild(ctx);
  }
  if (s.routine && s.routine.length) {
    var rt = el('details', 'routine');
    var n = 0; s.routine.forEach(function (r) { n += r.detections; });
    rt.appendChild(el('summary', '', 'Routine left out: ' + num(n) + ' detection' + (n === 1 ? '' : 's') + ' on its hosts'));
    var rl = el('ul');
    s.routine.forEach(function (r) { rl.appendChild(el('li', '', r.why + ' (' + num(r.detections) + ')')); });
    rt.appendChild(rl);
    facts.appendChild(rt);
  }
  card.appendChild(facts);
  if (s.spread.length || s.hosts.length > 1) {
    var gw = el('div', 'graphwrap');
    gw.appendChild(storyGraph(s));
    card.appendChild(gw);
  }
  var det = el('details', 'stl');
  var sum = el('summary', '', 'Timeline: ' + num(s.timeline.length) + ' detection' + (s.timeline.length === 1 ? '' : 's') + (s.omitted.timeline ? ' (' + num(s.omitted.timeline) + ' less severe ones left out)' : ''));
  det.appendChild(sum);
  var tb = el('table', 'det stimeline');
  s.timeline.forEach(function (r) {
    var tr = add(el('tr'), el('td', 'ts', short(r.timestamp)), add(el('td'), badge(r.level)), el('td', '', shortHost(r.computer || '')), el('td', '', r.title + (r.kind === 'correlation' ? ' (correlation)' : '')));
    tr.className = 'link';
    tr.addEventListener('click', function () { $('fb-search').value = r.title; table.search = r.title; apply(); $('detections').scrollIntoView({ behavior: 'smooth', block: 'start' }); });
    tb.appendChild(tr);
  });
  if (i === 0) det.open = true;
  var sw = el('div', 'stlwrap'); sw.appendChild(tb); det.appendChild(sw);
  card.appendChild(det);
  return card;
}
function drawStories() {
  if (!Array.isArray(stories) || !stories.length) return;
  $('stories').hidden = false;
  var box = $('fb-stories-view');
  box.appendChild(el('p', 'muted', num(stories.length) + ' stor' + (stories.length === 1 ? 'y' : 'ies') + ': detections joined by shared hosts, logon sessions, processes, outside addresses and (for suspicious ones) accounts, services and files close in time, and by movement with evidence; routine learnt from the data is left out; highest score first.' + (stories.length > STORY_MAX ? ' The first ' + STORY_MAX + ' are drawn.' : '')));
  stories.slice(0, STORY_MAX).forEach(function (s, i) { box.appendChild(storyCard(s, i)); });
}

// ---- detections table ---------------------------------------------------------------------
var table = { key: 'ts', dir: 1, page: 0, search: '', minLevel: -1, facet: null, view: rows };
var hay = null;
function details(r) {
  var m = r[C.matched] || {}, out = [];
  for (var k in m) out.push(k + ': ' + m[k]);
  return out.join(' ¦ ');
}
function haystack(r) {
  var parts = [r[C.rule_title], r[C.rule_id], r[C.computer], r[C.channel], r[C.provider], r[C.event_id], r[C.source_file], details(r), (r[C.tags] || []).join(' ')];
  var ev = r[C.event] || {};
  for (var k in ev) parts.push(k + ' ' + text(ev[k]));
  return parts.join('\n').toLowerCase();
}
var KEY = {
  ts: function (r) { return r[C.timestamp] || ''; },
  level: function (r) { return LEVELS.indexOf(r[C.level]); },
  rule: function (r) { return String(r[C.rule_title]).toLowerCase(); },
  computer: function (r) { return String(r[C.computer] || '').toLowerCase(); },
  channel: function (r) { return String(r[C.channel] || '').toLowerCase(); },
  eid: function (r) { var v = r[C.event_id]; return v === null ? -1 : v; },
  details: function (r) { return details(r).toLowerCase(); },
};
function apply() {
  var q = table.search.toLowerCase(), f = table.facet, min = table.minLevel;
  if (q && !hay) hay = rows.map(haystack);
  var v = [];
  for (var i = 0; i < rows.length; i++) {
    var r = rows[i];
    if (min >= 0 && LEVELS.indexOf(r[C.level]) < min) continue;
    if (f && !facetMatch(r, f)) continue;
    if (q && hay[i].indexOf(q) < 0) continue;
    v.push(r);
  }
  var key = KEY[table.key], dir = table.dir;
  v.sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -dir : x > y ? dir : 0; });
  table.view = v;
  table.page = 0;
  draw();
}
function facetMatch(r, f) {
  if (f.kind === 'rule') return r[C.rule_title] === f.value;
  if (f.kind === 'computer') return (r[C.computer] || '') === (f.value || '');
  if (f.kind === 'technique') return (r[C.tags] || []).some(function (t) { return t.toUpperCase() === 'ATTACK.' + f.value; });
  return true;
}
function setFacet(kind, value, label) {
  table.facet = { kind: kind, value: value, label: label };
  var box = $('fb-facet');
  box.textContent = '';
  var x = el('button', '', '×'); x.type = 'button'; x.title = 'Remove this filter'; x.setAttribute('aria-label', 'Remove filter');
  x.addEventListener('click', function () { table.facet = null; box.textContent = ''; apply(); });
  box.appendChild(add(el('span', 'chip'), el('span', '', label + ': ' + (value || '(none)')), x));
  apply();
  $('detections').scrollIntoView({ behavior: 'smooth', block: 'start' });
}
function draw() {
  var tb = $('fb-table').tBodies[0];
  tb.textContent = '';
  var v = table.view, from = table.page * PAGE, to = Math.min(v.length, from + PAGE);
  for (var i = from; i < to; i++) tb.appendChild(rowEl(v[i]));
  if (!v.length) tb.appendChild(add(el('tr'), (function () { var td = el('td', 'muted', 'No detections match.'); td.colSpan = 7; return td; })()));
  $('fb-count').textContent = 'Showing ' + num(v.length) + ' of ' + num(rows.length);
  var pages = Math.max(1, Math.ceil(v.length / PAGE));
  $('fb-page').textContent = 'Page ' + (table.page + 1) + ' of ' + pages;
  $('fb-prev').disabled = table.page === 0;
  $('fb-next').disabled = table.page >= pages - 1;
  var ths = $('fb-table').tHead.rows[0].cells;
  for (var h = 0; h < ths.length; h++) {
    var k = ths[h].getAttribute('data-key');
    if (k === table.key) ths[h].setAttribute('aria-sort', table.dir > 0 ? 'ascending' : 'descending');
    else ths[h].removeAttribute('aria-sort');
  }
}
function rowEl(r) {
  var tr = el('tr');
  tr.tabIndex = 0;
  add(tr, el('td', 'ts', time(r[C.timestamp])), add(el('td'), badge(r[C.level])), el('td', '', r[C.rule_title]), el('td', '', r[C.computer]),
    el('td', '', r[C.channel]), el('td', 'num', r[C.event_id]), el('td', 'details', details(r)));
  tr.addEventListener('click', function () { openRow(r); });
  tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') openRow(r); });
  return tr;
}
function kv(obj, hits) {
  var t = el('table', 'kv');
  Object.keys(obj).forEach(function (k) {
    var tr = add(el('tr', hits && Object.prototype.hasOwnProperty.call(hits, k) ? 'hit' : ''), el('td', 'k', k), el('td', 'v', text(obj[k])));
    t.appendChild(tr);
  });
  if (!Object.keys(obj).length) t.appendChild(add(el('tr'), el('td', 'muted', '(none)')));
  return t;
}
function openRow(r) {
  var d = $('fb-dialog'), body = $('fb-d-body');
  $('fb-d-level').textContent = '';
  $('fb-d-level').appendChild(badge(r[C.level]));
  $('fb-d-title').textContent = r[C.rule_title];
  body.textContent = '';
  add(body, el('h4', '', 'Detection'), kv({
    'Time (UTC)': time(r[C.timestamp]), Computer: r[C.computer], Channel: r[C.channel], Provider: r[C.provider], 'Event ID': r[C.event_id],
    'Record ID': r[C.record_id], 'Source file': r[C.source_file], 'Rule ID': r[C.rule_id], 'Rule status': r[C.rule_status], 'Rule file': r[C.rule_file],
    Tags: (r[C.tags] || []).join(', '),
  }));
  add(body, el('h4', '', 'Matched fields'), kv(r[C.matched] || {}));
  add(body, el('h4', '', 'Full event'), kv(r[C.event] || {}, r[C.matched] || {}));
  if (r[C.cut]) body.appendChild(el('p', 'muted', num(r[C.cut]) + ' long values or fields were shortened in this report; the JSONL output and the database hold them whole.'));
  if (typeof d.showModal === 'function') d.showModal(); else d.setAttribute('open', '');
}
$('fb-d-close').addEventListener('click', function () { $('fb-dialog').close(); });
$('fb-dialog').addEventListener('click', function (e) { if (e.target === $('fb-dialog')) $('fb-dialog').close(); });
var ths = $('fb-table').tHead.rows[0].cells;
for (var h = 0; h < ths.length; h++) {
  ths[h].addEventListener('click', function () {
    var k = this.getAttribute('data-key');
    if (table.key === k) table.dir = -table.dir; else { table.key = k; table.dir = k === 'level' ? -1 : 1; }
    apply();
  });
}
var timer = 0;
$('fb-search').addEventListener('input', function () {
  var v = this.value;
  clearTimeout(timer);
  timer = setTimeout(function () { table.search = v.trim(); apply(); }, 120);
});
$('fb-level').addEventListener('change', function () { table.minLevel = this.value ? LEVELS.indexOf(this.value) : -1; apply(); });
$('fb-prev').addEventListener('click', function () { if (table.page > 0) { table.page--; draw(); } });
$('fb-next').addEventListener('click', function () { if ((table.page + 1) * PAGE < table.view.length) { table.page++; draw(); } });
var T = meta.table;
if (T.omitted) {
  var parts = [];
  LEVELS.slice().reverse().forEach(function (l, i) { var n = T.omittedByLevel[4 - i]; if (n) parts.push(num(n) + ' ' + l); });
  $('fb-left-out').appendChild(el('div', 'notice', 'This table holds the ' + num(T.included) + ' most severe of ' + num(T.total) + ' detections (limits: ' +
    num(T.maxRows) + ' rows, ' + num(Math.round(T.maxChars / 1048576)) + ' MiB). ' + num(T.omitted) + ' are left out (' + parts.join(', ') + '); the CSV, JSONL and database outputs hold them all.'));
}
apply();

// ---- problems -----------------------------------------------------------------------------
(function problems() {
  var skipped = S.files.skipped, errs = S.errors.sample;
  if (!skipped.length && !errs.length && !S.errors.count) return;
  $('problems').hidden = false;
  var box = $('fb-problems');
  if (S.errors.count) {
    box.appendChild(el('p', '', num(S.errors.count) + ' error' + (S.errors.count === 1 ? '' : 's') + (errs.length < S.errors.count ? ' (first ' + num(errs.length) + ' shown)' : '') + ':'));
    var ul = el('ul', 'errs');
    errs.forEach(function (e) { ul.appendChild(add(el('li'), el('code', '', e.code), document.createTextNode(' ' + e.kind + ' · ' + e.file + ': ' + e.message))); });
    box.appendChild(ul);
  }
  if (skipped.length) {
    box.appendChild(el('p', '', num(skipped.length) + ' file' + (skipped.length === 1 ? '' : 's') + ' skipped:'));
    var us = el('ul', 'errs');
    skipped.forEach(function (s) { us.appendChild(add(el('li'), el('code', '', s.file), document.createTextNode(' ' + s.reason))); });
    box.appendChild(us);
  }
})();
drawStories();
$('fb-footer').textContent = meta.generator + ' · self-contained report: no network access, works offline · detections table limited to ' + num(T.maxRows) + ' rows';
document.documentElement.setAttribute('data-ready', '1');
})();
`;
