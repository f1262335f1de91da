/**
 * A buffered, backpressure-aware text sink shared by the line-oriented outputs (CSV, JSONL).
 *
 * Many small `stream.write` calls cost far more than the formatting itself, so text is gathered
 * into ~64 KiB chunks first. `write` follows Node's Writable contract: it returns false when the
 * destination is saturated, and the caller should `await drain()` before writing more. That keeps
 * memory bounded when a slow disk meets a fast hunt.
 */
import { once } from 'node:events';
import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { FirebreakError } from '../core/errors.js';

/** Where an output goes: a file path (created or truncated) or an open stream (left open). */
export type OutputTarget = string | NodeJS.WritableStream;

/** Text gathered before one write to the stream; large enough to amortise the call overhead. */
const CHUNK_CHARS = 64 * 1024;

export class TextSink {
  private readonly stream: NodeJS.WritableStream;
  private readonly owned: boolean;
  private buf: string[] = [];
  private bufChars = 0;
  private error: Error | null = null;
  private closed = false;
  /** True after the stream refused a chunk and has not drained yet. */
  private saturated = false;
  private waiters: (() => void)[] = [];

  constructor(
    target: OutputTarget,
    /** Names the output in error messages (`csv`, `jsonl`). */
    private readonly what: string,
  ) {
    this.owned = typeof target === 'string';
    this.stream = typeof target === 'string' ? openFile(target, what) : target;
    // Permanent listeners: a 'drain' that fires before anyone awaits must not be missed, and an
    // 'error' must wake waiters so a failed disk never leaves the hunt hanging.
    this.stream.on('drain', () => {
      this.saturated = false;
      this.wake();
    });
    this.stream.on('error', (e: Error) => {
      this.error ??= e;
      this.wake();
    });
  }

  /** Queue text; returns false when the caller should `await drain()` before writing more. */
  write(text: string): boolean {
    if (this.closed) throw new FirebreakError('output-closed', `${this.what}: write after close`);
    this.check();
    this.buf.push(text);
    this.bufChars += text.length;
    if (this.bufChars >= CHUNK_CHARS) this.flushBuffer();
    return !this.saturated;
  }

  /** Resolves once the destination has room again (immediately when it already has). */
  async drain(): Promise<void> {
    this.check();
    if (this.saturated) await this.waitDrain();
  }

  /** Flush everything; ends the stream when this sink opened the file, and waits for it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flushBuffer();
    this.check();
    if (this.owned) {
      const done = once(this.stream, 'finish');
      this.stream.end();
      try {
        await done;
        // 'finish' means all data reached the fd; 'close' means the fd itself is released.
        if (!(this.stream as Writable).closed) await once(this.stream, 'close');
      } catch (e) {
        this.error ??= e as Error;
      }
    } else if (this.saturated) {
      await this.waitDrain();
    }
    this.check();
  }

  private flushBuffer(): void {
    if (this.bufChars === 0) return;
    const chunk = this.buf.length === 1 ? this.buf[0]! : this.buf.join('');
    this.buf = [];
    this.bufChars = 0;
    if (!this.stream.write(chunk)) this.saturated = true;
  }

  private waitDrain(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve)).then(() => this.check());
  }

  /** Wake everyone waiting for room; they re-check for an error themselves. */
  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private check(): void {
    if (this.error) throw new FirebreakError('output-write', `${this.what}: ${this.error.message}`, { cause: this.error });
  }
}

/** Open synchronously so a bad path fails when the output is set up, not after the hunt. */
function openFile(path: string, what: string): NodeJS.WritableStream {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new FirebreakError('output-open', `${what}: cannot create ${path}: ${(e as Error).message}`, { cause: e });
  }
  return createWriteStream(path, { fd });
}
