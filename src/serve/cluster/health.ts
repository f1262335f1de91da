/**
 * Cluster-wide health. Every node with PostgreSQL writes its counters to `node_health` every
 * `healthReportMs` (and at once after applying a rule change): its roles, the ingest listeners'
 * counters per source and refused requests, whether it refuses data (back-pressure), the detect
 * node's and correlate node's counters, the pipeline as the active correlate node sees it, what was
 * dropped, and the rules and ingest tokens revisions it runs. The row's time is PostgreSQL's
 * (`now()`), and its age is worked out there too, so a node's clock does not matter.
 *
 * An api node's `/api/health` and `/metrics` read every row: each node with the age of its report
 * (stale beyond `healthStaleReports` intervals: the node stopped or cannot reach PostgreSQL), and
 * the cluster's totals (sources, refused requests, drops summed over the nodes that are not
 * stale; the pipeline of the active correlate node) in the places the embedded server shows its
 * own.
 */
import { LIMITS } from '../../core/limits.js';
import { SerialTask } from '../../core/serial.js';
import type { ClusterNodeHealth, HealthSnapshot, NodeReport } from '../api/deps.js';
import type { IngestLog } from '../ingest/context.js';
import type { Sql } from '../store/sql.js';
import type { ClusterDb } from './pg.js';

export type { ClusterNodeHealth, NodeReport };

export interface HealthReporterOptions {
  db: ClusterDb;
  node: string;
  roles: readonly string[];
  collect: () => NodeReport;
  log: IngestLog;
  /** Default LIMITS.cluster.healthReportMs. */
  intervalMs?: number;
}

/** Writes this node's row every interval. */
export class HealthReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly writes = new SerialTask(
    () => this.write(),
    () => this.stopped,
  );
  private failing = false;
  private stopped = false;

  constructor(private readonly o: HealthReporterOptions) {}

  start(): void {
    this.report();
    this.timer = setInterval(() => this.report(), this.o.intervalMs ?? LIMITS.cluster.healthReportMs);
    this.timer.unref();
  }

  /** Writes the row now (once more after a write in progress). */
  report(): void {
    this.writes.run();
  }

  private async write(): Promise<void> {
    try {
      const report = JSON.stringify(this.o.collect());
      await this.o.db.pool.query(
        `INSERT INTO node_health (node, roles, started_at, reported_at, report) VALUES ($1, $2, $3, now(), $4)
         ON CONFLICT (node) DO UPDATE SET roles = excluded.roles, started_at = excluded.started_at, reported_at = excluded.reported_at, report = excluded.report`,
        [this.o.node, JSON.stringify(this.o.roles), this.startedAt, report],
      );
      // Nodes renamed or retired long ago.
      await this.o.db.pool.query("DELETE FROM node_health WHERE reported_at < now() - $1 * interval '1 millisecond'", [LIMITS.cluster.healthForgetMs]);
      if (this.failing) this.o.log('info', 'health: reporting to PostgreSQL again');
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.o.log('warn', `health: writing this node's counters to PostgreSQL failed (${(e as Error).message}); the api nodes show it as stale until it works again`);
      this.failing = true;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.writes.settled();
  }
}

