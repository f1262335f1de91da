/**
 * The scale-out scenario shared by the cluster tests: a reference run of the embedded server over
 * the sample intrusion, the cluster's node configurations, sending the sample, and what "the same
 * alerts and stories" means, read from SQLite or PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { connect } from 'nats';
import pg from 'pg';
import { parseServeConfig } from '../../../src/serve/config.js';
import { startServer } from '../../../src/serve/server.js';
import { TOKENS, until } from '../ingest-helpers.js';
import { sampleDocs } from '../sample.js';

/** Processing settings of both the reference and the cluster (the whole sample is within the replay window). */
export const PROCESSING = 'processing: { threads: 1, idleFlushSeconds: 0.5, allowedLatenessSeconds: 5, replayMinutes: 10080 }';

/**
 * What must be equal: every alert (rule, host, count, times) and every story (its hosts, patient
 * zero, level and title); the stories' scores must be close (see `sameStories`).
 */
export interface Summary {
  alerts: string[];
  stories: string[];
  /** Each story's score, in the order of `stories`. */
  scores: number[];
  /** Alerts linked to a story. */
  linked: number;
  /** Detections folded into alerts. */
  folded: number;
}

type AlertRow = { kind: string; rule_title: string; host: string | null; count: number; first_seen: string; last_seen: string; suppressed: number; story_id: string | null };
type StoryRow = { id: string; patient_zero: string | null; story: string; score: number; level: string; title: string };

export function summarise(alerts: AlertRow[], stories: StoryRow[]): Summary {
  const storyLine = (s: StoryRow) => {
    const hosts = (JSON.parse(s.story) as { hosts: { computer: string }[] }).hosts.map((h) => h.computer).sort();
    return `${s.patient_zero}|${hosts.join(',')}|${s.level}|${s.title}`;
  };
  const sorted = stories.map((s) => ({ line: storyLine(s), score: s.score })).sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : a.score - b.score));
  return {
    alerts: alerts.map((a) => `${a.kind}|${a.rule_title}|${a.host}|${a.count}|${a.first_seen}|${a.last_seen}`).sort(),
    stories: sorted.map((s) => s.line),
    scores: sorted.map((s) => s.score),
    linked: alerts.filter((a) => a.story_id !== null).length,
    folded: alerts.reduce((n, a) => n + Number(a.suppressed), 0),
  };
}

const ALERTS = 'SELECT kind, rule_title, host, count, first_seen, last_seen, suppressed, story_id FROM alerts';
const STORIES = 'SELECT id, patient_zero, story, score, level, title FROM stories WHERE merged_into IS NULL';

/** The summary of what a cluster wrote to PostgreSQL. */
export async function pgSummary(url: string): Promise<Summary> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const alerts = (await c.query<AlertRow>(ALERTS)).rows;
    const stories = (await c.query<StoryRow>(STORIES)).rows;
    return summarise(alerts, stories);
  } finally {
    await c.end();
  }
}

/**
 * Waits until the cluster has done all it was given: the events stream is empty (every message
 * matched and acknowledged) and the correlate node's progress in PostgreSQL is past its last
 * message. `describe` says what the nodes said, for the message when it does not happen.
 */
export async function clusterCaughtUp(natsUrls: string[], pgUrl: string, describe: () => string, limitMs = 240_000, prefix = 'FIREBREAK'): Promise<void> {
  const nc = await connect({ servers: natsUrls });
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  try {
    const jsm = await nc.jetstreamManager();
    await until(
      async () => {
        const st = (await jsm.streams.info(`${prefix}_EVENTS`).catch(() => null))?.state;
        if (!st || st.messages > 0) return false;
        const row = (await c.query<{ next_seq: string }>("SELECT next_seq FROM correlator WHERE name = 'correlate'").catch(() => ({ rows: [] }))).rows[0];
        return !!row && Number(row.next_seq) > st.last_seq;
      },
      'the cluster to catch up',
      limitMs,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${describe()}`);
    });
  } finally {
    await c.end();
    await nc.close();
  }
}

/** Sends the sample through the bulk API as Winlogbeat would (in order, one request at a time); resolves with what was acknowledged. */
export async function sendSample(port: number, docs: Record<string, unknown>[] = sampleDocs()): Promise<{ successful: number; failed: number }> {
  const client = new Client({ node: `http://127.0.0.1:${port}`, auth: { username: 'elastic', password: TOKENS.elastic }, maxRetries: 20, requestTimeout: 60_000 });
  const stats = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'winlogbeat-8' } }), flushBytes: 64 * 1024, concurrency: 1, retries: 20, wait: 1000 });
  await client.close();
  return { successful: stats.successful, failed: stats.failed };
}

