/**
 * `--report FILE.html`: one self-contained HTML page (inline CSS, script and SVG; no network)
 * with the hunt summary, detections over time by level, top rules and hosts, an ATT&CK heatmap
 * and a sortable, filterable table whose rows open the full event.
 *
 * Memory stays bounded: figures are aggregated as detections arrive (./aggregate.ts) and table
 * rows are spilled to temporary files (./spill.ts) that are embedded when the report is closed.
 * The page is written to `FILE.partial` and renamed, so an interrupted hunt never leaves a
 * half-written report behind.
 */
import { renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FirebreakError } from '../../core/errors.js';
import { isList, type FieldValue } from '../../events/event.js';
import { LEVELS, type Level } from '../../sigma/model.js';
import type { DetectionRecord } from '../../detections/record.js';
import type { HuntSummary } from '../records.js';
import { TextSink } from '../sink.js';
import { MAX_HOSTS, ReportAggregator } from './aggregate.js';
import { pageHead, pageTail, reportClientJs, scriptSafeJson } from './html.js';
import { LevelSpill } from './spill.js';
import type { ReportMeta, RowCells } from './client/data.js';

/** Rows the detections table holds at most (the most severe first). */
export const REPORT_MAX_ROWS = 100_000;
/** Characters of row data embedded at most, so the page still opens in a browser (64 MiB). */
export const REPORT_MAX_CHARS = 64 * 1024 * 1024;
/** Longest string value kept per field in the report; the JSONL and DB outputs keep all of it. */
export const REPORT_MAX_VALUE = 2_000;
/** Longest row (JSON characters); fields past it are left out of that row's event view. */
export const REPORT_MAX_ROW = 32 * 1024;

/** The columns of an embedded table row, in order (the page reads them by name). */
export const ROW_FIELDS = [
  'timestamp',
  'level',
  'rule_title',
  'rule_id',
  'rule_status',
  'rule_file',
  'tags',
  'computer',
  'channel',
  'provider',
  'event_id',
  'record_id',
  'source_file',
  'matched',
  'event',
  /** How many values or fields were shortened or left out of this row. */
  'cut',
] as const satisfies readonly (keyof RowCells)[];

/** A table row as embedded: each cell typed as the page reads it (./client/data.ts `RowCells`). */
type RowTuple = CellsOf<typeof ROW_FIELDS>;
type CellsOf<T extends readonly (keyof RowCells)[]> = { -readonly [I in keyof T]: T[I] extends keyof RowCells ? RowCells[T[I]] : never };

export interface ReportOptions {
  maxRows?: number;
  maxChars?: number;
  maxValue?: number;
  /** Where the temporary row files go (default: the report's own directory, not /tmp, which may be RAM). */
  tmpDir?: string;
  /** The page title (default "Firebreak hunt report"). */
  title?: string;
  /** Names the tool in the footer (default "Firebreak"). */
  generator?: string;
}

/** What the report may take at the end of the hunt besides the summary. */
export interface ReportExtras {
  /**
   * The hunt's stories (src/stories/model.ts `Story`), embedded as the `#fb-stories` JSON block
   * and drawn in the Stories section: hosts as nodes, timed arrows, a timeline per story.
   */
  stories?: unknown[];
  /** ISO time the report was made (default: now). */
  generatedAt?: string;
}

const LEVEL_INDEX = new Map<Level, number>(LEVELS.map((l, i) => [l, i]));

