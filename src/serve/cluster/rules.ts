/**
 * Rule changes from the console in a cluster. An api node enables, disables or uploads a rule as
 * the embedded server does (the same catalogue, lint and audit trail), with the changes kept in
 * PostgreSQL's `rule_state` and `uploaded_rules`; each change raises the `rules` revision and
 * sends a notice on `firebreak_rules` (./watch.ts). Detect nodes and the correlate node follow:
 * they read the tables again, parse uploads they have not seen, and rebuild their rule set as the
 * embedded server does when its catalogue changes (new detection workers compile the rules while
 * the old ones go on matching, then take over; the correlate node's alert stage learns which
 * rules only feed correlations). A node starting later reads the same tables, so it runs the same
 * rules. Api nodes follow too, so every api node lists the same rules.
 *
 * What a node cannot apply is reported, and it keeps running what it has: an upload that no longer
 * parses on this node (a placeholder its configuration lacks) is logged and its other rules are
 * taken; a rule set whose workers cannot start is logged and the previous rules keep running.
 * Both show in the node's health row (./health.ts).
 */
import type { ServeConfig } from '../config.js';
import type { IngestLog } from '../ingest/context.js';
import { StateRuleCatalog, type RuleStore, type UploadedRuleRow } from '../api/rules/catalog.js';
import { catalogFor, loadRules, planFor } from '../server.js';
import { now } from '../store/db.js';
import type { DetectionPlan } from '../../pipeline/plan.js';
import type { ClusterDb } from './pg.js';
import { bumpRevision, readRevision } from './pg.js';
import { PgSql } from './pg-sql.js';
import { RevisionFollower } from './watch.js';

export const RULES_CHANNEL = 'firebreak_rules';
const REVISION = 'rules';

/** `rule_state` and `uploaded_rules` in PostgreSQL, with a copy in memory the catalogue reads. */
export class PgRuleStore implements RuleStore {
  private state = new Map<string, boolean>();
  private rows: UploadedRuleRow[] = [];
  private readonly sql: PgSql;

  constructor(
    db: ClusterDb,
    private readonly node: string,
  ) {
    this.sql = new PgSql(db.pool);
  }

  /** Reads the tables (the revision first: what is read is at least that revision); resolves with the revision. */
  async load(): Promise<number> {
    const revision = await readRevision(this.sql, REVISION);
    const states = await this.sql.all<{ rule_key: string; enabled: number }>('SELECT rule_key, enabled FROM rule_state');
    const rows = await this.sql.all<UploadedRuleRow>('SELECT id, file_name, yaml FROM uploaded_rules ORDER BY uploaded_at, id');
    this.state = new Map(states.map((r) => [r.rule_key, Number(r.enabled) !== 0]));
    this.rows = rows;
    return revision;
  }

  states(): Map<string, boolean> {
    return this.state;
  }

  uploads(): UploadedRuleRow[] {
    return this.rows;
  }

  async setState(key: string, enabled: boolean, actor: string): Promise<void> {
    await this.sql.tx(async (t) => {
      await t.run(
        'INSERT INTO rule_state (rule_key, enabled, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (rule_key) DO UPDATE SET enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = excluded.updated_at',
        key,
        enabled ? 1 : 0,
        actor,
        now(),
      );
      await bumpRevision(t, REVISION, RULES_CHANNEL, this.node);
    });
    await this.load();
  }

  async addUpload(row: UploadedRuleRow, actor: string): Promise<void> {
    await this.sql.tx(async (t) => {
      await t.run('INSERT INTO uploaded_rules (id, file_name, yaml, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?)', row.id, row.file_name, row.yaml, actor, now());
      await bumpRevision(t, REVISION, RULES_CHANNEL, this.node);
    });
    await this.load();
  }
}

/** What a node reports about its rules (health). */
export interface RulesHealth {
  /** The `rules` revision this node runs. */
  revision: number;
  /** Rules it runs (detect and correlate nodes; the catalogue's enabled rules on an api node). */
  running: number;
  /** The last problem applying a change (an upload that did not parse here, workers that could not start), or null. */
  error: string | null;
}

/** The catalogue over PostgreSQL, following the other nodes' changes. */
export class ClusterRules {
  private follower: RevisionFollower | undefined;

  private constructor(
    readonly store: PgRuleStore,
    readonly catalog: StateRuleCatalog,
    private readonly config: ServeConfig,
    private readonly db: ClusterDb,
    private readonly log: IngestLog,
    readonly health: RulesHealth,
  ) {}

  /** Loads the configuration's rules and the stored changes. */
  static async open(config: ServeConfig, db: ClusterDb, log: IngestLog): Promise<ClusterRules> {
    const store = new PgRuleStore(db, config.cluster!.node);
    const revision = await store.load();
    const health: RulesHealth = { revision, running: 0, error: null };
    // Uploads that do not parse here are reported in the log and in health.
    const catalog = catalogFor(config, store, loadRules(config, log), (level, m) => {
      log(level, m);
      if (level !== 'info') health.error = m;
    });
    health.running = catalog.enabled().rules.length;
    return new ClusterRules(store, catalog, config, db, log, health);
  }

  /** The rule set to run now. */
  plan(): DetectionPlan {
    return planFor(this.config, this.catalog);
  }

  /**
   * Follows changes made elsewhere: each is read and, with `apply`, the node's rule set rebuilt
   * (resolves once it runs; rejects when it cannot start: the previous one keeps running).
   * `onApplied` is told after each (a health report). Without `apply` (an api node) only the
   * catalogue is brought up to date.
   */
  async follow(apply?: (plan: DetectionPlan) => Promise<void>, onApplied?: () => void): Promise<void> {
    const sql = new PgSql(this.db.pool);
    this.follower = new RevisionFollower({
      what: 'rules',
      channel: RULES_CHANNEL,
      connect: () => this.db.client(),
      revision: () => readRevision(sql, REVISION),
      log: this.log,
      apply: async () => {
        const revision = await this.store.load();
        if (revision === this.health.revision) return revision;
        this.health.error = null;
        const added = this.catalog.refresh();
        if (apply) {
          const plan = this.plan();
          try {
            await apply(plan);
            this.health.running = plan.rules.length - plan.feederKeys.size;
            this.log('info', `rules: revision ${revision} applied (${this.health.running} rules run${added.length ? `, ${added.length} uploaded rules read` : ''})`);
          } catch (e) {
            this.health.error = `rules of revision ${revision} could not be started, the previous ones keep running: ${(e as Error).message}`;
            this.log('error', this.health.error);
          }
        } else this.health.running = this.catalog.enabled().rules.length;
        this.health.revision = revision;
        onApplied?.();
        return revision;
      },
    });
    await this.follower.start(this.health.revision);
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }
}
