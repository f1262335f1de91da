/**
 * The rule catalogue over the state database: the bundled rules the server loaded, the rules
 * analysts uploaded (`uploaded_rules`, parsed again at start), and which are enabled
 * (`rule_state`; without a row, bundled rules follow `enabledByDefault` and uploads are off until
 * enabled). The pipeline reads `enabled()` and re-plans when `onChange` fires.
 *
 * The two tables are reached through `RuleStore`: the embedded server's SQLite (`SqliteRuleStore`,
 * read at every call) or a cluster's PostgreSQL (../../cluster/rules.ts: a copy refreshed when
 * another node changes them, after which `refresh()` parses uploads it has not seen).
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import type { RuleError } from '../../../core/errors.js';
import { ruleKey } from '../../../detections/convert.js';
import { DATA_DIR } from '../../../sigma/bundled.js';
import { parseRuleText, type RuleCollection } from '../../../sigma/collection.js';
import type { SigmaCorrelation, SigmaRule } from '../../../sigma/model.js';
import type { ParseOptions } from '../../../sigma/parse.js';
import { now, StateDb } from '../../store/db.js';
import type { CatalogRule, RuleCatalog, RuleUpload } from '../deps.js';

type Doc = SigmaRule | SigmaCorrelation;

export interface CatalogOptions {
  /** Whether a bundled rule with no stored state runs (default: all do). */
  enabledByDefault?: (rule: Doc) => boolean;
  /** Called after every change (enable, disable, upload), once it is stored. */
  onChange?: () => void;
  /** Placeholders for `|expand` in uploaded rules. */
  parse?: ParseOptions;
  /** Problems found re-reading stored uploads at start (e.g. a placeholder no longer defined). */
  onLoadError?: (e: RuleError) => void;
}

/** An uploaded rule file as stored. */
export interface UploadedRuleRow {
  id: string;
  file_name: string;
  yaml: string;
}

/** Where the catalogue keeps its changes: reads are synchronous (the API lists rules often), writes resolve once stored. */
export interface RuleStore {
  /** Enabled or not, by rule key (rules without a row follow their default). */
  states(): Map<string, boolean>;
  /** Uploaded files, oldest first. */
  uploads(): UploadedRuleRow[];
  setState(key: string, enabled: boolean, actor: string): Promise<void>;
  addUpload(row: UploadedRuleRow, actor: string): Promise<void>;
}

/** The embedded server's store: `rule_state` and `uploaded_rules` of its SQLite state database. */
export class SqliteRuleStore implements RuleStore {
  constructor(private readonly db: StateDb) {}

  states(): Map<string, boolean> {
    return new Map((this.db.db.prepare('SELECT rule_key, enabled FROM rule_state').all() as { rule_key: string; enabled: number }[]).map((r) => [r.rule_key, r.enabled !== 0]));
  }

  uploads(): UploadedRuleRow[] {
    return this.db.db.prepare('SELECT id, file_name, yaml FROM uploaded_rules ORDER BY uploaded_at, id').all() as UploadedRuleRow[];
  }

  async setState(key: string, enabled: boolean, actor: string): Promise<void> {
    this.db.db
      .prepare(
        'INSERT INTO rule_state (rule_key, enabled, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (rule_key) DO UPDATE SET enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = excluded.updated_at',
      )
      .run(key, enabled ? 1 : 0, actor, now());
  }

  async addUpload(row: UploadedRuleRow, actor: string): Promise<void> {
    this.db.db.prepare('INSERT INTO uploaded_rules (id, file_name, yaml, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?)').run(row.id, row.file_name, row.yaml, actor, now());
  }
}

/** The folder name uploaded rules' `file` starts with (their keys never collide with bundled paths). */
export const UPLOAD_PREFIX = 'uploaded/';

export class StateRuleCatalog implements RuleCatalog {
  private readonly docs = new Map<string, { doc: Doc; origin: 'bundled' | 'uploaded' }>();
  private readonly ids = new Set<string>();
  /** Upload ids already parsed. */
  private readonly seen = new Set<string>();
  private readonly store: RuleStore;

  constructor(
    db: StateDb | RuleStore,
    bundled: Pick<RuleCollection, 'rules' | 'correlations'>,
    private readonly opts: CatalogOptions = {},
  ) {
    this.store = db instanceof StateDb ? new SqliteRuleStore(db) : db;
    for (const d of [...bundled.rules, ...bundled.correlations]) this.add(d, 'bundled');
    this.refresh();
  }

