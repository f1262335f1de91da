/**
 * The resolved `firebreak serve` configuration: what `parseServeConfig` (./config.ts) returns after
 * validation, defaults and path resolution, and what every part of the server is given.
 */
import type { ClusterConfig } from './cluster/config.js';
import type { NotificationsConfig } from './notify/config.js';
import type { IngestProtocol } from './record.js';

/** Where a listener binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** TLS for a listener, from PEM files. */
export interface TlsConfig {
  cert: string;
  key: string;
  /** CA bundle for client certificates (required for syslog TLS client authentication). */
  ca?: string;
  /** `none` (default for HTTP), `request`, or `require` (client certificate checked against `ca`). */
  clientAuth: 'none' | 'request' | 'require';
}

export interface HttpListenerConfig {
  listen: ListenAddress;
  tls?: TlsConfig;
}

export interface ElasticListenerConfig extends HttpListenerConfig {
  /** `version.number` in `GET /`: Beats refuse a server older than themselves. */
  version: string;
  clusterName: string;
}

export interface OtlpListenerConfig extends HttpListenerConfig {
  /** Header carrying the token (`Authorization: Bearer <token>` by default, or the bare token). */
  tokenHeader: string;
}

/** Plain syslog (UDP or TCP) carries no token: admitted only from the listed networks. */
export interface SyslogPlainConfig {
  listen: ListenAddress;
  /** The source name records from this listener get. */
  source: string;
  /** CIDR blocks allowed to send; anything else is refused (TCP closed, datagram dropped and counted). */
  allow: string[];
}

/** Syslog over TLS (RFC 5425): the client certificate (checked against `ca`) names the source. */
export interface SyslogTlsConfig {
  listen: ListenAddress;
  tls: TlsConfig & { ca: string };
  /** Client certificates accepted, by subject common name or SHA-256 fingerprint. */
  clients: { source: string; commonName?: string; fingerprint256?: string }[];
  /** Optional network restriction on top of the certificate. */
  allow?: string[];
}

export interface TokenConfig {
  /** The source name records admitted by this token get. */
  source: string;
  secret: string;
  /** Protocols this token is good for (default: all HTTP ones). */
  protocols: IngestProtocol[];
}

export interface IngestLimits {
  recordMaxBytes: number;
  bodyMaxBytes: number;
  decompressedMaxBytes: number;
  inflightMaxBytes: number;
  syslogMessageMaxBytes: number;
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  syslogIdleTimeoutMs: number;
}

export interface BackpressureConfig {
  /** Lag (uncommitted bytes in the log) at which ingest starts refusing (429 / stops reading). */
  highWaterBytes: number;
  /** Lag at which it accepts again. */
  lowWaterBytes: number;
  /** Same in records (either mark trips). */
  highWaterRecords: number;
  lowWaterRecords: number;
  /** `Retry-After` seconds in 429/503 answers. */
  retryAfterSeconds: number;
}

export interface WalConfig {
  dir: string;
  segmentBytes: number;
  groupCommitMs: number;
}

/** Which rules run, and what runs after them. */
export interface RulesConfig {
  /** Rule files and folders (default: the bundled SigmaHQ set and Firebreak's correlation rules). */
  paths: string[];
  placeholders?: string;
  minLevel?: 'informational' | 'low' | 'medium' | 'high' | 'critical';
  statuses?: string[];
  tags?: string[];
  excludeRules?: string[];
  correlations: boolean;
  stories: boolean;
}

export interface ProcessingConfig {
  /** Detection worker threads (default: the machine's cores). */
  threads?: number;
  /** How late (event time) a detection may arrive and still be put in order for correlations and stories. */
  allowedLatenessMs: number;
  /** With no new record for this long, held detections and pending audit events are released. */
  idleFlushMs: number;
  /** Event time kept in the log to rebuild correlation and story state after a restart. */
  replayMs: number;
  /** Zone of syslog time stamps written without one. */
  timeZone?: string;
}

export interface SuppressionSettings {
  /** The same rule on the same host within this long of the last detection is one alert with a count. */
  windowMs: number;
  /** Per rule (id or title): its own window in ms (0: every detection is its own alert). */
  rules: Record<string, number>;
}

export interface StorageConfig {
  /** Store every event (for search); false stores only alerts and stories. */
  events: boolean;
  /** Whole days of events kept. */
  retentionDays: number;
}

/** The HTTP API and console listener (src/serve/api). */
export interface ApiConfig extends HttpListenerConfig {
  /** The console's address as browsers see it (`https://soc.example:8443`): the one Origin accepted for changes. */
  publicUrl?: string;
  /** A login session lasts this long (hours). */
  sessionHours: number;
  /** Live-feed (Server-Sent Events) connections open at once. */
  maxStreams: number;
  /** Built console assets to serve (default: dist/console in the package, when it exists). */
  consoleDir?: string;
}

export interface ServeConfig {
  /** The file it was read from (for messages), or `<inline>`. */
  file: string;
  /** The data directory: write-ahead log, state database, event store. */
  data: string;
  rules: RulesConfig;
  processing: ProcessingConfig;
  suppression: SuppressionSettings;
  storage: StorageConfig;
  wal: WalConfig;
  listeners: {
    elastic?: ElasticListenerConfig;
    otlp?: OtlpListenerConfig;
    hec?: HttpListenerConfig;
    syslog?: { udp?: SyslogPlainConfig; tcp?: SyslogPlainConfig; tls?: SyslogTlsConfig };
  };
  tokens: TokenConfig[];
  limits: IngestLimits;
  backpressure: BackpressureConfig;
  notifications: NotificationsConfig;
  api?: ApiConfig;
  /**
   * Scale-out (docs/scale-out.md): the roles this process holds and the NATS and PostgreSQL it
   * works with. Absent: the embedded single-node server.
   */
  cluster?: ClusterConfig;
}
