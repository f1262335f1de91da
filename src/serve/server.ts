/**
 * `firebreak serve` assembled: the data directory (write-ahead log, state database, event store),
 * the rules (the catalogue analysts change), the processing pipeline, notifications, the API and
 * the ingest listeners. Start order makes sure nothing is acknowledged that cannot be processed;
 * shutdown (SIGTERM) stops accepting, lets requests in flight finish (their records are durable
 * before they are answered), drains the pipeline, commits and closes the stores.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FirebreakError } from '../core/errors.js';
import { planDetection, type DetectionPlan } from '../pipeline/plan.js';
import { selectRules } from '../pipeline/select.js';
import { defaultRuleDirs } from '../sigma/bundled.js';
import { loadRulesCached } from '../sigma/cache.js';
import { loadPlaceholders } from '../sigma/collection.js';
import type { SigmaCorrelation, SigmaRule } from '../sigma/model.js';
import { IngestTokens, LiveHub, StateRuleCatalog, startApi, type ApiHandle, type HealthSnapshot } from './api/index.js';
import type { RuleStore } from './api/rules/catalog.js';
import { alertSummary, getAlertRow, getStoryRow, storySummary } from './api/items.js';
import type { ServeConfig } from './config.js';
import { startIngest, type IngestHandle } from './ingest/server.js';
import type { IngestLog } from './ingest/context.js';
import { Notifier } from './notify/index.js';
import { Processor } from './processor.js';
import { StateDb } from './store/db.js';
import { SqliteSql } from './store/sql.js';
import { openEventStore } from './store/events.js';
import type { EventStore } from './store/types.js';
import { WriteAheadLog } from './wal/wal.js';

export interface ServerOptions {
  log?: IngestLog;
  /** Opens the event store in the data directory (default: DuckDB in its own process, src/serve/store/events.ts). */
  openEvents?: (dir: string) => Promise<EventStore>;
  /** Password hashing parameters for the API (tests use cheaper ones). */
  scrypt?: { N: number; r: number; p: number };
}

export interface Server {
  config: ServeConfig;
  wal: WriteAheadLog;
  db: StateDb;
  events?: EventStore;
  plan: DetectionPlan;
  catalog: StateRuleCatalog;
  processor: Processor;
  ingest: IngestHandle;
  live: LiveHub;
  notifier?: Notifier;
  api?: ApiHandle;
  /** Graceful shutdown. */
  close(): Promise<void>;
}

/** The rules of the configuration, loaded (bundled SigmaHQ and Firebreak's correlations by default). */
export function planFor(config: ServeConfig, catalog?: StateRuleCatalog): DetectionPlan {
  const r = config.rules;
  const on = catalog?.enabled();
  const enabled = on ? new Set<SigmaRule | SigmaCorrelation>([...on.rules, ...on.correlations]) : undefined;
  return planDetection({
    rulePaths: r.paths.length ? r.paths : undefined,
    placeholders: r.placeholders,
    filter: { minLevel: r.minLevel, statuses: r.statuses, tags: r.tags, excludeRules: r.excludeRules },
    correlations: r.correlations,
    stories: r.stories,
    // Alerts show the whole event (the analyst opens it with the matched fields highlighted).
    fullEvents: true,
    ...(catalog && enabled ? { collection: { ...catalog.all(), errors: [] }, enabled: (d: SigmaRule | SigmaCorrelation) => enabled.has(d) } : {}),
  });
}

/** The event store when storage of events is off: every search says so. */
export class NoEventStore implements EventStore {
  private off(): never {
    throw new FirebreakError('storage-off', 'event storage is off in this server (storage.events: false): only alerts and stories are kept');
  }
  append = async (): Promise<void> => undefined;
  maxOffset = async (): Promise<number> => -1;
  sql = async (): Promise<never> => this.off();
  filter = async (): Promise<never> => this.off();
  histogram = async (): Promise<never> => this.off();
  fieldNames = async (): Promise<string[]> => [];
  scan = async (): Promise<number> => 0;
  retain = async (): Promise<string[]> => [];
  usage = async () => ({ bytes: 0, days: [], events: 0, fieldNames: 0, fieldNamesDropped: 0, restarts: 0 });
  close = async (): Promise<void> => undefined;
}

type LoadedRules = ReturnType<typeof loadRulesCached>;

