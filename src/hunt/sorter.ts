/**
 * Time-ordered detections in bounded memory. The sort is shared between threads: each hunt
 * worker keeps its detections in a `RunSpiller`, which writes them as a sorted NDJSON run to
 * the hunt's temporary folder whenever its share of memory fills, and hands what is left to the
 * main thread at the end. The main thread's `DetectionSorter` collects those runs (and any
 * records added directly, spilling them the same way), then `drain` merges everything in time
 * order with a heap. At most MAX_RUNS runs exist at once (earlier runs are merged into one when
 * there would be more), so open files stay bounded whatever the size of the evidence.
 *
 * Sorting and writing in the workers keeps that work off the main thread: when the main thread
 * spilled for everyone, each spill (sorting and writing 50,000 detections) stalled every worker
 * waiting for its batches to be acknowledged.
 *
 * Runs are written and read with synchronous calls in large blocks: one promise per record (as a
 * line-by-line stream reader costs) was the biggest part of the sort's CPU time.
 *
 * Every line of a run starts with its origin (the worker instance that found the detection) and
 * a tab: when a worker dies part-way and its files are read again, `drain` leaves out that
 * worker's detections of those files, wherever runs were merged since.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { LIMITS } from '../core/limits.js';
import type { DetectionRecord } from '../detections/record.js';
import { compareDetections } from '../detections/stage.js';

const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A detection on its way to the sort: its JSON text (made in the worker, so the main thread never
 * serialises it) and the keys `compareDetections` orders by. The order is total (the source file
 * breaks the last ties: the same log collected twice), so the outcome never depends on which
 * thread finished first.
 */
export interface SortItem {
  /** Origin: the worker instance that found it (-1: the main thread). */
  o: number;
  t: string;
  c: string;
  r: number;
  n: string;
  f: string;
  json: string;
}

export function sortItem(d: DetectionRecord, origin = -1): SortItem {
  return itemOf(d, origin, JSON.stringify(d));
}

/** A record's sort keys beside its text. */
function itemOf(d: DetectionRecord, origin: number, json: string): SortItem {
  return { o: origin, t: d.timestamp ?? '', c: d.computer ?? '', r: d.recordId ?? 0, n: d.rule.title, f: d.sourceFile, json };
}

/**
 * A worker's detection on its way to the sort, its rule written as `ruleIndex`, the rule's place
 * in the hunt's rule list: a `DetectionSorter` given that list puts the rule back as it reads the
 * record. The rule is the same for every detection of it and was a quarter of a record's text,
 * written, read back and parsed once per detection.
 */
export function sortItemOfRule(d: DetectionRecord, origin: number, ruleIndex: number): SortItem {
  return itemOf(d, origin, JSON.stringify({ ...d, rule: ruleIndex }));
}

/** A record as read back from the sort: its rule by index (`sortItemOfRule`) becomes the rule. */
type Resolve = (d: DetectionRecord) => DetectionRecord;

function resolver(rules: readonly DetectionRecord['rule'][]): Resolve {
  return (d) => {
    const i = d.rule as unknown;
    if (typeof i !== 'number') return d;
    const rule = rules[i];
    if (!rule) throw new Error(`time sort: a record names rule ${i}, which is not in the hunt's list of ${rules.length}`);
    d.rule = rule;
    return d;
  };
}

function compareItems(a: SortItem, b: SortItem): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  return a.r - b.r || text(a.n, b.n) || text(a.f, b.f);
}

/** Runs kept before the oldest are merged into one (bounds open files during `drain`). */
const MAX_RUNS = LIMITS.sort.maxRuns;
const BLOCK = 1 << 20;

/** Sort `items` and write them as one run at `path`. */
function writeRun(items: SortItem[], path: string): void {
  items.sort(compareItems);
  const out = new RunWriter(path);
  for (const d of items) out.writeLine(d.o, d.json);
  out.close();
}

/**
 * One thread's share of the sort: detections are held until `memoryLimit` of them (or
 * `charLimit` characters of their JSON) are, then written to `dir` as a sorted run.
 */
export class RunSpiller {
  private buffer: SortItem[] = [];
  private chars = 0;
  private made = 0;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly memoryLimit: number,
    private readonly charLimit: number,
  ) {}

  /** Hold one detection; returns the path of the run written when the buffer filled. */
  add(item: SortItem): string | undefined {
    this.buffer.push(item);
    this.chars += item.json.length;
    if (this.buffer.length < this.memoryLimit && this.chars < this.charLimit) return undefined;
    return this.flush();
  }

  /** Write what is held as one more run (its path), if anything is; the spiller is empty afterwards. */
  flush(): string | undefined {
    if (!this.buffer.length) return undefined;
    const path = join(this.dir, `${this.prefix}-${this.made++}.ndjson`);
    writeRun(this.take(), path);
    return path;
  }

  /** The detections not yet written (in no particular order); the spiller is empty afterwards. */
  take(): SortItem[] {
    const rest = this.buffer;
    this.buffer = [];
    this.chars = 0;
    return rest;
  }
}

export class DetectionSorter {
  /** Records added here: the same bounded buffer as a worker's share. */
  private spiller: RunSpiller | undefined;
  private runs: string[] = [];
  private dir: string | undefined;
  private made = 0;

  private readonly resolve: Resolve;

  /**
   * Spill when this many detections, or this many characters of them, are held. `rules`: the
   * hunt's rule list, for records whose rule is written as its index (`sortItemOfRule`).
   */
  constructor(
    readonly memoryLimit: number = LIMITS.sort.memoryItems,
    readonly charLimit: number = LIMITS.sort.memoryChars,
    rules: readonly DetectionRecord['rule'][] = [],
  ) {
    this.resolve = resolver(rules);
  }

