/**
 * The outputs a hunt writes (--csv, --jsonl, --report, --db), opened up front so a bad path or an
 * existing database fails before any work is done. Each becomes a `DetectionSink`; the database
 * is also the `EventSink` that stores every event.
 */
import { FirebreakError, UsageError } from '../core/errors.js';
import { CsvTimelineWriter, type CsvProfile } from '../output/csv.js';
import { JsonlDetectionWriter } from '../output/jsonl.js';
import type { DetectionRecord } from '../detections/record.js';
import type { HuntSummary } from '../output/records.js';
import { HtmlReportWriter, type ReportExtras } from '../output/report/index.js';
import type { DetectionSink, EventSink } from './run.js';

export interface OutputPaths {
  csv?: string;
  csvProfile?: CsvProfile;
  jsonl?: string;
  /** Put the whole event on each JSONL line. */
  jsonlEvents?: boolean;
  report?: string;
  db?: string;
  /** Replace an existing database file (never done silently). */
  overwrite?: boolean;
}

export interface OpenOutputs {
  sinks: DetectionSink[];
  events?: EventSink;
  /** Extras for the report (stories), set before the sinks are closed. */
  reportExtras: ReportExtras;
  /** Lines for the summary naming what was written where. */
  describe(): string[];
  /** Release anything still open (after close, a no-op; on failure, keeps what was written). */
  abort(): Promise<void>;
}

interface Writer {
  write(d: Parameters<DetectionSink['write']>[0]): void | Promise<void>;
  abort(): Promise<void>;
}

export async function openOutputs(paths: OutputPaths): Promise<OpenOutputs> {
  const sinks: DetectionSink[] = [];
  const writers: Writer[] = [];
  const written: string[] = [];
  const reportExtras: ReportExtras = {};
  let events: EventSink | undefined;
  let closed = false;
  const abortAll = async () => {
    if (closed) return;
    closed = true;
    for (const w of writers) await w.abort().catch(() => undefined);
  };
  try {
    if (paths.db) {
      // DuckDB's native module loads only when a database is asked for (75 ms of every start-up).
      const { DuckDbWriter } = await import('../output/duckdb.js');
      const db = await DuckDbWriter.create(paths.db, { replace: paths.overwrite }).catch((e: unknown) => {
        if (e instanceof FirebreakError && e.code === 'db-exists') throw new UsageError(`--db: ${e.message} (or pass --overwrite)`);
        throw e;
      });
      writers.push(db);
      events = db;
      sinks.push({ needsEvent: true, write: (d) => db.write(d), close: (s) => db.close(s) });
      written.push(`  db      ${paths.db} (firebreak query ${paths.db} "SELECT …")`);
    }
    if (paths.csv) {
      const csv = new CsvTimelineWriter(paths.csv, { profile: paths.csvProfile });
      writers.push(csv);
      sinks.push({ write: (d) => csv.write(d), close: () => csv.close() });
      written.push(`  csv     ${paths.csv}`);
    }
    if (paths.jsonl) {
      const jsonl = new JsonlDetectionWriter(paths.jsonl, { includeEvent: paths.jsonlEvents });
      writers.push(jsonl);
      sinks.push({ needsEvent: !!paths.jsonlEvents, write: (d) => jsonl.write(d), close: () => jsonl.close() });
      written.push(`  jsonl   ${paths.jsonl}`);
    }
    if (paths.report) {
      const report = new HtmlReportWriter(paths.report);
      writers.push(report);
      sinks.push({ needsEvent: true, write: (d) => report.write(d), close: (s: HuntSummary) => report.close(s, reportExtras) });
      written.push(`  report  ${paths.report}`);
    }
  } catch (e) {
    await abortAll();
    throw e;
  }
  // Once every sink closed normally there is nothing left to abort.
  let open = sinks.length;
  return {
    sinks: sinks.map((s) => ({
      // Kept: the hunt sends whole events only when some sink says it reads them.
      needsEvent: s.needsEvent,
      write: (d: DetectionRecord) => s.write(d),
      close: async (summary: HuntSummary) => {
        await s.close(summary);
        if (--open === 0) closed = true;
      },
    })),
    events,
    reportExtras,
    describe: () => (written.length ? ['', 'Written', ...written] : []),
    abort: abortAll,
  };
}
