/**
 * Format detection by content, not by name, and one entry point that turns any supported log
 * file into Events: EVTX (native parser), JSON in the evtx-crate shape, Winlogbeat/Elastic Agent
 * ECS documents (one per line or as `_bulk` bodies), Linux logs (raw audit logs, syslog files,
 * journal exports, and the JSON of journald, LAUREL, Auditbeat and Sentinel's Syslog table), flat
 * JSON objects, and gzip-compressed versions of each. Every reader yields the same `Event`;
 * errors are reported and reading goes on.
 */
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FirebreakError, RecordError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { DEFAULT_RATIO, capped } from '../core/capped.js';
import type { Event } from '../events/event.js';
import { eventFromWindowsDoc } from '../events/winevent.js';
import { eventFromEcs, isBulkAction, isEcsWindowsDoc } from './ecs.js';
import { EvtxError, readEvtxChunks } from './evtx/index.js';
import { eventFromJson, splitJson } from './json.js';
import { looksLikeAuditRecord } from './linux/audit.js';
import { looksLikeJournalExport, splitJournalExport } from './linux/journal.js';
import { linuxJsonEvents, linuxJsonKind } from './linux/shippers.js';
import { LinuxStream, type LinuxReadOptions } from './linux/stream.js';
import { splitLines } from './lines.js';
import { parseSyslogLine, SyslogParseError } from './syslog.js';

export type LogFormat = 'evtx' | 'json' | 'gzip' | 'auditd' | 'syslog' | 'journal-export' | 'unknown';

export interface ReadOptions {
  /** Called for every record or file error; reading continues. */
  onError?: (e: FirebreakError) => void;
  /** Linux logs: the zone of time stamps without one, a fixed year for RFC 3164 lines. */
  linux?: Pick<LinuxReadOptions, 'timeZone' | 'year' | 'join'>;
}

/** Bytes read to recognise a format (a text log's first lines). */
const SNIFF_BYTES = 4096;

const GZIP_MAGIC = [0x1f, 0x8b];

/** Sniff a format from the first bytes of a file. */
function sniffFormat(head: Uint8Array): LogFormat {
  if (Buffer.from(head.subarray(0, 8)).toString('latin1') === 'ElfFile\0') return 'evtx';
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  const text = Buffer.from(head)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  return sniffText(text);
}

/** A text log: raw audit records, a journal export, or syslog lines (the first that parse decide). */
function sniffText(text: string): LogFormat {
  if (looksLikeJournalExport(text)) return 'journal-export';
  const lines = text.split('\n');
  // The last line may be cut by the sniff window; judge on whole lines when there are any.
  if (lines.length > 1) lines.pop();
  let tried = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    if (looksLikeAuditRecord(line)) return 'auditd';
    if (!(parseSyslogLine(line) instanceof SyslogParseError)) return 'syslog';
    if (++tried >= 3) break;
  }
  return 'unknown';
}

/**
 * Sniff a file's format from its first bytes. Synchronous: 512 bytes cost less than three trips
 * through the I/O thread pool, which add up over thousands of small evidence files.
 */
function detectFormat(path: string): LogFormat {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const bytesRead = readSync(fd, buf, 0, buf.length, 0);
    return sniffFormat(buf.subarray(0, bytesRead));
  } finally {
    closeSync(fd);
  }
}

/** JSON records (any layout) → Events, skipping `_bulk` action lines. */
async function* jsonEvents(chunks: AsyncIterable<Buffer>, file: string, opts: ReadOptions, reference: Date): AsyncGenerator<Event> {
  // Created at the first Linux shipper document: the audit joiner and year state of this file.
  let linux: LinuxStream | undefined;
  for await (const rec of splitJson(chunks, file)) {
    if (rec instanceof RecordError) {
      opts.onError?.(rec);
      continue;
    }
    const source = { file, offset: rec.offset, line: rec.line };
    if (isBulkAction(rec.doc)) continue;
    if (isEcsWindowsDoc(rec.doc)) {
      yield eventFromEcs(rec.doc, source);
      continue;
    }
    const kind = linuxJsonKind(rec.doc);
    if (kind) {
      linux ??= new LinuxStream(file, { ...opts.linux, reference });
      yield* emit(linuxJsonEvents(kind, rec.doc as Record<string, unknown>, linux, source), opts);
      continue;
    }
    const ev = eventFromJson(rec.doc, source);
    if (ev) yield ev;
    else opts.onError?.(new RecordError('json-not-object', 'record is not a JSON object', file, { line: rec.line, offset: rec.offset }));
  }
  if (linux) yield* emit(linux.finish(), opts);
}

function* emit(items: Iterable<Event | RecordError>, opts: ReadOptions): Generator<Event> {
  for (const x of items) {
    if (x instanceof RecordError) opts.onError?.(x);
    else yield x;
  }
}

