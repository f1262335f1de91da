/**
 * Worker-thread side of parallel reading: reads one chunk from disk (workers open files
 * themselves, so chunk bytes never cross threads), parses it, and sends back either the
 * records or, for the CLI, the rendered output text.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { parseChunk } from './chunk.js';
import { EvtxError } from './errors.js';
import { CHUNK_SIZE } from './limits.js';
import { renderChunk, type RenderFormat } from './render.js';
import type { ChunkTask } from './file.js';
import type { WorkerReply, WorkerRequest } from './pool.js';

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

function run(task: ChunkTask, xml: boolean, render: RenderFormat | undefined): WorkerReply['result'] {
  let n: number;
  try {
    n = readSync(fdFor(task.path), buf, 0, task.length, task.fileOffset);
  } catch (e) {
    const err = new EvtxError('evtx.file.read', `cannot read chunk: ${(e as Error).message}`, { file: task.file, chunk: task.chunk, offset: task.fileOffset }, 'chunk');
    return { kind: 'items', items: [{ error: err.toData() }] };
  }
  if (render) return renderChunk(buf.subarray(0, n), task, render);
  const items = parseChunk(buf.subarray(0, n), task, { xml });
  return { kind: 'items', items: items.map((it) => (it instanceof EvtxError ? { error: it.toData() } : it)) };
}

parentPort!.on('message', (msg: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: msg.id, result: run(msg.task, msg.xml, msg.render) };
  } catch (e) {
    reply = { id: msg.id, failure: String((e as Error)?.stack ?? e) };
  }
  parentPort!.postMessage(reply);
});
