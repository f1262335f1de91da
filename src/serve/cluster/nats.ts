/**
 * The NATS JetStream side of a scaled-out `serve` (docs/scale-out.md): the connection, and the
 * streams and bucket every node makes sure exist when it starts (the first creates them, the
 * others find them):
 *
 * - `<prefix>_EVENTS`: what ingest nodes accepted, one subject per partition
 *   (`<prefix>.events.<n>`); a work queue (a message is gone once a detect node acknowledged it),
 *   discarding new messages at its limits so ingest answers 429 instead of anything being dropped.
 * - `<prefix>_DETECTIONS`: what detect nodes made of each events message (`<prefix>.detections.<n>`);
 *   kept until the correlate node no longer needs it to rebuild its state (it purges below that).
 * - `<prefix>_LEASES`: a key-value bucket whose `correlate` key is the active correlate node's lease.
 *
 * Publishes carry message ids, so a publish retried after a lost acknowledgement (a leader change)
 * is stored once (the streams' duplicate window).
 */
import { readFileSync } from 'node:fs';
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type ConnectionOptions,
  type JetStreamManager,
  type KV,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { FirebreakError } from '../../core/errors.js';
import type { NatsConfig } from './config.js';

/** Names derived from the configuration's prefix. */
export interface StreamNames {
  events: string;
  detections: string;
  leases: string;
  /** The durable consumer detect nodes share. */
  detectConsumer: string;
  eventSubject(partition: number): string;
  detectionSubject(partition: number): string;
}

export function streamNames(cfg: Pick<NatsConfig, 'prefix'>): StreamNames {
  const p = cfg.prefix;
  return {
    events: `${p}_EVENTS`,
    detections: `${p}_DETECTIONS`,
    leases: `${p}_LEASES`,
    detectConsumer: 'detect',
    eventSubject: (n) => `${p}.events.${n}`,
    detectionSubject: (n) => `${p}.detections.${n}`,
  };
}

/** Publishes retried after a lost acknowledgement within this long are stored once. */
const DUPLICATE_WINDOW_MS = 2 * 60_000;

