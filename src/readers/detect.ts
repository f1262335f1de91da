/**
 * Format detection by content, not by name, and one entry point that turns any supported log
 * file into Events. Each reader yields the same `Event`; errors are reported and reading goes on.
 */
import { open } from 'node:fs/promises';
import { FirebreakError, RecordError } from '../core/errors.js';
import type { Event } from '../events/event.js';
import { eventFromJson, readJsonFile } from './json.js';

export type LogFormat = 'json' | 'evtx' | 'unknown';

export interface ReadOptions {
  /** Called for every record or file error; reading continues. */
  onError?: (e: FirebreakError) => void;
}

/** Sniff a file's format from its first bytes. */
export async function detectFormat(path: string): Promise<LogFormat> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    if (head.subarray(0, 8).toString('latin1') === 'ElfFile\0') return 'evtx';
    const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (text.startsWith('{') || text.startsWith('[')) return 'json';
    return 'unknown';
  } finally {
    await fh.close();
  }
}

/** All events of one log file, whatever its (supported) format. */
export async function* readEventsFromFile(path: string, opts: ReadOptions = {}): AsyncGenerator<Event> {
  const format = await detectFormat(path);
  if (format === 'json') {
    for await (const rec of readJsonFile(path)) {
      if (rec instanceof RecordError) {
        opts.onError?.(rec);
        continue;
      }
      const ev = eventFromJson(rec.doc, { file: path, offset: rec.offset, line: rec.line });
      if (ev) yield ev;
      else opts.onError?.(new RecordError('json-not-object', 'record is not a JSON object', path, { line: rec.line, offset: rec.offset }));
    }
    return;
  }
  if (format === 'evtx') throw new FirebreakError('evtx-unavailable', `${path}: EVTX reading is not wired in yet`);
  throw new FirebreakError('unknown-format', `${path}: not a log format Firebreak reads (EVTX or JSON)`);
}
