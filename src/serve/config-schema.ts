/**
 * The JSON schema of the `firebreak serve` configuration file (checked with ajv by ./config.ts), and
 * the raw shape a file has once it passes: the schema's guarantees, before defaults and the checks
 * the schema cannot express. Add a section to both.
 */
import { LIMITS } from '../core/limits.js';
import type { BackpressureConfig, IngestLimits, RulesConfig, StorageConfig, SyslogTlsConfig, TlsConfig } from './config-types.js';
import { CLUSTER_SCHEMA, type RawCluster } from './cluster/config.js';
import { NOTIFICATIONS_SCHEMA, type RawNotifications } from './notify/config.js';
import type { IngestProtocol } from './record.js';

const listen = { type: ['string', 'integer'], description: 'host:port, [v6]:port, or a port (loopback)' };
const tlsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cert', 'key'],
  properties: { cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' }, clientAuth: { enum: ['none', 'request', 'require'] } },
};
const cidrList = { type: 'array', items: { type: 'string' }, minItems: 1 };
const plainSyslog = {
  type: 'object',
  additionalProperties: false,
  required: ['listen', 'source', 'allow'],
  properties: { listen, source: { type: 'string', minLength: 1 }, allow: cidrList },
};
const bytes = { type: 'integer', minimum: 1 };
const ms = { type: 'integer', minimum: 0 };

