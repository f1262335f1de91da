/**
 * One process of a scaled-out `serve` (docs/scale-out.md), holding the roles its configuration
 * gives it: ingest (the listeners, publishing to the events stream), detect (matching events
 * messages), correlate (the active one, or a standby), api (the API and console from
 * PostgreSQL). Started by `firebreak serve` when the
 * configuration has a `cluster:` section; the embedded server (../server.ts) is untouched.
 */
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { FirebreakError } from '../../core/errors.js';
import type { DetectionPlan } from '../../pipeline/plan.js';
import type { ServeConfig } from '../config.js';
import type { IngestLog } from '../ingest/context.js';
import { startIngest, type IngestHandle } from '../ingest/server.js';
import { ingestCounters, planFor, stateDrops } from '../server.js';
import { ParquetWriter, retainHours } from '../store/parquet.js';
import type { ClusterRole } from './config.js';
import { startApiNode, type ApiNode } from './api.js';
import { CorrelateNode } from './correlate.js';
import { DetectNode } from './detect.js';
import { JetStreamSink } from './ingest.js';
import { connectNats, ensureStreams } from './nats.js';
import { HealthReporter, type NodeReport } from './health.js';
import { ClusterDb, redact } from './pg.js';
import { ClusterRules } from './rules.js';
import { TokenFollower } from './tokens.js';

export interface ClusterNodeOptions {
  log?: IngestLog;
}

export interface ClusterNode {
  config: ServeConfig;
  roles: readonly ClusterRole[];
  /** The rules (detect and correlate roles). */
  plan?: DetectionPlan;
  nc?: NatsConnection;
  db?: ClusterDb;
  sink?: JetStreamSink;
  ingest?: IngestHandle;
  detect?: DetectNode;
  /** The detect node's event files (with `storage.events`). */
  events?: ParquetWriter;
  /** Where they are. */
  eventsDir?: string;
  correlate?: CorrelateNode;
  /** The API and console (the api role). */
  api?: ApiNode;
  /** The hourly retention of event files. */
  retention?: NodeJS.Timeout;
  /** The rules with the console's changes, followed (detect, correlate and api roles, with PostgreSQL). */
  rules?: ClusterRules;
  /** The ingest tokens made in the console, followed (the ingest role, with PostgreSQL). */
  tokens?: TokenFollower;
  /** This node's row in node_health (with PostgreSQL). */
  health?: HealthReporter;
  /** An ingest node that started while PostgreSQL was unreachable: the next attempt to reach it. */
  pgRetry?: NodeJS.Timeout;
  stopped?: boolean;
  /** Graceful stop: listeners first, then detection drains, the correlate node commits and hands its lease over. */
  close(): Promise<void>;
}

export async function startClusterNode(config: ServeConfig, opts: ClusterNodeOptions = {}): Promise<ClusterNode> {
  const k = config.cluster;
  if (!k) throw new FirebreakError('cluster-config', `${config.file}: no cluster section`);
  const log: IngestLog = opts.log ?? ((level, m) => (level === 'info' ? undefined : process.stderr.write(`firebreak serve [${k.node}]: ${level}: ${m}\n`)));
  const node: ClusterNode = { config, roles: k.roles, close: async () => undefined };
  const has = (r: ClusterRole) => k.roles.includes(r);
  try {
    if (k.roles.some((r) => r !== 'api')) {
      node.nc = await connectNats(k.nats!, `firebreak ${k.node} (${k.roles.join(',')})`);
      await ensureStreams(node.nc, k.nats!, (m) => log('warn', m));
    }
    // Every role uses PostgreSQL when it is configured: the console's rule changes and ingest
    // tokens are followed through it, and each node reports its health there.
    // Detect, correlate and api nodes need it at start (they must run the rules the console
    // shows); an ingest node starts without it, with the configuration's tokens, and connects later.
    let later = false;
    if (k.postgres) {
      try {
        node.db = await ClusterDb.open(k.postgres, (m) => log('warn', m));
        log('info', `PostgreSQL at ${redact(k.postgres.url)}`);
      } catch (e) {
        if (k.roles.some((r) => r !== 'ingest')) throw e;
        log('error', `${(e as Error).message}; ingest goes on with the configuration file's tokens and tries again in the background`);
        later = true;
      }
    }
    if (has('detect') || has('correlate') || has('api')) {
      if (node.db) node.rules = await ClusterRules.open(config, node.db, log);
      else log('warn', 'no cluster.postgres: this node runs the rules its configuration selects and does not follow rule changes made in the console');
    }
    if (has('detect') || has('correlate')) node.plan = node.rules ? node.rules.plan() : planFor(config);
    if (has('detect')) {
      if (config.storage.events) {
        node.eventsDir = k.eventsDir ?? join(config.data, 'events');
        node.events = await ParquetWriter.open({ dir: node.eventsDir, node: k.node });
        log('info', `events stored as Parquet by hour in ${node.eventsDir}`);
        // Retention: whole hours, by every detect node (deleting a folder twice is harmless).
        const dir = node.eventsDir;
        const retain = () => {
          try {
            const gone = retainHours(dir, config.storage.retentionDays, Date.now());
            if (gone.length) log('info', `retention: deleted ${gone.length} hours of events (${gone[0]} to ${gone[gone.length - 1]})`);
          } catch (e) {
            log('warn', `retention: ${(e as Error).message}`);
          }
        };
        retain();
        node.retention = setInterval(retain, 3600_000).unref();
      }
      node.detect = new DetectNode({ nc: node.nc!, cfg: k.nats!, node: k.node, plan: node.plan!, threads: config.processing.threads, timeZone: config.processing.timeZone, events: node.events, log });
      node.detect.start();
    }
    if (has('correlate')) {
      node.correlate = new CorrelateNode({ nc: node.nc!, cfg: k.nats!, cdb: node.db!, node: k.node, config, plan: node.plan!, log });
      node.correlate.start();
    }
    if (has('ingest')) {
      node.sink = await JetStreamSink.open(node.nc!, k.nats!, k.node, config.limits.recordMaxBytes);
      if (node.db) node.tokens = new TokenFollower(node.db, log);
      else log('warn', 'no cluster.postgres: ingest tokens made in the console are not accepted here (only those of the configuration file)');
      node.ingest = await startIngest(config, node.sink, { log, ...(node.tokens ? { storedTokens: await node.tokens.load() } : {}) });
      const ingest = node.ingest;
      await node.tokens?.follow((active) => ingest.tokens.setStored(active));
      if (later) connectLater(node, log);
    }
    if (has('api')) node.api = await startApiNode(config, node.db!, log, node.rules);
    if (node.db) {
      node.health = new HealthReporter({ db: node.db, node: k.node, roles: k.roles, collect: () => nodeReport(node), log });
      node.health.start();
    }
    // Rules changed in the console: detection workers rebuilt, the correlate node told (the api role follows on its own).
    if (node.rules && (node.detect || node.correlate)) {
      const { detect, correlate } = node;
      await node.rules.follow(
        async (plan) => {
          node.plan = plan;
          correlate?.setPlan(plan);
          await detect?.setRules(plan);
        },
        () => node.health?.report(),
      );
    } else if (node.rules) await node.rules.follow(undefined, () => node.health?.report());
  } catch (e) {
    await stop(node);
    throw e;
  }
  let closing: Promise<void> | undefined;
  node.close = () => (closing ??= stop(node));
  return node;
}

