/**
 * The scan pipeline: walk inputs and archives, read every leaf once in bounded chunks, run the
 * detector on each chunk, place findings at file/line/column, fingerprint them, drop the ones a
 * baseline already knows. Memory per leaf is one chunk plus a small overlap, whatever its size.
 */
import { basename } from 'node:path';
import { Detector } from './engine/detect.js';
import type { Finding, RawFinding } from './engine/finding.js';
import { shannonEntropy } from './engine/finding.js';
import { pathAllowed } from './rules/allowlist.js';
import type { RuleSet } from './rules/model.js';
import type { ValidatedDetector } from './detectors/validated.js';
import { walkInput } from './sources/walk.js';
import type { Issue } from './sources/types.js';
import type { Format } from './sources/sniff.js';
import type { ScanLimits } from './sources/limits.js';
import { fingerprint, gitleaksFingerprint } from './report/fingerprint.js';
import type { Confidence } from './engine/confidence.js';
import { LeafAssessor, type LeafNote } from './engine/assess.js';
import type { LeafInfo } from './sources/types.js';
import { sniffTable } from './sources/tables.js';
import { printableStrings } from './sources/strings.js';

/**
 * Text is scanned in chunks of about this many new bytes (cut at a newline) … A chunk's text,
 * overlap included, stays below V8's large-object size (128 KiB): a larger string is allocated in
 * pages of its own and freed by a full collection, and making one cost 25 times as much per byte
 * as the whole keyword pass here (3.5 ms per MB against 0.15).
 */
const CHUNK_BYTES = 108 << 10;
/** … unless one line is longer: then the chunk runs to the line's end, up to this bound. */
const MAX_CHUNK_BYTES = 4 << 20;
/** … each overlapping the previous one by this much, so a match across the cut (a PEM block
 * of up to ~16 KB) is still seen whole. Findings wholly inside the overlap were already reported. */
const OVERLAP_BYTES = 16 << 10;

export interface ScanOptions {
  ruleSet: RuleSet;
  validated: ValidatedDetector[];
  limits: ScanLimits;
  maxDecodeDepth: number;
  /** Content-recognised key store ids to report (default both: pkcs12-file, java-keystore). */
  keystores?: string[];
  /** Fingerprints to suppress (from --baseline). */
  baseline?: Set<string>;
  /** Identifier findings below this level are not reported (default medium). */
  minConfidence?: Confidence;
  /** Scan the printable strings of binary files (default true). */
  binaryStrings?: boolean;
}

export interface ScanStats {
  leaves: number;
  bytes: number;
}

export interface ScanEvents {
  finding?(f: Finding): void;
  issue?(i: Issue): void;
  progress?(stats: ScanStats, path: string): void;
}

export interface ScanResult {
  findings: Finding[];
  issues: Issue[];
  stats: ScanStats;
  /** Tables whose headers name personal data (for --summary). */
  notes: LeafNote[];
}

/** Scans inputs with one compiled detector; reusable across calls. */
export class Scanner {
  private readonly detector: Detector;
  private readonly pathRules;

  private readonly bulkMin = new Map<string, number>();

  constructor(private readonly opts: ScanOptions) {
    this.detector = new Detector(opts.ruleSet, opts.validated, { maxDecodeDepth: opts.maxDecodeDepth });
    this.pathRules = opts.ruleSet.rules.filter((r) => r.regex === null && r.path !== null);
    for (const v of opts.validated) if (v.bulk) this.bulkMin.set(v.id, v.bulk.min);
  }

  /** Scan command-line inputs (`-` = `stdin`). */
  async scan(inputs: string[], stdin: AsyncIterable<Buffer>, events: ScanEvents = {}): Promise<ScanResult> {
    const findings: Finding[] = [];
    const issues: Issue[] = [];
    const notes: LeafNote[] = [];
    const stats: ScanStats = { leaves: 0, bytes: 0 };
    const emit = (f: Finding): void => {
      const b = this.opts.baseline;
      if (b && (b.has(f.fingerprint) || b.has(gitleaksFingerprint(f.file, f.ruleId, f.startLine)))) return;
      findings.push(f);
      events.finding?.(f);
    };
    let root = '';
    const sink = {
      issue: (i: Issue): void => {
        issues.push(i);
        events.issue?.(i);
      },
      leaf: async (path: string, format: Format, head: Buffer, src: AsyncIterable<Buffer>, info?: LeafInfo): Promise<void> => {
        stats.leaves++;
        const note = await this.leaf(path, root, format, head, src, info, emit, (n) => {
          stats.bytes += n;
          events.progress?.(stats, path);
        });
        if (note) notes.push(note);
      },
    };
    for (const input of inputs) {
      root = input;
      await walkInput(input, this.opts.limits, sink, stdin);
    }
    return { findings, issues, stats, notes };
  }

