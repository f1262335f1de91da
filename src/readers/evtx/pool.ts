/**
 * A small pool of worker threads that parse chunks. Each request names a chunk on disk; the
 * reply carries its records (or rendered text). A worker that dies fails only the chunks it
 * held, which become errors; the pool replaces it.
 */
import { Worker } from 'node:worker_threads';
import type { EvtxRecord } from './chunk.js';
import type { EvtxErrorData } from './errors.js';
import type { ChunkTask } from './file.js';
import type { RenderedChunk, RenderFormat } from './render.js';

export interface WorkerRequest {
  id: number;
  /** Chunks to parse, in order; their results come back as one reply. */
  tasks: ChunkTask[];
  xml: boolean;
  render?: RenderFormat;
}

export type ItemsResult = { kind: 'items'; items: (EvtxRecord | { error: EvtxErrorData })[] };

export interface WorkerReply {
  id: number;
  result?: ItemsResult | RenderedChunk;
  failure?: string;
}

interface Pending {
  resolve: (r: ItemsResult | RenderedChunk) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_URL), pending: new Map() };
    slot.worker.on('message', (reply: WorkerReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (reply.result) p.resolve(reply.result);
      else p.reject(new Error(reply.failure ?? 'worker failed'));
    });
    const fail = (err: Error): void => {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      if (this.closed) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`worker exited with code ${code}`));
    });
    // Idle workers must not keep the process alive.
    slot.worker.unref();
    return slot;
  }

  /** Parse a run of chunks on the least busy worker. */
  run(tasks: ChunkTask[], xml: boolean, render?: RenderFormat): Promise<ItemsResult | RenderedChunk> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      const msg: WorkerRequest = { id, tasks, xml, render };
      slot.worker.postMessage(msg);
    }).finally(() => {
      if (slot.pending.size === 0) slot.worker.unref();
    }) as Promise<ItemsResult | RenderedChunk>;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
