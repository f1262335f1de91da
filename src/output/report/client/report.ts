/**
 * The report's in-page script, bundled into one classic script (esbuild, see package.json's
 * `build:report`) that ../html.ts inlines and hashes into the page's Content-Security-Policy.
 * Rules it keeps: data comes only from the JSON blocks the writer embeds (./data.ts); every
 * string from the data reaches the page through `textContent` or an SVG text node, never as
 * markup; no network, no eval. The test suite checks the built script for all three.
 */
import type { ReportMeta, Row } from './data.js';
import { $, readJson } from './dom.js';
import { num } from './format.js';
import { drawChart } from './chart.js';
import { drawHeatmap, drawTopLists, type PickFacet } from './overview.js';
import { drawStories } from './stories.js';
import { drawHeader, drawProblems, drawStats } from './summary.js';
import { Cells, DetectionsTable } from './table.js';

const meta = readJson<ReportMeta>('fb-meta');
if (!meta) throw new Error('report: the #fb-meta data block is missing');
const rows = readJson<Row[]>('fb-rows') ?? [];
const table = new DetectionsTable(rows, new Cells(meta.columns));
const pick: PickFacet = (kind, value, label) => table.setFacet(kind, value, label);

drawHeader(meta);
drawStats(meta);
drawChart(meta.timeline);
drawTopLists(meta, pick);
drawHeatmap(meta.attack, pick);
table.start(meta.table);
drawProblems(meta.summary);
drawStories(readJson<unknown>('fb-stories'), table);
$('fb-footer').textContent = meta.generator + ' · self-contained report: no network access, works offline · detections table limited to ' + num(meta.table.maxRows) + ' rows';
document.documentElement.setAttribute('data-ready', '1');
