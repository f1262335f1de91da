/**
 * Single-stream decompressors (gzip, bzip2, xz, zstd) as async byte streams. All are streaming,
 * so memory stays bounded and the limits in limits.ts can stop a bomb after a few megabytes.
 * Packages: node:zlib (gzip), unbzip2-stream (pure JS), xz-decompress (WASM), fzstd (pure JS):
 * no native builds, because the scanner must install anywhere Node runs.
 */
import { createGunzip } from 'node:zlib';
import { Readable, Transform, pipeline } from 'node:stream';
import { createRequire } from 'node:module';
import { Decompress as ZstdDecompress } from 'fzstd';

// These three ship UMD/CommonJS bundles whose exports ESM cannot name statically.
const require = createRequire(import.meta.url);
const unbzip2 = require('unbzip2-stream') as () => Transform;
const { XzReadableStream } = require('xz-decompress') as {
  XzReadableStream: new (s: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
};

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** The decompressed bytes of `src`; errors (corrupt or truncated input) reject the iteration. */
export function decompress(kind: Compression, src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  switch (kind) {
    case 'gzip':
      return throughTransform(src, createGunzip());
    case 'bzip2':
      return bzip2(src);
    case 'xz':
      return xz(src);
    case 'zstd':
      return zstd(src);
  }
}

function throughTransform(src: AsyncIterable<Buffer>, t: Transform): AsyncIterable<Buffer> {
  const input = Readable.from(src, { objectMode: false });
  // pipeline forwards errors from either side and tears both down, so an abandoned or failed
  // iteration leaves no stream running.
  return pipeline(input, t, () => {});
}

// unbzip2-stream is an old-style (`through`) stream: not async-iterable, unknown to pipeline, and
// Readable#wrap sees its 'close' as premature. Its events are queued here by hand, pausing the
// input while the consumer catches up.
async function* bzip2(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const t = unbzip2();
  const input = Readable.from(src, { objectMode: false });
  const queue: Buffer[] = [];
  let done = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  t.on('data', (d: Buffer) => {
    queue.push(d);
    if (queue.length > 16) input.pause();
    notify();
  });
  t.on('end', () => {
    done = true;
    notify();
  });
  const fail = (e: Error): void => {
    failure = e;
    notify();
  };
  // The decoder's own errors are bare (a TypeError on cut input): say what was being decoded.
  t.on('error', (e: Error) => fail(new Error(`bzip2 data is corrupt or truncated (${e.message})`)));
  input.on('error', fail);
  input.pipe(t);
  try {
    for (;;) {
      if (queue.length) {
        yield queue.shift()!;
        if (queue.length < 4) input.resume();
        continue;
      }
      const failed = failure as Error | null; // set by the stream's error handler
      if (failed) throw failed;
      if (done) return;
      await new Promise<void>((res) => (wake = res));
    }
  } finally {
    input.destroy();
  }
}

async function* xz(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const web = Readable.toWeb(Readable.from(src)) as ReadableStream<Uint8Array>;
  const out = new XzReadableStream(web);
  const reader = out.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

async function* zstd(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let ended = false;
  const d = new ZstdDecompress((chunk, final) => {
    if (chunk.length) pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    if (final) ended = true;
  });
  for await (const c of src) {
    d.push(c);
    const out = pending;
    pending = [];
    yield* out;
  }
  if (!ended) d.push(new Uint8Array(0), true);
  yield* pending;
  // fzstd marks a complete frame as final; input that ran out before that was cut short.
  if (!ended) throw new Error('unexpected end of zstd data (truncated stream)');
}