/** The configuration's rule files, loaded (bundled SigmaHQ and Firebreak's correlations by default, or its paths). */
export function loadRules(config: ServeConfig, log: IngestLog): LoadedRules {
  const r = config.rules;
  const placeholders = r.placeholders ? loadPlaceholders(r.placeholders) : undefined;
  const loaded = loadRulesCached(r.paths.length ? r.paths : defaultRuleDirs(), { placeholders });
  for (const e of loaded.errors) if (e.code !== 'unresolved-placeholder') log('warn', `rule not loaded: ${e.format()}`);
  return loaded;
}

/** The rule catalogue over `db` (uploads and enabled state come from it: the state database, or a cluster's PostgreSQL). */
export function catalogFor(config: ServeConfig, db: StateDb | RuleStore, loaded: LoadedRules, log: IngestLog, onChange?: () => void): StateRuleCatalog {
  const r = config.rules;
  const placeholders = r.placeholders ? loadPlaceholders(r.placeholders) : undefined;
  const filter = { minLevel: r.minLevel, statuses: r.statuses, tags: r.tags, excludeRules: r.excludeRules };
  return new StateRuleCatalog(db, loaded, {
    enabledByDefault: (d) => (d.kind === 'correlation' ? r.correlations && selectRules([d], filter).length > 0 : selectRules([d], filter).length > 0),
    parse: placeholders ? { placeholders } : {},
    onLoadError: (e) => log('warn', `uploaded rule not loaded: ${e.format()}`),
    ...(onChange ? { onChange } : {}),
  });
}

