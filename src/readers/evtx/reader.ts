/**
 * The streaming API: records of one or many files, in file order, read in this thread or on
 * worker threads. No error escapes: problems go to `onError` and reading goes on.
 */
import { availableParallelism } from 'node:os';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { chunkRecords, type ChunkItem, type EvtxRecord } from './chunk.js';
import { Codes, EvtxError, type EvtxErrorData } from './errors.js';
import { checkChunkCount, checkHeader, ordered, planFile, type ChunkTask } from './file.js';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from './limits.js';
import type { ItemsResult, ChunkPool } from './pool.js';
import { renderChunk, type RenderedChunk, type RenderFormat } from './render.js';

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

/**
 * The worker pool module, loaded only when threads are asked for: with one thread (the common
 * case on small collections) start-up skips it and node:worker_threads.
 */
async function loadPool(): Promise<typeof ChunkPool> {
  return (await import('./pool.js')).ChunkPool;
}

/** Chunks read per file read in this thread: 1 MiB, so one read serves 16 chunks. */
const BLOCK_CHUNKS = 16;

/**
 * Read blocks are reused across files: a hunt reads tens of thousands of small files, and a fresh
 * 1 MiB buffer for each was a fresh mapping, page faults and external-memory pressure on the GC
 * each time (measured as most of the per-file cost). A reader takes one and gives it back.
 */
const freeBlocks: Uint8Array[] = [];
function takeBlock(): Uint8Array {
  return freeBlocks.pop() ?? new Uint8Array(FILE_HEADER_SIZE + BLOCK_CHUNKS * CHUNK_SIZE);
}
function giveBlock(b: Uint8Array): void {
  if (freeBlocks.length < 4) freeBlocks.push(b);
}

/**
 * One file's chunks, read and parsed in this thread: one open, then reads of a block of
 * chunks at a time (bounded: 1 MiB). The block buffer is reused; parsed records do not refer
 * to it. The reads are synchronous on purpose: parsing a block keeps this thread busy far longer
 * than reading it from the page cache, while each asynchronous open, read and close is a
 * round-trip through the I/O pool that, on a busy machine, waits for a time slice — measured,
 * those waits made up a third of the wall time on a collection of small files.
 */
function* inlineFile<R>(path: string, block: Uint8Array, parse: (buf: Uint8Array, info: ChunkTask) => R, onError: (e: EvtxError) => void): Generator<R> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    onError(new EvtxError(Codes.fileRead, `cannot open: ${(e as Error).message}`, { file: path, offset: 0 }, 'file'));
    return;
  }
  let off = FILE_HEADER_SIZE;
  let chunk = 0;
  try {
    let blockStart = 0;
    let blockLength = readSync(fd, block, 0, block.length, 0);
    const header = checkHeader(path, block.subarray(0, Math.min(blockLength, FILE_HEADER_SIZE)), onError);
    if (!header) return;
    for (;;) {
      let at = off - blockStart;
      if (at + CHUNK_SIZE > blockLength && blockLength === block.length) {
        // The chunk runs past the block and the file may go on: read from the chunk onwards.
        blockStart = off;
        blockLength = readSync(fd, block, 0, block.length, off);
        at = 0;
      }
      const length = Math.min(CHUNK_SIZE, blockLength - at);
      if (length <= 0) return checkChunkCount(path, blockStart + blockLength, chunk, header, onError);
      const info: ChunkTask = { path, file: path, chunk, fileOffset: off, length, beyondHeaderCount: chunk >= header.chunkCount };
      yield parse(block.subarray(at, at + length), info);
      off += CHUNK_SIZE;
      chunk++;
    }
  } catch (e) {
    onError(new EvtxError(Codes.fileRead, `cannot read: ${(e as Error).message}`, { file: path, chunk, offset: off }, 'file'));
  } finally {
    closeSync(fd);
  }
}

function chunkFailure(task: ChunkTask, e: unknown): EvtxError {
  return new EvtxError('evtx.chunk.failed', `chunk could not be read: ${(e as Error)?.message ?? String(e)}`, { file: task.file, chunk: task.chunk, offset: task.fileOffset }, 'chunk');
}

function fromWorker(r: ItemsResult): ChunkItem[] {
  return r.items.map((it) => ('error' in it ? EvtxError.fromData(it.error) : it));
}

/**
 * Chunks of `paths` in order, as parsed items. In this thread a chunk is parsed as its items are
 * asked for (each must be consumed before the next chunk is asked for: the read block is reused).
 */
async function* chunkItems(paths: readonly string[], opts: ReadOptions): AsyncGenerator<Iterable<ChunkItem>> {
  const onError = opts.onError ?? ((): void => undefined);
  const threads = resolveThreads(opts.threads);
  const xml = !!opts.xml;
  if (threads <= 1) {
    const block = takeBlock();
    try {
      const parse = (buf: Uint8Array, info: ChunkTask): Iterable<ChunkItem> => chunkRecords(buf, info, xml ? 'doc+xml' : 'doc') as Generator<ChunkItem>;
      for (const path of paths) yield* inlineFile(path, block, parse, onError);
    } finally {
      giveBlock(block);
    }
    return;
  }
  const pool = new (await loadPool())(threads);
  try {
    const exec = (task: ChunkTask): Promise<ChunkItem[]> =>
      pool.run([task], xml).then(
        (r) => fromWorker(r as ItemsResult),
        (e) => [chunkFailure(task, e)],
      );
    yield* ordered(allTasks(paths, onError), exec, threads * 2);
  } finally {
    await pool.close();
  }
}

