/**
 * Time-ordered detections in bounded memory: records are kept in memory up to a limit, then
 * sorted and spilled to temporary NDJSON runs; `drain` merges the runs back in time order.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { DetectionRecord } from '../output/records.js';

export function compareDetections(a: DetectionRecord, b: DetectionRecord): number {
  const ta = a.timestamp ?? '';
  const tb = b.timestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ca = a.computer ?? '';
  const cb = b.computer ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  return (a.recordId ?? 0) - (b.recordId ?? 0) || (a.rule.title < b.rule.title ? -1 : a.rule.title > b.rule.title ? 1 : 0);
}

export class DetectionSorter {
  private buffer: DetectionRecord[] = [];
  private runs: string[] = [];
  private dir: string | undefined;
  count = 0;

  constructor(private readonly memoryLimit = 20_000) {}

  async add(d: DetectionRecord): Promise<void> {
    this.buffer.push(d);
    this.count++;
    if (this.buffer.length >= this.memoryLimit) await this.spill();
  }

  private async spill(): Promise<void> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'firebreak-sort-'));
    const file = join(this.dir, `run-${this.runs.length}.ndjson`);
    this.buffer.sort(compareDetections);
    const out = createWriteStream(file);
    for (const d of this.buffer) if (!out.write(JSON.stringify(d) + '\n')) await once(out, 'drain');
    out.end();
    await once(out as WriteStream, 'finish');
    this.runs.push(file);
    this.buffer = [];
  }

  /** All records in time order; temporary files are removed afterwards. */
  async *drain(): AsyncGenerator<DetectionRecord> {
    try {
      if (!this.runs.length) {
        this.buffer.sort(compareDetections);
        yield* this.buffer;
        return;
      }
      if (this.buffer.length) await this.spill();
      const readers = this.runs.map((f) => createInterface({ input: createReadStream(f), crlfDelay: Infinity })[Symbol.asyncIterator]());
      const heads: (DetectionRecord | undefined)[] = await Promise.all(readers.map(async (r) => next(r)));
      for (;;) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) if (heads[i] && (best < 0 || compareDetections(heads[i]!, heads[best]!) < 0)) best = i;
        if (best < 0) break;
        yield heads[best]!;
        heads[best] = await next(readers[best]!);
      }
    } finally {
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    }
  }
}

async function next(r: AsyncIterator<string>): Promise<DetectionRecord | undefined> {
  const n = await r.next();
  return n.done ? undefined : (JSON.parse(n.value) as DetectionRecord);
}
