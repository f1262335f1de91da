/**
 * Output text for `firebreak evtx dump`: one JSON document per line, or XML records. Rendering
 * happens where the chunk was parsed (a worker thread in parallel mode), so the main thread
 * only writes text.
 */
import { EvtxError, type EvtxErrorData } from './errors.js';
import { parseChunkAs, type ChunkInfo } from './chunk.js';

export type RenderFormat = 'jsonl' | 'xml';

/**
 * A rendered chunk: its output text, how many records it holds, and its errors. Text from a
 * worker thread arrives already encoded as UTF-8 (encoded there, in parallel, and handed over
 * without a copy).
 */
export interface RenderedChunk {
  kind: 'text';
  text: string | Uint8Array;
  records: number;
  errors: EvtxErrorData[];
}

/** Parse one chunk straight to output text (records are never built as documents for jsonl). */
export function renderChunk(buf: Uint8Array, info: ChunkInfo, format: RenderFormat): RenderedChunk {
  // Lines joined once give one flat string to write (appending builds a rope to flatten later).
  const lines: string[] = [];
  const errors: EvtxErrorData[] = [];
  for (const it of parseChunkAs(buf, info, format)) {
    if (typeof it === 'string') lines.push(it);
    else if (it instanceof EvtxError) errors.push(it.toData());
  }
  const records = lines.length;
  if (records) lines.push('');
  return { kind: 'text', text: lines.join('\n'), records, errors };
}
