/**
 * Long fuzz run of the EVTX reader: `node dist/bench/fuzz-evtx.js [minutes=5] [seed=1]`.
 *
 * Mutates chunks of every sample it can find (test fixtures, ../shared edge cases and attack
 * samples), parses them, and reports what would be a bug: a throw escaping parseChunk, an
 * `evtx.internal` error (an unchecked read), an iteration slower than 2 s, or a stall (the loop
 * runs in a worker; the main thread kills it when it makes no progress for 30 s). Each finding
 * names the seed and iteration that reproduce it and saves the input under /tmp.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseChunk } from '../src/readers/evtx/index.js';
import { renderChunk } from '../src/readers/evtx/render.js';
import { mutateChunk, rng } from '../test/evtx/mutate.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = [`${REPO}test/fixtures/evtx`, `${REPO}../shared/evtx/parser-edge-cases`, `${REPO}../shared/evtx/attack-samples`];

function evtxFiles(dir: string, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) evtxFiles(p, out);
    else if (n.endsWith('.evtx')) out.push(p);
  }
  return out;
}

/** Non-empty chunks of all samples (a few per file, to keep memory modest). */
function loadChunks(): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (const src of SOURCES) {
    for (const f of evtxFiles(src)) {
      const buf = new Uint8Array(readFileSync(f));
      for (let off = 4096, k = 0; off + 65536 <= buf.length && k < 4; off += 65536) {
        if (buf[off] !== 0x45) continue;
        chunks.push(buf.slice(off, off + 65536));
        k++;
      }
    }
  }
  return chunks;
}

interface Progress {
  iteration: number;
  records: number;
  errors: Record<string, number>;
  findings: string[];
  slowestMs: number;
  slowest: string;
  heapMaxMiB: number;
}

function fuzz(minutes: number, seed: number): void {
  const chunks = loadChunks();
  const rand = rng(seed);
  const p: Progress = { iteration: 0, records: 0, errors: {}, findings: [], slowestMs: 0, slowest: '', heapMaxMiB: 0 };
  const end = Date.now() + minutes * 60_000;
  const finding = (what: string, bytes: Uint8Array): void => {
    const path = `/tmp/firebreak-evtx-fuzz-${seed}-${p.iteration}.chunk`;
    writeFileSync(path, bytes);
    p.findings.push(`seed ${seed} iteration ${p.iteration}: ${what} (input saved to ${path})`);
  };
  parentPort!.postMessage({ start: chunks.length });
  while (Date.now() < end) {
    const m = mutateChunk(chunks[Math.floor(rand() * chunks.length)]!, chunks, rand);
    parentPort!.postMessage({ beat: p.iteration });
    const t0 = performance.now();
    try {
      for (const it of parseChunk(m.bytes, { file: 'fuzz', chunk: 0, fileOffset: 4096 })) {
        if ('doc' in it) {
          p.records++;
          continue;
        }
        const e = it;
        p.errors[e.code] = (p.errors[e.code] ?? 0) + 1;
        if (e.code === 'evtx.internal') finding(`${m.what}: ${e.format()}`, m.bytes);
      }
      // The dump path renders the same chunk straight to text; it must not throw either.
      for (const format of ['jsonl', 'xml'] as const) {
        for (const e of renderChunk(m.bytes, { file: 'fuzz', chunk: 0, fileOffset: 4096 }, format).errors) {
          if (e.code === 'evtx.internal') finding(`${m.what}: ${format}: ${e.code}: ${e.message}`, m.bytes);
        }
      }
    } catch (e) {
      finding(`${m.what}: parseChunk or renderChunk threw ${String(e)}`, m.bytes);
    }
    const ms = performance.now() - t0;
    if (ms > p.slowestMs) {
      // Keep the slowest input: the place to look for a super-linear path.
      p.slowestMs = ms;
      p.slowest = `/tmp/firebreak-evtx-fuzz-slowest-${seed}.chunk (${m.what}, iteration ${p.iteration})`;
      writeFileSync(`/tmp/firebreak-evtx-fuzz-slowest-${seed}.chunk`, m.bytes);
    }
    if (ms > 2000) finding(`${m.what}: took ${ms.toFixed(0)} ms`, m.bytes);
    if (++p.iteration % 5000 === 0) {
      p.heapMaxMiB = Math.max(p.heapMaxMiB, process.memoryUsage().heapUsed / 1048576);
      parentPort!.postMessage({ progress: p });
    }
  }
  p.heapMaxMiB = Math.max(p.heapMaxMiB, process.memoryUsage().heapUsed / 1048576);
  parentPort!.postMessage({ done: p });
}

function main(): void {
  const minutes = Number(process.argv[2] ?? 5);
  const seed = Number(process.argv[3] ?? 1);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { minutes, seed } });
  let last = Date.now();
  let lastIteration = -1;
  const started = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - last > 30_000) {
      console.log(`STALL: no progress for 30 s after seed ${seed} iteration ${lastIteration + 1}; killing the fuzzer`);
      void worker.terminate();
      clearInterval(watchdog);
      process.exitCode = 1;
    }
  }, 1000);
  worker.on('message', (msg: { start?: number; beat?: number; progress?: Progress; done?: Progress }) => {
    last = Date.now();
    if (msg.start !== undefined) console.log(`fuzzing ${msg.start} sample chunks for ${minutes} min, seed ${seed}`);
    if (msg.beat !== undefined) lastIteration = msg.beat;
    const p = msg.progress ?? msg.done;
    if (!p) return;
    const secs = (Date.now() - started) / 1000;
    console.log(
      `${msg.done ? 'done' : '    '} ${p.iteration} iterations in ${secs.toFixed(0)} s (${(p.iteration / secs).toFixed(0)}/s), ` +
        `${p.records} records, errors ${JSON.stringify(p.errors)}, slowest ${p.slowestMs.toFixed(1)} ms, heap max ${p.heapMaxMiB.toFixed(0)} MiB, findings ${p.findings.length}`,
    );
    if (msg.done) {
      console.log(`slowest input: ${p.slowest}`);
      for (const f of p.findings.slice(0, 50)) console.log('FINDING', f);
      clearInterval(watchdog);
      process.exitCode = p.findings.length ? 1 : 0;
    }
  });
  worker.on('error', (e) => {
    console.log(`FINDING: fuzzer crashed after seed ${seed} iteration ${lastIteration}: ${e.stack ?? e}`);
    clearInterval(watchdog);
    process.exitCode = 1;
  });
}

if (isMainThread) main();
else fuzz((workerData as { minutes: number }).minutes, (workerData as { seed: number }).seed);