/** A Linux text log (raw audit records, syslog lines, a journal export) → Events. */
async function* linuxTextEvents(format: 'auditd' | 'syslog' | 'journal-export', chunks: AsyncIterable<Buffer>, file: string, opts: ReadOptions, reference: Date): AsyncGenerator<Event> {
  const stream = new LinuxStream(file, { ...opts.linux, reference });
  if (format === 'journal-export') {
    for await (const e of splitJournalExport(chunks, file)) {
      if (e instanceof RecordError) opts.onError?.(e);
      else yield* emit(stream.journalEntry(e.fields, { file, offset: e.offset }), opts);
    }
  } else {
    for await (const l of splitLines(chunks, file)) {
      if (l instanceof RecordError) {
        opts.onError?.(l);
        continue;
      }
      const source = { file, offset: l.offset, line: l.line };
      yield* emit(format === 'auditd' ? stream.auditLine(l.text, source) : stream.syslogLine(l.text, source), opts);
    }
  }
  yield* emit(stream.finish(), opts);
}

/** The latest time a file can hold: its modification time (for a gzip file, the original's, from the header). */
function referenceTime(path: string, gzip: boolean): Date {
  const fd = openSync(path, 'r');
  try {
    if (gzip) {
      const head = Buffer.alloc(8);
      // RFC 1952: MTIME, seconds since 1970, at bytes 4–7 (0: not recorded).
      if (readSync(fd, head, 0, 8, 0) === 8) {
        const mtime = head.readUInt32LE(4);
        if (mtime > 0) return new Date(mtime * 1000);
      }
    }
    return fstatSync(fd).mtime;
  } finally {
    closeSync(fd);
  }
}

/** Events of an EVTX file read from `path`, named `label` (the .gz a temporary file was unpacked from) in events and errors: one array per chunk. */
async function* evtxEvents(path: string, label: string, opts: ReadOptions): AsyncGenerator<Event[]> {
  const onError = (e: EvtxError) =>
    opts.onError?.(label === path || e.file !== path ? e : new EvtxError(e.code, e.message, { file: label, chunk: e.chunk, record: e.record, offset: e.offset }, e.what, e.severity));
  for await (const records of readEvtxChunks([path], { onError })) yield records.map((rec) => eventFromWindowsDoc(rec.doc, { file: label, offset: rec.offset }));
}

/**
 * A gunzip stream held to the same caps as every decompression (src/core/capped.ts): at most
 * LIMITS.gzipMaxBytes out, and the shared bomb ratio. A gzip bomb is reported, not followed.
 */
function gunzipped(path: string): AsyncGenerator<Buffer> {
  const limits = { maxBytes: LIMITS.gzipMaxBytes, ...DEFAULT_RATIO, names: { maxBytes: 'gzipMaxBytes' } };
  const inflate = (src: AsyncIterable<Buffer>): AsyncIterable<Buffer> => pipeline(Readable.from(src), createGunzip(), () => {});
  return (async function* () {
    yield* capped(path, createReadStream(path) as AsyncIterable<Buffer>, inflate, limits);
  })();
}

/** All events of one log file, whatever its (supported) format. Throws only for the file as a whole. */
export async function* readEventsFromFile(path: string, opts: ReadOptions = {}): AsyncGenerator<Event> {
  for await (const events of readEventBatches(path, opts)) yield* events;
}

/**
 * The events of one log file in arrays, for a reader of many: an EVTX file's chunk at a time (a
 * few hundred events, bounded by the 64 KiB chunk), other formats an event at a time (one record
 * of those may be megabytes). Throws only for the file as a whole.
 */
export async function* readEventBatches(path: string, opts: ReadOptions = {}): AsyncGenerator<Event[]> {
  const format = detectFormat(path);
  if (format === 'evtx') {
    yield* evtxEvents(path, path, opts);
    return;
  }
  if (format === 'json') {
    for await (const ev of jsonEvents(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, path, opts, referenceTime(path, false))) yield [ev];
    return;
  }
  if (format === 'auditd' || format === 'syslog' || format === 'journal-export') {
    for await (const ev of linuxTextEvents(format, createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, path, opts, referenceTime(path, false))) yield [ev];
    return;
  }
  if (format === 'gzip') {
    // Peek at the decompressed head to choose the reader.
    const inner = gunzipped(path);
    const first = await inner.next();
    if (first.done) return;
    const innerFormat = sniffFormat(first.value.subarray(0, SNIFF_BYTES));
    async function* rest(): AsyncGenerator<Buffer> {
      yield first.value as Buffer;
      yield* inner;
    }
    if (innerFormat === 'json') {
      for await (const ev of jsonEvents(rest(), path, opts, referenceTime(path, true))) yield [ev];
      return;
    }
    if (innerFormat === 'auditd' || innerFormat === 'syslog' || innerFormat === 'journal-export') {
      for await (const ev of linuxTextEvents(innerFormat, rest(), path, opts, referenceTime(path, true))) yield [ev];
      return;
    }
    if (innerFormat === 'evtx') {
      // EVTX needs its own file: decompress (bounded) to a temporary file and read that.
      const dir = await mkdtemp(join(tmpdir(), 'firebreak-gz-'));
      try {
        const tmp = join(dir, 'inner.evtx');
        async function* all(): AsyncGenerator<Buffer> {
          yield first.value as Buffer;
          yield* inner;
        }
        await pipelineAsync(all(), createWriteStream(tmp));
        yield* evtxEvents(tmp, path, opts);
        return;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    await inner.return(undefined);
    throw new FirebreakError('unknown-format', `${path}: gzip file whose content is not a log format Firebreak reads`);
  }
  throw new FirebreakError('unknown-format', `${path}: not a log format Firebreak reads (EVTX, JSON, audit log, syslog, journal export, gzip of any)`);
}
