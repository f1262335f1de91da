/**
 * The plan's rules as worker threads take them (`forWorker`), serialised once into shared memory
 * for every worker (src/core/shared-value.ts). Serialising 3,800 rules cost the main thread about
 * 0.2 s at every start, before any worker could begin. The bytes depend only on the rule pack,
 * the plan's choice from it and this build, so they are cached beside the rule pack
 * (src/sigma/cache.ts), with a digest that is checked before they are used: a damaged entry is
 * made again, never handed to a worker.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, moduleStamp, storeBytes } from '../core/data-cache.js';
import { encodeValue, shareBytes, type SharedValue } from '../core/shared-value.js';
import type { SigmaRule } from '../sigma/model.js';
import type { DetectionPlan } from './plan.js';
import { forWorker } from './select.js';

const FORMAT = 2;
const KEEP = 8;
const DIGEST = 32;

const digest = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** The bytes of a cache entry when its digest holds, else undefined. */
function readEntry(file: string): Uint8Array | undefined {
  try {
    const all = readFileSync(file);
    const body = all.subarray(DIGEST);
    return all.length > DIGEST && digest(body).equals(all.subarray(0, DIGEST)) ? body : undefined;
  } catch {
    return undefined;
  }
}

export function workerRules(plan: Pick<DetectionPlan, 'rules' | 'rulesKey'>): SharedValue<SigmaRule[]> {
  const make = () => encodeValue(plan.rules.map(forWorker));
  if (!plan.rulesKey || process.env.FIREBREAK_NO_CACHE === '1') return shareBytes(make());
  // The key: the rules (pack and choice) and the build of `forWorker`'s module.
  const stamp = moduleStamp(new URL('./select.js', import.meta.url));
  const key = createHash('sha256').update(`firebreak-worker-rules ${FORMAT}\0${plan.rulesKey}\0${stamp}`).digest('hex').slice(0, 32);
  const file = join(cacheDir(), `worker-${key}.bin`);
  const cached = readEntry(file);
  if (cached) return shareBytes(cached);
  const bytes = make();
  storeBytes(file, Buffer.concat([digest(bytes), bytes]), 'worker', KEEP);
  return shareBytes(bytes);
}