/** Connects to the cluster (reconnecting for ever: a node waits out a NATS outage rather than dying). */
export async function connectNats(cfg: NatsConfig, name: string): Promise<NatsConnection> {
  const o: ConnectionOptions = {
    servers: cfg.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
  };
  if (cfg.token !== undefined) o.token = cfg.token;
  if (cfg.user !== undefined) {
    o.user = cfg.user;
    o.pass = cfg.password;
  }
  if (cfg.tls) {
    o.tls = {};
    if (cfg.tls.ca) o.tls.ca = readFileSync(cfg.tls.ca, 'utf8');
    if (cfg.tls.cert) o.tls.cert = readFileSync(cfg.tls.cert, 'utf8');
    if (cfg.tls.key) o.tls.key = readFileSync(cfg.tls.key, 'utf8');
  }
  try {
    return await connect(o);
  } catch (e) {
    throw new FirebreakError('nats-connect', `cannot connect to NATS at ${cfg.servers.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
}

/** The error code JetStream answers when a stream or consumer does not exist. */
const NOT_FOUND = new Set([10059, 10014]);
const apiCode = (e: unknown): number | undefined => (e as { api_error?: { err_code?: number } }).api_error?.err_code;

/**
 * Makes sure the streams, the detect consumer and the lease bucket exist with this
 * configuration's settings: creates what is missing, raises limits that changed, and refuses to
 * start when an existing stream was made for something else (other subjects or retention).
 */
export async function ensureStreams(nc: NatsConnection, cfg: NatsConfig, onWarning: (m: string) => void = () => undefined, waitMs = 60_000): Promise<StreamNames> {
  // A cluster that just started has no JetStream leader for a few seconds: wait for it.
  const deadline = Date.now() + waitMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await setUp(nc, cfg, onWarning);
    } catch (e) {
      if (!transient(e) || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Errors of a cluster electing leaders or reconnecting: worth trying again. */
export function transient(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  const api = apiCode(e);
  return code === 'TIMEOUT' || code === '503' || code === 'DISCONNECT' || api === 10008 || (e as { api_error?: { code?: number } }).api_error?.code === 503;
}

async function setUp(nc: NatsConnection, cfg: NatsConfig, onWarning: (m: string) => void): Promise<StreamNames> {
  const names = streamNames(cfg);
  const jsm = await nc.jetstreamManager();
  const common = { num_replicas: cfg.replicas, storage: StorageType.File, discard: DiscardPolicy.New, duplicate_window: nanos(DUPLICATE_WINDOW_MS) };
  await ensureStream(
    jsm,
    { ...common, name: names.events, subjects: [`${cfg.prefix}.events.*`], retention: RetentionPolicy.Workqueue, max_bytes: cfg.events.maxBytes, max_msgs: cfg.events.maxMessages },
    onWarning,
  );
  await ensureStream(
    jsm,
    { ...common, name: names.detections, subjects: [`${cfg.prefix}.detections.*`], retention: RetentionPolicy.Limits, max_bytes: cfg.detections.maxBytes, max_msgs: -1 },
    onWarning,
  );
  const consumer = {
    durable_name: names.detectConsumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(cfg.ackWaitMs),
    deliver_policy: DeliverPolicy.All,
    max_deliver: -1,
    max_ack_pending: 4096,
  };
  try {
    const info = await jsm.consumers.info(names.events, names.detectConsumer);
    if (info.config.ack_wait !== consumer.ack_wait) await jsm.consumers.update(names.events, names.detectConsumer, { ack_wait: consumer.ack_wait });
  } catch (e) {
    if (!NOT_FOUND.has(apiCode(e) ?? 0)) throw e;
    await jsm.consumers.add(names.events, consumer).catch(async (e2: unknown) => {
      // Another node made it first.
      await jsm.consumers.info(names.events, names.detectConsumer).catch(() => Promise.reject(e2 as Error));
    });
  }
  await leaseBucket(nc, cfg);
  return names;
}

async function ensureStream(jsm: JetStreamManager, want: Partial<StreamConfig> & { name: string }, onWarning: (m: string) => void): Promise<void> {
  let have: StreamConfig | undefined;
  try {
    have = (await jsm.streams.info(want.name)).config;
  } catch (e) {
    if (!NOT_FOUND.has(apiCode(e) ?? 0)) throw e;
  }
  if (!have) {
    try {
      await jsm.streams.add(want);
      return;
    } catch (e) {
      // Another node made it in the meantime: check it as found.
      have = (await jsm.streams.info(want.name).catch(() => Promise.reject(e as Error))).config;
    }
  }
  if (have.retention !== want.retention || JSON.stringify(have.subjects) !== JSON.stringify(want.subjects)) {
    throw new FirebreakError(
      'nats-stream',
      `the JetStream stream ${want.name} exists with other settings (retention ${have.retention}, subjects ${have.subjects.join(' ')}; Firebreak needs ${want.retention}, ${want.subjects!.join(' ')}): use another cluster.nats.prefix or delete the stream`,
    );
  }
  if (have.num_replicas !== want.num_replicas) onWarning(`the stream ${want.name} has ${have.num_replicas} replicas; the configuration asks for ${want.num_replicas} (change it with the nats tool)`);
  if (have.max_bytes !== want.max_bytes || have.max_msgs !== want.max_msgs || have.discard !== want.discard) {
    await jsm.streams.update(want.name, { ...have, max_bytes: want.max_bytes!, max_msgs: want.max_msgs!, discard: want.discard! });
  }
}

/** The bucket of leases (entries expire `leaseMs` after their last write). */
export async function leaseBucket(nc: NatsConnection, cfg: NatsConfig): Promise<KV> {
  const js = nc.jetstream();
  return js.views.kv(streamNames(cfg).leases, { replicas: cfg.replicas, history: 1, ttl: cfg.leaseMs });
}

/** The largest message the servers take (their `max_payload`), from the connection's INFO. */
export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? 1024 * 1024;
}
