/**
 * Detections → alerts in the state database, as a pipeline stage. Alert hygiene: the same rule on
 * the same host within the suppression window is one alert with a count, not a thousand (window
 * configurable per rule); every suppression is counted. Idempotent: a detection already applied
 * (its identity is in `applied`) is skipped, so a batch replayed after a crash changes nothing.
 *
 * Single-event alerts are written as soon as their detection is matched (before the stages that
 * wait for event-time order), so an alert appears within a second of its event being
 * acknowledged; correlation alerts come from the correlation stage.
 */
import type { Statement } from 'better-sqlite3';
import { readAttackTags } from '../detections/attack.js';
import { ruleKey } from '../detections/convert.js';
import type { DetectionRecord } from '../detections/record.js';
import { eventTime, ObserverStage, type StageStats } from '../detections/stage.js';
import { defaultDomain } from '../events/domain.js';
import { LEVELS, type Level } from '../sigma/model.js';
import { accountsOf } from '../stories/entities.js';
import { now, type StateDb } from './store/db.js';

export interface SuppressionConfig {
  /** Detections of one rule on one host within this long of the alert's last one fold into it. */
  windowMs: number;
  /** Per rule (by id or title): its own window (0: every detection is its own alert). */
  rules?: Record<string, number>;
}

/** What the stage did, for health and metrics. */
export interface AlertCounters {
  created: number;
  folded: number;
  replayed: number;
}

/** Something to tell the live feed. */
export type AlertChange = { kind: 'alert-created' | 'alert-updated'; id: number; level: Level; host: string | null; rule: string };

const OPEN_CACHE = 50_000;

export class AlertStage extends ObserverStage {
  readonly name: string;
  readonly counters: AlertCounters = { created: 0, folded: 0, replayed: 0 };
  /** (rule, host) → the newest open alert's id and last event time (bounded; misses go to the database). */
  private readonly open = new Map<string, { id: number; last: number }>();
  private readonly changes: AlertChange[] = [];
  /** Detection → the alert it went into (for the stories, which link their alerts). */
  private readonly ids = new WeakMap<DetectionRecord, number>();
  private readonly q: Record<'openAlert' | 'claim' | 'fold' | 'insert' | 'applied' | 'seen', Statement>;

