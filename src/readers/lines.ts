/**
 * Text logs → lines, bounded: a line longer than LIMITS.textLineMaxBytes is reported (its start
 * line and offset) and skipped, so a file without line breaks cannot grow memory. LF and CRLF
 * endings; a last line without a newline is still a line; a byte-order mark is dropped.
 */
import { RecordError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';

export interface TextLine {
  text: string;
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte. */
  offset: number;
}

const LF = 0x0a;

/** Split a byte stream into lines (UTF-8; invalid bytes become U+FFFD). */
export async function* splitLines(chunks: AsyncIterable<Buffer>, file: string, maxBytes: number = LIMITS.textLineMaxBytes): AsyncGenerator<TextLine | RecordError> {
  let parts: Buffer[] = [];
  let size = 0;
  let oversized = false;
  let line = 1;
  let lineStart = 0;
  let offset = 0;
  let first = true;
  const finish = (): TextLine | RecordError => {
    if (oversized) return new RecordError('line-too-long', `line of ${size} bytes exceeds the ${maxBytes}-byte limit; skipped`, file, { line, offset: lineStart });
    let buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    if (buf.length && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    let text = buf.toString('utf8');
    if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    first = false;
    return { text, line, offset: lineStart };
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, from);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(from, end);
      size += piece.length;
      if (size > maxBytes) {
        oversized = true;
        parts = [];
      } else if (piece.length) parts.push(nl < 0 ? Buffer.from(piece) : piece);
      if (nl < 0) break;
      yield finish();
      parts = [];
      size = 0;
      oversized = false;
      line++;
      lineStart = offset + nl + 1;
      from = nl + 1;
    }
    offset += chunk.length;
  }
  if (size > 0 || oversized) yield finish();
}
