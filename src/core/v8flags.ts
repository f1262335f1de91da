/**
 * Every V8 flag Firebreak sets, with its reason, in one place. They are applied once, at the
 * program's entry (bin/firebreak.js), before any module compiles a regular expression or starts a
 * worker thread (the flags are process-wide; workers inherit them). Code that needs them when
 * Firebreak is used as a library (the rule regex compiler) calls `applyV8Flags()` too; it is
 * idempotent.
 */
import { setFlagsFromString } from 'node:v8';

/** A flag, why it is set, and (when it is not for every command) the commands it is set for. */
export const V8_FLAGS: readonly { flag: string; why: string; only?: readonly string[] }[] = [
  // Hostile text must not stall matching: a regex that backtracks too much finishes on V8's
  // linear-time engine (src/sigma/regex.ts explains what that engine cannot run).
  { flag: '--enable-experimental-regexp-engine', why: 'the linear-time regex engine exists' },
  { flag: '--enable-experimental-regexp-engine-on-excessive-backtracks', why: 'a regex that backtracks too much falls back to it' },
  { flag: '--regexp-backtracks-before-fallback=10000', why: 'how much backtracking is too much' },
  // Between full collections V8 lets a heap grow to up to four times what survived the last one;
  // over millions of events that headroom, filled with dead events, set peak memory. 1.5 cut peak
  // RSS from 985 to 631 MiB on 495,300 events with no loss of speed (src/hunt/run.ts history).
  // Only for the commands that hold millions of events: `scan` holds a chunk per thread, and the
  // extra collections cost it 10-20% of its CPU time (bench:scan --against, docs/scan.md).
  { flag: '--heap-growing-percent=50', why: 'memory stays near what is live between collections', only: ['hunt', 'serve'] },
  // A hunt runs thousands of rule predicates, readers and story steps for a few seconds in each of
  // several threads: V8 optimised about 1,500 functions over a 41,000-event hunt, many of them
  // again and again after a deoptimisation, and its compiler threads took as much CPU time as one
  // worker. Letting a function run six times longer before it is optimised (default 67,584)
  // made such a hunt 8% faster and one of 206,000 events 5% (alternating runs, docs/hunt.md).
  { flag: '--interrupt-budget=400000', why: 'functions are optimised once they have run longer', only: ['hunt'] },
  // A hunt worker's live set is its rules, their indexes and its share of the sort: about 100 MB
  // and more, built up in its first second. From V8's small starting old generation, growing by
  // half each time, that took a full collection of the growing heap every few megabytes. Worker
  // threads start with a 128 MB old generation instead (the main thread's heap exists before any
  // flag is set and is not changed): 3-5% faster from 8,000 to 206,000 events, peak memory 3-6%
  // higher on the smaller hunts and 4% lower on the larger (docs/hunt.md).
  { flag: '--initial-old-space-size=128', why: 'no full collection in a hunt worker before its old generation reaches 128 MB', only: ['hunt'] },
  // A scan thread keeps little alive (its rules, a chunk) but promotes a little of every chunk:
  // from V8's small starting heap that set off a full collection every 2 MB or so, 150-180 of them
  // in one thread over 383 MB of source code, each with its concurrent marking, about a third of
  // the CPU time. Worker threads start with a larger old generation (a main thread's heap is made
  // before any flag can be set), and every thread lets its heap grow to four times what is live
  // (a scan's live set is a few MB): 0-4 full collections in a thread instead.
  { flag: '--initial-old-space-size=64', why: 'no full collection in a worker before its old generation reaches 64 MB', only: ['scan'] },
  { flag: '--heap-growing-percent=300', why: 'the heap grows to four times what is live between full collections', only: ['scan'] },
];

let applied = false;

/**
 * Set the flags for `command` (the CLI's first argument); without one (library use) only the flags
 * every command takes. The first call wins: later ones change nothing.
 */
export function applyV8Flags(command?: string): void {
  if (applied) return;
  for (const f of V8_FLAGS) if (!f.only || (command !== undefined && f.only.includes(command))) setFlagsFromString(f.flag);
  applied = true;
}
