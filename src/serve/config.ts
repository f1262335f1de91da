/**
 * `firebreak serve` configuration: one YAML file, validated at start against a JSON schema (ajv),
 * every error reported with its file, line and column, then resolved (defaults, paths, checks the
 * schema cannot express) into a `ServeConfig`. The schema and the raw shape it admits are in
 * ./config-schema.ts, the resolved types in ./config-types.ts (both re-exported here); the
 * `notifications:` section is resolved by ./notify/config.ts.
 *
 * Relative paths (certificates, secret files, the log directory) are taken from the config file's
 * folder. Listeners bind to loopback unless an address is given.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isNode, type Node } from 'yaml';
import { ConfigError, ConfigErrors } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { SERVE_CONFIG_SCHEMA, type RawConfig, type RawTls } from './config-schema.js';
import type {
  ApiConfig,
  BackpressureConfig,
  ElasticListenerConfig,
  HttpListenerConfig,
  IngestLimits,
  ListenAddress,
  OtlpListenerConfig,
  ProcessingConfig,
  RulesConfig,
  ServeConfig,
  StorageConfig,
  SuppressionSettings,
  SyslogTlsConfig,
  TlsConfig,
  TokenConfig,
  WalConfig,
} from './config-types.js';
import { resolveCluster, type ClusterRole } from './cluster/config.js';
import { resolveNotifications } from './notify/config.js';

export type * from './config-types.js';
export { SERVE_CONFIG_SCHEMA } from './config-schema.js';

/** Reads, validates and resolves a configuration file. Throws `ConfigErrors` listing every problem. */
export async function loadServeConfig(file: string): Promise<ServeConfig> {
  return parseServeConfig(await readFile(file, 'utf8'), file);
}

/** What the command line overrides in the file. */
export interface ConfigOverrides {
  /** `--data DIR` on the command line: the data directory (and the log under it unless the file names another). */
  data?: string;
  /** `--roles ingest,detect`: the cluster roles this process holds (overrides `cluster.roles`). */
  roles?: ClusterRole[];
}

/** Parses configuration text (paths relative to `file`'s folder). Throws `ConfigErrors`. */
export function parseServeConfig(text: string, file = '<inline>', overrides: ConfigOverrides = {}): ServeConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (node: unknown, message: string): ConfigError => {
    const off = isNode(node) && node.range ? node.range[0] : 0;
    const { line, col } = lc.linePos(off);
    return new ConfigError(message, { file, line, column: col });
  };
  if (doc.errors.length) {
    throw new ConfigErrors(doc.errors.map((e) => new ConfigError(e.message.split('\n')[0]!, { file, line: e.linePos?.[0].line ?? 0, column: e.linePos?.[0].col ?? 0 })));
  }
  const raw: unknown = doc.toJS({ maxAliasCount: LIMITS.yamlMaxAliasCount }) ?? {};
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(SERVE_CONFIG_SCHEMA);
  const nodeAt = (path: string): Node | undefined => {
    const parts = path
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
    for (let n = parts.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(parts.slice(0, n), true);
      if (isNode(node)) return node;
    }
    return undefined;
  };
  if (!validate(raw)) {
    throw new ConfigErrors((validate.errors ?? []).map((e) => at(nodeAt(e.instancePath), describeAjvError(e))));
  }
  const errors: ConfigError[] = [];
  const given = raw as RawConfig;
  const cfg = resolveConfig(
    overrides.data !== undefined ? { ...given, data: resolve(overrides.data) } : given,
    dirname(resolve(file)),
    (path, msg) => errors.push(at(nodeAt(path), msg)),
    overrides.roles,
  );
  if (errors.length) throw new ConfigErrors(errors);
  cfg.file = file;
  return cfg;
}

function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath || '(top level)';
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where}: unknown setting '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    case 'required':
      return `${where}: missing required setting '${(e.params as { missingProperty: string }).missingProperty}'`;
    case 'enum':
      return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

