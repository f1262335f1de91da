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
  /** One JSON record (a pretty-printed evtx-crate object, one NDJSON line). */
  jsonRecordMaxBytes: 16 * 1024 * 1024,
  /**
   * One line of a text log (audit.log, syslog, a journal export field): longer lines are
   * reported and skipped, so a file without line breaks cannot grow memory (auditd's own
   * records stay under 9 KB; syslog daemons cut messages at 1–64 KB).
   */
  textLineMaxBytes: 1024 * 1024,
  /** Audit events waiting for their last record (see AuditJoiner): the oldest is completed early beyond it. */
  auditPendingEvents: 4096,
  /** Records kept for one audit event (a huge argv spans a few hundred EXECVE records); the rest are emitted unjoined. */
  auditRecordsPerEvent: 2048,
  /** Processes remembered by the audit joiner for ParentImage / ParentCommandLine (least recently seen forgotten first). */
  auditProcessTable: 65_536,
  /** Entries (fields) of one `journalctl -o export` entry, and bytes of one binary field. */
  journalFieldsPerEntry: 4096,
} as const;
