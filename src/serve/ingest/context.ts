/**
 * What every ingest adapter shares: the sink it appends to, the tokens, the back-pressure gate,
 * the limits and the counters. Adapters know nothing of rules or events, nor of where records go:
 * the embedded server's write-ahead log or, scaled out, a JetStream stream (../cluster).
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { BackpressureConfig, IngestLimits, ServeConfig, TokenConfig } from '../config.js';
import type { IngestProtocol, IngestRecord } from '../record.js';

/** Something went wrong with a request as a whole; `status` is the HTTP status to answer. */
export class IngestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Some records of an append were taken and some refused (a JetStream stream at its limits while
 * another ingest node filled it): `accepted` holds the indices taken, which are durable. An
 * adapter that can answer per record (the bulk API) answers the rest with this status.
 */
export class PartialAppendError extends IngestError {
  constructor(
    status: number,
    code: string,
    message: string,
    /** Index in the append → the number the record was stored under. */
    readonly accepted: ReadonlyMap<number, number>,
  ) {
    super(status, code, message);
  }
}

/** Where an append's records were stored: numbered from `first` on, or one by one in `numbers`. */
export interface AppendResult {
  first: number;
  count: number;
  numbers?: readonly number[];
}

/** The events that move the back-pressure marks. */
export type SinkEvent = 'durable' | 'lag' | 'commit';

/**
 * Where ingest puts what it accepted. `append` resolves once the records are durable (the
 * write-ahead log fsynced them; JetStream acknowledged the publish) with the number of the first;
 * it rejects with an `IngestError` carrying the status to answer (429 when the sink refuses for
 * back-pressure), or `PartialAppendError` when some were taken. `lag` is what was accepted and
 * not yet processed; the sink emits `durable`, `lag` or `commit` when that may have changed.
 */
export interface IngestSink {
  append(records: readonly IngestRecord[]): Promise<AppendResult>;
  lag(): { bytes: number; records: number };
  on(event: SinkEvent, fn: () => void): unknown;
  off(event: SinkEvent, fn: () => void): unknown;
}

/** A token kept as the SHA-256 of its secret (those an admin makes through the API, in the state database). */
export interface HashedToken {
  hash: string;
  source: string;
  protocols: readonly IngestProtocol[];
}

/**
 * Tokens by the SHA-256 of their secret: lookups do not compare secrets byte by byte. The
 * configuration's tokens are fixed; the stored ones (made and revoked through the API) are
 * replaced as a whole whenever they change, and take effect with the next request.
 */
export class TokenTable {
  private readonly byHash = new Map<string, HashedToken>();
  private stored = new Map<string, HashedToken>();
  constructor(tokens: readonly TokenConfig[], stored: readonly HashedToken[] = []) {
    for (const t of tokens) this.byHash.set(tokenHash(t.secret), { hash: tokenHash(t.secret), source: t.source, protocols: t.protocols });
    this.setStored(stored);
  }
  /** Replaces the stored tokens (the configuration's stay). */
  setStored(tokens: readonly HashedToken[]): void {
    this.stored = new Map(tokens.map((t) => [t.hash, t]));
  }
  /** The source a secret admits for `protocol`, or null. */
  source(protocol: IngestProtocol, secret: string | null | undefined): string | null {
    if (!secret) return null;
    const h = tokenHash(secret);
    const t = this.byHash.get(h) ?? this.stored.get(h);
    return t && t.protocols.includes(protocol) ? t.source : null;
  }
}
/** The SHA-256 (hex) by which a token's secret is looked up and stored. */
export const tokenHash = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Back-pressure: closed when the consumer's lag passes the high-water mark, open again below the
 * low-water mark (hysteresis, so ingest does not flap). Also bounds the bytes of request bodies
 * held in memory at once. Emits `change` when it opens or closes.
 */