  constructor(
    private readonly db: StateDb,
    private readonly suppression: SuppressionConfig,
    /** Which detections this stage turns into alerts (e.g. single-event ones not hidden by a correlation). */
    private readonly accept: (d: DetectionRecord) => boolean,
    name = 'alerts',
  ) {
    super();
    this.name = name;
    // Prepared once: every detection runs some of these (preparing is far dearer than running).
    const d = db.db;
    this.q = {
      openAlert: d.prepare("SELECT id, last_seen FROM alerts WHERE rule_key = ? AND host IS ? AND status != 'closed' ORDER BY last_seen DESC LIMIT 1"),
      claim: d.prepare('INSERT OR IGNORE INTO applied (identity, alert_id, event_time) VALUES (?, ?, ?)'),
      fold: d.prepare('UPDATE alerts SET count = count + 1, suppressed = suppressed + 1, last_seen = max(last_seen, ?), updated_at = ? WHERE id = ?'),
      insert: d.prepare(
        `INSERT INTO alerts (key, rule_key, rule_id, rule_title, kind, level, host, users, tactics, techniques, first_seen, last_seen, count, detection, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
      ),
      applied: d.prepare('INSERT INTO applied (identity, alert_id, event_time) VALUES (?, ?, ?)'),
      seen: d.prepare('SELECT alert_id FROM applied WHERE identity = ?'),
    };
  }

  /** The alert a detection this stage applied (or found applied before) belongs to. */
  alertOf(d: DetectionRecord): number | undefined {
    return this.ids.get(d);
  }

  /** Changes since the last call (for the live feed), oldest first. */
  takeChanges(): AlertChange[] {
    return this.changes.splice(0);
  }

  protected observe(batch: readonly DetectionRecord[]): void {
    const want = batch.filter(this.accept);
    if (!want.length) return;
    this.db.tx(() => {
      for (const d of want) this.apply(d);
    });
  }

  stats(): StageStats {
    return { ...this.counters, cached: this.open.size };
  }

  private windowFor(d: DetectionRecord): number {
    const r = this.suppression.rules;
    const own = r ? (r[d.rule.id ?? ''] ?? r[d.rule.title]) : undefined;
    return own ?? this.suppression.windowMs;
  }

  private apply(d: DetectionRecord): void {
    const rk = ruleKey(d.rule);
    const identity = detectionIdentity(d, rk);
    const t = eventTime(d);
    const host = d.computer;
    const key = `${rk}\u0000${host ?? ''}`;
    const window = this.windowFor(d);
    let open = this.open.get(key);
    if (!open && window > 0) {
      const row = this.q.openAlert.get(rk, host) as { id: number; last_seen: string } | undefined;
      if (row) open = { id: row.id, last: Date.parse(row.last_seen) };
    }
    const fold = open !== undefined && window > 0 && !Number.isNaN(t) && t - open.last <= window && t >= open.last - window;
    if (fold) {
      const claimed = this.q.claim.run(identity, open!.id, d.timestamp);
      if (!claimed.changes) return void this.replayed(d, identity);
      this.q.fold.run(d.timestamp ?? now(), now(), open!.id);
      open!.last = Math.max(open!.last, t);
      this.ids.set(d, open!.id);
      this.remember(key, open!);
      this.counters.folded++;
      this.changes.push({ kind: 'alert-updated', id: open!.id, level: d.level, host: d.computer, rule: d.rule.title });
      return;
    }
    if (this.replayed(d, identity)) return;
    const { tactics, techniques } = readAttackTags(d.rule.tags);
    const users = accountsOf(d.event, host === null ? null : host.toLowerCase().split('.')[0]!, defaultDomain()).map((a) => a.display);
    const at = d.timestamp ?? now();
    const stamp = now();
    const r = this.q.insert.run(
      `${key}\u0000${identity}`,
      rk,
      d.rule.id,
      d.rule.title,
      d.rule.kind,
      d.level,
      d.computer,
      JSON.stringify(users),
      JSON.stringify(tactics),
      JSON.stringify(techniques),
      at,
      at,
      JSON.stringify(d),
      stamp,
      stamp,
    );
    const id = Number(r.lastInsertRowid);
    this.ids.set(d, id);
    this.q.applied.run(identity, id, d.timestamp);
    if (window > 0) this.remember(key, { id, last: Number.isNaN(t) ? Date.now() : t });
    this.counters.created++;
    this.changes.push({ kind: 'alert-created', id, level: d.level, host: d.computer, rule: d.rule.title });
  }

  /** A detection applied before (a replay after a restart): counted, linked, never applied twice. */
  private replayed(d: DetectionRecord, identity: string): boolean {
    const seen = this.q.seen.get(identity) as { alert_id: number } | undefined;
    if (!seen) return false;
    this.counters.replayed++;
    this.ids.set(d, seen.alert_id);
    return true;
  }

  private remember(key: string, v: { id: number; last: number }): void {
    this.open.delete(key);
    this.open.set(key, v);
    if (this.open.size > OPEN_CACHE) {
      const [oldest] = this.open.keys();
      if (oldest !== undefined) this.open.delete(oldest);
    }
  }
}

/**
 * A detection's identity, stable across a replay: a single-event detection by its event (the
 * source and log offset in `sourceFile`) and rule; a correlation detection by its rule, group and
 * window.
 */
export function detectionIdentity(d: DetectionRecord, rk = ruleKey(d.rule)): string {
  if (d.correlation) return `c\u0000${rk}\u0000${JSON.stringify(d.correlation.group)}\u0000${d.correlation.windowStart}\u0000${d.correlation.windowEnd}`;
  return `s\u0000${rk}\u0000${d.sourceFile}\u0000${d.recordId ?? ''}\u0000${d.timestamp ?? ''}`;
}

/** Levels from most to least severe, for sorting. */
export const SEVERITY_ORDER: readonly Level[] = [...LEVELS].reverse();
