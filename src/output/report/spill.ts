/**
 * Detections for the report table, spilled to temporary files while the hunt runs, one file per
 * level, so the report never holds detections in memory. At the end the table takes the most
 * severe rows first (all critical, then high, …) until the row or size cap is reached; a level
 * that can no longer make it into the table stops being written at all, which keeps the spill
 * near the cap however many low-level detections the hunt finds.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TextSink } from '../sink.js';

const LEVEL_COUNT = 5;

export class LevelSpill {
  readonly dir: string;
  /** Rows offered per level (levels in LEVELS order, informational first). */
  readonly offered = [0, 0, 0, 0, 0];
  private readonly written = [0, 0, 0, 0, 0];
  private readonly chars = [0, 0, 0, 0, 0];
  private readonly sinks: (TextSink | null | 'dead')[] = [null, null, null, null, null];
  private readonly closing: Promise<unknown>[] = [];

  constructor(
    parent: string,
    private readonly maxRows: number,
    private readonly maxChars: number,
  ) {
    this.dir = mkdtempSync(join(parent, '.firebreak-report-'));
  }

  private file(level: number): string {
    return join(this.dir, `level-${level}.jsonl`);
  }

  /** Keep one row (a JSON line without newline); returns false when the caller should drain. */
  add(level: number, line: string): boolean {
    this.offered[level]!++;
    if (this.sinks[level] === 'dead') return true;
    if (this.higherFill(level)) {
      this.kill(level);
      return true;
    }
    let sink = this.sinks[level] as TextSink | null;
    if (!sink) {
      sink = new TextSink(this.file(level), 'report spill');
      this.sinks[level] = sink;
    }
    this.written[level]!++;
    this.chars[level]! += line.length + 1;
    return sink.write(line + '\n');
  }

  async drain(): Promise<void> {
    for (const s of this.sinks) if (s instanceof TextSink) await s.drain();
  }

  /** True when the levels above `level` already fill the table. */
  private higherFill(level: number): boolean {
    let rows = 0;
    let chars = 0;
    for (let l = level + 1; l < LEVEL_COUNT; l++) {
      rows += this.written[l]!;
      chars += this.chars[l]!;
    }
    return rows >= this.maxRows || chars >= this.maxChars;
  }

  /** Stop keeping a level (and every level below it): none of its rows can be shown. */
  private kill(level: number): void {
    for (let l = level; l >= 0; l--) {
      const s = this.sinks[l];
      if (s === 'dead') continue;
      this.sinks[l] = 'dead';
      // Its file is removed with the directory at cleanup, after this close has settled.
      if (s instanceof TextSink) this.closing.push(s.close().catch(() => undefined));
    }
  }

  /**
   * The rows for the table, most severe level first, within the caps; `included` counts them.
   * Rows of one level come in the order the hunt delivered them.
   */
  async *selected(stats: { included: number; includedByLevel: number[] }): AsyncGenerator<string> {
    for (const s of this.sinks) if (s instanceof TextSink) await s.close();
    let chars = 0;
    for (let l = LEVEL_COUNT - 1; l >= 0; l--) {
      if (!(this.sinks[l] instanceof TextSink)) continue;
      const lines = createInterface({ input: createReadStream(this.file(l), 'utf8'), crlfDelay: Infinity });
      try {
        for await (const line of lines) {
          if (stats.included >= this.maxRows || chars + line.length + 1 > this.maxChars) return;
          chars += line.length + 1;
          stats.included++;
          stats.includedByLevel[l]!++;
          yield line;
        }
      } finally {
        lines.close();
      }
    }
  }

  /** Remove the temporary files. */
  async cleanup(): Promise<void> {
    for (let l = 0; l < LEVEL_COUNT; l++) {
      const s = this.sinks[l];
      if (s instanceof TextSink) await s.close().catch(() => undefined);
      this.sinks[l] = 'dead';
    }
    await Promise.all(this.closing);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
