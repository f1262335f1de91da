/**
 * SQL search is a door into the server: whoever holds an analyst's credentials writes SQL that
 * runs inside the store process. Four layers keep that SQL to reading events (docs/serve.md
 * "Search"):
 *
 * 1. The engine itself: the store's DuckDB instance runs with external access disabled (no file,
 *    no network, no ATTACH, no COPY, no extension install or load), extension autoloading off,
 *    persistent secrets off, a memory limit, a bounded spill directory, and its configuration
 *    locked, so no statement can undo any of that. The writer needs none of it: appenders,
 *    CREATE/DROP TABLE and CHECKPOINT touch only the store's own file.
 * 2. DuckDB's own parser: the text must be exactly one statement, and that statement must be a
 *    SELECT (`extractStatements`, then `json_serialize_sql`, which serialises only SELECTs).
 * 3. The parsed tree (DuckDB's, as JSON) may read only the `events` view, its day tables and its
 *    own CTEs; it may call only a few table functions (range, generate_series, unnest, json_each,
 *    json_tree), and no function that reads settings, variables, sequences or sleeps.
 * 4. The prepared statement's type is checked again (SELECT), and it runs with a time limit
 *    (interrupt), a row cap and a result-size cap. The store process's address space is capped
 *    (src/serve/store/events.ts), so even an allocation outside DuckDB's memory limit fails as a
 *    query error instead of taking the server down.
 */
import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { FirebreakError } from '../../core/errors.js';
import { parseDayTable } from './schema.js';

/** A search refused or stopped. Codes: search-refused, search-syntax, search-timeout, search-memory, search-busy, search-error. */
export class SearchError extends FirebreakError {}

export interface EngineOptions {
  memoryBytes: number;
  tempDir: string;
  tempBytes: number;
  threads: number;
}

/** The DuckDB configuration of the store's instance (set at creation, then locked). */
export function engineConfig(o: EngineOptions): Record<string, string> {
  return {
    memory_limit: `${Math.max(1, Math.floor(o.memoryBytes / 1024 / 1024))}MiB`,
    threads: String(o.threads),
    temp_directory: o.tempDir,
    max_temp_directory_size: `${Math.max(1, Math.floor(o.tempBytes / 1024 / 1024))}MiB`,
    enable_external_access: 'false',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    allow_unsigned_extensions: 'false',
    allow_persistent_secrets: 'false',
    enable_external_file_cache: 'false',
    // Last: from here on, SET / RESET / PRAGMA cannot change any of the above.
    lock_configuration: 'true',
  };
}

/** Table functions a search may call: they produce values, they read nothing. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['range', 'generate_series', 'unnest', 'json_each', 'json_tree']);

/**
 * Scalar functions a search may not call: they read the engine's settings or variables (paths of
 * the data directory), touch sequences, sleep on a thread the time limit cannot wake, write to
 * DuckDB's log, or run serialised SQL.
 */
export const DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  'current_setting',
  'getvariable',
  'getenv',
  'nextval',
  'currval',
  'setseed',
  'sleep_ms',
  'pg_sleep',
  'write_log',
  'which_secret',
  'json_execute_serialized_sql',
]);