/**
 * Records of several files, one array per chunk (each file's records in order, files in the
 * order given): a reader of many records takes a chunk's at once rather than awaiting each. A
 * chunk's errors and warnings go to `onError` before its records are yielded.
 */
export async function* readEvtxChunks(paths: readonly string[], opts: ReadOptions = {}): AsyncGenerator<EvtxRecord[]> {
  const onError = opts.onError ?? ((): void => undefined);
  for await (const items of chunkItems(paths, opts)) {
    const records: EvtxRecord[] = [];
    for (const it of items) {
      if (it instanceof EvtxError) onError(it);
      else records.push(it);
    }
    if (records.length) yield records;
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
  opts: Omit<ReadOptions, 'xml'> & {
    /** With threads > 1, files at least this large are split across threads (default 8 MiB). */
    parallelMinFileBytes?: number;
  } = {},
): AsyncGenerator<{ text: string | Uint8Array; records: number }> {
  const onError = opts.onError ?? ((): void => undefined);
  const threads = resolveThreads(opts.threads);
  const emit = (r: RenderedChunk): { text: string | Uint8Array; records: number } => {
    for (const e of r.errors) onError(EvtxError.fromData(e));
    return { text: r.text, records: r.records };
  };
  if (threads <= 1) {
    const block = takeBlock();
    try {
      const render = (buf: Uint8Array, info: ChunkTask): RenderedChunk => renderChunk(buf, info, format);
      for (const path of paths) for (const r of inlineFile(path, block, render, onError)) yield emit(r);
    } finally {
      giveBlock(block);
    }
    return;
  }
  // Small files are rendered here, chunk by chunk as with one thread; only the chunks of large
  // files are spread, in batches. A worker costs a start-up and its own JIT warm-up, which a
  // small file never pays back, and a message per chunk cost more than the parsing it moved
  // (measured: 2 threads were slower than 1 on a collection of small files and on a 34 MB file).
  // This thread is one of the `threads`: it takes every threads-th batch itself.
  const minParallel = opts.parallelMinFileBytes ?? PARALLEL_MIN_FILE_BYTES;
  const block = new Uint8Array(FILE_HEADER_SIZE + BLOCK_CHUNKS * CHUNK_SIZE);
  const render = (buf: Uint8Array, info: ChunkTask): RenderedChunk => renderChunk(buf, info, format);
  const Pool = await loadPool();
  let pool: ChunkPool | undefined;
  let sent = 0;
  const exec = (job: Batch): Promise<RenderedChunk> => {
    if (++sent % threads === 0) return Promise.resolve(renderBatch(job, block, format));
    pool ??= new Pool(threads - 1);
    return pool.run(job.tasks, false, format).then(
      (r) => {
        const rendered = r as RenderedChunk;
        if (job.errors.length) rendered.errors = [...job.errors, ...rendered.errors];
        return rendered;
      },
      (e) => ({ kind: 'text', text: '', records: 0, errors: [...job.errors, chunkFailure(job.tasks[0]!, e).toData()] }) satisfies RenderedChunk,
    );
  };
  try {
    for (const path of paths) {
      const plan = await planBatches(path, minParallel);
      if (plan) {
        for await (const r of ordered(toAsync(plan), exec, threads * 2)) yield emit(r);
      } else {
        for (const r of inlineFile(path, block, render, onError)) yield emit(r);
      }
    }
  } finally {
    await pool?.close();
  }
}

/** Files at least this large have their chunks spread over the threads (see renderEvtxFiles). */
const PARALLEL_MIN_FILE_BYTES = 8 * 1024 * 1024;

/** Chunks per message to a worker. */
const BATCH_CHUNKS = 16;

/** A run of a large file's chunks, with the file's header warnings on its first run. */
interface Batch {
  tasks: ChunkTask[];
  errors: EvtxErrorData[];
}

async function* toAsync<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/**
 * A large file's chunks in batches; null for a file to read in this thread (small, or one that
 * cannot be planned: reading it here reports why). Header warnings travel with the first batch,
 * so stderr stays in file order.
 */
async function planBatches(path: string, minParallel: number): Promise<Batch[] | null> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size < minParallel) return null;
  const headerErrors: EvtxErrorData[] = [];
  const plan = await planFile(path, (e) => headerErrors.push(e.toData()));
  if (!plan || !plan.tasks.length) return null;
  const out: Batch[] = [];
  for (let i = 0; i < plan.tasks.length; i += BATCH_CHUNKS) out.push({ tasks: plan.tasks.slice(i, i + BATCH_CHUNKS), errors: i === 0 ? headerErrors : [] });
  return out;
}

/** A batch of a large file's chunks rendered in this thread. */
function renderBatch(job: Batch, block: Uint8Array, format: RenderFormat): RenderedChunk {
  const out: RenderedChunk = { kind: 'text', text: '', records: 0, errors: [...job.errors] };
  let text = '';
  let fd: number | undefined;
  try {
    fd = openSync(job.tasks[0]!.path, 'r');
    for (const t of job.tasks) {
      const n = readSync(fd, block, 0, t.length, t.fileOffset);
      const r = renderChunk(block.subarray(0, n), t, format);
      // Appending makes a rope that the write flattens as it encodes: no copy here.
      text += r.text as string;
      out.records += r.records;
      for (const e of r.errors) out.errors.push(e);
    }
  } catch (e) {
    out.errors.push(chunkFailure(job.tasks[0]!, e).toData());
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  out.text = text;
  return out;
}