export class IngestGate extends EventEmitter {
  private closedByLag = false;
  private inflight = 0;
  constructor(
    private readonly sink: IngestSink,
    private readonly bp: BackpressureConfig,
    private readonly inflightMax: number,
  ) {
    super();
    sink.on('durable', this.onSink);
    sink.on('lag', this.onSink);
    sink.on('commit', this.onSink);
    this.setMaxListeners(0);
  }

  private readonly onSink = () => void this.check();

  /** Stops following the sink (at shutdown). */
  dispose(): void {
    this.sink.off('durable', this.onSink);
    this.sink.off('lag', this.onSink);
    this.sink.off('commit', this.onSink);
  }

  /** True while ingest must refuse new data. */
  get closed(): boolean {
    return this.closedByLag;
  }
  get retryAfterSeconds(): number {
    return this.bp.retryAfterSeconds;
  }
  get inflightBytes(): number {
    return this.inflight;
  }

  /** Re-evaluates the marks (called on every log event and before admitting data). */
  check(): boolean {
    const lag = this.sink.lag();
    const was = this.closedByLag;
    if (!was && (lag.bytes >= this.bp.highWaterBytes || lag.records >= this.bp.highWaterRecords)) this.closedByLag = true;
    else if (was && lag.bytes <= this.bp.lowWaterBytes && lag.records <= this.bp.lowWaterRecords) this.closedByLag = false;
    if (was !== this.closedByLag) this.emit('change', this.closedByLag);
    return this.closedByLag;
  }

  /** True while the in-flight budget is spent (stream listeners stop reading until it is not). */
  get overBudget(): boolean {
    return this.inflight >= this.inflightMax;
  }

  /** Charges bytes already read (a stream's messages) to the budget, even past it. */
  charge(n: number): void {
    this.inflight += n;
  }

  /** Claims `n` bytes of the in-flight budget; false (nothing claimed) when it would overflow. */
  reserve(n: number): boolean {
    if (this.inflight + n > this.inflightMax) return false;
    this.inflight += n;
    return true;
  }
  release(n: number): void {
    this.inflight = Math.max(0, this.inflight - n);
    if (n > 0 && this.inflight < this.inflightMax) this.emit('budget');
  }
}

/** Counters per protocol, for health and tests. */
export interface IngestCounters {
  requests: number;
  accepted: number;
  rejected: number;
  refusedAuth: number;
  refusedBusy: number;
  errors: number;
}

export class IngestStats {
  readonly byProtocol: Record<IngestProtocol, IngestCounters> = {
    elastic: counters(),
    syslog: counters(),
    otlp: counters(),
    hec: counters(),
  };
  /** Syslog datagrams dropped while the gate was closed or from a network not allowed. */
  syslogDropped = 0;
  syslogTruncated = 0;
  syslogInvalidUtf8 = 0;
  /** Per source (token or syslog listener name): records and bytes accepted, last arrival (bounded by the configured sources). */
  readonly bySource = new Map<string, { protocol: IngestProtocol; accepted: number; bytes: number; lastAt: number | null }>();

  /** Count records made durable. */
  accepted(protocol: IngestProtocol, records: readonly IngestRecord[]): void {
    this.byProtocol[protocol].accepted += records.length;
    for (const r of records) {
      let c = this.bySource.get(r.source);
      if (!c) this.bySource.set(r.source, (c = { protocol, accepted: 0, bytes: 0, lastAt: null }));
      c.accepted++;
      c.bytes += r.body.length;
      c.lastAt = r.receivedAt;
    }
  }
}
function counters(): IngestCounters {
  return { requests: 0, accepted: 0, rejected: 0, refusedAuth: 0, refusedBusy: 0, errors: 0 };
}

/** Logging hook: the server's own messages (never event content beyond a short excerpt). */
export type IngestLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface IngestContext {
  config: ServeConfig;
  limits: IngestLimits;
  sink: IngestSink;
  gate: IngestGate;
  tokens: TokenTable;
  stats: IngestStats;
  log: IngestLog;
  /** Appends and counts; resolves when durable. */
  append(protocol: IngestProtocol, records: IngestRecord[]): Promise<AppendResult>;
}
