#!/usr/bin/env node
// Measures stories on the generated administered network (issue 16, docs/stories.md "Measuring
// stories"): for each seed, the background alone and the background with an intrusion are
// generated and hunted with the real `hunt()`; prints the table per seed and the totals.
//
//   node scripts/story-eval.js --seeds 1-10 [--hosts 40] [--days 3] [--threads N]
//                              [--activities] [--without ACT,…] [--json FILE] [--keep DIR]
//
// --activities also prints, for the background-only runs, which rules fired per background
// activity and what each story was made of. --without leaves background activities out (e.g.
// --without monitor), to see what the others make on their own. Builds first (tsc) when the compiled evaluator is
// missing or older than a source file.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const compiled = join(root, 'dist/test/stories/evaluate.js');

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) t = Math.max(t, newest(p));
    else if (name.endsWith('.ts')) t = Math.max(t, s.mtimeMs);
  }
  return t;
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1-10' },
    hosts: { type: 'string', default: '40' },
    days: { type: 'string', default: '3' },
    threads: { type: 'string' },
    activities: { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'string' },
    without: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: node scripts/story-eval.js --seeds 1-10 [--hosts 40] [--days 3] [--threads N] [--activities] [--without ACT,…] [--json FILE] [--keep DIR]');
  process.exit(0);
}

if (!existsSync(compiled) || statSync(compiled).mtimeMs < Math.max(newest(join(root, 'src')), newest(join(root, 'test')))) {
  process.stderr.write('story-eval: building (tsc)…\n');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const { evaluateSeed, formatActivities, formatTable, parseSeeds } = await import(compiled);
let seeds;
try {
  seeds = parseSeeds(values.seeds);
} catch (e) {
  console.error(`story-eval: ${e.message}`);
  process.exit(2);
}
const num = (v, name, min) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`story-eval: --${name} must be an integer ≥ ${min}`);
    process.exit(2);
  }
  return n;
};
const opts = {
  hosts: num(values.hosts, 'hosts', 40),
  days: num(values.days, 'days', 2),
  threads: values.threads ? num(values.threads, 'threads', 1) : undefined,
  keepDir: values.keep,
  without: values.without ? values.without.split(',').map((x) => x.trim()).filter(Boolean) : undefined,
};
const results = [];
for (const seed of seeds) {
  let r;
  try {
    r = await evaluateSeed(seed, opts);
  } catch (e) {
    console.error(`story-eval: seed ${seed}: ${e.message}`);
    process.exit(1);
  }
  results.push(r);
  const i = r.intrusion;
  process.stderr.write(
    `seed ${seed}: background ${r.background.stories} stories; with the intrusion ${i.stories} stories, top is intrusion: ${i.topIsIntrusion ? 'yes' : 'no'}, patient zero ${i.patientZeroRight ? 'right' : 'wrong'}, edges ${i.edgesRecovered}/${i.edges}\n`,
  );
}
if (opts.without) process.stdout.write(`background without: ${opts.without.join(', ')}\n`);
process.stdout.write(formatTable(results));
if (values.activities) process.stdout.write('\n' + formatActivities(results));
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2) + '\n');
