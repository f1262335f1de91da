/**
 * The api role: the embedded server's HTTP API and console (../api), served from PostgreSQL.
 * Alerts, stories, triage, comments, users, sessions, API keys and the audit trail are read and
 * written there through the state-database seam (`PgSql`); the live feed comes from the
 * correlate node's and other api nodes' change notices (`PgLiveFeed`); event search reads the
 * detect nodes' Parquet files by hour (`ParquetEventStore`) when `storage.events` is on.
 *
 * What an api node does not do (each answers with a message saying why): change rules (a cluster
 * runs the rules its configuration selects; the rule list, counts, coverage and tests work), make
 * ingest tokens (ingest nodes take theirs from the configuration file).
 */
import { join } from 'node:path';
import { FirebreakError } from '../../core/errors.js';
import { startApi, type ApiHandle, type CatalogRule, type HealthSnapshot, type RuleCatalog } from '../api/index.js';
import { LiveHub } from '../api/live.js';
import { ApiError } from '../api/errors.js';
import type { ServeConfig } from '../config.js';
import type { IngestLog } from '../ingest/context.js';
import { catalogFor, loadRules, NoEventStore } from '../server.js';
import { StateDb } from '../store/db.js';
import { ParquetEventStore } from '../store/parquet.js';
import type { EventStore } from '../store/types.js';
import { LIVE_CHANNEL, PgLiveFeed } from './live-pg.js';
import type { ClusterDb } from './pg.js';
import { PgSql } from './pg-sql.js';

export interface ApiNode {
  api: ApiHandle;
  live: PgLiveFeed;
  events: EventStore;
  close(): Promise<void>;
}

const refuse = (what: string): never => {
  throw new ApiError(501, 'not-in-cluster', `${what} is not possible in a cluster yet: its nodes run the rules their configuration selects (rules: in the configuration file)`);
};

/** The configuration's rules as the console lists them; changes are refused (a cluster's rules come from its configuration). */
function configuredRules(config: ServeConfig, log: IngestLog): { catalog: RuleCatalog; close: () => void } {
  // An in-memory state database gives the catalogue no stored changes: each rule is as the configuration selects it.
  const scratch = new StateDb(':memory:');
  const inner = catalogFor(config, scratch, loadRules(config, log), log);
  const catalog: RuleCatalog = {
    list: (): readonly CatalogRule[] => inner.list(),
    document: (key) => inner.document(key),
    hasRuleId: (id) => inner.hasRuleId(id),
    setEnabled: async () => refuse('Enabling or disabling a rule from the console'),
    upload: async () => refuse('Uploading a rule from the console'),
  };
  return { catalog, close: () => scratch.close() };
}

/** Starts the API and console of a cluster node with the api role, over `db`. */
export async function startApiNode(config: ServeConfig, db: ClusterDb, log: IngestLog): Promise<ApiNode> {
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
  let rules: ReturnType<typeof configuredRules> | undefined;
  try {
    await live.start();
    if (config.storage.events) {
      const dir = k.eventsDir ?? join(config.data, 'events');
      events = await ParquetEventStore.open({ dir, tempDir: join(config.data, 'search-tmp'), threads: config.processing.threads });
      log('info', `event search over the Parquet files in ${dir}`);
    }
    rules = configuredRules(config, log);
    const startedAt = new Date().toISOString();
    // An api node has no listeners and no pipeline of its own: those counters are the ingest,
    // detect and correlate nodes' (their logs; NATS's monitoring for the streams).
    const health = {
      snapshot: async (): Promise<HealthSnapshot> => ({
        startedAt,
        sources: [],
        refused: {},
        wal: { lagRecords: 0, lagBytes: 0, diskBytes: 0 },
        backpressure: false,
        pipeline: { eventsProcessed: 0, detections: 0, suppressed: 0, late: 0, watermark: null, lagMs: null },
        drops: {},
      }),
    };
    const api = await startApi(config.api, { db: sql, events, rules: rules.catalog, live, health, log: (level, m) => log(level, `api: ${m}`), ingestTokens: null });
    const r = rules;
    return {
      api,
      live,
      events,
      close: async () => {
        await api.close();
        await live.stop();
        await events.close();
        r.close();
      },
    };
  } catch (e) {
    await live.stop();
    await events.close().catch(() => undefined);
    rules?.close();
    throw e;
  }
}
