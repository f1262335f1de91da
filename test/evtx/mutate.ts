/**
 * Seeded mutations of EVTX files for fuzzing: truncation, bit flips, "interesting" integers
 * written over size and offset fields, and splices of bytes from another sample. Shared by the
 * fixed-seed fuzz test and the long fuzz run (bench/fuzz-evtx.ts).
 */

import { rng } from '../../src/core/rng.js';

/** The project's seeded generator, re-exported for the fuzz test and the long fuzz run. */
export { rng };

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 28, 512, 65535, 65536];

export type Mutation = 'truncate' | 'flip' | 'interesting' | 'splice' | 'zero';

export interface Mutated {
  bytes: Uint8Array;
  what: string;
}

/**
 * Mutate a copy of `chunk` (a 64 KiB chunk). Positions favour the chunk header and the start of
 * the record area, where sizes and offsets live.
 */
export function mutateChunk(chunk: Uint8Array, donors: Uint8Array[], rand: () => number): Mutated {
  const out = chunk.slice();
  const pos = (): number => (rand() < 0.5 ? Math.floor(rand() * 4096) : Math.floor(rand() * out.length));
  const kinds: Mutation[] = ['truncate', 'flip', 'interesting', 'splice', 'zero'];
  const steps = 1 + Math.floor(rand() * 4);
  const done: string[] = [];
  let bytes = out;
  for (let s = 0; s < steps; s++) {
    const kind = kinds[Math.floor(rand() * kinds.length)]!;
    switch (kind) {
      case 'truncate': {
        const n = Math.floor(rand() * bytes.length);
        bytes = bytes.subarray(0, n);
        done.push(`truncate@${n}`);
        break;
      }
      case 'flip': {
        const flips = 1 + Math.floor(rand() * 16);
        for (let i = 0; i < flips; i++) {
          const p = pos() % Math.max(1, bytes.length);
          bytes[p] = bytes[p]! ^ (1 << Math.floor(rand() * 8));
        }
        done.push(`flip×${flips}`);
        break;
      }
      case 'interesting': {
        const p = pos();
        const v = INTERESTING[Math.floor(rand() * INTERESTING.length)]!;
        const width = [1, 2, 4][Math.floor(rand() * 3)]!;
        for (let i = 0; i < width && p + i < bytes.length; i++) bytes[p + i] = (v >>> (8 * i)) & 0xff;
        done.push(`int${width * 8}(${v})@${p}`);
        break;
      }
      case 'splice': {
        const donor = donors[Math.floor(rand() * donors.length)]!;
        const len = 1 + Math.floor(rand() * 2048);
        const from = Math.floor(rand() * Math.max(1, donor.length - len));
        if (!bytes.length) break;
        const to = pos() % bytes.length;
        bytes.set(donor.subarray(from, from + Math.min(len, bytes.length - to)), to);
        done.push(`splice(${len})@${to}`);
        break;
      }
      case 'zero': {
        const p = pos();
        const len = Math.floor(rand() * 256);
        bytes.fill(0, p, Math.min(bytes.length, p + len));
        done.push(`zero(${len})@${p}`);
        break;
      }
    }
  }
  return { bytes, what: done.join(' ') };
}

/** Whole-file mutations: truncate anywhere (including inside the file header) or flip bits. */
export function mutateFile(file: Uint8Array, rand: () => number): Mutated {
  if (rand() < 0.5) {
    const n = Math.floor(rand() * file.length);
    return { bytes: file.subarray(0, n), what: `file truncate@${n}` };
  }
  const out = file.slice();
  const flips = 1 + Math.floor(rand() * 32);
  for (let i = 0; i < flips; i++) {
    const p = rand() < 0.3 ? Math.floor(rand() * 4096) : Math.floor(rand() * out.length);
    out[p] = out[p]! ^ (1 << Math.floor(rand() * 8));
  }
  return { bytes: out, what: `file flip×${flips}` };
}