/** The JSON schema of the configuration file. Add sections to `properties`. */
export const SERVE_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data: { type: 'string', minLength: 1 },
    rules: {
      type: 'object',
      additionalProperties: false,
      properties: {
        paths: { type: 'array', items: { type: 'string', minLength: 1 } },
        placeholders: { type: 'string', minLength: 1 },
        minLevel: { enum: ['informational', 'low', 'medium', 'high', 'critical'] },
        statuses: { type: 'array', items: { type: 'string' } },
        tags: { type: 'array', items: { type: 'string' } },
        excludeRules: { type: 'array', items: { type: 'string' } },
        correlations: { type: 'boolean' },
        stories: { type: 'boolean' },
      },
    },
    processing: {
      type: 'object',
      additionalProperties: false,
      properties: {
        threads: { type: 'integer', minimum: 1, maximum: 256 },
        allowedLatenessSeconds: { type: 'number', minimum: 0, maximum: 86400 },
        idleFlushSeconds: { type: 'number', minimum: 0.1, maximum: 3600 },
        replayMinutes: { type: 'number', minimum: 0, maximum: 10080 },
        timeZone: { type: 'string', minLength: 1 },
      },
    },
    suppression: {
      type: 'object',
      additionalProperties: false,
      properties: {
        windowMinutes: { type: 'number', minimum: 0, maximum: 10080 },
        rules: { type: 'object', additionalProperties: { type: 'number', minimum: 0, maximum: 10080 } },
      },
    },
    storage: {
      type: 'object',
      additionalProperties: false,
      properties: { events: { type: 'boolean' }, retentionDays: { type: 'integer', minimum: 1, maximum: 3650 } },
    },
    wal: {
      type: 'object',
      additionalProperties: false,
      properties: { dir: { type: 'string' }, segmentBytes: { type: 'integer', minimum: 4096 }, groupCommitMs: { type: 'integer', minimum: 0, maximum: 1000 } },
    },
    listeners: {
      type: 'object',
      additionalProperties: false,
      properties: {
        elastic: {
          type: 'object',
          additionalProperties: false,
          required: ['listen'],
          properties: { listen, tls: tlsSchema, version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+' }, clusterName: { type: 'string' } },
        },
        otlp: { type: 'object', additionalProperties: false, required: ['listen'], properties: { listen, tls: tlsSchema, tokenHeader: { type: 'string', minLength: 1 } } },
        hec: { type: 'object', additionalProperties: false, required: ['listen'], properties: { listen, tls: tlsSchema } },
        syslog: {
          type: 'object',
          additionalProperties: false,
          properties: {
            udp: plainSyslog,
            tcp: plainSyslog,
            tls: {
              type: 'object',
              additionalProperties: false,
              required: ['listen', 'tls', 'clients'],
              properties: {
                listen,
                tls: { ...tlsSchema, required: ['cert', 'key', 'ca'] },
                allow: cidrList,
                clients: {
                  type: 'array',
                  minItems: 1,
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['source'],
                    properties: { source: { type: 'string', minLength: 1 }, commonName: { type: 'string', minLength: 1 }, fingerprint256: { type: 'string', pattern: '^([0-9A-Fa-f]{2}:?){32}$' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    tokens: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['source'],
        properties: {
          source: { type: 'string', minLength: 1, maxLength: 200 },
          secret: { type: 'string', minLength: 16 },
          secretFile: { type: 'string' },
          protocols: { type: 'array', minItems: 1, items: { enum: ['elastic', 'otlp', 'hec'] } },
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        recordMaxBytes: { type: 'integer', minimum: 1024, maximum: LIMITS.walFrameMaxBytes - 65536 },
        bodyMaxBytes: bytes,
        decompressedMaxBytes: bytes,
        inflightMaxBytes: bytes,
        syslogMessageMaxBytes: { type: 'integer', minimum: 480, maximum: LIMITS.walFrameMaxBytes - 65536 },
        maxConnections: { type: 'integer', minimum: 1 },
        headersTimeoutMs: { type: 'integer', minimum: 100 },
        requestTimeoutMs: { type: 'integer', minimum: 100 },
        keepAliveTimeoutMs: ms,
        syslogIdleTimeoutMs: ms,
      },
    },
    api: {
      type: 'object',
      additionalProperties: false,
      required: ['listen'],
      properties: {
        listen,
        tls: tlsSchema,
        publicUrl: { type: 'string', pattern: '^https?://' },
        sessionHours: { type: 'integer', minimum: 1, maximum: 720 },
        maxStreams: { type: 'integer', minimum: 1, maximum: 10000 },
        consoleDir: { type: 'string' },
      },
    },
    backpressure: {
      type: 'object',
      additionalProperties: false,
      properties: {
        highWaterBytes: bytes,
        lowWaterBytes: bytes,
        highWaterRecords: bytes,
        lowWaterRecords: bytes,
        retryAfterSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
      },
    },
    notifications: NOTIFICATIONS_SCHEMA,
    cluster: CLUSTER_SCHEMA,
  },
} as const;

// What the schema guarantees, before defaults and checks the schema cannot express.

/** A `tls:` block as written. */
export interface RawTls {
  cert: string;
  key: string;
  ca?: string;
  clientAuth?: TlsConfig['clientAuth'];
}
/** A plain (UDP or TCP) syslog listener as written. */
export interface RawPlain {
  listen: string | number;
  source: string;
  allow: string[];
}
/** A whole configuration file as written, once it passed the schema. */
export interface RawConfig {
  data?: string;
  rules?: Partial<Omit<RulesConfig, 'paths'>> & { paths?: string[] };
  processing?: { threads?: number; allowedLatenessSeconds?: number; idleFlushSeconds?: number; replayMinutes?: number; timeZone?: string };
  suppression?: { windowMinutes?: number; rules?: Record<string, number> };
  storage?: Partial<StorageConfig>;
  wal?: { dir?: string; segmentBytes?: number; groupCommitMs?: number };
  listeners?: {
    elastic?: { listen: string | number; tls?: RawTls; version?: string; clusterName?: string };
    otlp?: { listen: string | number; tls?: RawTls; tokenHeader?: string };
    hec?: { listen: string | number; tls?: RawTls };
    syslog?: { udp?: RawPlain; tcp?: RawPlain; tls?: { listen: string | number; tls: RawTls & { ca: string }; allow?: string[]; clients: SyslogTlsConfig['clients'] } };
  };
  tokens?: { source: string; secret?: string; secretFile?: string; protocols?: IngestProtocol[] }[];
  limits?: Partial<IngestLimits>;
  backpressure?: Partial<BackpressureConfig>;
  notifications?: RawNotifications;
  cluster?: RawCluster;
  api?: { listen: string | number; tls?: RawTls; publicUrl?: string; sessionHours?: number; maxStreams?: number; consoleDir?: string };
}
