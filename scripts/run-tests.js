#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Node 20's `node --test` takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = walk('dist/test', []).sort();
if (filter.length) {
  // Filters name test files by part of their path, as in the source tree or as compiled.
  const parts = filter.map((x) => x.replace(/\.ts$/, '.js').replace(/^test\//, 'dist/test/'));
  files = files.filter((f) => parts.some((x) => f.includes(x)));
  if (!files.length) {
    console.error(`run-tests: no test file matches ${filter.join(', ')}`);
    process.exit(2);
  }
}
// --test-force-exit: a test file ends once its tests have, even if something it started left a
// handle open (a socket, a timer); a leak then cannot hang CI. Processes the tests start are
// stopped by their own after() hooks and exit handlers (test/serve/cluster/helpers.ts).
const r = spawnSync(process.execPath, ['--test', '--test-force-exit', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
