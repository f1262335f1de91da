#!/usr/bin/env node
// Removes the compiled output before a build, so a deleted source or test file leaves nothing
// behind in dist/ (the test runner runs every compiled test it finds there).
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
