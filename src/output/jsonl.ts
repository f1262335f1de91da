/**
 * `--jsonl FILE`: one detection per line, as a JSON object (shape in docs/hunt-outputs.md).
 * Keys are snake_case like the CSV columns and the database; `JSON.stringify` escapes control
 * characters and lone surrogates, so each line is valid UTF-8 JSON whatever the event held.
 */
import type { DetectionRecord } from '../detections/record.js';
import { TextSink, type OutputTarget } from './sink.js';

export interface JsonlOptions {
  /** Also write the whole event under `event` (larger lines; off by default). */
  includeEvent?: boolean;
}

/** The object written for one detection (the documented JSONL line shape). */
export function jsonlObject(d: DetectionRecord, includeEvent = false): Record<string, unknown> {
  const o: Record<string, unknown> = {
    timestamp: d.timestamp,
    level: d.level,
    rule: {
      id: d.rule.id,
      title: d.rule.title,
      level: d.rule.level,
      status: d.rule.status,
      tags: d.rule.tags,
      kind: d.rule.kind,
      file: d.rule.file,
    },
    computer: d.computer,
    channel: d.channel,
    provider: d.provider,
    event_id: d.eventId,
    record_id: d.recordId,
    source_file: d.sourceFile,
    matched: d.matched,
  };
  if (includeEvent) o.event = d.event;
  return o;
}

/** Streams detections as JSON Lines to a file or stream. */
export class JsonlDetectionWriter {
  private readonly sink: TextSink;
  private readonly includeEvent: boolean;
  /** Detections written so far. */
  rows = 0;

  constructor(target: OutputTarget, options: JsonlOptions = {}) {
    this.sink = new TextSink(target, 'jsonl');
    this.includeEvent = options.includeEvent ?? false;
  }

  /** Add one detection; returns a promise (to await) only when the destination is saturated. */
  write(d: DetectionRecord): void | Promise<void> {
    this.rows++;
    if (!this.sink.write(JSON.stringify(jsonlObject(d, this.includeEvent)) + '\n')) return this.sink.drain();
  }

  /** Resolves when the destination has room for more. */
  drain(): Promise<void> {
    return this.sink.drain();
  }

  /** Flush and close (a stream passed in is flushed but left open). */
  close(): Promise<void> {
    return this.sink.close();
  }

  /** The hunt failed: close the file, keeping the rows written so far. */
  async abort(): Promise<void> {
    await this.sink.close().catch(() => undefined);
  }
}
