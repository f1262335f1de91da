/**
 * The `cluster:` section of the serve configuration (docs/scale-out.md): which roles this process
 * holds (ingest, detect, correlate, api — any number of them), the NATS JetStream servers the
 * roles exchange events and detections through, and the PostgreSQL database alerts and stories
 * live in. Without the section the server runs embedded on one machine, exactly as before.
 *
 * The JSON schema checks shapes; `resolveCluster` checks what a role needs (NATS for ingest,
 * detect and correlate; PostgreSQL for correlate and api), reads secrets from files, and reports
 * every problem with its line and column.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { LIMITS } from '../../core/limits.js';

export type ClusterRole = 'ingest' | 'detect' | 'correlate' | 'api';
export const CLUSTER_ROLES: readonly ClusterRole[] = ['ingest', 'detect', 'correlate', 'api'];

export interface NatsConfig {
  /** `nats://host:port` URLs of the cluster's servers (any of them; the client learns the rest). */
  servers: string[];
  /** Authentication: a token, or a user and password (secrets may come from files). */
  token?: string;
  user?: string;
  password?: string;
  /** TLS to the servers: a CA bundle to trust, and a client certificate when the servers ask for one. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Names of the streams and the lease bucket start with this (`<prefix>_EVENTS`, `<prefix>_DETECTIONS`, `<prefix>_LEASES`). */
  prefix: string;
  /** Copies of every stream and bucket kept by the cluster (1, or 3 for a cluster that survives a server's loss). */
  replicas: number;
  /** Events are published to one subject per partition; a host's events always go to the same one. */
  partitions: number;
  /** The events stream's limits: when detection falls this far behind, ingest answers 429 instead of dropping. */
  events: { maxBytes: number; maxMessages: number };
  /** The detections stream's limit (what the correlate node has not yet made part of its state). */
  detections: { maxBytes: number };
  /** A detect node that took events and says nothing for this long has them given to another. */
  ackWaitMs: number;
  /** The correlate node's lease: a standby takes over this long after the active node last renewed it. */
  leaseMs: number;
}

export interface PostgresConfig {
  /** `postgres://user@host:port/database` (a password is better given in `passwordFile`). */
  url: string;
  password?: string;
  /** PEM file of the CA that signed the server's certificate: the connection then uses TLS and checks it. */
  ca?: string;
  /** Connections this node opens at most. */
  maxConnections: number;
}

export interface ClusterConfig {
  roles: ClusterRole[];
  /** This node's name, in leases, message ids and health (default: the host name). */
  node: string;
  nats?: NatsConfig;
  postgres?: PostgresConfig;
  /**
   * Where detect nodes write events as Parquet files by hour (with `storage.events`), and where
   * they are searched: a directory every detect node and searching node reaches (the same path on
   * a shared file system, or each node's own). Default: `events` in the node's data directory.
   */
  eventsDir?: string;
}

/** The section as written, once it passed the schema. */
export interface RawCluster {
  roles: ClusterRole[];
  node?: string;
  nats?: {
    servers: string[];
    token?: string;
    tokenFile?: string;
    user?: string;
    password?: string;
    passwordFile?: string;
    tls?: { ca?: string; cert?: string; key?: string };
    prefix?: string;
    replicas?: number;
    partitions?: number;
    eventsMaxBytes?: number;
    eventsMaxMessages?: number;
    detectionsMaxBytes?: number;
    ackWaitSeconds?: number;
    leaseSeconds?: number;
  };
  postgres?: { url: string; passwordFile?: string; ca?: string; maxConnections?: number };
  eventsDir?: string;
}

const file = { type: 'string', minLength: 1 };

/** The JSON schema of the `cluster:` section (added to SERVE_CONFIG_SCHEMA by ../config-schema.ts). */
export const CLUSTER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['roles'],
  properties: {
    roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: CLUSTER_ROLES } },
    node: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
    nats: {
      type: 'object',
      additionalProperties: false,
      required: ['servers'],
      properties: {
        servers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(nats|tls)://[^\\s/]+$' } },
        token: { type: 'string', minLength: 1 },
        tokenFile: file,
        user: { type: 'string', minLength: 1 },
        password: { type: 'string', minLength: 1 },
        passwordFile: file,
        tls: { type: 'object', additionalProperties: false, properties: { ca: file, cert: file, key: file } },
        prefix: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$' },
        replicas: { type: 'integer', minimum: 1, maximum: 5 },
        partitions: { type: 'integer', minimum: 1, maximum: LIMITS.cluster.partitionsMax },
        eventsMaxBytes: { type: 'integer', minimum: 1024 * 1024 },
        eventsMaxMessages: { type: 'integer', minimum: 16 },
        detectionsMaxBytes: { type: 'integer', minimum: 1024 * 1024 },
        ackWaitSeconds: { type: 'number', minimum: 1, maximum: 3600 },
        leaseSeconds: { type: 'number', minimum: 1, maximum: 600 },
      },
    },
    eventsDir: file,
    postgres: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^postgres(ql)?://' },
        passwordFile: file,
        ca: file,
        maxConnections: { type: 'integer', minimum: 1, maximum: 100 },
      },
    },
  },
} as const;

/**
 * Resolves the section (paths relative to `base`). `roles` overrides the file's roles (the
 * command line's `--roles`, so one file can serve every node). Problems go to `err(path, message)`.
 */
