#!/usr/bin/env node
// V8 flags first, before any module compiles a regex or starts a worker (src/core/v8flags.ts).
import { applyV8Flags } from '../dist/src/core/v8flags.js';

applyV8Flags(process.argv[2]);
const { main } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`firebreak: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70; },
);