  /**
   * Parses the stored uploads not parsed yet (all of them at start; in a cluster, those another
   * node stored). Problems go to `onLoadError`; the file's other rules are still added. Returns the
   * rules added.
   */
  refresh(): Doc[] {
    const added: Doc[] = [];
    for (const r of this.store.uploads()) {
      if (this.seen.has(r.id)) continue;
      this.seen.add(r.id);
      const col = parseRuleText(r.yaml, `${UPLOAD_PREFIX}${r.id}/${r.file_name}`, this.opts.parse);
      for (const e of col.errors) this.opts.onLoadError?.(e);
      for (const d of [...col.rules, ...col.correlations]) {
        this.add(d, 'uploaded');
        added.push(d);
      }
    }
    return added;
  }

  private add(doc: Doc, origin: 'bundled' | 'uploaded'): void {
    this.docs.set(ruleKey(doc), { doc, origin });
    if (doc.id) this.ids.add(doc.id);
    if (doc.name) this.ids.add(doc.name);
  }

  private state(): Map<string, boolean> {
    return this.store.states();
  }

  private describe(key: string, d: { doc: Doc; origin: 'bundled' | 'uploaded' }, state: Map<string, boolean>): CatalogRule {
    const doc = d.doc;
    const def = d.origin === 'bundled' ? (this.opts.enabledByDefault?.(doc) ?? true) : false;
    return {
      key,
      id: doc.id ?? null,
      title: doc.title,
      level: doc.level ?? 'medium',
      status: doc.status ?? null,
      kind: doc.kind === 'correlation' ? 'correlation' : 'sigma',
      tags: doc.tags,
      description: doc.description ?? null,
      logsource: doc.kind === 'rule' ? doc.logsource : null,
      file: shownPath(doc.file),
      origin: d.origin,
      enabled: state.get(key) ?? def,
    };
  }

  list(): CatalogRule[] {
    const state = this.state();
    return [...this.docs.entries()].map(([k, d]) => this.describe(k, d, state));
  }

  /** Every rule and correlation loaded, enabled or not (correlations draw their inputs from all). */
  all(): { rules: SigmaRule[]; correlations: SigmaCorrelation[]; errors: RuleError[] } {
    const rules: SigmaRule[] = [];
    const correlations: SigmaCorrelation[] = [];
    for (const d of this.docs.values()) {
      if (d.doc.kind === 'correlation') correlations.push(d.doc);
      else rules.push(d.doc);
    }
    return { rules, correlations, errors: [] };
  }

  /** The rules and correlations to run now. */
  enabled(): { rules: SigmaRule[]; correlations: SigmaCorrelation[] } {
    const state = this.state();
    const rules: SigmaRule[] = [];
    const correlations: SigmaCorrelation[] = [];
    for (const [k, d] of this.docs) {
      if (!this.describe(k, d, state).enabled) continue;
      if (d.doc.kind === 'correlation') correlations.push(d.doc);
      else rules.push(d.doc);
    }
    return { rules, correlations };
  }

  /** The parsed rule behind a key (to test it). */
  document(key: string): Doc | undefined {
    return this.docs.get(key)?.doc;
  }

  hasRuleId(id: string): boolean {
    return this.ids.has(id);
  }

  async setEnabled(key: string, enabled: boolean, actor: string): Promise<CatalogRule> {
    const d = this.docs.get(key);
    if (!d) throw new Error(`no rule with key ${JSON.stringify(key)}`);
    await this.store.setState(key, enabled, actor);
    this.opts.onChange?.();
    return this.describe(key, d, this.state());
  }

  async upload(file: RuleUpload, actor: string): Promise<CatalogRule[]> {
    const id = randomBytes(8).toString('hex');
    const col = parseRuleText(file.yaml, `${UPLOAD_PREFIX}${id}/${file.fileName}`, this.opts.parse);
    if (col.errors.length) throw col.errors[0]!;
    // Marked parsed first: a store that hears of its own write (a cluster's) must not parse it again.
    this.seen.add(id);
    try {
      await this.store.addUpload({ id, file_name: file.fileName, yaml: file.yaml }, actor);
    } catch (e) {
      this.seen.delete(id);
      throw e;
    }
    const docs = [...col.rules, ...col.correlations];
    for (const d of docs) this.add(d, 'uploaded');
    this.opts.onChange?.();
    const state = this.state();
    return docs.map((d) => this.describe(ruleKey(d), this.docs.get(ruleKey(d))!, state));
  }
}

/**
 * A rule file as the API shows it: a bundled file relative to the data folder
 * (`sigma/rules/windows/…/x.yml`), so the server's own paths are not shown; files from the
 * configuration's `rules.paths` and uploads as they are.
 */
function shownPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(DATA_DIR, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : file;
}
