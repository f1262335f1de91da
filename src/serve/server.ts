/**
 * `firebreak serve` assembled: the data directory (write-ahead log, state database, event store),
 * the rules, the processing pipeline and the ingest listeners. Start order makes sure nothing is
 * acknowledged that cannot be processed; shutdown (SIGTERM) stops accepting, lets requests in
 * flight finish (their records are durable before they are answered), drains the pipeline, commits
 * and closes the stores.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { planDetection, type DetectionPlan } from '../pipeline/plan.js';
import type { ServeConfig } from './config.js';
import { startIngest, type IngestHandle } from './ingest/server.js';
import type { IngestLog } from './ingest/context.js';
import { Processor } from './processor.js';
import { StateDb } from './store/db.js';
import type { EventStore } from './store/types.js';
import { WriteAheadLog } from './wal/wal.js';

export interface ServerOptions {
  log?: IngestLog;
  /** Opens the event store in the data directory (the server runs without one when absent). */
  openEvents?: (dir: string) => Promise<EventStore>;
}

export interface Server {
  config: ServeConfig;
  wal: WriteAheadLog;
  db: StateDb;
  events?: EventStore;
  plan: DetectionPlan;
  processor: Processor;
  ingest: IngestHandle;
  /** Graceful shutdown. */
  close(): Promise<void>;
}

export function planFor(config: ServeConfig): DetectionPlan {
  const r = config.rules;
  return planDetection({
    rulePaths: r.paths.length ? r.paths : undefined,
    placeholders: r.placeholders,
    filter: { minLevel: r.minLevel, statuses: r.statuses, tags: r.tags, excludeRules: r.excludeRules },
    correlations: r.correlations,
    stories: r.stories,
    // Alerts show the whole event (the analyst opens it with the matched fields highlighted).
    fullEvents: true,
  });
}

export async function startServer(config: ServeConfig, opts: ServerOptions = {}): Promise<Server> {
  mkdirSync(config.data, { recursive: true });
  const plan = planFor(config);
  const log: IngestLog = opts.log ?? ((level, m) => (level === 'info' ? undefined : process.stderr.write(`firebreak serve: ${level}: ${m}\n`)));
  for (const e of plan.ruleErrors) if (e.code !== 'unresolved-placeholder') log('warn', `rule not loaded: ${e.format()}`);
  const wal = await WriteAheadLog.open({ dir: config.wal.dir, segmentBytes: config.wal.segmentBytes, groupCommitMs: config.wal.groupCommitMs, onWarning: (m) => log('warn', m) });
  const db = new StateDb(join(config.data, 'state.db'));
  let events: EventStore | undefined;
  let processor: Processor | undefined;
  let ingest: IngestHandle | undefined;
  try {
    if (config.storage.events && opts.openEvents) events = await opts.openEvents(join(config.data, 'events'));
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
      onErrors: (errors) => {
        for (const e of errors.slice(0, 5)) log('warn', `record ${e.source}${e.offset === null ? '' : '#' + e.offset}: ${e.message}`);
      },
    });
    processor.start();
    ingest = await startIngest(config, wal, { log });
  } catch (e) {
    await ingest?.close().catch(() => undefined);
    await processor?.stop().catch(() => undefined);
    await events?.close().catch(() => undefined);
    db.close();
    await wal.close().catch(() => undefined);
    throw e;
  }
  const p = processor;
  const i = ingest;
  let closing: Promise<void> | undefined;
  return {
    config,
    wal,
    db,
    events,
    plan,
    processor: p,
    ingest: i,
    close: () =>
      (closing ??= (async () => {
        await i.close();
        await p.stop();
        await events?.close();
        db.close();
        await wal.close();
      })()),
  };
}
