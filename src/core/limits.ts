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

  // ---- firebreak serve: ingest and the write-ahead log (defaults; the config may lower or raise
  // the ones marked "configurable" within the schema's bounds) ----

  /**
   * One ingested record (a bulk document, an OTLP log record, a HEC event; configurable). A log
   * event over 1 MiB is pathological; the cap bounds the log's frames and the memory one record
   * costs a reader. Larger documents are refused item by item with the limit in the reason.
   */
  ingestRecordMaxBytes: 1024 * 1024,
  /**
   * One write-ahead log frame's payload: a record plus its source name and metadata. At recovery a
   * frame length above this is corruption, not a huge record, so a torn length cannot make us
   * allocate gigabytes.
   */
  walFrameMaxBytes: 2 * 1024 * 1024,
  /** A log segment is sealed and a new one started past this size (configurable). */
  walSegmentBytes: 64 * 1024 * 1024,
  /**
   * One HTTP request body as sent (configurable): Elasticsearch's own `http.max_content_length`
   * default, so shippers sized for Elasticsearch fit. Above it: 413 without reading the rest.
   */
  httpBodyMaxBytes: 100 * 1024 * 1024,
  /** One request body after gunzip (configurable): a gzip bomb stops here with 413. */
  httpDecompressedMaxBytes: 200 * 1024 * 1024,
  /**
   * Bytes of all request bodies being read or waiting for the log at once, per server
   * (configurable). Past it new requests get 429 before their body is read, so memory stays bounded
   * however many shippers connect.
   */
  ingestInflightMaxBytes: 256 * 1024 * 1024,
  /** Items in one bulk request: bounds the per-item response (~150 bytes each); the rest get 429. */
  bulkMaxItems: 200_000,
  /** Events in one HEC request, for the same reason. */
  hecMaxEvents: 200_000,
  /**
   * One syslog message (configurable). RFC 5425 asks receivers to take at least 8 KiB; Windows
   * events as XML in syslog run to tens of KiB. Longer messages are cut to this and flagged.
   */
  syslogMessageMaxBytes: 64 * 1024,
  /** Bytes a syslog TCP connection may have waiting for the log before we stop reading it. */
  syslogConnectionPendingBytes: 4 * 1024 * 1024,
  /** Open connections per listener (configurable): each one costs buffers and a descriptor. */
  maxConnections: 1024,
  /** Time for a client to send its request headers (slow-loris; configurable). */
  httpHeadersTimeoutMs: 30_000,
  /** Time for a whole request, body included (a body trickled byte by byte; configurable). */
  httpRequestTimeoutMs: 120_000,
  /** An idle keep-alive connection is closed after this (shippers reconnect; configurable). */
  httpKeepAliveTimeoutMs: 75_000,
  /** A TCP or TLS syslog connection idle this long is closed (configurable; 0 = never). */
  syslogIdleTimeoutMs: 15 * 60_000,
  /** A TLS handshake not done within this is dropped (a stalled handshake holds a socket). */
  tlsHandshakeTimeoutMs: 10_000,
} as const;
