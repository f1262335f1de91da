/**
 * Every limit on untrusted input, in one place, each with its reason. Rules, logs and archives
 * may be built to hurt us: these caps keep time and memory bounded.
 */
export const LIMITS = {
  /** YAML aliases per document: stops "billion laughs" expansion in rule files. */
  yamlMaxAliasCount: 100,
  /** A rule file larger than this is refused (SigmaHQ's largest is ~30 KB). */
  ruleFileMaxBytes: 4 * 1024 * 1024,
  /** Condition nesting depth: deeper parentheses are refused rather than recursed into. */
  conditionMaxDepth: 64,
  /** Values one modifier chain may expand into (windash is 5^n): caps memory at compile time. */
  maxExpandedValues: 10_000,
  /**
   * Field text a rule regex that V8's linear-time engine cannot run (large counted repetitions,
   * look-arounds, back-references) is tried against; longer values are cut. Regexes the linear
   * engine can run see the whole value (see src/sigma/regex.ts).
   */
  regexBacktrackingInputMax: 8 * 1024,
  /** Decompressed size of one gzip log file: beyond it the file is reported as a bomb. */
  gzipMaxBytes: 64 * 1024 * 1024 * 1024,
  /**
   * Decompressed/compressed ratio beyond which a stream is a bomb, for every decompression (a
   * gzipped log in `hunt`, an archive entry in `scan`): text and logs compress 5–20x, very
   * repetitive logs up to ~100x; bombs go far past 1000x.
   */
  decompressMaxRatio: 200,
  /** Below this many decompressed bytes the ratio is not judged: tiny well-compressed files are normal. */
  decompressRatioFloor: 8 * 1024 * 1024,
  /** Decompressed bytes of one archive entry or compressed stream found by `scan`. */
  scanEntryMaxBytes: 1024 * 1024 * 1024,
  /** Decompressed bytes under one top-level `scan` input, all nested entries together. */
  scanInputMaxBytes: 8 * 1024 * 1024 * 1024,
  /** Archives inside archives that `scan` opens (gitleaks' --max-archive-depth default). */
  scanArchiveMaxDepth: 8,
  /** Entries read from one archive: a zip of a million empty files is a denial of service too. */
  scanArchiveMaxEntries: 100_000,
  /** Largest archive or document held whole in memory (nested zip, 7z, PDF, mail, spreadsheet parts). */
  scanBufferedMaxBytes: 256 * 1024 * 1024,
  /** PDF pages whose text is extracted: a PDF of a million empty pages costs time, not evidence. */
  pdfMaxPages: 5000,
  /** Text extracted from one document (PDF, mail body, RTF): the rest is reported as not read. */
  documentTextMaxBytes: 256 * 1024 * 1024,
  /** MIME parts nested in parts (multipart in message/rfc822 in multipart…): deeper is refused. */
  mimeMaxDepth: 32,
  /** Attachments and parts of one mail message read: a mail of a million parts is refused past this. */
  mimeMaxParts: 10_000,
  /** Spreadsheet cells read per sheet (ODS `number-columns-repeated` can declare billions). */
  sheetMaxCells: 50_000_000,
  /** Repeated empty cells/rows an ODS sheet may expand into before the repeat is clamped. */
  sheetMaxRepeat: 1024,
  /** Findings a bulk identifier (e-mail, phone) keeps as distinct values per file before only counting. */
  bulkMaxDistinct: 1_000_000,
  /** Low-confidence findings kept per file (a log full of Luhn-valid ids is counted, not listed). */
  scanMaxLowFindingsPerFile: 10_000,
  /** One JSON record (a pretty-printed evtx-crate object, one NDJSON line). */
  jsonRecordMaxBytes: 16 * 1024 * 1024,
} as const;
