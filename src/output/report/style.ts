/** The report's stylesheet, inlined into the page (no external fonts or assets: it must open offline). */
export const REPORT_CSS = `
:root {
  --bg: #f3f4f6; --card: #fff; --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb;
  --critical: #8e1b3a; --high: #dc4a2d; --medium: #e9a23b; --low: #3b82c4; --informational: #94a3b8;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
header.top { background: #0f172a; color: #f8fafc; padding: 18px 32px; display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
header.top h1 { font-size: 20px; margin: 0; font-weight: 650; letter-spacing: .2px; }
header.top .brand { color: #f97316; font-weight: 700; }
header.top .sub { color: #94a3b8; font-size: 13px; }
main { max-width: 1400px; margin: 0 auto; padding: 20px 32px 40px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(15,23,42,.04); }
section.card > h2 { font-size: 15px; margin: 0 0 14px; font-weight: 650; display: flex; align-items: baseline; gap: 10px; }
section.card > h2 .hint { font-weight: 400; color: var(--muted); font-size: 12.5px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.grid2 > section.card { margin-bottom: 0; }
.row-gap { margin-bottom: 18px; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } main { padding: 12px; } }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fafafa; }
.stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.stat .value { font-size: 22px; font-weight: 650; margin-top: 4px; font-variant-numeric: tabular-nums; }
.stat .value.small { font-size: 14px; font-weight: 550; line-height: 1.5; white-space: pre-line; }
.stat .note { color: var(--muted); font-size: 12px; margin-top: 2px; }
.levels { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 14px; }
.lvl { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px 3px 8px; border-radius: 999px; font-size: 12.5px; font-weight: 600; color: #fff; white-space: nowrap; }
.lvl.critical { background: var(--critical); } .lvl.high { background: var(--high); } .lvl.medium { background: var(--medium); color: #3b2500; }
.lvl.low { background: var(--low); } .lvl.informational { background: var(--informational); color: #0f172a; }
.lvl .n { font-variant-numeric: tabular-nums; opacity: .95; }
.badge { display: inline-block; min-width: 64px; text-align: center; padding: 2px 8px; border-radius: 4px; font-size: 11.5px; font-weight: 650; color: #fff; text-transform: uppercase; letter-spacing: .3px; }
.badge.critical { background: var(--critical); } .badge.high { background: var(--high); } .badge.medium { background: var(--medium); color: #3b2500; }
.badge.low { background: var(--low); } .badge.informational { background: var(--informational); color: #0f172a; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .axis { fill: var(--muted); font-size: 11px; }
.chart .gridline { stroke: var(--line); }
.legend { display: flex; gap: 16px; font-size: 12.5px; color: var(--muted); margin-top: 8px; flex-wrap: wrap; }
.legend .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.muted { color: var(--muted); }
.toplist { width: 100%; border-collapse: collapse; }
.toplist td { padding: 5px 6px; border-bottom: 1px solid #f1f2f4; vertical-align: middle; }
.toplist tr:last-child td { border-bottom: 0; }
.toplist tr.link { cursor: pointer; } .toplist tr.link:hover td { background: #f8fafc; }
.toplist .name { max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.toplist .count { text-align: right; font-variant-numeric: tabular-nums; width: 60px; font-weight: 600; }
.toplist .barcell { width: 28%; }
.bar { height: 8px; border-radius: 4px; background: #cbd5e1; min-width: 2px; }
.heat { display: grid; grid-auto-flow: column; grid-auto-columns: minmax(74px, 1fr); gap: 4px; overflow-x: auto; padding-bottom: 6px; }
.heat .col { display: flex; flex-direction: column; gap: 4px; }
.heat .th { background: #1e293b; color: #f8fafc; border-radius: 6px; padding: 6px 7px; min-height: 58px; }
.heat .th.none { background: #e2e8f0; color: #64748b; }
.heat .th .nm { font-weight: 600; font-size: 11.5px; line-height: 1.2; hyphens: manual; }
.heat .th .ct { font-size: 11px; opacity: .8; margin-top: 3px; }
.heat .cell { border-radius: 5px; padding: 4px 6px; font-size: 11px; display: flex; flex-wrap: wrap; justify-content: space-between; column-gap: 4px; cursor: pointer; border: 1px solid rgba(0,0,0,.06); }
.heat .cell:hover { outline: 2px solid var(--accent); }
.heat .cell .n { margin-left: auto; font-variant-numeric: tabular-nums; }
.heat .cell .id { font-weight: 600; letter-spacing: -.2px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.heat .empty { color: #94a3b8; font-size: 12px; text-align: center; padding: 6px; }
.toolbar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin-bottom: 10px; }
.toolbar input[type=search] { flex: 1 1 320px; padding: 8px 10px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; }
.toolbar select { padding: 7px 8px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; background: #fff; }
.chip { display: inline-flex; align-items: center; gap: 6px; background: #e0e7ff; color: #1e3a8a; border-radius: 999px; padding: 3px 6px 3px 10px; font-size: 12.5px; }
.chip button { border: 0; background: transparent; cursor: pointer; font-size: 14px; color: #1e3a8a; padding: 0 4px; }
.count-note { color: var(--muted); font-size: 12.5px; }
.notice { background: #fff7ed; border: 1px solid #fed7aa; color: #7c2d12; border-radius: 6px; padding: 8px 12px; margin-bottom: 10px; font-size: 13px; }
.tablewrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table.det { width: 100%; border-collapse: collapse; font-size: 13px; }
table.det th { text-align: left; background: #f8fafc; border-bottom: 1px solid var(--line); padding: 8px 10px; white-space: nowrap; cursor: pointer; user-select: none; position: sticky; top: 0; }
table.det th:hover { background: #eef2f7; }
table.det th[aria-sort=ascending]::after { content: " \\25B2"; font-size: 10px; color: var(--accent); }
table.det th[aria-sort=descending]::after { content: " \\25BC"; font-size: 10px; color: var(--accent); }
table.det td { padding: 7px 10px; border-bottom: 1px solid #f1f2f4; vertical-align: top; }
table.det tbody tr { cursor: pointer; }
table.det tbody tr:hover td, table.det tbody tr:focus td { background: #f1f5ff; }
table.det td.ts { white-space: nowrap; font-variant-numeric: tabular-nums; color: #334155; }
table.det td.details { max-width: 520px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: #475569; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
table.det td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pager { display: flex; gap: 8px; align-items: center; justify-content: flex-end; margin-top: 10px; }
.pager button { border: 1px solid #cbd5e1; background: #fff; border-radius: 6px; padding: 5px 10px; cursor: pointer; font: inherit; }
.pager button:disabled { opacity: .4; cursor: default; }
dialog { border: 0; border-radius: 12px; padding: 0; width: min(1000px, 94vw); max-height: 88vh; box-shadow: 0 20px 60px rgba(15,23,42,.35); }
dialog::backdrop { background: rgba(15,23,42,.45); }
dialog .dh { display: flex; align-items: center; gap: 12px; padding: 14px 18px; border-bottom: 1px solid var(--line); position: sticky; top: 0; background: #fff; }
dialog .dh h3 { margin: 0; font-size: 16px; flex: 1; }
dialog .dh button { border: 1px solid #cbd5e1; background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; font: inherit; }
dialog .db { padding: 14px 18px 20px; }
dialog h4 { margin: 16px 0 6px; font-size: 12.5px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); }
table.kv { width: 100%; border-collapse: collapse; font-size: 12.5px; }
table.kv td { border-bottom: 1px solid #f1f2f4; padding: 5px 8px; vertical-align: top; }
table.kv td.k { width: 200px; color: #475569; font-weight: 600; white-space: nowrap; }
table.kv td.v { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
table.kv tr.hit td { background: #fff7d6; }
ul.errs { margin: 0; padding-left: 18px; font-size: 13px; } ul.errs li { margin: 3px 0; }
ul.errs code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; background: #f1f5f9; padding: 1px 4px; border-radius: 3px; }
#stories > p.muted { margin: 0 0 12px; }
article.story { border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; margin-bottom: 14px; background: #fcfcfd; }
article.story .sh { display: flex; gap: 14px; align-items: center; }
article.story .score { min-width: 52px; height: 52px; border-radius: 10px; background: #0f172a; color: #fff; font-size: 20px; font-weight: 700; display: flex; align-items: center; justify-content: center; font-variant-numeric: tabular-nums; }
article.story .sn { font-size: 15.5px; font-weight: 650; }
article.story .sm { color: var(--muted); font-size: 12.5px; margin-top: 2px; }
article.story p.narrative { font-size: 14px; line-height: 1.55; margin: 12px 0 10px; max-width: 1100px; }
article.story .tactics { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-bottom: 10px; }
article.story .tactic { background: #1e293b; color: #f8fafc; border-radius: 999px; padding: 2px 10px; font-size: 12px; font-weight: 600; }
article.story .tactics .arrow { color: #94a3b8; font-size: 12px; }
article.story .facts { font-size: 13px; line-height: 1.6; margin-bottom: 10px; }
article.story .facts .pzname { color: #c2410c; font-weight: 650; }
article.story .facts details summary { cursor: pointer; color: var(--muted); }
article.story .facts details ul { margin: 4px 0 6px; padding-left: 20px; }
article.story .graphwrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; background: #fff; padding: 6px; margin-bottom: 10px; }
svg.spread { display: block; font-family: inherit; }
svg.spread .nn { font-size: 13.5px; font-weight: 650; fill: #0f172a; }
svg.spread .ns { font-size: 11px; fill: #64748b; }
svg.spread .pzl { font-size: 10.5px; font-weight: 700; fill: #c2410c; letter-spacing: .6px; }
svg.spread .et { font-size: 11.5px; font-weight: 700; fill: #0f172a; font-variant-numeric: tabular-nums; }
svg.spread .eq { font-size: 10.5px; fill: #334155; }
svg.spread .edge:hover path { stroke: var(--accent); stroke-width: 2.4; }
details.stl summary { cursor: pointer; font-size: 13px; font-weight: 600; color: #334155; padding: 4px 0; }
details.stl .stlwrap { max-height: 340px; overflow-y: auto; border: 1px solid var(--line); border-radius: 8px; margin-top: 6px; }
table.stimeline td { padding: 4px 8px; }
table.stimeline tr.link { cursor: pointer; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 8px 0 24px; }
noscript div { background: #fee2e2; padding: 12px; border-radius: 8px; margin: 20px; }
`;
