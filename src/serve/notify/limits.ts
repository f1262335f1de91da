/**
 * The bounds of notifications, each with its reason, kept beside the formats they follow (as the
 * EVTX reader keeps its own): what a story may put into a message (its values come from logs, so
 * from attackers), what the receiving services accept (a Slack message over its limits is refused
 * with 400 and would never be delivered), and the defaults of delivery (retries, timeouts,
 * concurrency) that the configuration may change within the schema's bounds.
 */
export const NOTIFY_LIMITS = {
  /** One value from a log in a message (a host, account, title): longer ones are cut and marked. */
  valueMaxChars: 256,
  /** The narrative in a message: a paragraph, not the whole story (the console link has the rest). */
  narrativeMaxChars: 2000,
  /** Hosts, accounts, tactics and techniques listed per message; the rest are counted. */
  listMaxItems: 20,
  /** One notification payload as stored in the outbox (JSON): bounds the database row and every body. */
  payloadMaxBytes: 64 * 1024,
  /** Bytes of a receiver's answer read for the error message; the rest is discarded unread. */
  responseMaxBytes: 16 * 1024,
  /** Characters of an error kept in the outbox and shown in health (the receiver's answer is hostile too). */
  errorMaxChars: 500,

  /**
   * Slack's Block Kit limits (docs.slack.dev, "Text object" and "Blocks"): a header's plain text
   * 150 characters, a section's text 3000, a field 2000, at most 10 fields per section, 50 blocks
   * per message. The top-level `text` is the notification fallback; Slack cuts it past 40,000.
   */
  slack: { headerMaxChars: 150, sectionMaxChars: 3000, fieldMaxChars: 2000, maxFields: 10, textMaxChars: 4000 },

  /** Recipients of one e-mail channel (one message to all; a longer list belongs in a mailing list). */
  emailMaxRecipients: 50,

  /** Default time for one delivery (connect, send, answer); configurable per channel. */
  timeoutMs: 10_000,
  /** Deliveries at once, all channels together (configurable). */
  concurrency: 4,
  /** Deliveries at once per channel (configurable): one slow receiver cannot hold every slot. */
  perChannelConcurrency: 2,
  /** Attempts before a notification is given up and marked failed (configurable). */
  maxAttempts: 10,
  /** Age after which a failing notification is given up, whatever its attempts (configurable). */
  maxAgeMs: 24 * 60 * 60_000,
  /** First retry delay; each further one doubles, with jitter (configurable). */
  initialDelayMs: 2_000,
  /** Longest retry delay, and the cap on a receiver's `Retry-After` (configurable). */
  maxDelayMs: 10 * 60_000,
  /** Longest sleep of the delivery loop between looks at the outbox (a changed clock cannot stall it). */
  idleWakeMs: 60_000,
  /** Time `stop()` lets in-flight deliveries finish before aborting them (they stay pending). */
  stopGraceMs: 5_000,
} as const;