/** The relations a search may name: the view and its day tables. */
export function isEventRelation(name: string): boolean {
  return name === 'events' || parseDayTable(name) != null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Line and column of a character offset DuckDB reported (it uses 2^64−1 for "unknown"). */
function where(sql: string, loc: unknown): string {
  if (typeof loc !== 'number' || !Number.isSafeInteger(loc) || loc < 0 || loc > sql.length) return '';
  const before = sql.slice(0, loc);
  const line = before.split('\n').length;
  return ` (line ${line}, column ${loc - before.lastIndexOf('\n')})`;
}

function refuse(message: string): never {
  throw new SearchError('search-refused', message);
}

/**
 * Check one statement's parse tree (`json_serialize_sql` output) against the rules above; throws
 * SearchError `search-refused` naming what was refused and where. CTE names are scoped as DuckDB
 * scopes them: a CTE is visible to the CTEs after it and to its query, and to itself only when
 * recursive, so a name that DuckDB would resolve to a catalog object is always checked as one.
 */
export function checkTree(statement: unknown, sql: string): void {
  walk(statement, new Set(), sql);
}

function walk(v: unknown, scope: ReadonlySet<string>, sql: string): void {
  if (Array.isArray(v)) {
    for (const x of v) walk(x, scope, sql);
    return;
  }
  if (!isObj(v)) return;
  let s = scope;
  const map = isObj(v.cte_map) && Array.isArray(v.cte_map.map) ? (v.cte_map.map as unknown[]) : null;
  if (map) {
    const local = new Set(scope);
    for (const entry of map) {
      if (!isObj(entry)) continue;
      walk(entry.value, local, sql);
      local.add(str(entry.key).toLowerCase());
    }
    s = local;
  }
  const type = str(v.type);
  if (type === 'RECURSIVE_CTE_NODE') s = new Set([...s, str(v.cte_name).toLowerCase()]);
  switch (type) {
    case 'BASE_TABLE':
      checkRelation(str(v.catalog_name), str(v.schema_name), str(v.table_name), s, sql, v.query_location);
      break;
    case 'TABLE_FUNCTION': {
      const fn = isObj(v.function) ? str(v.function.function_name).toLowerCase() : '';
      if (!ALLOWED_TABLE_FUNCTIONS.has(fn)) {
        refuse(
          `${fn || 'this table function'}() is not allowed in search${where(sql, v.query_location)}: a search reads the events view; the table functions it may call are ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')}`,
        );
      }
      break;
    }
    case 'SHOW_REF': {
      const kind = str(v.show_type);
      if (str(v.table_name) !== '' || (kind !== 'DESCRIBE' && kind !== 'SUMMARY')) refuse(`SHOW is not allowed in search; DESCRIBE events lists the columns`);
      break;
    }
    case 'PIVOT':
      if (str(v.source_table)) checkRelation('', '', str(v.source_table), s, sql, v.query_location);
      break;
    default:
      break;
  }
  if (typeof v.function_name === 'string' && type !== 'TABLE_FUNCTION') {
    const fn = v.function_name.toLowerCase();
    if (DENIED_FUNCTIONS.has(fn)) refuse(`${fn}() is not allowed in search${where(sql, v.query_location)}: it reads the engine's state or changes it`);
  }
  for (const [k, x] of Object.entries(v)) if (k !== 'cte_map') walk(x, s, sql);
}

function checkRelation(catalog: string, schema: string, table: string, scope: ReadonlySet<string>, sql: string, loc: unknown): void {
  const name = table.toLowerCase();
  const qualified = catalog !== '' || (schema !== '' && schema.toLowerCase() !== 'main');
  if (!qualified && !schema && scope.has(name)) return;
  if (!qualified && isEventRelation(name)) return;
  const shown = [catalog, schema, table].filter(Boolean).join('.');
  refuse(`${shown} is not readable by search${where(sql, loc)}: a search reads the events view (or one day, events_YYYYMMDD)`);
}

/** DuckDB's message without the binding's wrapper text. */
export function duckMessage(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/^Failed to (?:extract statements|prepare|execute)[^:]*: /, '');
}

/**
 * Parse, check and prepare one search statement on `conn` (a connection of the locked instance).
 * Throws SearchError: `search-syntax` for what DuckDB cannot parse, `search-refused` for what the
 * rules forbid (including what the engine itself refuses while binding, e.g. a file it may not
 * read), `search-error` for other binding errors (an unknown column).
 */
