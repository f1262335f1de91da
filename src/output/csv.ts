/**
 * `--csv FILE`: the detection timeline as CSV, one row per detection, in the order the hunt
 * delivers them. Columns are stable and documented in docs/hunt-outputs.md.
 *
 * Format decisions (RFC 4180 with two deliberate additions):
 * - UTF-8, records end with CRLF as RFC 4180 §2.1 says; line breaks inside a value are kept
 *   and the value is quoted. Fields are quoted only when they hold `"`, `,`, CR or LF.
 * - Every value is attacker-controlled text that will be opened in spreadsheets, so a value that
 *   a spreadsheet would evaluate as a formula (starting with = + - @ TAB CR, or their full-width
 *   forms) gets a leading `'` (OWASP "CSV injection").
 * - C0 control characters other than TAB/LF/CR become U+FFFD: NUL makes Python's csv module and
 *   several timeline tools reject the whole file. The exact values stay in JSONL and the database.
 * - Profile `timeline` (default) starts with a UTF-8 BOM, without which Excel decodes the file in
 *   the local ANSI code page; profile `timesketch` has no BOM and adds the three columns
 *   Timesketch requires (`datetime`, `timestamp_desc`, `message`) after the common eleven.
 */
import type { DetectionRecord } from '../detections/record.js';
import { TextSink, type OutputTarget } from './sink.js';

export type CsvProfile = 'timeline' | 'timesketch';

/** The columns every profile starts with, in order. */
export const CSV_COLUMNS = ['timestamp', 'computer', 'channel', 'event_id', 'level', 'rule_title', 'rule_id', 'tags', 'details', 'record_id', 'source_file'] as const;

/** Columns the `timesketch` profile appends (Timesketch's mandatory CSV fields). */
export const TIMESKETCH_COLUMNS = ['datetime', 'timestamp_desc', 'message'] as const;

export interface CsvOptions {
  profile?: CsvProfile;
  /** Write a UTF-8 byte order mark first (default: true for `timeline`, false for `timesketch`). */
  bom?: boolean;
}

/** Separator between matched fields in `details` (rare in real field values, unlike `|` or `;`). */
export const DETAILS_SEPARATOR = ' ¦ ';

/** Streams detections to a CSV file or stream. */
export class CsvTimelineWriter {
  private readonly sink: TextSink;
  private readonly profile: CsvProfile;
  /** Detections written so far. */
  rows = 0;

  constructor(target: OutputTarget, options: CsvOptions = {}) {
    this.profile = options.profile ?? 'timeline';
    this.sink = new TextSink(target, 'csv');
    const bom = options.bom ?? this.profile === 'timeline';
    const header: string[] = [...CSV_COLUMNS];
    if (this.profile === 'timesketch') header.push(...TIMESKETCH_COLUMNS);
    this.sink.write((bom ? '\uFEFF' : '') + csvRow(header));
  }

  /** Add one detection; returns a promise (to await) only when the destination is saturated. */
  write(d: DetectionRecord): void | Promise<void> {
    const tags = attackTags(d.rule.tags).join(';');
    const details = formatDetails(d.matched);
    const row: (string | number | null)[] = [d.timestamp, d.computer, d.channel, d.eventId, d.level, d.rule.title, d.rule.id, tags, details, d.recordId, d.sourceFile];
    if (this.profile === 'timesketch') row.push(d.timestamp, 'Event Time', `[${d.level}] ${d.rule.title}${details ? ': ' + details : ''}`);
    this.rows++;
    if (!this.sink.write(csvRow(row))) return this.sink.drain();
  }

  /** Resolves when the destination has room for more. */
  drain(): Promise<void> {
    return this.sink.drain();
  }

  /** Flush and close (a stream passed in is flushed but left open). Takes no summary. */
  close(): Promise<void> {
    return this.sink.close();
  }

  /** The hunt failed: close the file, keeping the rows written so far. */
  async abort(): Promise<void> {
    await this.sink.close().catch(() => undefined);
  }
}

/** The ATT&CK tags of a rule (`attack.*`), in rule order. */
export function attackTags(tags: readonly string[]): string[] {
  return tags.filter((t) => t.toLowerCase().startsWith('attack.'));
}

/** Matched fields as `Field: value ¦ Field: value`. */
export function formatDetails(matched: Record<string, string>): string {
  let out = '';
  for (const k in matched) out += (out ? DETAILS_SEPARATOR : '') + k + ': ' + matched[k];
  return out;
}

const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']);

/** One CSV field: formula-neutralised, control characters replaced, quoted when needed. */
export function csvField(value: string | number | bigint | boolean | null | undefined): string {
  if (value == null) return '';
  if (typeof value !== 'string') return String(value);
  let s = value;
  if (/[\x00-\x08\x0B\x0C\x0E-\x1F]/.test(s)) s = s.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F]/g, '\uFFFD');
  if (s.length > 0 && FORMULA_START.has(s[0]!)) s = "'" + s;
  if (/[",\r\n]/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}

/** One CSV record with its CRLF terminator. */
export function csvRow(values: readonly (string | number | bigint | boolean | null | undefined)[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i ? ',' : '') + csvField(values[i]);
  return out + '\r\n';
}
