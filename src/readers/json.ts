/**
 * JSON log reader: one record per top-level JSON value, whatever the layout — NDJSON, several
 * pretty-printed objects back to back (evtx-crate/SigmaHQ regression `.json`), or one JSON array
 * of objects. A malformed record becomes an error with its line and byte offset, and reading
 * goes on with the next one.
 */
import { RecordError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { Event, toFieldValue, type Fields } from '../events/event.js';
import { eventFromWindowsDoc, isWindowsEventDoc } from '../events/winevent.js';

export interface JsonRecord {
  doc: unknown;
  /** Byte offset of the record's first byte. */
  offset: number;
  /** 1-based line of the record's first byte. */
  line: number;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/**
 * Split a byte stream into top-level JSON values. A top-level array is unwrapped into its
 * elements. Scalars between records (stray text) are reported as errors.
 */
export async function* splitJson(chunks: AsyncIterable<Buffer>, file: string): AsyncGenerator<JsonRecord | RecordError> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** Depth at which records start: 0, or 1 inside a top-level array. */
  let base = 0;
  let parts: Buffer[] = [];
  let size = 0;
  let start = -1;
  let startLine = 1;
  let offset = 0;
  let line = 1;
  let oversized = false;
  let strayAt = -1;
  let strayLine = 0;

  for await (const chunk of chunks) {
    let segStart = start >= 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === NEWLINE) line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (depth === base) {
        // Between records.
        if (b === OPEN_BRACE || (b === OPEN_BRACKET && base === 1)) {
          if (strayAt >= 0) {
            yield new RecordError('json-stray', 'text outside any JSON object was skipped', file, { line: strayLine, offset: strayAt });
            strayAt = -1;
          }
          start = offset + i;
          startLine = line;
          segStart = i;
          depth++;
        } else if (b === OPEN_BRACKET && base === 0) {
          base = 1;
          depth = 1;
        } else if (b === CLOSE_BRACKET && base === 1) {
          base = 0;
          depth = 0;
        } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== NEWLINE && b !== 0x2c && strayAt < 0) {
          strayAt = offset + i;
          strayLine = line;
        }
        continue;
      }
      if (b === QUOTE) inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === base) {
          const piece = chunk.subarray(segStart, i + 1);
          if (!oversized) parts.push(piece);
          size += piece.length;
          yield finishRecord(parts, size, oversized, file, start, startLine);
          parts = [];
          size = 0;
          oversized = false;
          start = -1;
          segStart = -1;
        }
      }
    }
    if (start >= 0 && segStart >= 0) {
      const piece = chunk.subarray(segStart);
      size += piece.length;
      // Hostile input: a record that never closes must not grow memory without bound.
      if (size > LIMITS.jsonRecordMaxBytes) {
        oversized = true;
        parts = [];
      } else parts.push(Buffer.from(piece));
    }
    offset += chunk.length;
  }
  if (start >= 0) yield new RecordError('json-truncated', `record is not closed at end of file (${size} bytes)`, file, { line: startLine, offset: start });
  else if (strayAt >= 0) yield new RecordError('json-stray', 'text outside any JSON object was skipped', file, { line: strayLine, offset: strayAt });
}

function finishRecord(parts: Buffer[], size: number, oversized: boolean, file: string, offset: number, line: number): JsonRecord | RecordError {
  if (oversized) return new RecordError('json-too-large', `record of ${size} bytes exceeds the ${LIMITS.jsonRecordMaxBytes}-byte limit`, file, { line, offset });
  try {
    return { doc: JSON.parse(Buffer.concat(parts, size).toString('utf8')), offset, line };
  } catch (e) {
    return new RecordError('json-syntax', (e as Error).message, file, { line, offset });
  }
}

/**
 * A JSON document → Event: the evtx-crate Windows shape is normalised to Sigma names; any other
 * object keeps its top-level keys, and nested values stay reachable by dotted path.
 */
export function eventFromJson(doc: unknown, source: { file: string; offset?: number; line?: number }): Event | undefined {
  if (isWindowsEventDoc(doc)) return eventFromWindowsDoc(doc, source, { braceGuids: true });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const fields: Fields = Object.create(null) as Fields;
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const fv = toFieldValue(v);
    if (fv !== undefined) fields[k] = fv;
  }
  return new Event(fields, source, doc);
}
