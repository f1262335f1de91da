/**
 * The EVTX reader's chunk parsing on the program's worker pool (src/core/pool.ts). Each request
 * names chunks on disk; the reply carries their records (or rendered text). A request whose
 * worker dies is retried once on a fresh worker; after that, or when parsing itself failed, its
 * chunks become errors (the caller's `chunkFailure`).
 */
import { WorkerPool } from '../../core/pool.js';
import type { EvtxRecord } from './chunk.js';
import type { EvtxErrorData } from './errors.js';
import type { ChunkTask } from './file.js';
import type { RenderedChunk, RenderFormat } from './render.js';

export interface WorkerRequest {
  /** Chunks to parse, in order; their results come back as one reply. */
  tasks: ChunkTask[];
  xml: boolean;
  render?: RenderFormat;
}

export type ItemsResult = { kind: 'items'; items: (EvtxRecord | { error: EvtxErrorData })[] };

export interface WorkerReply {
  result?: ItemsResult | RenderedChunk;
  failure?: string;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class ChunkPool {
  private readonly pool: WorkerPool<WorkerRequest, WorkerReply>;

  constructor(readonly size: number) {
    this.pool = new WorkerPool<WorkerRequest, WorkerReply>({
      url: WORKER_URL,
      size,
      depth: 2,
      describe: (r) => `chunk ${r.tasks[0]?.chunk ?? '?'} of ${r.tasks[0]?.file ?? '?'}`,
    });
  }

  /** Parse a run of chunks on a worker. */
  async run(tasks: ChunkTask[], xml: boolean, render?: RenderFormat): Promise<ItemsResult | RenderedChunk> {
    const reply = await this.pool.submit({ tasks, xml, render });
    if (!reply.result) throw new Error(reply.failure ?? 'worker failed');
    return reply.result;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
