#!/usr/bin/env node
// Regenerates data/samples/intrusion: the synthetic Sony-style intrusion of the test suite's
// scenario generator (test/stories/scenario.ts, seed 11, 14 hosts, 4,000 background events),
// one gzip-compressed evtx-crate JSON file per host, plus its ground truth. Run after `npm run build`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const { writeScenario } = await import('../dist/test/stories/scenario.js');
const out = new URL('../data/samples/intrusion/', import.meta.url).pathname;
const tmp = join(tmpdir(), `firebreak-samples-${process.pid}`);
const gt = writeScenario(tmp, { seed: 11, hosts: 14, noiseEvents: 4000 });
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of readdirSync(tmp).sort()) writeFileSync(join(out, `${name}.gz`), gzipSync(readFileSync(join(tmp, name)), { level: 9 }));
rmSync(tmp, { recursive: true, force: true });
const { files: _files, ...truth } = gt;
writeFileSync(new URL('../data/samples/intrusion-ground-truth.json', import.meta.url), JSON.stringify(truth, null, 2) + '\n');
console.log(`data/samples/intrusion: ${gt.events} events on ${readdirSync(out).length} hosts; patient zero ${gt.patientZero}`);