/**
 * An ingest node that started without PostgreSQL: reach it in the background (1 s, then up to 30 s
 * apart), then take the tokens made in the console and report health as if it had been there.
 */
function connectLater(n: ClusterNode, log: IngestLog): void {
  const k = n.config.cluster!;
  let delay = 1000;
  const attempt = () => {
    n.pgRetry = setTimeout(() => {
      void (async () => {
        let db: ClusterDb | undefined;
        let tokens: TokenFollower | undefined;
        try {
          db = await ClusterDb.open(k.postgres!, (m) => log('warn', m));
          tokens = new TokenFollower(db, log);
          const ingest = n.ingest!;
          ingest.tokens.setStored(await tokens.load());
          await tokens.follow((active) => ingest.tokens.setStored(active));
          if (n.stopped) {
            await tokens.stop();
            await db.close();
            return;
          }
          n.db = db;
          n.tokens = tokens;
          n.health = new HealthReporter({ db, node: k.node, roles: k.roles, collect: () => nodeReport(n), log });
          n.health.start();
          log('warn', `PostgreSQL at ${redact(k.postgres!.url)} reached: ingest tokens made in the console are accepted from now on`);
        } catch (e) {
          await tokens?.stop().catch(() => undefined);
          await db?.close().catch(() => undefined);
          if (n.stopped) return;
          delay = Math.min(delay * 2, 30_000);
          log('warn', `PostgreSQL still unreachable (${(e as Error).message}); trying again in ${delay / 1000} s`);
          attempt();
        }
      })();
    }, delay);
    n.pgRetry.unref();
  };
  attempt();
}

/** What this node writes to node_health. */
function nodeReport(n: ClusterNode): NodeReport {
  const c = n.correlate?.stats;
  const live = n.correlate?.live;
  const active = c?.state === 'active';
  const stageStats = active && live ? live.stats() : {};
  const late = Object.values(stageStats).reduce((sum, st) => sum + (st.late ?? 0), 0);
  const st = n.ingest?.stats;
  return {
    ...ingestCounters(n.ingest),
    backpressure: n.ingest?.gate.closed ?? false,
    pipeline:
      c && active
        ? {
            eventsProcessed: c.events,
            detections: c.detections,
            suppressed: (live?.alerts.counters.folded ?? 0) + (live?.correlationAlerts.counters.folded ?? 0),
            late,
            watermark: c.watermark,
            lagMs: c.lagMs,
          }
        : null,
    drops: {
      ...(st ? { syslogDatagrams: st.syslogDropped, syslogTruncated: st.syslogTruncated } : {}),
      ...(n.detect ? { recordErrors: n.detect.stats.errors } : {}),
      ...(active ? { storyLinks: live?.liveStories.counters.linksDropped ?? 0, ...stateDrops(stageStats) } : {}),
    },
    detect: n.detect ? { ...n.detect.stats } : null,
    correlate: c ? { ...c } : null,
    rules: n.rules ? { ...n.rules.health } : null,
    ingestTokens: n.tokens ? { ...n.tokens.health } : null,
  };
}

async function stop(n: ClusterNode): Promise<void> {
  n.stopped = true;
  clearTimeout(n.pgRetry);
  await n.health?.stop().catch(() => undefined);
  await n.rules?.stop().catch(() => undefined);
  await n.tokens?.stop().catch(() => undefined);
  await n.api?.close().catch(() => undefined);
  await n.ingest?.close().catch(() => undefined);
  n.sink?.close();
  await n.detect?.stop().catch(() => undefined);
  clearInterval(n.retention);
  await n.events?.close().catch(() => undefined);
  await n.correlate?.stop().catch(() => undefined);
  await n.nc?.drain().catch(() => undefined);
  await n.db?.close().catch(() => undefined);
}