/** Parses `host:port`, `[v6]:port` or a bare port (bound to 127.0.0.1). */
export function parseListen(v: string | number): ListenAddress | string {
  if (typeof v === 'number' || /^\d+$/.test(v)) {
    const port = Number(v);
    return port >= 0 && port <= 65535 ? { host: '127.0.0.1', port } : `port ${port} is out of range`;
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(v);
  if (!m) return `'${v}' is not host:port`;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range`;
  if (m[1] && isIP(host) !== 6) return `'${host}' is not an IPv6 address`;
  return { host, port };
}

function resolveConfig(raw: RawConfig, base: string, err: (path: string, msg: string) => void, roles?: ClusterRole[]): ServeConfig {
  const path = (p: string) => resolve(base, p);
  const addr = (v: string | number, where: string): ListenAddress => {
    const a = parseListen(v);
    if (typeof a === 'string') {
      err(where, `${where}: ${a}`);
      return { host: '127.0.0.1', port: 0 };
    }
    return a;
  };
  const tls = (t: RawTls | undefined, where: string): TlsConfig | undefined => {
    if (!t) return undefined;
    const out: TlsConfig = { cert: path(t.cert), key: path(t.key), clientAuth: t.clientAuth ?? 'none' };
    if (t.ca) out.ca = path(t.ca);
    for (const k of ['cert', 'key', 'ca'] as const) {
      const f = out[k];
      if (!f) continue;
      try {
        readFileSync(f);
      } catch (e) {
        err(`${where}/${k}`, `${where}/${k}: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    if (out.clientAuth !== 'none' && !out.ca) err(where, `${where}: clientAuth '${out.clientAuth}' needs a 'ca' to check client certificates against`);
    return out;
  };
  const cidrs = (list: string[] | undefined, where: string): string[] | undefined => {
    list?.forEach((c, i) => {
      const [ip, bits] = c.split('/');
      const v = isIP(ip ?? '');
      const max = v === 6 ? 128 : 32;
      if (!v || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) err(`${where}/${i}`, `${where}/${i}: '${c}' is not an address or CIDR block`);
    });
    return list;
  };
  const L = raw.listeners ?? {};
  const listeners: ServeConfig['listeners'] = {};
  if (L.elastic) {
    const e: ElasticListenerConfig = { listen: addr(L.elastic.listen, '/listeners/elastic/listen'), version: L.elastic.version ?? '8.17.0', clusterName: L.elastic.clusterName ?? 'firebreak' };
    const t = tls(L.elastic.tls, '/listeners/elastic/tls');
    if (t) e.tls = t;
    listeners.elastic = e;
  }
  if (L.otlp) {
    const o: OtlpListenerConfig = { listen: addr(L.otlp.listen, '/listeners/otlp/listen'), tokenHeader: (L.otlp.tokenHeader ?? 'authorization').toLowerCase() };
    const t = tls(L.otlp.tls, '/listeners/otlp/tls');
    if (t) o.tls = t;
    listeners.otlp = o;
  }
  if (L.hec) {
    const h: HttpListenerConfig = { listen: addr(L.hec.listen, '/listeners/hec/listen') };
    const t = tls(L.hec.tls, '/listeners/hec/tls');
    if (t) h.tls = t;
    listeners.hec = h;
  }
  if (L.syslog) {
    const s: NonNullable<ServeConfig['listeners']['syslog']> = {};
    for (const k of ['udp', 'tcp'] as const) {
      const p = L.syslog[k];
      if (p) s[k] = { listen: addr(p.listen, `/listeners/syslog/${k}/listen`), source: p.source, allow: cidrs(p.allow, `/listeners/syslog/${k}/allow`)! };
    }
    const t = L.syslog.tls;
    if (t) {
      const where = '/listeners/syslog/tls';
      t.clients.forEach((c, i) => {
        if (!c.commonName && !c.fingerprint256) err(`${where}/clients/${i}`, `${where}/clients/${i}: give 'commonName' or 'fingerprint256' to recognise this client's certificate`);
      });
      const st: SyslogTlsConfig = {
        listen: addr(t.listen, `${where}/listen`),
        tls: { ...tls({ ...t.tls, clientAuth: 'require' }, `${where}/tls`)!, ca: path(t.tls.ca) },
        clients: t.clients.map((c) => ({ ...c, ...(c.fingerprint256 ? { fingerprint256: normaliseFingerprint(c.fingerprint256) } : {}) })),
      };
      const allow = cidrs(t.allow, `${where}/allow`);
      if (allow) st.allow = allow;
      s.tls = st;
    }
    listeners.syslog = s;
  }
  const tokens: TokenConfig[] = [];
  const seen = new Map<string, number>();
  (raw.tokens ?? []).forEach((t, i) => {
    const where = `/tokens/${i}`;
    let secret = t.secret;
    if (t.secret && t.secretFile) err(where, `${where}: give 'secret' or 'secretFile', not both`);
    if (t.secretFile) {
      try {
        secret = readFileSync(path(t.secretFile), 'utf8').trim();
        if (secret.length < 16) err(`${where}/secretFile`, `${where}/secretFile: the secret in ${t.secretFile} is shorter than 16 characters`);
      } catch (e) {
        err(`${where}/secretFile`, `${where}/secretFile: cannot read ${path(t.secretFile)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    if (!secret) {
      if (!t.secretFile) err(where, `${where}: missing 'secret' (or 'secretFile')`);
      return;
    }
    const prev = seen.get(secret);
    if (prev !== undefined) err(where, `${where}: the same secret is already used by /tokens/${prev}; each source needs its own token`);
    seen.set(secret, i);
    tokens.push({ source: t.source, secret, protocols: t.protocols ?? ['elastic', 'otlp', 'hec'] });
  });
  const lim = raw.limits ?? {};
  const limits: IngestLimits = {
    recordMaxBytes: lim.recordMaxBytes ?? LIMITS.ingestRecordMaxBytes,
    bodyMaxBytes: lim.bodyMaxBytes ?? LIMITS.httpBodyMaxBytes,
    decompressedMaxBytes: lim.decompressedMaxBytes ?? LIMITS.httpDecompressedMaxBytes,
    inflightMaxBytes: lim.inflightMaxBytes ?? LIMITS.ingestInflightMaxBytes,
    syslogMessageMaxBytes: lim.syslogMessageMaxBytes ?? LIMITS.syslogMessageMaxBytes,
    maxConnections: lim.maxConnections ?? LIMITS.maxConnections,
    headersTimeoutMs: lim.headersTimeoutMs ?? LIMITS.httpHeadersTimeoutMs,
    requestTimeoutMs: lim.requestTimeoutMs ?? LIMITS.httpRequestTimeoutMs,
    keepAliveTimeoutMs: lim.keepAliveTimeoutMs ?? LIMITS.httpKeepAliveTimeoutMs,
    syslogIdleTimeoutMs: lim.syslogIdleTimeoutMs ?? LIMITS.syslogIdleTimeoutMs,
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) err('/limits/headersTimeoutMs', '/limits/headersTimeoutMs: must not exceed requestTimeoutMs');
  const bp = raw.backpressure ?? {};
  const backpressure: BackpressureConfig = {
    highWaterBytes: bp.highWaterBytes ?? 1024 * 1024 * 1024,
    lowWaterBytes: bp.lowWaterBytes ?? 512 * 1024 * 1024,
    highWaterRecords: bp.highWaterRecords ?? 5_000_000,
    lowWaterRecords: bp.lowWaterRecords ?? 2_500_000,
    retryAfterSeconds: bp.retryAfterSeconds ?? 5,
  };
  if (backpressure.lowWaterBytes >= backpressure.highWaterBytes) err('/backpressure/lowWaterBytes', '/backpressure/lowWaterBytes: must be below highWaterBytes');
  if (backpressure.lowWaterRecords >= backpressure.highWaterRecords) err('/backpressure/lowWaterRecords', '/backpressure/lowWaterRecords: must be below highWaterRecords');
  const data = path(raw.data ?? 'firebreak-data');
  const r = raw.rules ?? {};
  const rules: RulesConfig = {
    paths: (r.paths ?? []).map(path),
    correlations: r.correlations ?? true,
    stories: r.stories ?? true,
    ...(r.placeholders ? { placeholders: path(r.placeholders) } : {}),
    ...(r.minLevel ? { minLevel: r.minLevel } : {}),
    ...(r.statuses ? { statuses: r.statuses } : {}),
    ...(r.tags ? { tags: r.tags } : {}),
    ...(r.excludeRules ? { excludeRules: r.excludeRules } : {}),
  };
  const pr = raw.processing ?? {};
  const processing: ProcessingConfig = {
    allowedLatenessMs: Math.round((pr.allowedLatenessSeconds ?? 10) * 1000),
    idleFlushMs: Math.round((pr.idleFlushSeconds ?? 2) * 1000),
    replayMs: Math.round((pr.replayMinutes ?? 60) * 60_000),
    ...(pr.threads ? { threads: pr.threads } : {}),
    ...(pr.timeZone ? { timeZone: pr.timeZone } : {}),
  };
  const su = raw.suppression ?? {};
  const suppression: SuppressionSettings = {
    windowMs: Math.round((su.windowMinutes ?? 10) * 60_000),
    rules: Object.fromEntries(Object.entries(su.rules ?? {}).map(([k, v]) => [k, Math.round(v * 60_000)])),
  };
  const storage: StorageConfig = { events: raw.storage?.events ?? true, retentionDays: raw.storage?.retentionDays ?? 30 };
  const wal: WalConfig = {
    dir: raw.wal?.dir ? path(raw.wal.dir) : resolve(data, 'wal'),
    segmentBytes: raw.wal?.segmentBytes ?? LIMITS.walSegmentBytes,
    groupCommitMs: raw.wal?.groupCommitMs ?? 2,
  };
  let api: ApiConfig | undefined;
  if (raw.api) {
    const a = raw.api;
    api = { listen: addr(a.listen, '/api/listen'), sessionHours: a.sessionHours ?? 12, maxStreams: a.maxStreams ?? 64 };
    const t = tls(a.tls, '/api/tls');
    if (t) api.tls = t;
    if (a.publicUrl !== undefined) {
      let u: URL | undefined;
      try {
        u = new URL(a.publicUrl);
      } catch {
        err('/api/publicUrl', `/api/publicUrl: '${a.publicUrl}' is not a URL`);
      }
      if (u && (u.pathname !== '/' || u.search || u.hash || u.username || u.password)) err('/api/publicUrl', `/api/publicUrl: give the origin only (scheme, host and port), not '${a.publicUrl}'`);
      if (u) api.publicUrl = u.origin;
    }
    if (a.consoleDir !== undefined) api.consoleDir = path(a.consoleDir);
  }
  const cluster = resolveCluster(raw.cluster, base, err, roles);
  // A cluster node listens only when it holds the ingest role (one file may serve every node).
  const ingests = !cluster || cluster.roles.includes('ingest');
  if (ingests && !Object.keys(listeners).length) err('', 'no listeners configured: add at least one under listeners (elastic, otlp, hec, syslog)');
  const needTokens = listeners.elastic || listeners.otlp || listeners.hec;
  if (ingests && needTokens && !tokens.length) err('/tokens', 'HTTP listeners are configured but no tokens: every request would be refused');
  if (cluster?.roles.includes('api') && !api) err('/cluster/roles', "/cluster/roles: the api role needs an 'api' section (listen)");
  const notifications = resolveNotifications(raw.notifications, base, err);
  return { file: base, data, rules, processing, suppression, storage, wal, listeners, tokens, limits, backpressure, notifications, ...(api ? { api } : {}), ...(cluster ? { cluster } : {}) };
}

/** `AA:BB:…` upper case, as Node reports `fingerprint256`. */
export function normaliseFingerprint(f: string): string {
  const hex = f.replace(/:/g, '').toUpperCase();
  return hex.match(/../g)!.join(':');
}
