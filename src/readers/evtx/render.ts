/**
 * Output text for `firebreak evtx dump`: one JSON document per line, or XML records. Rendering
 * happens where the chunk was parsed (a worker thread in parallel mode), so the main thread
 * only writes text.
 */
import { EvtxError, type EvtxErrorData } from './errors.js';
import type { ChunkItem } from './chunk.js';

export type RenderFormat = 'jsonl' | 'xml';

/** A rendered chunk: its output text, how many records it holds, and its errors. */
export interface RenderedChunk {
  kind: 'text';
  text: string;
  records: number;
  errors: EvtxErrorData[];
}

export function renderItems(items: ChunkItem[], format: RenderFormat): RenderedChunk {
  // Lines joined once give one flat string to write (appending builds a rope to flatten later).
  const lines: string[] = [];
  const errors: EvtxErrorData[] = [];
  for (const it of items) {
    if (it instanceof EvtxError) errors.push(it.toData());
    else lines.push(format === 'xml' ? it.xml! : JSON.stringify(it.doc));
  }
  return { kind: 'text', text: lines.length ? lines.join('\n') + '\n' : '', records: lines.length, errors };
}