export async function prepareSearch(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  // A plain answer for what is plainly not a query (DuckDB fails some of these, such as an
  // unknown PRAGMA, before it can say what they are); the checks below decide the rest.
  const word = leadingKeyword(sql);
  if (NOT_QUERIES.has(word)) refuse(`only a SELECT may run in search; ${word} is not allowed`);
  if (skipComments(sql) === sql.length) refuse('no statement: write one SELECT');
  let count: number;
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
    count = extracted.count;
  } catch (e) {
    const msg = duckMessage(e);
    // The binding's own wording when DuckDB's splitter fails without a message.
    throw new SearchError('search-syntax', /^Error in native callback$/.test(msg) ? 'DuckDB could not split the text into statements (syntax error)' : msg, { cause: e });
  }
  if (count === 0) refuse('no statement: write one SELECT');
  if (count > 1) refuse(`one statement at a time: DuckDB's parser found ${count} (a PIVOT without IN values is also several)`);
  const tree = await serialize(conn, sql);
  if (!tree.ok) {
    if (/only select/i.test(tree.message)) {
      const word = leadingKeyword(sql);
      refuse(`only a SELECT may run in search; ${word && word !== 'WITH' ? `${word} is not allowed` : await statementKind(extracted.prepare(0))}`);
    }
    throw new SearchError('search-syntax', tree.message);
  }
  checkTree(tree.statement, sql);
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await extracted.prepare(0);
  } catch (e) {
    const msg = duckMessage(e);
    throw new SearchError(/^Permission Error/.test(msg) ? 'search-refused' : 'search-error', msg, { cause: e });
  }
  if (prepared.statementType !== StatementType.SELECT) {
    prepared.destroySync();
    refuse(`only a SELECT may run in search; this is a ${StatementType[prepared.statementType] ?? 'non-SELECT'} statement`);
  }
  return prepared;
}

/** First words of statements that never read: refused before DuckDB parses them. */
const NOT_QUERIES: ReadonlySet<string> = new Set(
  'ALTER ANALYZE ATTACH BEGIN CALL CHECKPOINT COMMENT COMMIT COPY CREATE DEALLOCATE DELETE DETACH DROP EXECUTE EXPLAIN EXPORT FORCE IMPORT INSERT INSTALL LOAD MERGE PRAGMA PREPARE RESET ROLLBACK SET TRUNCATE UPDATE USE VACUUM'.split(
    ' ',
  ),
);

/** Index of the first character after leading blanks and comments (a linear scan: no regex to backtrack on hostile text). */
function skipComments(sql: string): number {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') i++;
    else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return i;
      i = end + 2;
    } else return i;
  }
  return i;
}

/** The statement's first word (after comments), upper-cased. */
export function leadingKeyword(sql: string): string {
  const at = skipComments(sql);
  const m = /^[A-Za-z]+/.exec(sql.slice(at, at + 64));
  return m ? m[0].toUpperCase() : '';
}

/** What the statement is, for a refusal message only (the parser already decided it is not a SELECT). */
async function statementKind(p: Promise<DuckDBPreparedStatement>): Promise<string> {
  try {
    const prepared = await p;
    const t = prepared.statementType;
    prepared.destroySync();
    // DuckDB rewrites some PRAGMA and SHOW statements into SELECTs over catalog functions.
    return t === StatementType.SELECT ? 'this is a PRAGMA or SHOW statement' : `this is a ${StatementType[t] ?? 'non-SELECT'} statement`;
  } catch (e) {
    return `this statement is not one (and DuckDB refused to prepare it: ${duckMessage(e)})`;
  }
}

type Serialized = { ok: true; statement: unknown } | { ok: false; message: string };

/** DuckDB's parse tree of `sql` (json_serialize_sql parses only; nothing is bound or run). */
async function serialize(conn: DuckDBConnection, sql: string): Promise<Serialized> {
  const r = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const text = r.getRowsJson()[0]?.[0];
  const parsed = JSON.parse(typeof text === 'string' ? text : '{}') as { error?: boolean; error_message?: string; statements?: unknown[] };
  if (parsed.error || !Array.isArray(parsed.statements)) return { ok: false, message: parsed.error_message ?? 'DuckDB could not parse the query' };
  if (parsed.statements.length !== 1) return { ok: false, message: `expected one statement, found ${parsed.statements.length}` };
  return { ok: true, statement: parsed.statements[0] };
}
