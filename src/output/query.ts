/**
 * Run one SQL query against a hunt database (read-only) and stream the result as an aligned
 * table, CSV or JSON. Used by `firebreak query`; the CLI only parses arguments.
 *
 * Every value printed may be attacker-controlled event text. The table format is for a
 * terminal, so control characters and bidirectional overrides are shown as escapes (an event
 * field must not be able to move the cursor, recolour or reorder what the analyst reads); CSV
 * gets the same formula guard as the timeline; JSON is escaped by `JSON.stringify`.
 */
import { existsSync, statSync } from 'node:fs';
import { DuckDBInstance, DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import { FirebreakError } from '../core/errors.js';
import { csvField, csvRow } from './csv.js';

export type QueryFormat = 'table' | 'csv' | 'json';
export const QUERY_FORMATS: readonly QueryFormat[] = ['table', 'csv', 'json'];

/** Rows the table format holds to compute column widths; later rows are only counted. */
export const TABLE_MAX_ROWS = 10_000;
/** Widest cell in the table format, in characters; longer text ends with `…`. */
export const TABLE_MAX_CELL = 80;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Kind = 'number' | 'json' | 'other';

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

function kindOf(t: DuckDBType): Kind {
  if (t.alias === 'JSON') return 'json';
  return NUMERIC.has(t.typeId) ? 'number' : 'other';
}

/** Where query output goes (a writable stream; awaited on backpressure). */
export interface QueryOutput {
  write(text: string): boolean;
  once(event: 'drain', cb: () => void): unknown;
}

/**
 * Run `sql` on the database at `path` and write the result to `out`; resolves to the number of
 * rows. Throws FirebreakError `db-missing`, `db-open` or `query` with DuckDB's message.
 */
export async function runQuery(path: string, sql: string, format: QueryFormat, out: QueryOutput): Promise<number> {
  if (!existsSync(path)) throw new FirebreakError('db-missing', `${path}: no such file`);
  if (statSync(path).isDirectory()) throw new FirebreakError('db-open', `${path}: is a directory, not a database`);
  let instance: DuckDBInstance;
  try {
    // Read-only: a query must never alter the evidence database.
    instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  } catch (e) {
    throw new FirebreakError('db-open', `cannot open ${path}: ${cleanMessage(e)}`, { cause: e });
  }
  const conn = await instance.connect();
  try {
    let result;
    try {
      result = await conn.stream(sql);
    } catch (e) {
      throw new FirebreakError('query', cleanMessage(e), { cause: e });
    }
    const names = result.deduplicatedColumnNames();
    const kinds = result.columnTypes().map(kindOf);
    const chunks = async function* (): AsyncGenerator<Json[][]> {
      try {
        for await (const rows of result.yieldRowsJson()) yield rows;
      } catch (e) {
        throw new FirebreakError('query', cleanMessage(e), { cause: e });
      }
    };
    const w = writer(out);
    if (format === 'table') return await writeTable(names, kinds, chunks(), w);
    if (format === 'csv') return await writeCsv(names, kinds, chunks(), w);
    return await writeJson(names, kinds, chunks(), w);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** DuckDB's message without the binding's wrapper text. */
function cleanMessage(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/^Failed to (?:extract statements|prepare|execute)[^:]*: /, '');
}

type Write = (text: string) => Promise<void> | void;

function writer(out: QueryOutput): Write {
  return (text) => {
    if (!out.write(text)) return new Promise<void>((r) => out.once('drain', r));
  };
}

async function writeCsv(names: string[], kinds: Kind[], chunks: AsyncIterable<Json[][]>, w: Write): Promise<number> {
  await w(csvRow(names));
  let n = 0;
  for await (const rows of chunks) {
    let text = '';
    for (const row of rows) {
      // Numbers are written as DuckDB formats them (no quoting needed), so the formula guard
      // never turns a negative number into text and DECIMALs keep their digits.
      text += row.map((v, i) => (v == null ? '' : kinds[i] === 'number' ? String(v as number) : csvField(typeof v === 'string' ? v : JSON.stringify(v)))).join(',') + '\r\n';
      n++;
    }
    await w(text);
  }
  return n;
}

async function writeJson(names: string[], kinds: Kind[], chunks: AsyncIterable<Json[][]>, w: Write): Promise<number> {
  let n = 0;
  await w('[');
  for await (const rows of chunks) {
    let text = '';
    for (const row of rows) {
      const o: Record<string, Json> = {};
      for (let i = 0; i < names.length; i++) o[names[i]!] = jsonValue(row[i]!, kinds[i]!);
      text += (n++ ? ',\n' : '\n') + JSON.stringify(o);
    }
    await w(text);
  }
  await w(n ? '\n]\n' : ']\n');
  return n;
}

/** JSON columns become nested JSON; 64-bit integers become numbers when exactly representable. */
function jsonValue(v: Json, kind: Kind): Json {
  if (typeof v !== 'string') return v;
  if (kind === 'json') {
    try {
      return JSON.parse(v) as Json;
    } catch {
      return v;
    }
  }
  if (kind === 'number' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return v;
}

async function writeTable(names: string[], kinds: Kind[], chunks: AsyncIterable<Json[][]>, w: Write): Promise<number> {
  const shown: string[][] = [];
  let n = 0;
  for await (const rows of chunks) {
    for (const row of rows) {
      if (n++ < TABLE_MAX_ROWS) shown.push(row.map((v) => cell(v)));
    }
  }
  const head = names.map((h) => cell(h));
  const width = head.map((h, i) => Math.max(h.length, ...shown.map((r) => r[i]!.length)));
  const pad = (s: string, i: number): string => (kinds[i] === 'number' ? s.padStart(width[i]!) : s.padEnd(width[i]!));
  const line = (cells: string[]): string => cells.map(pad).join(' │ ').trimEnd() + '\n';
  let text = line(head) + width.map((x) => '─'.repeat(x)).join('─┼─') + '\n';
  for (const r of shown) {
    text += line(r);
    if (text.length > 64 * 1024) {
      await w(text);
      text = '';
    }
  }
  text += n > TABLE_MAX_ROWS ? `(${n} rows; the first ${TABLE_MAX_ROWS} shown — use --format csv or json for all, or add LIMIT)\n` : `(${n} row${n === 1 ? '' : 's'})\n`;
  await w(text);
  return n;
}

/** A value as one line of terminal-safe text, at most TABLE_MAX_CELL characters. */
export function cell(v: Json): string {
  const s = v == null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v);
  const safe = terminalSafe(s);
  return safe.length > TABLE_MAX_CELL ? safe.slice(0, TABLE_MAX_CELL - 1) + '…' : safe;
}

/**
 * Control characters (C0, DEL, C1) and bidirectional formatting characters written as visible
 * escapes, so text from an event can neither drive the terminal (ANSI escapes) nor reorder
 * what is displayed ("Trojan Source", CVE-2021-42574).
 */
export function terminalSafe(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + code.toString(16).padStart(4, '0');
  });
}
