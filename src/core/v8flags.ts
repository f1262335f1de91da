/**
 * Every V8 flag Firebreak sets, with its reason, in one place. They are applied once, at the
 * program's entry (bin/firebreak.js), before any module compiles a regular expression or starts a
 * worker thread (the flags are process-wide; workers inherit them). Code that needs them when
 * Firebreak is used as a library (the rule regex compiler) calls `applyV8Flags()` too; it is
 * idempotent.
 */
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS: readonly { flag: string; why: string }[] = [
  // Hostile text must not stall matching: a regex that backtracks too much finishes on V8's
  // linear-time engine (src/sigma/regex.ts explains what that engine cannot run).
  { flag: '--enable-experimental-regexp-engine', why: 'the linear-time regex engine exists' },
  { flag: '--enable-experimental-regexp-engine-on-excessive-backtracks', why: 'a regex that backtracks too much falls back to it' },
  { flag: '--regexp-backtracks-before-fallback=10000', why: 'how much backtracking is too much' },
  // Between full collections V8 lets a heap grow to up to four times what survived the last one;
  // over millions of events that headroom, filled with dead events, set peak memory. 1.5 cut peak
  // RSS from 985 to 631 MiB on 495,300 events with no loss of speed (src/hunt/run.ts history).
  { flag: '--heap-growing-percent=50', why: 'memory stays near what is live between collections' },
];

let applied = false;

export function applyV8Flags(): void {
  if (applied) return;
  for (const f of V8_FLAGS) setFlagsFromString(f.flag);
  applied = true;
}
