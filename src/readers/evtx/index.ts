/**
 * Firebreak's native EVTX reader (Windows XML Event Log).
 *
 * Stable API:
 * - `isEvtx(head)` — true when a file starts with the `ElfFile\0` signature (detect by content,
 *   not by name).
 * - `readEvtx(path, { threads?, onError?, xml? })` — async generator of `EvtxRecord`s
 *   (`{ recordId, timestamp, file, chunk, offset, doc, xml? }`) in file order, streamed chunk by
 *   chunk. `doc` has the evtx crate's JSON shape (`{ Event: { System, EventData | UserData } }`),
 *   ready for `eventFromWindowsDoc`. Nothing is thrown: each bad chunk or record goes to
 *   `onError` as an `EvtxError` naming file, chunk, record and byte offset (`severity` tells a
 *   lost record, `'error'`, from a `'warning'` such as a checksum mismatch) and reading goes on.
 *   `threads`: 1 (default) parses in this thread, N > 1 on N worker threads, 0 on all cores.
 * - `readEvtxFiles(paths, opts)` — the same over several files, one worker pool for all.
 * - `readEvtxChunks(paths, opts)` — the same, one array of records per chunk (a chunk's errors
 *   reported before its records): for a reader of many records, one await per chunk.
 * - `parseChunk(buf, info, opts)` — synchronous: one 64 KiB chunk → its records and errors, for
 *   use inside worker threads or on in-memory data.
 * - `renderEvtxFiles(paths, 'jsonl' | 'xml', opts)` — output text chunk by chunk (the CLI).
 */
export { isEvtx } from './headers.js';
export { parseChunk, type ChunkInfo, type ChunkItem, type EvtxRecord, type ParseOptions } from './chunk.js';
export { EvtxError, Codes as EvtxErrorCodes, type EvtxErrorData, type EvtxSeverity } from './errors.js';
export { readEvtx, readEvtxChunks, readEvtxFiles, renderEvtxFiles, resolveThreads, type ReadOptions } from './reader.js';
export type { RenderFormat } from './render.js';
