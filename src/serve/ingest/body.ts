/**
 * Request bodies under limits: the wire size counted while streaming (and refused up front when
 * Content-Length is already too large), gzip/deflate undone with the decompressed size counted (a
 * bomb stops at the limit), every byte held charged to the server's in-flight budget, and lines
 * split with a cap so one 100 MB line is skipped over, not held.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { IngestError, type IngestGate } from './context.js';

export interface BodyLimits {
  bodyMaxBytes: number;
  decompressedMaxBytes: number;
}

/** Bytes of one request charged to the gate's in-flight budget; released when the answer is sent. */
export class BodyLease {
  private held = 0;
  /** The request whose body is being read (set by bodyChunks). */
  req: IncomingMessage | null = null;
  constructor(private readonly gate: IngestGate) {}
  add(n: number): void {
    if (!this.gate.reserve(n)) throw new IngestError(429, 'busy', 'too many request bodies are being processed at once; retry later');
    this.held += n;
  }
  release(): void {
    this.gate.release(this.held);
    this.held = 0;
  }
}

const fmt = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(0)} MiB` : `${n} bytes`);

/**
 * The body's bytes, decompressed, in chunks. Throws IngestError 413 (too large, as sent or
 * decompressed), 415 (unknown Content-Encoding), 400 (corrupt or truncated compression, aborted
 * upload) or 429 (in-flight budget).
 */
export async function* bodyChunks(req: IncomingMessage, limits: BodyLimits, lease: BodyLease): AsyncGenerator<Buffer> {
  lease.req = req;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.bodyMaxBytes) throw new IngestError(413, 'too-large', `request body of ${fmt(declared)} exceeds the ${fmt(limits.bodyMaxBytes)} limit`);
  const enc = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  let z: Gunzip | Inflate | null = null;
  if (enc === 'gzip' || enc === 'x-gzip') z = createGunzip();
  else if (enc === 'deflate') z = createInflate();
  else if (enc !== 'identity' && enc !== '') throw new IngestError(415, 'encoding', `Content-Encoding '${enc}' is not supported (use gzip, deflate or none)`);
  let wire = 0;
  let out = 0;
  let aborted = false;
  const onAbort = () => (aborted = true);
  req.once('aborted', onAbort);
  try {
    if (!z) {
      for await (const c of req as AsyncIterable<Buffer>) {
        wire += c.length;
        if (wire > limits.bodyMaxBytes) throw new IngestError(413, 'too-large', `request body exceeds the ${fmt(limits.bodyMaxBytes)} limit`);
        lease.add(c.length);
        yield c;
      }
    } else {
      const zz = z;
      const feed = (async () => {
        try {
          for await (const c of req as AsyncIterable<Buffer>) {
            wire += c.length;
            if (wire > limits.bodyMaxBytes) throw new IngestError(413, 'too-large', `request body exceeds the ${fmt(limits.bodyMaxBytes)} limit`);
            if (zz.destroyed) return; // the reader stopped (limit, error): leave the rest unread
            if (!zz.write(c)) {
              await new Promise<void>((r) => {
                zz.once('drain', r);
                zz.once('close', r);
              });
            }
          }
          zz.end();
        } catch (e) {
          zz.destroy(e as Error);
        }
      })();
      try {
        for await (const c of zz as AsyncIterable<Buffer>) {
          out += c.length;
          if (out > limits.decompressedMaxBytes) throw new IngestError(413, 'too-large', `request body decompresses to more than the ${fmt(limits.decompressedMaxBytes)} limit`);
          lease.add(c.length);
          yield c;
        }
      } catch (e) {
        if (e instanceof IngestError) throw e;
        const m = (e as Error).message;
        throw new IngestError(400, 'bad-compression', `${enc} body is corrupt or truncated: ${m}`);
      } finally {
        zz.destroy();
        await feed;
      }
    }
  } finally {
    req.off('aborted', onAbort);
  }
  if (aborted || (Number.isFinite(declared) && !z && wire < declared)) throw new IngestError(400, 'aborted', 'the request body ended before Content-Length bytes arrived');
}

/**
 * Before answering an error: read and discard what is left of the body (so the client, still
 * sending, gets the answer instead of a reset), up to `cap` bytes; beyond that the caller closes
 * the connection. Resolves true when the body was read to its end.
 */
export function discardRest(req: IncomingMessage, cap: number): Promise<boolean> {
  if (req.readableEnded || req.destroyed) return Promise.resolve(req.readableEnded);
  if (Number(req.headers['content-length'] ?? 0) > cap) return Promise.resolve(false);
  return new Promise((resolve) => {
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > cap) done(false);
    };
    const done = (ended: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      if (!ended) req.pause();
      resolve(ended);
    };
    const onEnd = () => done(true);
    const onClose = () => done(req.readableEnded);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.resume();
  });
}

/** The whole body (decompressed) as one buffer, within the limits. */
export async function readBody(req: IncomingMessage, limits: BodyLimits, lease: BodyLease): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of bodyChunks(req, limits, lease)) parts.push(c);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** One line of a body: its bytes (without CR LF), or null when it was longer than the cap. */
export interface Line {
  bytes: Buffer | null;
  /** Its full length, also when it was skipped. */
  length: number;
  /** 1-based. */
  lineNo: number;
}

/**
 * Splits chunks into lines (LF, optional CR). A line longer than `maxLine` is not kept: its bytes
 * are counted and skipped to the next LF, and it comes out with `bytes: null`.
 */
export async function* splitLines(chunks: AsyncIterable<Buffer>, maxLine: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let held = 0;
  let length = 0;
  let over = false;
  let lineNo = 0;
  const finish = (): Line => {
    lineNo++;
    let bytes: Buffer | null = null;
    if (!over) {
      bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
      if (bytes.length && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    }
    const l = { bytes, length, lineNo };
    parts = [];
    held = length = 0;
    over = false;
    return l;
  };
  for await (const c of chunks) {
    let p = 0;
    while (p < c.length) {
      const nl = c.indexOf(0x0a, p);
      const end = nl < 0 ? c.length : nl;
      const piece = c.subarray(p, end);
      length += piece.length;
      if (!over) {
        if (held + piece.length > maxLine + 1) {
          over = true;
          parts = [];
          held = 0;
        } else if (piece.length) {
          // Copy: the chunk may be a view into a larger buffer we do not want to keep alive.
          parts.push(Buffer.from(piece));
          held += piece.length;
        }
      }
      if (nl < 0) break;
      yield finish();
      p = nl + 1;
    }
  }
  if (length > 0 || parts.length) yield finish();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 strictly; null when the bytes are not valid UTF-8. */
export function strictUtf8(b: Uint8Array): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}
