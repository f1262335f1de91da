/**
 * Format detection by content, not by name, and one entry point that turns any supported log
 * file into Events: EVTX (native parser), JSON in the evtx-crate shape, Winlogbeat/Elastic Agent
 * ECS documents (one per line or as `_bulk` bodies), flat JSON objects, and gzip-compressed
 * versions of each. Every reader yields the same `Event`; errors are reported and reading goes on.
 */
import { closeSync, createReadStream, createWriteStream, openSync, readSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FirebreakError, RecordError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { Event } from '../events/event.js';
import { eventFromWindowsDoc } from '../events/winevent.js';
import { eventFromEcs, isBulkAction, isEcsWindowsDoc } from './ecs.js';
import { EvtxError, readEvtx } from './evtx/index.js';
import { eventFromJson, splitJson } from './json.js';

export type LogFormat = 'evtx' | 'json' | 'gzip' | 'unknown';

export interface ReadOptions {
  /** Called for every record or file error; reading continues. */
  onError?: (e: FirebreakError) => void;
}

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
  return 'unknown';
}

/**
 * Sniff a file's format from its first bytes. Synchronous: 512 bytes cost less than three trips
 * through the I/O thread pool, which add up over thousands of small evidence files.
 */
function detectFormat(path: string): LogFormat {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const bytesRead = readSync(fd, buf, 0, buf.length, 0);
    return sniffFormat(buf.subarray(0, bytesRead));
  } finally {
    closeSync(fd);
  }
}

/** JSON records (any layout) → Events, skipping `_bulk` action lines. */
async function* jsonEvents(chunks: AsyncIterable<Buffer>, file: string, opts: ReadOptions): AsyncGenerator<Event> {
  for await (const rec of splitJson(chunks, file)) {
    if (rec instanceof RecordError) {
      opts.onError?.(rec);
      continue;
    }
    const source = { file, offset: rec.offset, line: rec.line };
    if (isBulkAction(rec.doc)) continue;
    const ev = isEcsWindowsDoc(rec.doc) ? eventFromEcs(rec.doc, source) : eventFromJson(rec.doc, source);
    if (ev) yield ev;
    else opts.onError?.(new RecordError('json-not-object', 'record is not a JSON object', file, { line: rec.line, offset: rec.offset }));
  }
}

/** Events of an EVTX file read from `path`, named `label` (the .gz a temporary file was unpacked from) in events and errors. */
async function* evtxEvents(path: string, label: string, opts: ReadOptions): AsyncGenerator<Event> {
  const onError = (e: EvtxError) =>
    opts.onError?.(label === path || e.file !== path ? e : new EvtxError(e.code, e.message, { file: label, chunk: e.chunk, record: e.record, offset: e.offset }, e.what, e.severity));
  for await (const rec of readEvtx(path, { onError })) yield eventFromWindowsDoc(rec.doc, { file: label, offset: rec.offset });
}

/**
 * A gunzip stream capped at LIMITS.gzipMaxBytes of output: a gzip bomb is reported, not
 * followed.
 */
async function* gunzipped(path: string): AsyncGenerator<Buffer> {
  let total = 0;
  const gunzip = createGunzip();
  createReadStream(path)
    .on('error', (e) => gunzip.destroy(e))
    .pipe(gunzip);
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > LIMITS.gzipMaxBytes) {
      gunzip.destroy();
      throw new FirebreakError('gzip-too-large', `${path}: decompresses to more than ${LIMITS.gzipMaxBytes} bytes; refused`);
    }
    yield chunk;
  }
}

/** All events of one log file, whatever its (supported) format. Throws only for the file as a whole. */
export async function* readEventsFromFile(path: string, opts: ReadOptions = {}): AsyncGenerator<Event> {
  const format = detectFormat(path);
  if (format === 'evtx') {
    yield* evtxEvents(path, path, opts);
    return;
  }
  if (format === 'json') {
    yield* jsonEvents(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, path, opts);
    return;
  }
  if (format === 'gzip') {
    // Peek at the decompressed head to choose the reader.
    const inner = gunzipped(path);
    const first = await inner.next();
    if (first.done) return;
    const innerFormat = sniffFormat(first.value.subarray(0, 512));
    if (innerFormat === 'json') {
      async function* all(): AsyncGenerator<Buffer> {
        yield first.value as Buffer;
        yield* inner;
      }
      yield* jsonEvents(all(), path, opts);
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
        await pipeline(all(), createWriteStream(tmp));
        yield* evtxEvents(tmp, path, opts);
        return;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    await inner.return(undefined);
    throw new FirebreakError('unknown-format', `${path}: gzip file whose content is not a log format Firebreak reads`);
  }
  throw new FirebreakError('unknown-format', `${path}: not a log format Firebreak reads (EVTX, JSON, gzip of either)`);
}
