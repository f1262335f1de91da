/**
 * `journalctl -o export` → entries. The format (systemd's "Journal Export Format"): an entry is
 * a run of fields ended by an empty line; a field is `NAME=value\n`, or, when the value is
 * binary, `NAME\n`, its size as a little-endian 64-bit integer, the bytes and `\n`. Bounded: a
 * field larger than LIMITS.textLineMaxBytes or an entry with more than
 * LIMITS.journalFieldsPerEntry fields is reported and skipped.
 */
import { RecordError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';

export interface JournalEntry {
  fields: Record<string, string>;
  /** Byte offset of the entry's first byte. */
  offset: number;
  /** 1-based number of the entry in the file. */
  index: number;
}

const LF = 0x0a;

/** Does this text start like a journal export (`__CURSOR=…` or another `NAME=` field, then more)? */
export function looksLikeJournalExport(head: string): boolean {
  return /^__CURSOR=\S/.test(head) || (/^[A-Z_][A-Z0-9_]*=/.test(head) && /\n__REALTIME_TIMESTAMP=\d/.test(head));
}

export async function* splitJournalExport(chunks: AsyncIterable<Buffer>, file: string): AsyncGenerator<JournalEntry | RecordError> {
  const maxField = LIMITS.textLineMaxBytes;
  let buf: Buffer = Buffer.alloc(0);
  let base = 0; // file offset of buf[0]
  let fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  let entryStart = 0;
  let index = 1;
  let bad: string | undefined;
  let skip = 0; // bytes of an oversized binary field still to skip
  const endEntry = (): JournalEntry | RecordError | undefined => {
    const out: JournalEntry | RecordError | undefined = bad
      ? new RecordError('journal-export', `entry ${index}: ${bad}; skipped`, file, { offset: entryStart })
      : count
        ? { fields, offset: entryStart, index }
        : undefined;
    if (out) index++;
    fields = Object.create(null) as Record<string, string>;
    count = 0;
    bad = undefined;
    return out;
  };
  for await (const chunk of chunks) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (skip) {
        const n = Math.min(skip, buf.length - pos);
        skip -= n;
        pos += n;
        if (skip) break;
        if (pos >= buf.length) break;
        if (buf[pos] === LF) pos++;
        continue;
      }
      if (pos >= buf.length) break;
      if (buf[pos] === LF) {
        const e = endEntry();
        if (e) yield e;
        pos++;
        entryStart = base + pos;
        continue;
      }
      const nl = buf.indexOf(LF, pos);
      if (nl < 0) {
        if (buf.length - pos > maxField) {
          bad = `a field longer than ${maxField} bytes`;
          pos = buf.length;
        }
        break;
      }
      const eq = buf.indexOf(0x3d, pos);
      if (eq >= 0 && eq < nl) {
        if (++count > LIMITS.journalFieldsPerEntry) bad = `more than ${LIMITS.journalFieldsPerEntry} fields`;
        else {
          const name = buf.toString('latin1', pos, eq);
          if (!(name in fields)) fields[name] = buf.toString('utf8', eq + 1, nl);
        }
        pos = nl + 1;
        continue;
      }
      // Binary field: NAME\n, 64-bit little-endian size, data, \n.
      if (nl + 9 > buf.length) break;
      const size = buf.readBigUInt64LE(nl + 1);
      const name = buf.toString('latin1', pos, nl);
      if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) {
        bad = `a field name that is not one (${JSON.stringify(name.slice(0, 40))})`;
        pos = nl + 1;
        continue;
      }
      if (size > BigInt(maxField)) {
        bad = `binary field ${name} of ${size} bytes exceeds the ${maxField}-byte limit`;
        skip = Number(size);
        pos = nl + 9;
        continue;
      }
      const end = nl + 9 + Number(size);
      if (end + 1 > buf.length) break;
      if (++count > LIMITS.journalFieldsPerEntry) bad = `more than ${LIMITS.journalFieldsPerEntry} fields`;
      else if (!(name in fields)) fields[name] = buf.toString('utf8', nl + 9, end);
      pos = buf[end] === LF ? end + 1 : end;
    }
    base += pos;
    buf = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
  }
  const last = endEntry();
  if (last) yield last;
  if (buf.length) yield new RecordError('journal-export', `${buf.length} bytes at the end are not a complete field`, file, { offset: base });
}
