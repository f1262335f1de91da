/**
 * Output text for `firebreak evtx dump`: one JSON document per line, or XML records. Rendering
 * happens where the chunk was parsed (a worker thread in parallel mode), so the main thread
 * only writes text.
 */
import { EvtxError, type EvtxErrorData } from './errors.js';
import { parseChunkAs, type ChunkInfo } from './chunk.js';
import { beginOutput, lines, takeOutput } from './jsonfast.js';

export type RenderFormat = 'jsonl' | 'xml';

/**
 * A rendered chunk: its output text, how many records it holds, and its errors. JSON lines are
 * UTF-8 bytes (written so from the chunk); XML is a string, except from a worker thread, where it
 * is encoded in parallel and handed over without a copy.
 */
export interface RenderedChunk {
  kind: 'text';
  text: string | Uint8Array;
  records: number;
  errors: EvtxErrorData[];
}

/** Parse one chunk straight to output (records are never built as documents for jsonl). */
export function renderChunk(buf: Uint8Array, info: ChunkInfo, format: RenderFormat): RenderedChunk {
  const errors: EvtxErrorData[] = [];
  if (format === 'jsonl') {
    // UTF-8 lines written from the chunk bytes (jsonfast.ts).
    beginOutput();
    for (const it of parseChunkAs(buf, info, format)) if (it instanceof EvtxError) errors.push(it.toData());
    const records = lines;
    return { kind: 'text', text: takeOutput(), records, errors };
  }
  // Lines joined once give one flat string to write (appending builds a rope to flatten later).
  const out: string[] = [];
  for (const it of parseChunkAs(buf, info, format)) {
    if (typeof it === 'string') out.push(it);
    else if (it instanceof EvtxError) errors.push(it.toData());
  }
  const records = out.length;
  if (records) out.push('');
  return { kind: 'text', text: out.join('\n'), records, errors };
}
