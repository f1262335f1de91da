/**
 * Worker-thread side of parallel reading: reads one chunk from disk (workers open files
 * themselves, so chunk bytes never cross threads), parses it, and sends back either the
 * records or, for the CLI, the rendered output text.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { serveTasks } from '../../core/pool-worker.js';
import { parseChunk } from './chunk.js';
import { EvtxError } from './errors.js';
import { CHUNK_SIZE } from './limits.js';
import { renderChunk, type RenderedChunk, type RenderFormat } from './render.js';
import type { ChunkTask } from './file.js';
import type { ItemsResult, WorkerReply, WorkerRequest } from './pool.js';

// A few descriptors stay open: chunks of one file arrive together.
const MAX_OPEN = 8;
const fds = new Map<string, number>();
const buf = new Uint8Array(CHUNK_SIZE);

function fdFor(path: string): number {
  let fd = fds.get(path);
  if (fd !== undefined) {
    fds.delete(path);
    fds.set(path, fd);
    return fd;
  }
  if (fds.size >= MAX_OPEN) {
    const [oldPath, oldFd] = fds.entries().next().value as [string, number];
    fds.delete(oldPath);
    closeSync(oldFd);
  }
  fd = openSync(path, 'r');
  fds.set(path, fd);
  return fd;
}

function parse(task: ChunkTask, xml: boolean, render: RenderFormat | undefined): WorkerReply['result'] {
  let n: number;
  try {
    n = readSync(fdFor(task.path), buf, 0, task.length, task.fileOffset);
  } catch (e) {
    const err = new EvtxError('evtx.file.read', `cannot read chunk: ${(e as Error).message}`, { file: task.file, chunk: task.chunk, offset: task.fileOffset }, 'chunk');
    return render ? { kind: 'text', text: '', records: 0, errors: [err.toData()] } : { kind: 'items', items: [{ error: err.toData() }] };
  }
  if (render) return renderChunk(buf.subarray(0, n), task, render);
  const items = parseChunk(buf.subarray(0, n), task, { xml });
  return { kind: 'items', items: items.map((it) => (it instanceof EvtxError ? { error: it.toData() } : it)) };
}

/** The chunks of one request, parsed in order and merged into one reply. */
function run(tasks: ChunkTask[], xml: boolean, render: RenderFormat | undefined): WorkerReply['result'] {
  if (render) {
    const merged: RenderedChunk = { kind: 'text', text: '', records: 0, errors: [] };
    const texts: string[] = [];
    let bytes = 0;
    for (const t of tasks) {
      const r = parse(t, xml, render) as RenderedChunk;
      const text = r.text as string;
      texts.push(text);
      bytes += Buffer.byteLength(text);
      merged.records += r.records;
      for (const e of r.errors) merged.errors.push(e);
    }
    // Encoded here, into memory of its own so it can be transferred rather than copied.
    const out = Buffer.allocUnsafeSlow(bytes);
    let at = 0;
    for (const text of texts) at += out.write(text, at);
    merged.text = out;
    return merged;
  }
  const merged: ItemsResult = { kind: 'items', items: [] };
  for (const t of tasks) for (const it of (parse(t, xml, undefined) as ItemsResult).items) merged.items.push(it);
  return merged;
}

serveTasks<WorkerRequest, WorkerReply>(
  (msg) => {
    try {
      return { result: run(msg.tasks, msg.xml, msg.render) };
    } catch (e) {
      // A bug met on hostile input fails the chunks of this request, not the worker.
      return { failure: String((e as Error)?.stack ?? e) };
    }
  },
  {
    transfer: (reply: WorkerReply) => {
      const text = reply.result?.kind === 'text' ? reply.result.text : undefined;
      return text instanceof Uint8Array ? [text.buffer as ArrayBuffer] : [];
    },
  },
);
