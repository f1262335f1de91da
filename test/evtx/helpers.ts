/** Shared helpers for the EVTX tests: where the reference data is, and record counting. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sharedPath, skipWithoutShared } from '../shared.js';
import { parseChunk, readEvtx, type EvtxError, type EvtxRecord, type ReadOptions } from '../../src/readers/evtx/index.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = `${REPO}test/fixtures/evtx/`;
export const EDGE = sharedPath('evtx/parser-edge-cases/');
export const ATTACK = sharedPath('evtx/attack-samples/');
export const SKIP_EDGE = skipWithoutShared('evtx/parser-edge-cases');
export const SKIP_ATTACK = skipWithoutShared('evtx/attack-samples');
export const HAVE_EDGE = SKIP_EDGE === false;

export interface Counted {
  records: EvtxRecord[];
  errors: EvtxError[];
  warnings: EvtxError[];
}

/** Read a whole file through the public streaming API. */
export async function readAll(path: string, opts: Omit<ReadOptions, 'onError'> = {}): Promise<Counted> {
  const out: Counted = { records: [], errors: [], warnings: [] };
  for await (const r of readEvtx(path, { ...opts, onError: (e) => (e.severity === 'warning' ? out.warnings : out.errors).push(e) })) out.records.push(r);
  return out;
}

/** Parse an in-memory file chunk by chunk with the synchronous API (no header checks). */
export function parseBuffer(buf: Uint8Array, file = 'memory'): Counted {
  const out: Counted = { records: [], errors: [], warnings: [] };
  for (let off = 4096, i = 0; off < buf.length; off += 65536, i++) {
    for (const it of parseChunk(buf.subarray(off, off + 65536), { file, chunk: i, fileOffset: off })) {
      if ('doc' in it) out.records.push(it);
      else (it.severity === 'warning' ? out.warnings : out.errors).push(it);
    }
  }
  return out;
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Split concatenated pretty-printed JSON documents (the regression twins' format). */
export function splitJsonDocuments(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}