  add(d: DetectionRecord | SortItem): void {
    this.spiller ??= new RunSpiller(this.directory(), 'main', this.memoryLimit, this.charLimit);
    const path = this.spiller.add('json' in d ? d : sortItem(d));
    if (path) this.addRun(path);
  }

  /** The folder runs are written to (made on first use; removed by `drain` or `dispose`). */
  directory(): string {
    return (this.dir ??= mkdtempSync(join(tmpdir(), 'firebreak-sort-')));
  }

  /** A sorted run written by a `RunSpiller` into `directory()`; it is merged by `drain`. */
  addRun(path: string): void {
    this.runs.push(path);
    this.compact();
  }

  /** Remove the temporary folder (for a hunt that ends before `drain`). */
  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private file(): string {
    return join(this.directory(), `run-${this.made++}.ndjson`);
  }

  private compact(): void {
    if (this.runs.length > MAX_RUNS) {
      const merged = new RunWriter(this.file());
      const inputs = this.runs.splice(0, MAX_RUNS);
      for (const x of merge(inputs.map((f) => new RunReader(f, this.resolve)))) merged.writeLine(x.o, JSON.stringify(x.d));
      merged.close();
      for (const f of inputs) rmSync(f, { force: true });
      this.runs.unshift(merged.path);
    }
  }

  /** All records in time order; temporary files are removed afterwards. */
  *drain(exclude?: (origin: number, sourceFile: string) => boolean): Generator<DetectionRecord> {
    try {
      // What is still held joins the merge from memory (a small hunt never writes a run).
      const sources: Source[] = this.runs.map((f) => new RunReader(f, this.resolve));
      const rest = this.spiller?.take() ?? [];
      if (rest.length) sources.push(new MemoryRun(rest.sort(compareItems), this.resolve));
      for (const x of merge(sources)) if (!exclude?.(x.o, x.d.sourceFile)) yield x.d;
    } finally {
      this.dispose();
    }
  }
}

/** A sorted run being merged: a file, or detections still in memory. `origin` is the last one read's. */
interface Source {
  next(): DetectionRecord | undefined;
  origin: number;
  close(): void;
}

class MemoryRun implements Source {
  private i = 0;
  origin = -1;
  constructor(
    private items: SortItem[],
    private readonly resolve: Resolve,
  ) {}
  next(): DetectionRecord | undefined {
    if (this.i >= this.items.length) return undefined;
    const it = this.items[this.i++]!;
    this.origin = it.o;
    return this.resolve(JSON.parse(it.json) as DetectionRecord);
  }
  close(): void {
    this.items = [];
  }
}

/** K-way merge of sorted runs with a binary heap of their heads. */
function* merge(readers: Source[]): Generator<{ d: DetectionRecord; o: number }> {
  const heap: { d: DetectionRecord; o: number; r: Source }[] = [];
  const less = (i: number, j: number) => compareDetections(heap[i]!.d, heap[j]!.d) < 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  const up = (i: number) => {
    while (i > 0 && less(i, (i - 1) >> 1)) {
      swap(i, (i - 1) >> 1);
      i = (i - 1) >> 1;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  try {
    for (const r of readers) {
      const d = r.next();
      if (d) {
        heap.push({ d, o: r.origin, r });
        up(heap.length - 1);
      }
    }
    while (heap.length) {
      const top = heap[0]!;
      yield { d: top.d, o: top.o };
      const d = top.r.next();
      if (d) {
        top.d = d;
        top.o = top.r.origin;
        down(0);
      } else {
        const last = heap.pop()!;
        if (heap.length) {
          heap[0] = last;
          down(0);
        }
      }
    }
  } finally {
    for (const r of readers) r.close();
  }
}

/** Buffered NDJSON writer (synchronous, large blocks). */
class RunWriter {
  private fd: number;
  private parts: string[] = [];
  private size = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }
  writeLine(origin: number, json: string): void {
    const o = String(origin);
    this.parts.push(o, '\t', json, '\n');
    this.size += o.length + json.length + 2;
    if (this.size >= BLOCK) this.flush();
  }
  private flush(): void {
    if (this.parts.length) writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/**
 * Reads one run back a block at a time (UTF-8 split across blocks is handled). Blocks are small
 * (64 KiB): up to 64 runs are read at once, and their buffers and decoded lines must not add up
 * to a memory cost that grows with the evidence.
 */
const READ_BLOCK = 64 * 1024;
class RunReader implements Source {
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(READ_BLOCK);
  private readonly decoder = new StringDecoder('utf8');
  private lines: string[] = [];
  private i = 0;
  private rest = '';
  private pos = 0;
  constructor(
    path: string,
    private readonly resolve: Resolve,
  ) {
    this.fd = openSync(path, 'r');
  }
  origin = -1;
  next(): DetectionRecord | undefined {
    while (this.i >= this.lines.length) if (!this.fill()) return undefined;
    const line = this.lines[this.i++]!;
    const tab = line.indexOf('\t');
    this.origin = Number(line.slice(0, tab));
    return this.resolve(JSON.parse(line.slice(tab + 1)) as DetectionRecord);
  }
  private fill(): boolean {
    if (this.fd === undefined) return false;
    const n = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
    this.pos += n;
    const text = this.rest + (n ? this.decoder.write(this.buf.subarray(0, n)) : this.decoder.end());
    const lines = text.split('\n');
    this.rest = n ? lines.pop()! : '';
    this.lines = lines.filter((l) => l.length > 0);
    this.i = 0;
    if (!n) this.close();
    return this.lines.length > 0 || n > 0;
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
