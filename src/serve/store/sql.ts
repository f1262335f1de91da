/**
 * The state database as the API sees it: an asynchronous seam with two implementations, SQLite
 * here (`SqliteSql`, over the embedded server's `StateDb`, behaving as before) and PostgreSQL
 * (`PgSql` in ../cluster/pg-sql.ts, for the api role of a scaled-out server). The tables and
 * columns are the same in both (./db.ts, ../cluster/pg.ts); statements are written once, with `?`
 * placeholders, in the SQL both accept, and the few places the dialects differ go through
 * `Dialect` (JSON arrays, string aggregation, suffixes, case-insensitive LIKE).
 *
 * SQL text never contains a value: every value is a bound parameter.
 */
import { now, type StateDb } from './db.js';

/** How the SQL of the two databases differs, as expressions to splice into a statement. */
export interface Dialect {
  name: 'sqlite' | 'pg';
  /** A FROM item: the strings of the JSON array `expr` (at `key` of an object, if given), as `alias.value`. */
  jsonStrings(expr: string, alias: string, key?: string): string;
  /** A FROM item: the elements of the JSON array at `key` of the object `expr`, as `alias.value`. */
  jsonObjects(expr: string, alias: string, key: string): string;
  /** The text at `key` of a JSON object value (a `jsonObjects` element, or a JSON column). */
  jsonField(expr: string, key: string): string;
  /** The distinct values of `expr` joined with commas (an aggregate). */
  joinDistinct(expr: string): string;
  /** The last `n` characters of the text `expr` (`n` an expression). */
  suffix(expr: string, n: string): string;
  /** LIKE, case-insensitive for ASCII as SQLite's is. */
  like: string;
}

export const SQLITE: Dialect = {
  name: 'sqlite',
  jsonStrings: (expr, alias, key) => (key ? `json_each(${expr}, '$.${key}') ${alias}` : `json_each(${expr}) ${alias}`),
  jsonObjects: (expr, alias, key) => `json_each(${expr}, '$.${key}') ${alias}`,
  jsonField: (expr, key) => `json_extract(${expr}, '$.${key}')`,
  joinDistinct: (expr) => `group_concat(DISTINCT ${expr})`,
  suffix: (expr, n) => `substr(${expr}, -(${n}))`,
  like: 'LIKE',
};

/** What a write changed. */
export interface RunResult {
  changes: number;
}

/**
 * One connection's (or transaction's) view of the state database. Rows come back with the
 * embedded server's types: integers as numbers, texts as strings (U+0000 included).
 */
export interface Sql {
  readonly dialect: Dialect;
  get<T>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  run(sql: string, ...params: unknown[]): Promise<RunResult>;
  /** An INSERT into a table with an integer `id` key the database assigns; resolves with that id. */
  insertId(sql: string, ...params: unknown[]): Promise<number>;
  /**
   * Runs `f` in one transaction (`t` is the transaction's view: use it, not this one, inside).
   * Inside a transaction it simply joins it.
   */
  tx<T>(f: (t: Sql) => Promise<T>): Promise<T>;
  /** Bytes the database takes (health). */
  sizeBytes(): Promise<number>;
  /** Whether a failed statement broke a uniqueness rule (a primary key or unique index). */
  isUniqueViolation(e: unknown): boolean;
}

/** Appends to the audit trail (inside a transaction, pass the transaction's `Sql`). */
export async function auditRow(q: Sql, actor: string, action: string, target?: { kind: string; id: string | number }, detail: Record<string, unknown> = {}): Promise<void> {
  await q.run(
    'INSERT INTO audit (at, actor, action, target_kind, target_id, detail) VALUES (?, ?, ?, ?, ?, ?)',
    now(),
    actor,
    action,
    target?.kind ?? null,
    target === undefined ? null : String(target.id),
    JSON.stringify(detail),
  );
}

/** `?, ?, ?` for a list of values. */
export const marks = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/**
 * The embedded server's SQLite database behind the seam. Statements run synchronously (as
 * before); a transaction is BEGIN IMMEDIATE … COMMIT around `f`, or a savepoint inside one already
 * open (the processor's batch: see `StateDb.batch`, whose writes others join while it awaits).
 */
export class SqliteSql implements Sql {
  readonly dialect = SQLITE;
  private depth = 0;

  constructor(readonly state: StateDb) {}

  // Async so a failure is a rejection like PostgreSQL's; the statement still runs at once, when called.
  async get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return this.state.db.prepare(sql).get(...params) as T | undefined;
  }

  async all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return this.state.db.prepare(sql).all(...params) as T[];
  }

  async run(sql: string, ...params: unknown[]): Promise<RunResult> {
    return { changes: this.state.db.prepare(sql).run(...params).changes };
  }

  async insertId(sql: string, ...params: unknown[]): Promise<number> {
    return Number(this.state.db.prepare(sql).run(...params).lastInsertRowid);
  }

  async tx<T>(f: (t: Sql) => Promise<T>): Promise<T> {
    const db = this.state.db;
    const name = `api_tx_${++this.depth}`;
    const outer = !db.inTransaction;
    db.exec(outer ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${name}`);
    try {
      const out = await f(this);
      // The enclosing transaction may have committed while `f` awaited (then this work is in it).
      if (db.inTransaction) db.exec(outer ? 'COMMIT' : `RELEASE ${name}`);
      return out;
    } catch (e) {
      if (db.inTransaction) {
        try {
          db.exec(outer ? 'ROLLBACK' : `ROLLBACK TO ${name}; RELEASE ${name}`);
        } catch {
          // the savepoint went with a transaction that ended meanwhile
        }
      }
      throw e;
    } finally {
      this.depth--;
    }
  }

  async sizeBytes(): Promise<number> {
    return this.state.sizeBytes();
  }

  isUniqueViolation(e: unknown): boolean {
    const code = (e as { code?: unknown }).code;
    return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
  }
}

/** The seam over a state database (an `Sql` is used as it is). */
export function asSql(db: StateDb | Sql): Sql {
  return 'dialect' in db ? db : new SqliteSql(db);
}
