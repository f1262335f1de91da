/**
 * Sigma engine throughput: the full bundled rule set over SigmaHQ's regression events replicated
 * to at least 100,000 events, compiled matchers next to the reference interpreter, in one run.
 * Each figure is the median of several passes. The interpreter is ~100x slower, so by default it
 * runs over the first INTERPRETED_EVENTS of the same events (give EVENTS again to run it on all).
 * Usage: npm run bench [-- EVENTS PASSES INTERPRETED_EVENTS]
 */
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { findRegressionCases } from '../src/engine/regression.js';
import type { Event } from '../src/events/event.js';
import { readEventsFromFile } from '../src/readers/detect.js';
import { BUNDLED_SIGMA_ROOT, DATA_DIR, ruleDirs } from '../src/sigma/bundled.js';
import { loadPlaceholders, loadRules } from '../src/sigma/collection.js';

const target = Number(process.argv[2] ?? 100_000);
const passes = Number(process.argv[3] ?? 5);
const interpretedTarget = Number(process.argv[4] ?? 20_000);

const t0 = performance.now();
const col = loadRules(ruleDirs(), { placeholders: loadPlaceholders(join(DATA_DIR, 'placeholders.example.yml')) });
const loadMs = performance.now() - t0;
const base: Event[] = [];
for (const c of findRegressionCases(BUNDLED_SIGMA_ROOT, 'json')) for await (const ev of readEventsFromFile(c.file)) base.push(ev);
const events: Event[] = [];
while (events.length < target) events.push(...base);
events.length = Math.max(target, base.length);

function run(engine: Engine, list: readonly Event[]): { ms: number; detections: number } {
  const t = performance.now();
  let detections = 0;
  for (const ev of list) detections += engine.match(ev).length;
  return { ms: performance.now() - t, detections };
}
const subset = events.slice(0, Math.min(interpretedTarget, events.length));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const c0 = performance.now();
const compiled = new Engine(col.rules);
const compileMs = performance.now() - c0;
const interpreted = new Engine(col.rules, { mode: 'interpreted' });

const fast: number[] = [];
const slow: number[] = [];
let dFast = 0;
let dSlow = 0;

run(compiled, events); // warm-up
run(interpreted, subset.slice(0, 2000));
const interpretedPasses = Math.max(1, Math.min(passes, 3));
for (let i = 0; i < passes; i++) {
  const a = run(compiled, events);
  fast.push(a.ms);
  dFast = a.detections;
  if (i < interpretedPasses) {
    const b = run(interpreted, subset);
    slow.push(b.ms);
    dSlow = b.detections;
  }
}
const dFastSubset = run(compiled, subset).detections;
const eps = (ms: number, n = events.length) => Math.round(n / (ms / 1000));
console.log(`rules: ${col.rules.length} loaded in ${loadMs.toFixed(0)} ms, compiled in ${compileMs.toFixed(0)} ms (${compiled.unmapped.length} unmapped)`);
console.log(`events: ${events.length} (${base.length} SigmaHQ regression events replicated), passes: ${passes}`);
console.log(
  `compiled:    median ${median(fast).toFixed(0)} ms  ${eps(median(fast)).toLocaleString('en-US')} events/s  (min ${Math.min(...fast).toFixed(0)}, max ${Math.max(...fast).toFixed(0)})  detections ${dFast}`,
);
console.log(
  `interpreted: median ${median(slow).toFixed(0)} ms over ${subset.length} events  ${eps(median(slow), subset.length).toLocaleString('en-US')} events/s  (min ${Math.min(...slow).toFixed(0)}, max ${Math.max(...slow).toFixed(0)}, ${slow.length} passes)  detections ${dSlow}`,
);
console.log(`speed-up (events/s): ${(eps(median(fast)) / eps(median(slow), subset.length)).toFixed(1)}x`);
if (dFastSubset !== dSlow) {
  console.error('compiled and interpreted detections differ');
  process.exit(1);
}
