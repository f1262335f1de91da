/**
 * The shapes of the page's JSON data blocks: the contract between the report writer (Node,
 * ../index.ts, which types what it embeds with these) and the in-page script (this folder).
 * Types only, and no imports: the file belongs to both programs, so it may name nothing from
 * Node or from the DOM. It declares what the page reads; the writer may embed more.
 */

export type Level = 'informational' | 'low' | 'medium' | 'high' | 'critical';

/** `#fb-meta`: the hunt's summary, the figures and the table's limits. */
export interface ReportMeta {
  generator: string;
  /** ISO time the report was made. */
  generatedAt: string;
  summary: SummaryView;
  /** Names of the cells of a `#fb-rows` row, in order. */
  columns: readonly RowField[];
  timeline: TimelineData;
  topRules: readonly { title: string; level: Level; count: number }[];
  topHosts: readonly { computer: string; count: number }[];
  /** Detections on hosts beyond `maxHosts` distinct names, pooled. */
  otherHosts: number;
  hostsDistinct: number;
  maxHosts: number;
  attack: readonly HeatColumn[];
  /** All detections per level (the summary's chips read `summary.byLevel`). */
  byLevel: Record<Level, number>;
  table: TableLimits;
}

/** The parts of the hunt summary (src/output/records.ts `HuntSummary`) the page shows. */
export interface SummaryView {
  startedAt: string;
  elapsedMs: number;
  files: { read: number; skipped: readonly { file: string; reason: string }[] };
  events: number;
  eventsPerSecond: number;
  /** Earliest and latest event timestamps (ISO), null when no event had one. */
  firstEvent: string | null;
  lastEvent: string | null;
  detections: number;
  byLevel: Record<Level, number>;
  rules: { loaded: number; failed: number; unmapped: number };
  errors: { count: number; sample: readonly { kind: string; file: string; message: string; code: string }[] };
}

/** Detections over time, by level (built by ../aggregate.ts). */
export interface TimelineData {
  /** Start of the first bar (ms since the epoch, UTC) and the width of each bar. */
  start: number;
  step: number;
  /** counts[bar][levelIndex], levels from informational to critical. */
  counts: number[][];
  /** Detections whose event had no usable timestamp. */
  noTimestamp: number;
  /** Detections left off either end of the chart as clock outliers. */
  before: number;
  after: number;
}

/** One technique under one tactic in the ATT&CK heatmap. */
export interface HeatCell {
  technique: string;
  count: number;
  rules: number;
}

/** One tactic column of the ATT&CK heatmap. */
export interface HeatColumn {
  id: string;
  short: string;
  name: string;
  /** Detections tagged with this tactic (with or without a technique). */
  count: number;
  techniques: HeatCell[];
}

/** How much of the hunt the detections table holds. */
export interface TableLimits {
  total: number;
  included: number;
  omitted: number;
  /** Rows left out per level, from informational to critical. */
  omittedByLevel: readonly number[];
  maxRows: number;
  maxChars: number;
}

/** `#fb-rows`: one array per detection, its cells in `ReportMeta.columns` order. */
export type Row = readonly unknown[];

/** What each cell of a row holds, by column name. */
export interface RowCells {
  timestamp: string | null;
  level: Level;
  rule_title: string;
  rule_id: string | null;
  rule_status: string | null;
  rule_file: string;
  tags: readonly string[];
  computer: string | null;
  channel: string | null;
  provider: string | null;
  event_id: number | null;
  record_id: number | null;
  source_file: string;
  /** Fields the rule matched on, values as text. */
  matched: Record<string, string>;
  /** The event, long values shortened. */
  event: Record<string, CellValue>;
  /** How many values or fields were shortened or left out of this row. */
  cut: number;
}

export type RowField = keyof RowCells;

/** A field value of an event (src/events/event.ts `FieldValue`). */
export type CellValue = string | number | boolean | null | readonly (string | number | boolean | null)[];

/** `#fb-stories`: the parts of a story (src/stories/model.ts `Story`) the page draws. */
export interface StoryView {
  id: string;
  score: number;
  firstSeen: string;
  lastSeen: string;
  hosts: readonly { computer: string; firstTouched: string; detections: number; maxLevel: Level | null; addresses: readonly string[] }[];
  patientZero: { computer: string; why: string } | null;
  /** Why this is a story and not a lone alert. */
  earned: string;
  spread: readonly SpreadView[];
  /** Movement into its hosts without evidence, or routine: context, not spread. */
  context: readonly ContextView[];
  /** Routine activity on its hosts, left out of it, with the reason. */
  routine: readonly { why: string; detections: number }[];
  accounts: readonly string[];
  sourceIps: readonly string[];
  tactics: readonly { id: string; short: string; name: string; first: { at: string; computer: string | null; title: string } }[];
  levels: Record<Level, number>;
  detections: number;
  narrative: string;
  timeline: readonly { timestamp: string; computer: string | null; title: string; level: Level; kind: 'sigma' | 'correlation' }[];
  omitted: { timeline: number; accounts: number; context: number };
}

/** Movement from one machine to another, as a story's detections show it. */
export interface SpreadView {
  from: string;
  fromKind: 'host' | 'ip';
  to: string;
  at: string;
  technique: TechniqueView;
  techniques: readonly TechniqueView[];
  detections: readonly { title: string }[];
  /** Why the movement is part of the story. */
  evidence: string;
  /** Only tried (failed logons counted by a correlation), not reached. */
  attempt?: boolean;
}

/** Movement into a story host shown for context (src/stories/model.ts `ContextEdge`). */
export interface ContextView {
  from: string;
  fromKind: 'host' | 'ip';
  to: string;
  at: string;
  technique: TechniqueView;
  why: string;
}

export interface TechniqueView {
  id: string | null;
  name: string;
}
