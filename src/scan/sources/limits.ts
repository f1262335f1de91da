/**
 * Every limit on untrusted archive input, in one place. Archives found on a compromised host are
 * hostile by assumption: a zip bomb inflates 42 KB into petabytes, a quine nests forever, a
 * corrupt header claims any size. Each limit is enforced while bytes stream (never by trusting a
 * header), and crossing one is a reported issue for that entry, not a crash of the scan.
 */
import { FirebreakError } from '../../core/errors.js';

export interface ScanLimits {
  /** Archives inside archives (gitleaks' --max-archive-depth); compression layers count too. */
  maxArchiveDepth: number;
  /** Entries read from one archive: a zip of a million empty files is a denial of service too. */
  maxEntries: number;
  /** Decompressed bytes of one entry or stream. */
  maxEntryBytes: number;
  /** Decompressed bytes over one top-level input, all its nested entries together. */
  maxTotalBytes: number;
  /** Decompressed/compressed ratio beyond which a stream is a bomb (checked past `ratioFloor`). */
  maxRatio: number;
  /** Below this many output bytes the ratio is not judged: tiny well-compressed files are normal. */
  ratioFloor: number;
  /** Largest archive held in memory (nested zip and 7z need random access to their bytes). */
  maxBuffered: number;
}

export const DEFAULT_LIMITS: ScanLimits = {
  maxArchiveDepth: 8,
  maxEntries: 100_000,
  maxEntryBytes: 1 << 30,
  maxTotalBytes: 8 * (1 << 30),
  // Text and logs compress 5–20x, very repetitive logs up to ~100x; bombs go far past 1000x.
  maxRatio: 200,
  ratioFloor: 8 << 20,
  maxBuffered: 256 << 20,
};

/** The kinds of reportable trouble with an input; each is one line of the report. */
export type IssueKind = 'zip-bomb' | 'too-deep' | 'too-many-entries' | 'too-large' | 'corrupt' | 'truncated' | 'path-traversal' | 'unreadable' | 'unsupported';

/** A limit crossed or a broken input; `path` is the display path of the entry concerned. */
export class ScanIssueError extends FirebreakError {
  constructor(
    readonly kind: IssueKind,
    readonly path: string,
    message: string,
  ) {
    super(`scan.${kind}`, message);
  }
}

/** Counts the bytes of one top-level input; each stream under it gets its own Meter. */
export class Budget {
  totalOut = 0;
  constructor(readonly limits: ScanLimits) {}

  meter(path: string): Meter {
    return new Meter(this, path);
  }
}

/** Compressed bytes in, decompressed bytes out, for one stream or entry. */
export class Meter {
  in = 0;
  out = 0;
  constructor(
    private readonly budget: Budget,
    readonly path: string,
  ) {}

  addIn(n: number): void {
    this.in += n;
  }

  /** Count `n` decompressed bytes; throws ScanIssueError when a limit is crossed. */
  addOut(n: number): void {
    const l = this.budget.limits;
    this.out += n;
    this.budget.totalOut += n;
    if (this.out > l.maxEntryBytes) {
      throw new ScanIssueError('too-large', this.path, `decompressed size passed ${l.maxEntryBytes} bytes; rest of entry not read`);
    }
    if (this.budget.totalOut > l.maxTotalBytes) {
      throw new ScanIssueError('too-large', this.path, `input decompressed past ${l.maxTotalBytes} bytes in total; stopped`);
    }
    if (this.out > l.ratioFloor && this.in > 0 && this.out / this.in > l.maxRatio) {
      throw new ScanIssueError('zip-bomb', this.path, `compression ratio over ${l.maxRatio}:1 (${this.out} bytes from ${this.in}); looks like a decompression bomb, not followed`);
    }
  }
}

/** Pass chunks through, counting them as input (compressed) bytes of `meter`. */
export async function* countIn(src: AsyncIterable<Buffer>, meter: Meter): AsyncGenerator<Buffer> {
  for await (const c of src) {
    meter.addIn(c.length);
    yield c;
  }
}

/** Pass chunks through, counting them as output (decompressed) bytes of `meter`. */
export async function* countOut(src: AsyncIterable<Buffer>, meter: Meter): AsyncGenerator<Buffer> {
  for await (const c of src) {
    meter.addOut(c.length);
    yield c;
  }
}
