/**
 * How a search runs on a DuckDB instance, for both event stores (the embedded one, ./duck.ts, and
 * the scaled-out Parquet files, ./parquet.ts): a bounded number at once and a bounded queue, each
 * on its own connection, interrupted at its time limit, collected under the row and size caps,
 * and DuckDB's errors turned into the search's error codes (docs/serve.md "Search").
 */
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { FirebreakError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { collect } from './duck-rows.js';
import { SearchError, duckMessage } from './sandbox.js';
import type { QueryResult } from './types.js';

const L = LIMITS.store;

export type MakeQuery = (conn: DuckDBConnection) => Promise<{ prepared: DuckDBPreparedStatement; maxRows: number; parseJson: boolean }>;

export class SearchRunner {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly searches = new Set<DuckDBConnection>();

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly memoryBytes: number,
    /** Told of every error DuckDB reported that is not the search's fault (an invalidated instance). */
    private readonly onEngineError: (e: unknown) => void = () => undefined,
  ) {}

  /**
   * Run one query in a search slot on its own connection: `make` prepares it, then it runs with
   * the time limit (interrupt), the row cap and the result-size cap. `started` is called when it
   * leaves the queue.
   */
  async run(timeoutMs: number, started: (() => void) | undefined, make: MakeQuery): Promise<QueryResult> {
    await this.slot();
    started?.();
    const conn = await this.instance.connect().catch((e: unknown) => {
      this.release();
      throw e;
    });
    this.searches.add(conn);
    const t0 = performance.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
    }, timeoutMs);
    try {
      const { prepared, maxRows, parseJson } = await make(conn);
      try {
        return await collect(conn, prepared, maxRows, parseJson, t0);
      } finally {
        prepared.destroySync();
      }
    } catch (e) {
      // DuckDB folds constant expressions while preparing, so a costly query can fail (or be
      // interrupted) in prepareSearch as well as while running: classify both the same way.
      if (e instanceof FirebreakError && !(e instanceof SearchError && e.code === 'search-error')) throw e;
      const msg = duckMessage(e);
      if (timedOut || /^INTERRUPT Error/.test(msg)) throw new SearchError('search-timeout', `the query ran longer than ${timeoutMs} ms and was stopped`, { cause: e });
      if (/^Out of Memory Error/.test(msg)) {
        throw new SearchError(
          'search-memory',
          // DuckDB's advice that follows (SET threads, SET memory_limit) is not open to a search.
          `the query needed more memory than the store allows (${Math.round(this.memoryBytes / 2 ** 20)} MiB for DuckDB; the store process is capped too): ${msg.split(/\n\s*\nPossible solutions/)[0]!.trim()}`,
          { cause: e },
        );
      }
      if (/^Permission Error/.test(msg)) throw new SearchError('search-refused', msg, { cause: e });
      this.onEngineError(e);
      throw new SearchError('search-error', msg, { cause: e });
    } finally {
      clearTimeout(timer);
      this.searches.delete(conn);
      conn.closeSync();
      this.release();
    }
  }

  /** Interrupt every running search (closing). */
  interruptAll(): void {
    for (const c of this.searches) c.interrupt();
  }

  /** Resolves once no search runs or waits. */
  async idle(): Promise<void> {
    while (this.running > 0 || this.waiting.length) await new Promise((r) => setTimeout(r, 10));
  }

  private async slot(): Promise<void> {
    if (this.running < L.searchConcurrent) {
      this.running++;
      return;
    }
    if (this.waiting.length >= L.searchQueued) throw new SearchError('search-busy', `${L.searchConcurrent} searches are running and ${L.searchQueued} waiting; try again shortly`);
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
