/**
 * The api role: the embedded server's HTTP API and console (../api), served from PostgreSQL.
 * Alerts, stories, triage, comments, users, sessions, API keys and the audit trail are read and
 * written there through the state-database seam (`PgSql`); the live feed comes from the
 * correlate node's and other api nodes' change notices (`PgLiveFeed`); event search reads the
 * detect nodes' Parquet files by hour (`ParquetEventStore`) when `storage.events` is on.
 *
 * Rule changes (enable, disable, upload) are kept in PostgreSQL and followed by every node
 * (./rules.ts); ingest tokens are kept there and followed by the ingest nodes (./tokens.ts).
 * Health shows every node's last report (./health.ts) besides the api node's own storage.
 */
import { join } from 'node:path';
import { FirebreakError } from '../../core/errors.js';
import { IngestTokens, startApi, type ApiHandle, type HealthSnapshot } from '../api/index.js';
import { LiveHub } from '../api/live.js';
import type { ServeConfig } from '../config.js';
import type { IngestLog } from '../ingest/context.js';
import { NoEventStore } from '../server.js';
import { ParquetEventStore } from '../store/parquet.js';
import type { EventStore } from '../store/types.js';
import { LIVE_CHANNEL, PgLiveFeed } from './live-pg.js';
import { clusterTotals, readClusterHealth } from './health.js';
import type { ClusterDb } from './pg.js';
import { PgSql } from './pg-sql.js';
import { ClusterRules } from './rules.js';
import { announceTokens } from './tokens.js';

export interface ApiNode {
  api: ApiHandle;
  live: PgLiveFeed;
  events: EventStore;
  close(): Promise<void>;
}

/**
 * Starts the API and console of a cluster node with the api role, over `db`. `shared`: the node's
 * rules, already followed; without it the api node opens and follows its own.
 */
export async function startApiNode(config: ServeConfig, db: ClusterDb, log: IngestLog, shared?: ClusterRules): Promise<ApiNode> {
  const k = config.cluster!;
  if (!config.api) throw new FirebreakError('cluster-config', `${config.file}: the api role needs the api section (its listener), e.g. api: { listen: 0.0.0.0:8443 }`);
  const sql = new PgSql(db.pool);
  const live = new PgLiveFeed({
    connect: () => db.client(),
    sql,
    notify: (p) => db.pool.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, p]),
    hub: new LiveHub(),
    node: k.node,
    log: (level, m) => log(level, m),
  });
  let events: EventStore = new NoEventStore();
  let own: ClusterRules | undefined;
  try {
    await live.start();
    if (config.storage.events) {
      const dir = k.eventsDir ?? join(config.data, 'events');
      events = await ParquetEventStore.open({ dir, tempDir: join(config.data, 'search-tmp'), threads: config.processing.threads });
      log('info', `event search over the Parquet files in ${dir}`);
    }
    if (!shared) {
      own = await ClusterRules.open(config, db, log);
      await own.follow();
    }
    const rules = (shared ?? own)!;
    const startedAt = new Date().toISOString();
    // An api node has no listeners and no pipeline of its own: the cluster's are the other nodes'
    // reports (./health.ts), summed over those that are not stale.
    const health = {
      snapshot: async (): Promise<HealthSnapshot> => {
        const nodes = await readClusterHealth(sql);
        return { startedAt, ...clusterTotals(nodes), wal: { lagRecords: 0, lagBytes: 0, diskBytes: 0 }, nodes };
      },
    };
    // Tokens made here reach the ingest nodes through PostgreSQL.
    const ingestTokens = new IngestTokens(sql, config.tokens, () => announceTokens(db, k.node));
    const api = await startApi(config.api, { db: sql, events, rules: rules.catalog, live, health, log: (level, m) => log(level, `api: ${m}`), ingestTokens });
    const r = own;
    return {
      api,
      live,
      events,
      close: async () => {
        await api.close();
        await live.stop();
        await events.close();
        await r?.stop();
      },
    };
  } catch (e) {
    await live.stop();
    await events.close().catch(() => undefined);
    await own?.stop();
    throw e;
  }
}
