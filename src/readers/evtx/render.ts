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
  let text = '';
  let records = 0;
  const errors: EvtxErrorData[] = [];
  for (const it of items) {
    if (it instanceof EvtxError) {
      errors.push(it.toData());
      continue;
    }
    records++;
    text += format === 'xml' ? it.xml + '\n' : JSON.stringify(it.doc) + '\n';
  }
  return { kind: 'text', text, records, errors };
}