/** Waits until `read` gives the same answer for `quietMs` (the pipeline has settled). */
export async function settled<T>(read: () => Promise<T>, what: string, quietMs = 3000, limitMs = 300_000): Promise<T> {
  let last = JSON.stringify(await read());
  let since = Date.now();
  const t0 = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await read();
    const j = JSON.stringify(now);
    if (j !== last) {
      last = j;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
    if (Date.now() - t0 > limitMs) throw new Error(`gave up waiting for ${what} to settle`);
  }
}

/** The embedded server over the sample: the reference every cluster run must equal. */
export async function referenceRun(): Promise<Summary> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-ref-'));
  const file = join(dir, 'serve.yml');
  writeFileSync(
    file,
    `data: ${dir}/data
listeners:
  elastic: { listen: 127.0.0.1:0 }
tokens:
  - { source: winlogbeat, secret: ${TOKENS.elastic}, protocols: [elastic] }
${PROCESSING}
storage: { events: false }
`,
  );
  const server = await startServer(parseServeConfig(readFileSync(file, 'utf8'), file), { log: () => undefined });
  try {
    const docs = sampleDocs();
    const sent = await sendSample(server.ingest.addresses.elastic!.port, docs);
    if (sent.successful !== docs.length) throw new Error(`reference: ${sent.failed} documents not acknowledged`);
    await until(() => server.processor.stats().processedOffset >= docs.length, 'the reference processed the sample', 300_000);
    return await settled(async () => summarise(server.db.db.prepare(ALERTS).all() as AlertRow[], server.db.db.prepare(STORIES).all() as StoryRow[]), 'the reference');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A node's configuration file (every node of the cluster shares all but its name, roles and folder). */
export function nodeConfig(dir: string, name: string, roles: string[], o: { natsUrls: string[]; pgUrl: string; elasticPort: number; prefix?: string; extra?: string; eventsDir?: string }): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(
    file,
    `data: ${dir}/${name}
listeners:
  elastic: { listen: 127.0.0.1:${o.elasticPort} }
tokens:
  - { source: winlogbeat, secret: ${TOKENS.elastic}, protocols: [elastic] }
${PROCESSING}
storage: { events: ${o.eventsDir ? 'true' : 'false'} }
cluster:
  roles: [${roles.join(', ')}]
  node: ${name}
${o.eventsDir ? `  eventsDir: ${o.eventsDir}\n` : ''}  nats: { servers: [${o.natsUrls.map((u) => `"${u}"`).join(', ')}], prefix: ${o.prefix ?? 'FIREBREAK'}, replicas: 3, partitions: 8, ackWaitSeconds: 5, leaseSeconds: 3, eventsMaxBytes: 268435456, detectionsMaxBytes: 268435456 }
  postgres: { url: "${o.pgUrl}" }
${o.extra ?? ''}`,
  );
  return file;
}

/**
 * The stories' scores may differ a little: a story's moves are judged routine or not with what the
 * routine facts have taught so far (src/stories/judge.ts), and how far facts run ahead of the
 * detections released by the watermark depends on batching (the embedded server: its log batches;
 * a cluster: the least advanced partition holds the watermark back). The same story must score
 * within SCORE_TOLERANCE of the embedded server's.
 */
export const SCORE_TOLERANCE = 0.05;

export function sameStories(got: Summary, reference: Summary, what = 'the stories'): void {
  assert.deepEqual(got.stories, reference.stories, what);
  got.scores.forEach((score, i) => {
    const ref = reference.scores[i]!;
    assert.ok(Math.abs(score - ref) <= SCORE_TOLERANCE * ref, `${what}: ${got.stories[i]} scores ${score}, the embedded server's ${ref} (more than ${SCORE_TOLERANCE * 100}% apart)`);
  });
}
