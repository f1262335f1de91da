/**
 * Every limit of the program, in one place, each with its reason: first the caps on untrusted
 * input (rules, logs and archives may be built to hurt us), then the bounds on the state the
 * stages keep (whatever the size of the evidence or the length of a live stream, memory stays
 * bounded, and what a bound drops is counted where it is dropped). The EVTX reader's caps on
 * its binary structures are in src/readers/evtx/limits.ts beside the format they follow.
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
  /**
   * Compressed RTF body of an Outlook message decompressed (only when it has no text or HTML body):
   * the decompressor builds a JS array of up to ~8 entries per input byte, so a large hostile
   * stream would cost gigabytes; a real body is a few hundred kilobytes.
   */
  msgRtfMaxBytes: 4 * 1024 * 1024,
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

  /** Domain knowledge (src/events/domain.ts). */
  domain: {
    /** (Event ID, channel, provider) triples whose admitted entries are remembered; then they are forgotten and worked out again. */
    admittedLists: 4_096,
  },
  /** Correlation state (src/correlation/engine.ts). */
  correlation: {
    /** Live groups per correlation: beyond it, expired groups go first, then the least recently updated (counted). */
    maxGroups: 100_000,
    /** Detections kept per group: a flood that never meets its condition drops its oldest tenth (counted). */
    maxEventsPerGroup: 10_000,
    /** Contributors listed on one correlation detection; the rest are counted as omitted. */
    maxContributors: 50,
    /** Chains deeper than this are cut (rule loading already rejects cycles; this is a backstop). */
    maxChainDepth: 16,
  },
  /** Story state (src/stories). */
  stories: {
    /** Entities (hosts, accounts, addresses, sessions...) remembered at once. */
    maxEntities: 200_000,
    /** Stories still growing at once; beyond it the oldest are closed early (counted). */
    maxOpen: 20_000,
    /** Stories kept (the highest scores). */
    maxStories: 500,
    /** Detections listed per story timeline (the most severe kept). */
    maxTimeline: 200,
    /** Hosts, accounts, addresses, edges and distinct rules kept per story. */
    maxPerStory: 200,
    /** IP addresses whose owner is remembered, and host names. */
    maxAddresses: 100_000,
    /** Entity keys taken from one detection (a deletion burst can name hundreds of files). */
    maxKeysPerDetection: 32,
    /** Claims remembered per address (DHCP can hand one address to several hosts over time). */
    claimsPerAddress: 4,
    /** Distinct rules remembered per spread edge. */
    rulesPerEdge: 20,
    /** Context movements (no evidence, or routine) shown per story: enough to see the pattern, the rest counted. */
    contextShown: 20,
    /** Arrivals (movement into a host not yet shown to be part of an intrusion) remembered per host, for evidence that comes later. */
    arrivalsPerHost: 16,
    /** Hosts whose recent suspicious activity and arrivals are remembered. */
    maxHosts: 100_000,
    /**
     * Actor keys (accounts, logon sessions, process GUIDs) grouped per story to count progression
     * per actor (src/stories/actors.ts): a story's first few hundred are enough to find the actor
     * that earns it a place; a detection none of whose keys fit is not counted there.
     */
    actorKeys: 256,
    /**
     * The routine baselines (src/stories/routine.ts): what the network does every day. A live
     * server keeps them for weeks, so every table is bounded: when one is full (or all of them
     * together hold `cells` numbers) the tenth least recently seen is forgotten (counted), so
     * the baselines follow the network as it changes. What cannot be learnt is counted and
     * treated as never seen (not routine), which errs towards telling a story.
     */
    routine: {
      /**
       * Numbers held by all tables together (hosts reached, hosts per shape, days per key): about
       * 40 bytes each in memory and 7 in the stored JSON, so at most ~80 MB and ~15 MB.
       */
      cells: 2_000_000,
      /** Hosts in the fleet. */
      hosts: 100_000,
      /** Days remembered (the oldest are forgotten: the period slides). */
      days: 400,
      /** Sources whose fan-out is counted. */
      sources: 20_000,
      /** Accounts whose fan-out is counted (management accounts). */
      accounts: 20_000,
      /** Targets counted per source: a source reaching this many is a management host in any fleet. */
      targetsPerSource: 4_096,
      /** (account, source, target) pairs. */
      pairs: 200_000,
      /** Days remembered per pair and per habit (two are enough to call it familiar; more for the words). */
      daysPerKey: 8,
      /** Program shapes. */
      programs: 50_000,
      /** (rule, subject) pairs whose spread over the fleet is counted. */
      detections: 50_000,
      /** (rule, host, subject) habits. */
      habits: 100_000,
      /** Hosts counted per program or detection shape: this many is common in any fleet. */
      hostsPerShape: 256,
      /** Service names whose installs are counted. */
      services: 20_000,
      /** Rules whose hosts are counted (a high detection of a rule seen on one host only is rare). */
      rules: 20_000,
    },
    /** Routine facts a hunt worker remembers having sent (forgetting only means one is sent again). */
    seenFacts: 200_000,
    /**
     * Routine facts a live story stage holds until event time reaches them (they are learnt in
     * time order, so how input was batched changes no verdict). Facts run ahead of the watermark
     * by the allowed lateness and a batch: a few thousand. Past the bound the earliest are learnt
     * at once (counted as `factsEarly`).
     */
    pendingFacts: 200_000,
    /**
     * Program shapes remembered by their raw image, parent, command line, account and host, per
     * generation of the recently used (src/stories/facts.ts, src/core/recent.ts; two are held,
     * about 1.2 MB each). A hunt over the attack samples meets about 1,300 raw forms per worker; a
     * live server meets new ones all the time (numbers and names in command lines), so the
     * bound is what its memory settles at: small enough to be reached in its first minutes.
     * Forgetting only means one is worked out again.
     */
    shapeCache: 2_000,
  },
  /** The time sort of `hunt` (src/hunt/sorter.ts). */
  sort: {
    /** Detections held in memory (over all threads) before a sorted run is written to disk. */
    memoryItems: 50_000,
    /** Characters of detection JSON held in memory before a run is written. */
    memoryChars: 64 * 2 ** 20,
    /** Runs kept before the oldest are merged into one (bounds open files while merging). */
    maxRuns: 64,
  },
  /** Hosts counted for the top-hosts table; beyond it new hosts are not counted. */
  maxTrackedHosts: 100_000,
  /** Detections a live stream's reorder stage holds; beyond it the oldest are released early (counted). */
  reorderMaxHeld: 1_000_000,
  /** Hunt worker threads (src/hunt/worker.ts). */
  worker: {
    /** Events (or detections) per batch message to the main thread. */
    batch: 2_000,
    /** Batches a worker may have unacknowledged before it waits: a slow output cannot make memory grow. */
    window: 4,
    /** Address claims a worker remembers having sent (forgetting only means one is sent again). */
    seenClaims: 100_000,
  },
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
  /** `firebreak serve`'s processing (src/serve/processor.ts). */
  serve: {
    /** Log records read and matched per batch: large enough to amortise a worker round trip, small enough for sub-second alerts. */
    batchRecords: 2_000,
    /** Alerts waiting to be linked to one story before its next write (the rest are counted, not linked). */
    storyPendingAlerts: 10_000,
    /** Stories are written to the database at most this often while input flows (and at every idle flush). */
    storyFlushMs: 1_000,
    /**
     * Marks (a batch's first log offset and latest event time) kept to find the log's replay point
     * (src/serve/replay-horizon.ts). Only batches that move event time forward add one, so event
     * time standing still adds none; event time crawling forward through a long replay window could
     * add one per batch for ever. Past this, every other mark is dropped: the replay point can only
     * come out earlier (more of the log kept), and the marks cost at most ~0.5 MB.
     */
    replayMarks: 10_000,
  },

  /**
   * The event store of `firebreak serve` and its search (src/serve/store, docs/serve.md "Search").
   * SQL search is a door into the server for whoever holds an analyst's credentials: every bound
   * here is what keeps one query (a typo or an attack) from taking the server's memory, disk,
   * threads or time.
   */
  store: {
    /**
     * DuckDB's `memory_limit` in the store process (configurable): hash tables, sorts, aggregates
     * and buffered rows live under it, and a query that needs more spills to disk or fails with
     * "Out of Memory Error".
     */
    memoryBytes: 1024 * 1024 * 1024,
    /**
     * Address space of the store process (RLIMIT_AS, configurable). DuckDB builds single values
     * (`repeat`, `lpad`, a list from `range(n)`, a doubled string) outside its memory limit; under
     * this cap such an allocation fails and DuckDB turns it into a query error instead of the
     * kernel killing the server. Node and DuckDB need ~2 GiB of address space before any data.
     */
    processAddressSpaceBytes: 4 * 1024 * 1024 * 1024,
    /** Disk a query may spill to (`max_temp_directory_size`): a huge sort cannot fill the data disk. */
    tempBytes: 8 * 1024 * 1024 * 1024,
    /** Characters of one SQL query: a parser fed megabytes of nesting is a denial of service. */
    sqlMaxChars: 64 * 1024,
    /**
     * Block comments (`/* … *\/`) in one SQL query: DuckDB's statement splitter takes time
     * quadratic in their number without looking at the interrupt (64 KiB of them: seconds).
     */
    sqlMaxBlockComments: 256,
    /** Characters of one filter expression, and terms in it. */
    filterMaxChars: 8 * 1024,
    filterMaxTerms: 64,
    /** Rows a query returns when the caller does not say, and at most. */
    searchRowsDefault: 1000,
    searchRowsMax: 100_000,
    /** JSON characters of one result: 100,000 rows of 1 MiB events would be 100 GB. */
    searchResultMaxChars: 32 * 1024 * 1024,
    /** A query is interrupted after this long when the caller does not say, and at most. */
    searchTimeoutDefaultMs: 30_000,
    searchTimeoutMaxMs: 300_000,
    /**
     * A query still running this long after its interrupt (one DuckDB function building a huge
     * value does not look at the interrupt flag) gets the store process killed and restarted.
     */
    searchInterruptGraceMs: 5_000,
    /** Queries run at once (each holds a DuckDB connection and a libuv thread); more wait. */
    searchConcurrent: 2,
    /** Queries waiting for a turn; beyond it a query is refused as busy rather than queued forever. */
    searchQueued: 16,
    /** Events a filter returns when the caller does not say, and at most. */
    filterRowsDefault: 100,
    filterRowsMax: 10_000,
    /** Histogram buckets at most (a chart never needs more; each costs a row). */
    histogramMaxBuckets: 1000,
    /**
     * Field names in the autocomplete catalogue. Hostile JSON can carry a million distinct keys;
     * past this new names are counted as dropped, never stored.
     */
    fieldCatalogueMax: 10_000,
    /** Longer field names are not catalogued (still stored with their event and searchable). */
    fieldNameMaxChars: 256,
    /** Names one autocomplete call returns at most. */
    fieldNamesMax: 1000,
    /**
     * An event time more than this many days before its arrival is not believed: the event is
     * filed under its arrival time (its own time is kept in `timestamp`). Every distinct day is a
     * table; a sender spraying random years could otherwise make thousands. (Splunk's MAX_DAYS_AGO
     * plays the same role.)
     */
    eventMaxDaysAgo: 731,
    /** Same for event times in the future (clock skew is hours, not days; Splunk's MAX_DAYS_HENCE is 2). */
    eventMaxDaysAhead: 2,
    /** Events per `scan` batch. */
    scanBatch: 1000,
    /**
     * Scaled out (src/serve/store/parquet.ts): a detect node writes its buffered events to Parquet
     * at most this long after the first arrived. An events message is acknowledged only once its
     * events are in a file, so this bounds how long messages stay unacknowledged for storage (far
     * below the consumer's ack wait), and it sets how many files an hour gets: about one per
     * detect node per flush.
     */
    parquetFlushMs: 2_000,
    /** …or sooner, once this many events wait (the writer's memory: a few hundred bytes each). */
    parquetFlushEvents: 200_000,
    /** DuckDB's memory limit in a detect node's Parquet writer (it only sorts one flush's rows). */
    parquetWriterMemoryBytes: 256 * 1024 * 1024,
    /** Events one `scan` returns when the caller does not say, and at most. */
    scanMaxEventsDefault: 1_000_000,
    scanMaxEventsMax: 50_000_000,
    /**
     * Characters of events sent to the store process in one message. A larger append is split at
     * record (offset) boundaries into several transactions, each durable on its own.
     */
    appendChunkChars: 64 * 1024 * 1024,
    /**
     * Store process crashes in a row (without a successful request between) before the store
     * gives up; a process killed for a runaway query is restarted without counting.
     */
    restartMax: 5,
    /** How long a new store process waits for an old one (killed with the server) to let go of the file. */
    openLockWaitMs: 30_000,
  },

  /**
   * `serve` scaled out over NATS JetStream and PostgreSQL (src/serve/cluster, docs/scale-out.md).
   * Messages come from other Firebreak nodes, but a stream is shared and a node may be buggy or
   * old: everything read from it is checked and bounded like any other input.
   */
  cluster: {
    /** Subjects events are spread over: enough to rebalance among many detect nodes, few enough to list. */
    partitionsMax: 1024,
    /**
     * Records in one events message. A record's identity is (message sequence × this + index), so
     * it must never change once a stream holds messages.
     */
    recordsPerMessage: 1024,
    /** Bytes a message may take of the servers' `max_payload`, leaving room for headers. */
    payloadHeadroomBytes: 16 * 1024,
    /** Event messages a detect node takes from the stream at once (per detection thread). */
    fetchPerThread: 4,
    /**
     * Results the correlate node holds while it waits for an earlier message's (a slow or dead
     * detect node's): it applies results in stream order, and beyond this far ahead it lets later
     * ones come again instead of holding them.
     */
    reorderWindow: 20_000,
    /** Bytes of those held results: the same bound in memory. */
    reorderWindowBytes: 256 * 1024 * 1024,
    /**
     * A partition that has sent nothing for this many events messages per partition stops holding
     * the watermark back (its hosts went quiet; the others' events are not kept waiting for it).
     */
    partitionQuietMessages: 8,
    /**
     * What a correlate node taking over restores from PostgreSQL into its working copy: the
     * newest open alert per (rule, host) and every story up to these counts; beyond them it
     * warns, and a late detection may start a new alert instead of folding into an old one.
     */
    hydrateAlertsMax: 500_000,
    hydrateStoriesMax: 100_000,
    /** Rows written to PostgreSQL per statement when the correlate node mirrors a batch. */
    mirrorChunkRows: 2_000,
    /**
     * Bytes of one change notice (PostgreSQL NOTIFY payloads must stay under 8,000 bytes): a
     * batch's changed alerts and stories are announced in as many notices as it takes.
     */
    liveNoticeBytes: 7_000,
    /**
     * Change notices an api node holds while it reads their rows for the live feed: beyond this
     * (PostgreSQL far slower than the changes) it drops the oldest with a warning naming how many:
     * the lists stay right (they are read from PostgreSQL), only those live updates are missed.
     */
    liveBacklog: 1_000,
    /**
     * Bytes of a revision notice (rules, ingest tokens) a node reads: ours are ~60 bytes; anything
     * may NOTIFY on a channel, and a longer payload is ignored (and logged) unparsed.
     */
    revisionNoticeBytes: 1_024,
    /**
     * How often a node compares the stored revisions of rules and ingest tokens with what it
     * applied, besides the notices: a listening connection that died unnoticed, or a notice lost
     * while it reconnected, delays a change by at most this long.
     */
    revisionPollMs: 15_000,
    /** How often each node writes its counters to PostgreSQL (node_health), for the api nodes' health. */
    healthReportMs: 5_000,
    /** A node whose last report is older than this many report intervals is shown as stale. */
    healthStaleReports: 3,
    /** A node's row is deleted once it has not reported for this long (a node renamed or retired). */
    healthForgetMs: 24 * 3600_000,
  },
} as const;
