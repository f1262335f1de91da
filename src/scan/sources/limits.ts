/**
 * Every limit on untrusted archive input, in one place. Archives found on a compromised host are
 * hostile by assumption: a zip bomb inflates 42 KB into petabytes, a quine nests forever, a
 * corrupt header claims any size. Each limit is enforced while bytes stream (never by trusting a
 * header), and crossing one is a reported issue for that entry, not a crash of the scan.
 */
import { FirebreakError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { CapMeter, SharedTotal, countIn, countOut } from '../../core/capped.js';

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

/** The scan's defaults: the values (and their reasons) live in src/core/limits.ts. */
export const DEFAULT_LIMITS: ScanLimits = {
  maxArchiveDepth: LIMITS.scanArchiveMaxDepth,
  maxEntries: LIMITS.scanArchiveMaxEntries,
  maxEntryBytes: LIMITS.scanEntryMaxBytes,
  maxTotalBytes: LIMITS.scanInputMaxBytes,
  maxRatio: LIMITS.decompressMaxRatio,
  ratioFloor: LIMITS.decompressRatioFloor,
  maxBuffered: LIMITS.scanBufferedMaxBytes,
};

/** The kinds of reportable trouble with an input; each is one line of the report. */
export type IssueKind = 'zip-bomb' | 'too-deep' | 'too-many-entries' | 'too-large' | 'corrupt' | 'truncated' | 'path-traversal' | 'unreadable' | 'unsupported' | 'encrypted' | 'worker-lost';

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

/** Counts the bytes of one top-level input; each stream under it gets its own meter (src/core/capped.ts). */
export class Budget {
  private readonly total: SharedTotal;
  constructor(readonly limits: ScanLimits) {
    this.total = new SharedTotal(limits.maxTotalBytes, 'scanInputMaxBytes');
  }

  meter(path: string): CapMeter {
    const l = this.limits;
    return new CapMeter(path, { maxBytes: l.maxEntryBytes, maxRatio: l.maxRatio, ratioFloor: l.ratioFloor, names: { maxBytes: 'scanEntryMaxBytes', maxRatio: 'decompressMaxRatio' } }, this.total);
  }

  /** `decompress(src)` held to this input's caps (size, shared total, ratio) as bytes stream. */
  capped(path: string, src: AsyncIterable<Buffer>, decompress: (s: AsyncIterable<Buffer>) => AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    const m = this.meter(path);
    return countOut(decompress(countIn(src, m)), m);
  }
}

export { countIn, countOut };