export function resolveCluster(raw: RawCluster | undefined, base: string, err: (path: string, msg: string) => void, roles?: ClusterRole[]): ClusterConfig | undefined {
  if (!raw && !roles) return undefined;
  if (!raw) {
    err('', 'roles are given on the command line but the configuration has no cluster section (nats, postgres)');
    return undefined;
  }
  const path = (p: string) => resolve(base, p);
  const secret = (inline: string | undefined, fileName: string | undefined, where: string): string | undefined => {
    if (inline !== undefined && fileName !== undefined) err(where, `${where}: give the secret or its file, not both`);
    if (fileName === undefined) return inline;
    try {
      const v = readFileSync(path(fileName), 'utf8').trim();
      if (!v) err(where, `${where}: ${path(fileName)} is empty`);
      return v;
    } catch (e) {
      err(where, `${where}: cannot read ${path(fileName)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
  };
  const readable = (f: string | undefined, where: string): string | undefined => {
    if (f === undefined) return undefined;
    const p = path(f);
    try {
      readFileSync(p);
    } catch (e) {
      err(where, `${where}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return p;
  };
  const out: ClusterConfig = { roles: [...(roles ?? raw.roles)].sort((a, b) => CLUSTER_ROLES.indexOf(a) - CLUSTER_ROLES.indexOf(b)), node: raw.node ?? hostname() };
  const n = raw.nats;
  if (n) {
    const nats: NatsConfig = {
      servers: n.servers,
      prefix: n.prefix ?? 'FIREBREAK',
      replicas: n.replicas ?? 1,
      partitions: n.partitions ?? 16,
      events: { maxBytes: n.eventsMaxBytes ?? 8 * 1024 ** 3, maxMessages: n.eventsMaxMessages ?? 10_000_000 },
      detections: { maxBytes: n.detectionsMaxBytes ?? 8 * 1024 ** 3 },
      ackWaitMs: Math.round((n.ackWaitSeconds ?? 30) * 1000),
      leaseMs: Math.round((n.leaseSeconds ?? 10) * 1000),
    };
    const token = secret(n.token, n.tokenFile, '/cluster/nats/token');
    if (token !== undefined) nats.token = token;
    const password = secret(n.password, n.passwordFile, '/cluster/nats/password');
    if (n.user !== undefined) nats.user = n.user;
    if (password !== undefined) nats.password = password;
    if ((n.user === undefined) !== (password === undefined)) err('/cluster/nats', '/cluster/nats: give both user and password (or passwordFile), or neither');
    if (token !== undefined && n.user !== undefined) err('/cluster/nats', '/cluster/nats: give a token or a user, not both');
    if (n.tls) {
      nats.tls = {};
      for (const k of ['ca', 'cert', 'key'] as const) {
        const p = readable(n.tls[k], `/cluster/nats/tls/${k}`);
        if (p) nats.tls[k] = p;
      }
      if ((n.tls.cert === undefined) !== (n.tls.key === undefined)) err('/cluster/nats/tls', '/cluster/nats/tls: a client certificate needs both cert and key');
    }
    out.nats = nats;
  }
  const p = raw.postgres;
  if (p) {
    const pg: PostgresConfig = { url: p.url, maxConnections: p.maxConnections ?? 4 };
    try {
      const u = new URL(p.url);
      if (!u.hostname) err('/cluster/postgres/url', `/cluster/postgres/url: '${p.url}' names no host`);
      if (u.password && p.passwordFile) err('/cluster/postgres', '/cluster/postgres: the URL has a password and passwordFile is given too; give one');
    } catch {
      err('/cluster/postgres/url', `/cluster/postgres/url: '${p.url}' is not a URL`);
    }
    const password = secret(undefined, p.passwordFile, '/cluster/postgres/passwordFile');
    if (password !== undefined) pg.password = password;
    const ca = readable(p.ca, '/cluster/postgres/ca');
    if (ca) pg.ca = ca;
    out.postgres = pg;
  }
  if (raw.eventsDir !== undefined) out.eventsDir = path(raw.eventsDir);
  const has = (r: ClusterRole) => out.roles.includes(r);
  const needNats = out.roles.filter((r) => r !== 'api');
  if (needNats.length && !out.nats) err('/cluster', `/cluster: the ${needNats.join(', ')} role${needNats.length > 1 ? 's need' : ' needs'} NATS: add cluster.nats.servers`);
  const needPg = out.roles.filter((r) => r === 'correlate' || r === 'api');
  if (needPg.length && !out.postgres) err('/cluster', `/cluster: the ${needPg.join(' and ')} role${needPg.length > 1 ? 's need' : ' needs'} PostgreSQL: add cluster.postgres.url`);
  if (out.nats && has('correlate') && out.nats.leaseMs < 1000) err('/cluster/nats/leaseSeconds', '/cluster/nats/leaseSeconds: at least 1 second');
  return out;
}

/** Parses `--roles ingest,detect` (the command line's override). Returns an error message for an unknown role. */
export function parseRoles(v: string): ClusterRole[] | string {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((r) => !(CLUSTER_ROLES as readonly string[]).includes(r));
  if (bad.length) return `unknown role${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}: the roles are ${CLUSTER_ROLES.join(', ')}`;
  if (!list.length) return `no role given: the roles are ${CLUSTER_ROLES.join(', ')}`;
  return [...new Set(list)] as ClusterRole[];
}
