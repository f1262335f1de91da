#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Node 20's `node --test` takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';

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
// Bounds, so that a hung test fails the run instead of holding CI until its own limit: a test or
// hook that runs longer than TEST_MS fails; a file whose tests are done exits even if something it
// started still holds the event loop (scripts/test-exit.js, preloaded: Node's --test-force-exit
// can lose the last results of a file); the whole run is stopped after RUN_MS with the test files
// still running named.
const TEST_MS = Number(process.env.FIREBREAK_TEST_TIMEOUT_MS ?? 10 * 60_000);
const RUN_MS = Number(process.env.FIREBREAK_RUN_TIMEOUT_MS ?? 60 * 60_000);
const child = spawn(process.execPath, ['--import', new URL('./test-exit.js', import.meta.url).href, '--test', `--test-timeout=${TEST_MS}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  detached: true,
});
const watchdog = setTimeout(() => {
  let running = '';
  try {
    running = execFileSync('ps', ['-o', 'pid=,etime=,args=', '-g', String(child.pid)], { encoding: 'utf8' });
  } catch {
    // ps may be missing; the message below still says what happened.
  }
  console.error(`run-tests: the suite ran longer than ${RUN_MS / 60_000} min and was stopped. Still running:\n${running}`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  process.exit(1);
}, RUN_MS);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
    process.exit(1);
  });
}
child.on('exit', (code) => {
  clearTimeout(watchdog);
  process.exit(code ?? 1);
});
