/**
 * The API's limits on what clients send and on the state it keeps for them, each with its reason.
 * (The ingest listeners' limits are in src/core/limits.ts.)
 */
export const API_LIMITS = {
  /** A JSON request body: triage, comments, searches and logins are small; refused with 413 past this. */
  bodyMaxBytes: 1024 * 1024,
  /** A rule upload's body: the rule file cap (src/core/limits.ts ruleFileMaxBytes is 4 MiB) is far above any real rule. */
  ruleUploadMaxBytes: 1024 * 1024,
  /** A comment's text. */
  commentMaxChars: 20_000,
  /** A SQL query or field filter's text. */
  queryMaxChars: 20_000,
  /** Items per page of every list endpoint (the default page is 50). */
  pageMax: 500,
  /** How far `offset` may reach: deeper pages cost SQLite a scan; narrow the filter instead. */
  offsetMax: 100_000,
  /** Rows a CSV export writes at most (the event store caps what one query returns, too). */
  exportMaxRows: 100_000,
  /** Histogram buckets. */
  histogramMaxBuckets: 1000,
  /** Ingest tokens made through the API that may be active at once (each is a lookup entry in every listener). */
  ingestTokensMax: 1000,
  /** Path parameters (ids, host and account names): longer ones are not names. */
  paramMaxChars: 1024,

  /** Login throttling: failures per account within the window before it is refused for the rest of it. */
  loginFailuresPerAccount: 5,
  /** Failures per client address within the window (a password spray across accounts). */
  loginFailuresPerAddress: 20,
  /** The window over which failures are counted. */
  loginWindowMs: 15 * 60_000,
  /** Accounts and addresses the limiter remembers; past this the oldest expired (then oldest) entries go. */
  loginTrackedKeys: 10_000,
  /**
   * Password hashes computed at once: each scrypt costs 128 MiB (N=2^17, r=8), so a flood of logins
   * cannot exhaust memory; waiting logins beyond `passwordQueueMax` get 503.
   */
  passwordConcurrency: 2,
  passwordQueueMax: 64,

  /** Live-feed events kept for Last-Event-ID resume (a client away longer reloads). */
  liveRingSize: 2048,
  /** Live-feed connections per user (the total is `api.maxStreams`). */
  streamsPerUser: 8,
  /** A live-feed client whose unsent output exceeds this is disconnected (a stalled reader costs no memory). */
  streamBufferMaxBytes: 1024 * 1024,
  /** Comment line sent on an idle live feed, so proxies and browsers keep the connection. */
  streamHeartbeatMs: 15_000,

  /** Rule tests running at once (each scans stored events). */
  ruleTestsConcurrent: 1,
  /** Events one rule test reads at most. */
  ruleTestMaxEvents: 5_000_000,
  /** Matches a rule test returns (all are counted). */
  ruleTestMaxMatches: 200,
  /** Days back a rule test may reach. */
  ruleTestMaxDays: 90,
} as const;
