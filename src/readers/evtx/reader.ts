/**
 * The streaming API: records of one or many files, in file order, read in this thread or on
 * worker threads. No error escapes: problems go to `onError` and reading goes on.
 */
import { availableParallelism } from 'node:os';
import { open, type FileHandle } from 'node:fs/promises';
import { parseChunk, type ChunkItem, type EvtxRecord } from './chunk.js';
import { EvtxError } from './errors.js';
import { ordered, planFile, type ChunkTask } from './file.js';
import { WorkerPool, type ItemsResult } from './pool.js';
import { renderItems, type RenderedChunk, type RenderFormat } from './render.js';

export interface ReadOptions {
  /**
   * Worker threads parsing chunks: 1 (the default) parses in the calling thread, 0 uses every
   * core. Records come back in file order either way.
   */
  threads?: number;
  /** Called for each error and warning (file, chunk, record and offset are in the error). */
  onError?: (e: EvtxError) => void;
  /** Also render each record as XML into `record.xml`. */
  xml?: boolean;
}

/** `threads` option → number of workers (0 → all cores). */
export function resolveThreads(threads: number | undefined): number {
  if (threads === undefined) return 1;
  if (threads <= 0) return availableParallelism();
  return Math.floor(threads);
}

async function* allTasks(paths: readonly string[], onError: (e: EvtxError) => void): AsyncGenerator<ChunkTask> {
  for (const path of paths) {
    const plan = await planFile(path, onError);
    if (plan) yield* plan.tasks;
  }
}

/** Reads chunks in this thread, keeping one file handle open at a time. */
class InlineReader {
  private fh: FileHandle | undefined;
  private path = '';
  private readonly buf = new Uint8Array(65536);

  async read(task: ChunkTask): Promise<Uint8Array> {
    if (task.path !== this.path) {
      await this.close();
      this.fh = await open(task.path, 'r');
      this.path = task.path;
    }
    const { bytesRead } = await this.fh!.read(this.buf, 0, task.length, task.fileOffset);
    return this.buf.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.path = '';
    await fh?.close();
  }
}

function chunkFailure(task: ChunkTask, e: unknown): EvtxError {
  return new EvtxError('evtx.chunk.failed', `chunk could not be read: ${(e as Error)?.message ?? String(e)}`, { file: task.file, chunk: task.chunk, offset: task.fileOffset }, 'chunk');
}

function fromWorker(r: ItemsResult): ChunkItem[] {
  return r.items.map((it) => ('error' in it ? EvtxError.fromData(it.error) : it));
}

/** Chunks of `paths` in order, as parsed items. */
async function* chunkItems(paths: readonly string[], opts: ReadOptions): AsyncGenerator<ChunkItem[]> {
  const onError = opts.onError ?? ((): void => undefined);
  const threads = resolveThreads(opts.threads);
  const xml = !!opts.xml;
  if (threads <= 1) {
    const reader = new InlineReader();
    try {
      for await (const task of allTasks(paths, onError)) {
        let bytes: Uint8Array;
        try {
          bytes = await reader.read(task);
        } catch (e) {
          yield [chunkFailure(task, e)];
          continue;
        }
        yield parseChunk(bytes, task, { xml });
      }
    } finally {
      await reader.close();
    }
    return;
  }
  const pool = new WorkerPool(threads);
  try {
    const exec = (task: ChunkTask): Promise<ChunkItem[]> =>
      pool.run(task, xml).then(
        (r) => fromWorker(r as ItemsResult),
        (e) => [chunkFailure(task, e)],
      );
    yield* ordered(allTasks(paths, onError), exec, threads * 2);
  } finally {
    await pool.close();
  }
}

/**
 * Records of several files, each file's records in order, files in the order given. Errors
 * and warnings go to `onError`.
 */
export async function* readEvtxFiles(paths: readonly string[], opts: ReadOptions = {}): AsyncGenerator<EvtxRecord> {
  const onError = opts.onError ?? ((): void => undefined);
  for await (const items of chunkItems(paths, opts)) {
    for (const it of items) {
      if (it instanceof EvtxError) onError(it);
      else yield it;
    }
  }
}

/**
 * Records of one EVTX file, in file order, streamed chunk by chunk (memory stays flat whatever
 * the file size). A bad chunk or record is reported to `onError` — naming the file, chunk,
 * record and byte offset — and reading continues; nothing is thrown.
 */
export function readEvtx(path: string, opts: ReadOptions = {}): AsyncGenerator<EvtxRecord> {
  return readEvtxFiles([path], opts);
}

/**
 * Rendered output of several files (JSON lines or XML), chunk by chunk in order; for
 * `firebreak evtx dump`. In parallel mode the text is produced on the worker threads.
 */
export async function* renderEvtxFiles(
  paths: readonly string[],
  format: RenderFormat,
  opts: Omit<ReadOptions, 'xml'> = {},
): AsyncGenerator<{ text: string; records: number }> {
  const onError = opts.onError ?? ((): void => undefined);
  const threads = resolveThreads(opts.threads);
  const emit = (r: RenderedChunk): { text: string; records: number } => {
    for (const e of r.errors) onError(EvtxError.fromData(e));
    return { text: r.text, records: r.records };
  };
  if (threads <= 1) {
    for await (const items of chunkItems(paths, { ...opts, xml: format === 'xml' })) yield emit(renderItems(items, format));
    return;
  }
  const pool = new WorkerPool(threads);
  try {
    const exec = (task: ChunkTask): Promise<RenderedChunk> =>
      pool.run(task, false, format).then(
        (r) => r as RenderedChunk,
        (e) => ({ kind: 'text', text: '', records: 0, errors: [chunkFailure(task, e).toData()] }) as RenderedChunk,
      );
    for await (const r of ordered(allTasks(paths, onError), exec, threads * 2)) yield emit(r);
  } finally {
    await pool.close();
  }
}