  private async leaf(
    path: string,
    root: string,
    format: Format,
    head: Buffer,
    src: AsyncIterable<Buffer>,
    info: LeafInfo | undefined,
    emit: (f: Finding) => void,
    counted: (n: number) => void,
  ): Promise<LeafNote | null> {
    const rs = this.opts.ruleSet;
    // gitleaks' global path allowlist (lock files, images, office and PDF files…) keeps credential
    // rules off a file; text extracted from a document is read like any text file.
    const allowed = !info?.derived && pathAllowed(path, rs.allowlists);
    const pathHits = allowed ? [] : this.pathRules.filter((r) => r.path!.test(path) && !pathAllowed(path, r.allowlists));
    for (const r of pathHits) emit(place(path, r.id, r.description, r.tags, `file detected: ${path}`, '', 0, 0, 0, 0));
    // Key stores are recognised by content before the path allowlist: gitleaks' list skips
    // `.bin` and friends as noise for text rules, and a renamed key store is what one hides.
    if (format === 'pkcs12' || format === 'java-keystore') {
      const [id, what] = format === 'pkcs12' ? ['pkcs12-file', 'PKCS#12 key store'] : ['java-keystore', 'Java key store (JKS/JCEKS)'];
      if (this.opts.keystores && !this.opts.keystores.includes(id)) return null;
      // gitleaks' own pkcs12-file rule (by name) already reported it: one finding per file.
      if (pathHits.some((r) => r.id === id)) return null;
      emit(place(path, id, `${what} recognised by content: private keys inside`, ['key', 'private', 'binary'], `${what} (binary)`, head.subarray(0, 16).toString('hex'), 1, 1, 1, 1));
      return null;
    }
    let binary = false;
    if (format === 'binary') {
      if (this.opts.binaryStrings === false) return null;
      src = printableStrings(src);
      binary = true;
    }
    let leafInfo = info;
    if (format === 'text' && !info?.table) {
      const delimiter = sniffTable(path, head);
      if (delimiter) leafInfo = { ...info, table: { delimiter } };
    }
    // Where the file sits below the scanned folder (a file given itself: its name) says whether it is code or tests.
    let relative = path.startsWith(root) ? path.slice(root.length) : path;
    if (relative === '' || relative.startsWith('!')) relative = basename(root) + relative;
    const assessor = new LeafAssessor(path, relative, leafInfo, head, this.opts.minConfidence ?? 'medium', binary);
    const lines = await this.scanText(path, src, emit, counted, !allowed, leafInfo, assessor, binary);
    const settled = assessor.finish(lines);
    for (const f of settled.findings) {
      f.fingerprint ||= fingerprint(f.ruleId, f.file, f.secret || f.match);
      emit(f);
    }
    return settled.note;
  }

  /** Scan a text stream in chunks; identifier findings go to `assessor`. Returns the number of lines. */
  private async scanText(
    path: string,
    src: AsyncIterable<Buffer>,
    emit: (f: Finding) => void,
    counted: (n: number) => void,
    rules: boolean,
    info: LeafInfo | undefined,
    assessor: LeafAssessor,
    binary: boolean,
  ): Promise<number> {
    /** Input not yet scanned, after the first `keep` bytes (the overlap, already scanned). */
    let buf: Buffer = Buffer.alloc(0);
    let keep = 0;
    let scanned = false;
    let carryLine = 1;
    let carryOffset = 0;
    let lines = 0;
    /** Where the next chunk of `buf` ends, or -1 when more input is needed first. */
    const nextCut = (final: boolean): number => {
      if (buf.length - keep <= CHUNK_BYTES) return final ? buf.length : -1;
      const target = keep + CHUNK_BYTES;
      const nl = buf.lastIndexOf(10, target - 1);
      if (nl >= keep) return nl + 1;
      // A line longer than a chunk: the chunk runs to its end, within the largest chunk.
      const end = buf.indexOf(10, target);
      if (end >= 0 && end < keep + MAX_CHUNK_BYTES) return end + 1;
      if (buf.length >= keep + MAX_CHUNK_BYTES) return keep + MAX_CHUNK_BYTES;
      return final ? buf.length : -1;
    };
    /** The file's line count, once all of `buf` is scanned (`carryLine` is its first line). */
    const countLines = (): number => carryLine - 1 + countNewlines(buf, 0, buf.length) + (buf.length && buf[buf.length - 1] !== 10 ? 1 : 0);
    const scanChunks = (final: boolean): void => {
      for (;;) {
        // Everything is scanned: only the overlap is left, for the line count.
        if (final && scanned && buf.length === keep) return void (lines = countLines());
        const cut = nextCut(final);
        if (cut < 0) return;
        const chunk = buf.subarray(0, cut);
        const fresh = keep;
        scanned = true;
        const raw = this.detector.detect(chunk, path, { named: assessor.named, rules });
        if (raw.length) this.placeAll(path, chunk, carryLine, carryOffset, raw, fresh, info, binary, emit, assessor);
        if (final && cut === buf.length) return void (lines = countLines());
        // Keep the last OVERLAP_BYTES (from a line start when there is one) for the next chunk.
        let keepFrom = Math.max(0, chunk.length - OVERLAP_BYTES);
        const nl = chunk.indexOf(10, keepFrom);
        if (nl >= 0 && nl + 1 < chunk.length) keepFrom = nl + 1;
        carryLine += countNewlines(chunk, 0, keepFrom);
        carryOffset += keepFrom;
        buf = buf.subarray(keepFrom);
        keep = cut - keepFrom;
      }
    };
    for await (const c of src) {
      counted(c.length);
      // The rest of the last read (a chunk or less, normally) and this one.
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      scanChunks(false);
    }
    scanChunks(true);
    return lines;
  }