export async function startServer(config: ServeConfig, opts: ServerOptions = {}): Promise<Server> {
  if (config.cluster) throw new FirebreakError('cluster-config', `${config.file}: a cluster node is started with startClusterNode (src/serve/cluster/node.ts), not the embedded server`);
  mkdirSync(config.data, { recursive: true });
  const log: IngestLog = opts.log ?? ((level, m) => (level === 'info' ? undefined : process.stderr.write(`firebreak serve: ${level}: ${m}\n`)));
  const loaded = loadRules(config, log);
  const wal = await WriteAheadLog.open({ dir: config.wal.dir, segmentBytes: config.wal.segmentBytes, groupCommitMs: config.wal.groupCommitMs, onWarning: (m) => log('warn', m) });
  const db = new StateDb(join(config.data, 'state.db'));
  const sql = new SqliteSql(db);
  const live = new LiveHub();
  let processor: Processor | undefined;
  const catalog = catalogFor(config, db, loaded, log, () => {
    const next = planFor(config, catalog);
    void processor?.setRules(next).then(() => log('info', `rules changed: ${next.rules.length - next.feederKeys.size} rules run`));
  });
  const plan = planFor(config, catalog);
  // Tokens an admin makes or revokes through the API reach the listeners at once.
  const ingestTokens = new IngestTokens(db, config.tokens, (active) => ingest?.tokens.setStored(active));
  let events: EventStore | undefined;
  let notifier: Notifier | undefined;
  let api: ApiHandle | undefined;
  let ingest: IngestHandle | undefined;
  const startedAt = new Date().toISOString();
  const health = {
    snapshot: async (): Promise<HealthSnapshot> => snapshot(),
  };
  const snapshot = (): HealthSnapshot => {
    const st = ingest?.stats;
    const ws = wal.stats();
    const ps = processor?.stats();
    const late = ps ? Object.values(ps.stages).reduce((n, s) => n + (s.late ?? 0), 0) : 0;
    return {
      startedAt,
      ...ingestCounters(ingest),
      wal: { lagRecords: ws.lag.records, lagBytes: ws.lag.bytes, diskBytes: ws.diskBytes },
      backpressure: ingest?.gate.closed ?? false,
      pipeline: {
        eventsProcessed: ps?.events ?? 0,
        detections: ps?.detections ?? 0,
        suppressed: (processor?.alerts.counters.folded ?? 0) + (processor?.correlationAlerts.counters.folded ?? 0),
        late,
        watermark: ps?.watermark ?? null,
        lagMs: processor?.lagMs ?? null,
      },
      drops: {
        syslogDatagrams: st?.syslogDropped ?? 0,
        syslogTruncated: st?.syslogTruncated ?? 0,
        recordErrors: ps?.errors ?? 0,
        flushedEventsNotStored: ps?.flushedNotStored ?? 0,
        storyLinks: processor?.liveStories.counters.linksDropped ?? 0,
        ...(ps ? stateDrops(ps.stages) : {}),
      },
    };
  };
  try {
    const openEvents = opts.openEvents ?? ((dir: string) => openEventStore(dir, { log }));
    events = config.storage.events ? await openEvents(join(config.data, 'events')) : undefined;
    if (config.notifications.channels.length) notifier = new Notifier(db, config.notifications, { log });
    const n = notifier;
    let published: Promise<void> = Promise.resolve();
    processor = new Processor({
      wal,
      db,
      events,
      plan,
      threads: config.processing.threads,
      suppression: config.suppression,
      allowedLatenessMs: config.processing.allowedLatenessMs,
      idleFlushMs: config.processing.idleFlushMs,
      replayMs: config.processing.replayMs,
      timeZone: config.processing.timeZone,
      publicUrl: config.api?.publicUrl,
      notify: n ? (e) => void n.enqueue(e) : undefined,
      // Read and published in order, one after another (the reads see the batch's writes).
      onAlerts: (changes) => {
        published = published
          .then(async () => {
            for (const c of changes) {
              const row = await getAlertRow(sql, c.id);
              if (row) live.publish(c.kind === 'alert-created' ? 'alert.created' : 'alert.updated', { id: String(c.id), summary: alertSummary(row) });
            }
          })
          .catch((e: unknown) => log('warn', `live feed: ${(e as Error).message}`));
      },
      onStories: (changes) => {
        published = published
          .then(async () => {
            for (const c of changes) {
              const row = await getStoryRow(sql, c.id);
              if (row) live.publish(c.kind === 'story-created' ? 'story.created' : 'story.updated', { id: c.id, summary: await storySummary(sql, row) });
            }
          })
          .catch((e: unknown) => log('warn', `live feed: ${(e as Error).message}`));
      },
      onWarning: (m) => log('warn', m),
      onErrors: (errors) => {
        for (const e of errors.slice(0, 5)) log('warn', `record ${e.source}${e.offset === null ? '' : '#' + e.offset}: ${e.message}`);
      },
    });
    notifier?.start();
    // The workers compile the rules while the API starts; input is taken only once they are ready,
    // so nothing acknowledged waits seconds for its first match.
    const ready = processor.start();
    void ready.catch(() => undefined); // awaited below (a failure while the API starts is not lost, only not unhandled)
    if (config.api) api = await startApi(config.api, { db: sql, events: events ?? new NoEventStore(), rules: catalog, live, health, log, ingestTokens }, opts.scrypt ? { scrypt: opts.scrypt } : {});
    await ready;
    ingest = await startIngest(config, wal, { log, storedTokens: await ingestTokens.active() });
    ingest.tokens.setStored(await ingestTokens.active()); // one made while the listeners started
  } catch (e) {
    await ingest?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await processor?.stop().catch(() => undefined);
    await notifier?.stop().catch(() => undefined);
    await events?.close().catch(() => undefined);
    db.close();
    await wal.close().catch(() => undefined);
    throw e;
  }
  const p = processor;
  const i = ingest;
  const retention = events ? setInterval(() => void events?.retain(config.storage.retentionDays).catch((e: unknown) => log('warn', `retention: ${String(e)}`)), 3600_000).unref() : undefined;
  let closing: Promise<void> | undefined;
  return {
    config,
    wal,
    db,
    events,
    plan,
    catalog,
    processor: p,
    ingest: i,
    live,
    notifier,
    api,
    close: () =>
      (closing ??= (async () => {
        clearInterval(retention);
        await i.close();
        await p.stop();
        await api?.close();
        await notifier?.stop();
        await events?.close();
        db.close();
        await wal.close();
      })()),
  };
}

/** The listeners' counters as health shows them (per source, refused requests per protocol). */
export function ingestCounters(ingest: IngestHandle | undefined): Pick<HealthSnapshot, 'sources' | 'refused'> {
  const st = ingest?.stats;
  const refused: HealthSnapshot['refused'] = {};
  if (st) for (const [p, c] of Object.entries(st.byProtocol)) refused[p as keyof typeof st.byProtocol] = { auth: c.refusedAuth, busy: c.refusedBusy, errors: c.errors };
  return {
    sources: st
      ? [...st.bySource].map(([source, c]) => ({
          source,
          protocol: c.protocol,
          accepted: c.accepted,
          rejected: 0,
          bytes: c.bytes,
          lastAt: c.lastAt === null ? null : new Date(c.lastAt).toISOString(),
        }))
      : [],
    refused,
  };
}

/** Bounded state that dropped something (correlation groups, story entities…), by stage. */
export function stateDrops(stages: Record<string, Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [stage, s] of Object.entries(stages)) for (const [k, v] of Object.entries(s)) if (/dropped/i.test(k) && v) out[`${stage}.${k}`] = v;
  return out;
}