export class HtmlReportWriter {
  private readonly agg = new ReportAggregator();
  private readonly spill: LevelSpill;
  private readonly maxRows: number;
  private readonly maxChars: number;
  private readonly maxValue: number;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly options: ReportOptions = {},
  ) {
    this.maxRows = options.maxRows ?? REPORT_MAX_ROWS;
    this.maxChars = options.maxChars ?? REPORT_MAX_CHARS;
    this.maxValue = options.maxValue ?? REPORT_MAX_VALUE;
    // Fails now, not after the hunt, when the build left the page script out.
    reportClientJs();
    try {
      this.spill = new LevelSpill(options.tmpDir ?? dirname(resolve(path)), this.maxRows, this.maxChars);
    } catch (e) {
      throw new FirebreakError('output-open', `report: cannot create temporary files for ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Add one detection; returns a promise (to await) only when the spill files are saturated. */
  write(d: DetectionRecord): void | Promise<void> {
    if (this.done) throw new FirebreakError('output-closed', 'report: write after close');
    this.agg.add(d);
    if (!this.spill.add(LEVEL_INDEX.get(d.level) ?? 0, scriptSafeJson(JSON.stringify(this.row(d))))) return this.spill.drain();
  }

  drain(): Promise<void> {
    return this.spill.drain();
  }

  /** Write the page (header figures from `summary`) and remove the temporary files. */
  async close(summary: HuntSummary, extras: ReportExtras = {}): Promise<void> {
    if (this.done) return;
    this.done = true;
    const partial = this.path + '.partial';
    try {
      const agg = this.agg.finish();
      const out = new TextSink(partial, 'report');
      const put = async (s: string): Promise<void> => {
        if (!out.write(s)) await out.drain();
      };
      await put(pageHead(this.options.title ?? 'Firebreak hunt report'));
      await put('<script type="application/json" id="fb-rows">[');
      const stats = { included: 0, includedByLevel: [0, 0, 0, 0, 0] };
      let first = true;
      for await (const line of this.spill.selected(stats)) {
        await put(first ? line : ',\n' + line);
        first = false;
      }
      await put(']</script>\n');
      const offered = this.spill.offered;
      const meta: ReportMeta = {
        generator: this.options.generator ?? 'Firebreak',
        generatedAt: extras.generatedAt ?? new Date().toISOString(),
        summary,
        columns: ROW_FIELDS,
        timeline: agg.timeline,
        topRules: agg.topRules,
        topHosts: agg.topHosts,
        otherHosts: agg.otherHosts,
        hostsDistinct: agg.hostsDistinct,
        maxHosts: MAX_HOSTS,
        attack: agg.attack,
        byLevel: agg.byLevel,
        table: {
          total: agg.total,
          included: stats.included,
          omitted: agg.total - stats.included,
          omittedByLevel: offered.map((n, l) => n - stats.includedByLevel[l]!),
          maxRows: this.maxRows,
          maxChars: this.maxChars,
        },
      };
      await put(`<script type="application/json" id="fb-meta">${scriptSafeJson(JSON.stringify(meta))}</script>\n`);
      await put(`<script type="application/json" id="fb-stories">${extras.stories?.length ? scriptSafeJson(JSON.stringify(extras.stories)) : ''}</script>\n`);
      await put(pageTail());
      await out.close();
      renameSync(partial, this.path);
    } catch (e) {
      rmSync(partial, { force: true });
      throw e instanceof FirebreakError ? e : new FirebreakError('output-write', `report ${this.path}: ${(e as Error).message}`, { cause: e });
    } finally {
      await this.spill.cleanup();
    }
  }

  /** Give up without writing the page (the hunt failed); removes the temporary files. */
  async abort(): Promise<void> {
    this.done = true;
    await this.spill.cleanup();
  }

  /** One table row: identity, rule, matched fields and the event, long values shortened. */
  private row(d: DetectionRecord): RowTuple {
    const cut = { n: 0 };
    const matched: Record<string, string> = {};
    for (const k in d.matched) matched[k] = this.clip(d.matched[k]!, cut);
    const event: Record<string, FieldValue> = {};
    let size = 0;
    for (const k in d.event) {
      const v = d.event[k]!;
      const clipped = isList(v) ? v.map((x) => (typeof x === 'string' ? this.clip(x, cut) : x)) : typeof v === 'string' ? this.clip(v, cut) : v;
      const len = k.length + JSON.stringify(clipped).length + 4;
      if (size + len > REPORT_MAX_ROW) {
        cut.n++;
        continue;
      }
      size += len;
      event[k] = clipped;
    }
    return [d.timestamp, d.level, d.rule.title, d.rule.id, d.rule.status, d.rule.file, d.rule.tags, d.computer, d.channel, d.provider, d.eventId, d.recordId, d.sourceFile, matched, event, cut.n];
  }

  private clip(s: string, cut: { n: number }): string {
    if (s.length <= this.maxValue) return s;
    cut.n++;
    return s.slice(0, this.maxValue) + '…';
  }
}