  /** Place a chunk's findings (in offset order, counting lines once) and route them. */
  private placeAll(
    path: string,
    chunk: Buffer,
    firstLine: number,
    chunkOffset: number,
    raw: RawFinding[],
    fresh: number,
    info: LeafInfo | undefined,
    binary: boolean,
    emit: (f: Finding) => void,
    assessor: LeafAssessor,
  ): void {
    const sorted = raw.length > 1 ? [...raw].sort((a, b) => a.start - b.start) : raw;
    let at = 0;
    let line = firstLine;
    for (const f of sorted) {
      // Findings wholly inside the overlap were reported with the previous chunk.
      if (!(f.end > fresh || fresh === 0)) continue;
      line += countNewlines(chunk, at, f.start);
      at = f.start;
      // Identifier findings are fingerprinted once settled (most weak candidates never are).
      const placed = this.placeRaw(path, chunk, line, f, f.pii !== undefined);
      if (info?.page !== undefined) placed.location = { page: info.page };
      if (binary) placed.location = { offset: chunkOffset + f.start };
      const ls = lineStartOf(chunk, f.start);
      let le = chunk.indexOf(10, f.start);
      if (le < 0) le = chunk.length;
      if (!f.pii) {
        if (info?.table) assessor.locate(placed, line - 1, chunk.toString('latin1', ls, le), f.start - ls);
        emit(placed);
        continue;
      }
      const bulk = this.bulkMin.get(f.ruleId);
      assessor.add(placed, f.pii, line - 1, info?.table ? chunk.toString('latin1', ls, le) : '', f.start - ls, bulk);
    }
  }

  private placeRaw(path: string, chunk: Buffer, startLine: number, f: RawFinding, later = false): Finding {
    const startCol = f.start - lineStartOf(chunk, f.start) + 1;
    const last = Math.max(f.start, f.end - 1);
    const endLine = startLine + countNewlines(chunk, f.start, last);
    const endCol = last - lineStartOf(chunk, last) + 1;
    const out = place(path, f.ruleId, f.description, f.tags, utf8(f.match), utf8(f.secret), startLine, startCol, endLine, endCol, later);
    out.entropy = f.entropy;
    out.decodeChain = f.decodeChain;
    return out;
  }
}

function place(
  file: string,
  ruleId: string,
  description: string,
  tags: string[],
  match: string,
  secret: string,
  startLine: number,
  startColumn: number,
  endLine: number,
  endColumn: number,
  noFingerprint = false,
): Finding {
  return {
    ruleId,
    description,
    file,
    startLine,
    startColumn,
    endLine,
    endColumn,
    match,
    secret,
    entropy: shannonEntropy(secret),
    tags,
    decodeChain: [],
    fingerprint: noFingerprint ? '' : fingerprint(ruleId, file, secret || match),
  };
}

// Chunks are latin1 views of bytes (offsets = byte columns); show found text as the UTF-8 it is.
function utf8(latin1: string): string {
  return /[\x80-\xff]/.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}

// Buffer#lastIndexOf reads a negative offset as counted from the end, so offset 0 is special.
function lineStartOf(b: Buffer, at: number): number {
  return at <= 0 ? 0 : b.lastIndexOf(10, at - 1) + 1;
}

function countNewlines(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = b.indexOf(10, from); i >= 0 && i < to; i = b.indexOf(10, i + 1)) n++;
  return n;
}
