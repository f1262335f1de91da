/**
 * The one capped-stream helper for untrusted compressed input, shared by `hunt` (gzipped logs)
 * and `scan` (archives, compressed streams, documents): it counts compressed bytes in and
 * decompressed bytes out while they stream, and stops a stream that passes its size cap or whose
 * decompressed/compressed ratio passes the bomb threshold. Headers are never trusted: only bytes
 * actually produced count. Crossing a cap throws a CapExceededError naming the input and the limit.
 */
import { FirebreakError } from './errors.js';
import { LIMITS } from './limits.js';

/** Which cap a stream crossed: its own size, the size of everything under one input, or the ratio. */
export type CapKind = 'bytes' | 'total' | 'ratio';

/** A stream stopped by a cap; `limit` names the entry of LIMITS (or the option) that stopped it. */
export class CapExceededError extends FirebreakError {
  constructor(
    readonly kind: CapKind,
    readonly path: string,
    readonly limit: string,
    message: string,
  ) {
    super(`limit.${kind}`, message);
  }
}

/** The caps one stream is held to; `names` say which configured limits they came from. */
export interface CapLimits {
  /** Decompressed bytes of this stream. */
  maxBytes: number;
  /** Decompressed/compressed ratio, judged once `ratioFloor` bytes came out. */
  maxRatio: number;
  ratioFloor: number;
  names?: { maxBytes?: string; maxRatio?: string };
}

/** The ratio and floor every decompression uses unless a caller has a reason to differ. */
export const DEFAULT_RATIO = { maxRatio: LIMITS.decompressMaxRatio, ratioFloor: LIMITS.decompressRatioFloor } as const;

/** Decompressed bytes shared by every stream under one input (all entries of an archive tree). */
export class SharedTotal {
  out = 0;
  constructor(
    readonly max: number,
    readonly name: string,
  ) {}
}

/** Compressed bytes in, decompressed bytes out, for one stream; throws when a cap is crossed. */
export class CapMeter {
  in = 0;
  out = 0;
  constructor(
    readonly path: string,
    readonly limits: CapLimits,
    private readonly total?: SharedTotal,
  ) {}

  addIn(n: number): void {
    this.in += n;
  }

  /** Count `n` decompressed bytes; throws CapExceededError when a cap is crossed. */
  addOut(n: number): void {
    const l = this.limits;
    this.out += n;
    if (this.out > l.maxBytes) {
      const name = l.names?.maxBytes ?? 'maxBytes';
      throw new CapExceededError('bytes', this.path, name, `${this.path}: decompressed size passed ${l.maxBytes} bytes (limit ${name}); rest not read`);
    }
    if (this.total) {
      this.total.out += n;
      if (this.total.out > this.total.max) {
        throw new CapExceededError('total', this.path, this.total.name, `${this.path}: input decompressed past ${this.total.max} bytes in total (limit ${this.total.name}); stopped`);
      }
    }
    if (this.out > l.ratioFloor && this.in > 0 && this.out / this.in > l.maxRatio) {
      const name = l.names?.maxRatio ?? 'decompressMaxRatio';
      throw new CapExceededError(
        'ratio',
        this.path,
        name,
        `${this.path}: compression ratio over ${l.maxRatio}:1 (${this.out} bytes from ${this.in}; limit ${name}); looks like a decompression bomb, not followed`,
      );
    }
  }
}

/** Pass chunks through, counting them as compressed (input) bytes of `meter`. */
export async function* countIn(src: AsyncIterable<Buffer>, meter: CapMeter): AsyncGenerator<Buffer> {
  for await (const c of src) {
    meter.addIn(c.length);
    yield c;
  }
}

/** Pass chunks through, counting them as decompressed (output) bytes of `meter`. */
export async function* countOut(src: AsyncIterable<Buffer>, meter: CapMeter): AsyncGenerator<Buffer> {
  for await (const c of src) {
    meter.addOut(c.length);
    yield c;
  }
}

/**
 * `decompress(compressed)` held to `limits`: the compressed side is counted as it is read and the
 * decompressed side as it is produced, so a bomb stops after at most `ratioFloor` bytes past the
 * ratio (or `maxBytes`), whatever its headers say.
 */
export function capped(
  path: string,
  compressed: AsyncIterable<Buffer>,
  decompress: (src: AsyncIterable<Buffer>) => AsyncIterable<Buffer>,
  limits: CapLimits,
  total?: SharedTotal,
): AsyncIterable<Buffer> {
  const meter = new CapMeter(path, limits, total);
  return countOut(decompress(countIn(compressed, meter)), meter);
}
