/**
 * `firebreak query FILE "SQL" [--format table|csv|json]` — run SQL against a database written
 * by `firebreak hunt --db FILE`. The database is opened read-only.
 */
import { parseArgs } from 'node:util';
import { FirebreakError, UsageError } from '../../core/errors.js';
import { QUERY_FORMATS, runQuery, type QueryFormat } from '../../output/query.js';
import type { Io } from '../io.js';

const HELP = `usage: firebreak query FILE "SQL" [--format table|csv|json]

Run one SQL query (DuckDB dialect) against a hunt database written by 'firebreak hunt --db FILE'.
Tables: events, detections, hunt_info (schema in docs/hunt-outputs.md). The file is opened
read-only.

  --format table   aligned columns for the terminal (default; first 10,000 rows, long cells cut)
  --format csv     RFC 4180 CSV with a header row, every row
  --format json    a JSON array of row objects, every row; JSON columns nested

Exit status: 0 when the query ran, 1 when the database cannot be opened or the query fails
(DuckDB's message on stderr), 2 on wrong usage.

example:
  firebreak query hunt.duckdb "SELECT rule_title, level, count(*) AS n FROM detections GROUP BY ALL ORDER BY n DESC LIMIT 10"
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f', default: 'table' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(`expected a database file and one SQL string, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}\n\n${HELP}`);
  }
  const format = values.format as QueryFormat;
  if (!QUERY_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${QUERY_FORMATS.join(', ')}, not '${values.format}'`);
  const [file, sql] = positionals as [string, string];
  if (!sql.trim()) throw new UsageError('the SQL string is empty');
  try {
    await runQuery(file, sql, format, io.stdout);
    return 0;
  } catch (e) {
    if (!(e instanceof FirebreakError)) throw e;
    io.stderr.write(`firebreak query: ${e.code === 'query' ? 'query failed: ' : ''}${e.message}\n`);
    return 1;
  }
}