/** Every node's last report, by name. */
export async function readClusterHealth(sql: Sql): Promise<ClusterNodeHealth[]> {
  const staleSeconds = (LIMITS.cluster.healthReportMs * LIMITS.cluster.healthStaleReports) / 1000;
  const rows = await sql.all<{ node: string; roles: string; started_at: string; reported_at: string; age: number; report: string }>(
    `SELECT node, roles, started_at, to_char(reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS reported_at,
            EXTRACT(EPOCH FROM (now() - reported_at))::float8 AS age, report
     FROM node_health ORDER BY node`,
  );
  const out: ClusterNodeHealth[] = [];
  for (const r of rows) {
    let report: NodeReport;
    let roles: string[];
    try {
      report = checkedReport(JSON.parse(r.report));
      const rs = JSON.parse(r.roles) as unknown;
      roles = Array.isArray(rs) ? rs.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      continue; // not written by a node (a row edited by hand): not shown
    }
    const age = Math.max(0, Number(r.age));
    out.push({ node: r.node, roles, startedAt: r.started_at, reportedAt: r.reported_at, ageSeconds: Math.round(age * 10) / 10, stale: age > staleSeconds, report });
  }
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
const counts = (v: unknown): Record<string, number> => (isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, count(x)])) : {});
const textOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * A report as read back, in the shape the API and metrics expect whatever the row holds (nodes
 * write it, but the table is anyone's with access to the database): unknown parts dropped,
 * counters that are not counts read as 0.
 */
export function checkedReport(v: unknown): NodeReport {
  const r = isObj(v) ? v : {};
  const sources = (Array.isArray(r.sources) ? r.sources : []).filter(isObj).map((x) => ({
    source: textOrNull(x.source) ?? '',
    protocol: (textOrNull(x.protocol) ?? '') as HealthSnapshot['sources'][number]['protocol'],
    accepted: count(x.accepted),
    rejected: count(x.rejected),
    bytes: count(x.bytes),
    lastAt: textOrNull(x.lastAt),
  }));
  const refused: HealthSnapshot['refused'] = {};
  if (isObj(r.refused)) for (const [p, c] of Object.entries(r.refused)) if (isObj(c)) refused[p as keyof typeof refused] = { auth: count(c.auth), busy: count(c.busy), errors: count(c.errors) };
  const p = isObj(r.pipeline) ? r.pipeline : null;
  const rules = isObj(r.rules) ? r.rules : null;
  const tokens = isObj(r.ingestTokens) ? r.ingestTokens : null;
  return {
    sources,
    refused,
    backpressure: r.backpressure === true,
    pipeline: p
      ? {
          eventsProcessed: count(p.eventsProcessed),
          detections: count(p.detections),
          suppressed: count(p.suppressed),
          late: count(p.late),
          watermark: textOrNull(p.watermark),
          lagMs: typeof p.lagMs === 'number' && Number.isFinite(p.lagMs) ? p.lagMs : null,
        }
      : null,
    drops: counts(r.drops),
    detect: isObj(r.detect) ? counts(r.detect) : null,
    correlate: isObj(r.correlate) ? Object.fromEntries(Object.entries(r.correlate).map(([k, x]) => [k, typeof x === 'string' || typeof x === 'number' ? x : null])) : null,
    rules: rules ? { revision: count(rules.revision), running: count(rules.running), error: textOrNull(rules.error) } : null,
    ingestTokens: tokens ? { revision: count(tokens.revision), active: count(tokens.active) } : null,
  };
}

/** The cluster's totals in the embedded server's terms, from the nodes that are not stale. */
export function clusterTotals(nodes: readonly ClusterNodeHealth[]): Pick<HealthSnapshot, 'sources' | 'refused' | 'backpressure' | 'pipeline' | 'drops'> {
  const sources = new Map<string, HealthSnapshot['sources'][number]>();
  const refused: HealthSnapshot['refused'] = {};
  const drops: Record<string, number> = {};
  let backpressure = false;
  let pipeline: HealthSnapshot['pipeline'] = { eventsProcessed: 0, detections: 0, suppressed: 0, late: 0, watermark: null, lagMs: null };
  for (const n of nodes) {
    if (n.stale) continue;
    const r = n.report;
    for (const s of r.sources) {
      const k = `${s.protocol}\u0000${s.source}`;
      const have = sources.get(k);
      if (!have) sources.set(k, { ...s });
      else {
        have.accepted += s.accepted;
        have.rejected += s.rejected;
        have.bytes += s.bytes;
        if (s.lastAt && (!have.lastAt || s.lastAt > have.lastAt)) have.lastAt = s.lastAt;
      }
    }
    for (const [p, c] of Object.entries(r.refused)) {
      if (!c) continue;
      const have = (refused[p as keyof typeof refused] ??= { auth: 0, busy: 0, errors: 0 });
      have.auth += c.auth;
      have.busy += c.busy;
      have.errors += c.errors;
    }
    for (const [k, v] of Object.entries(r.drops)) drops[k] = (drops[k] ?? 0) + v;
    backpressure ||= r.backpressure;
    if (r.pipeline) pipeline = r.pipeline;
  }
  return { sources: [...sources.values()], refused, backpressure, pipeline, drops };
}
