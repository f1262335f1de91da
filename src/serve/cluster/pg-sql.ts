/**
 * The API's state-database seam (../store/sql.ts) over PostgreSQL, for the api role. Statements
 * are the ones the embedded server runs on SQLite: `?` placeholders become `$1…` (outside quoted
 * text), strings cross with U+0000 written as U+0001 '0' both ways (`toPg`/`fromPg`, as the
 * correlate node's mirror stores them), and 64-bit integers and sums come back as numbers, as
 * SQLite gives them.
 */
import pg from 'pg';
import type { Dialect, RunResult, Sql } from '../store/sql.js';
import { fromPg, inTransaction, toPg } from './pg.js';

export const POSTGRES: Dialect = {
  name: 'pg',
  jsonStrings: (expr, alias, key) => `json_array_elements_text((${expr})::json${key ? ` -> '${key}'` : ''}) AS ${alias}(value)`,
  jsonObjects: (expr, alias, key) => `json_array_elements((${expr})::json -> '${key}') AS ${alias}(value)`,
  jsonField: (expr, key) => `((${expr})::json ->> '${key}')`,
  joinDistinct: (expr) => `string_agg(DISTINCT ${expr}, ',')`,
  suffix: (expr, n) => `right(${expr}, ${n})`,
  like: 'ILIKE',
};

const INT8 = 20;
const NUMERIC = 1700;
/** count(*) and sums are bigint or numeric in PostgreSQL; the API's rows hold numbers (all far below 2^53). */
const number = (v: string): number => Number(v);
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8 || oid === NUMERIC ? number : (pg.types.getTypeParser(oid, format ?? 'text') as unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

/** `?` placeholders as `$1, $2…`, leaving quoted text and identifiers alone. */
export function positional(sql: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} in SQL: ${sql.slice(i, i + 40)}`);
      out += sql.slice(i, end + 1);
      i = end; // a doubled quote ('') is two literals back to back: the same text
    } else if (c === '?') out += `$${++n}`;
    else out += c;
  }
  return out;
}

const encode = (params: readonly unknown[]): unknown[] => params.map((p) => (typeof p === 'string' ? toPg(p) : p));

function decode<T>(rows: Record<string, unknown>[]): T[] {
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'string' && v.includes('\u0001')) r[k] = fromPg(v);
  return rows as T[];
}

export class PgSql implements Sql {
  readonly dialect = POSTGRES;

  /** Over a pool; `client`: inside a transaction on that connection. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly client?: pg.PoolClient,
  ) {}

  private async query(sql: string, params: readonly unknown[]): Promise<pg.QueryResult<Record<string, unknown>>> {
    const q: pg.QueryConfig = { text: positional(sql), values: encode(params), types: TYPES };
    return this.client ? this.client.query<Record<string, unknown>>(q) : this.pool.query<Record<string, unknown>>(q);
  }

  async get<T>(sql: string, ...params: unknown[]): Promise<T | undefined> {
    return decode<T>((await this.query(sql, params)).rows)[0];
  }

  async all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return decode<T>((await this.query(sql, params)).rows);
  }

  async run(sql: string, ...params: unknown[]): Promise<RunResult> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async insertId(sql: string, ...params: unknown[]): Promise<number> {
    const r = await this.query(`${sql} RETURNING id`, params);
    return Number(r.rows[0]!.id);
  }

  async tx<T>(f: (t: Sql) => Promise<T>): Promise<T> {
    if (this.client) return f(this);
    return inTransaction(this.pool, (c) => f(new PgSql(this.pool, c)));
  }

  async sizeBytes(): Promise<number> {
    return (await this.get<{ n: number }>('SELECT pg_database_size(current_database()) AS n'))?.n ?? 0;
  }

  isUniqueViolation(e: unknown): boolean {
    return (e as { code?: unknown }).code === '23505';
  }
}
