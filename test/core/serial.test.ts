/**
 * A task run one at a time (src/core/serial.ts): requests while it runs make exactly one more
 * run after it, runs never overlap, and nothing starts once stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerialTask } from '../../src/core/serial.js';

test('requests during a run make one more run; runs never overlap; nothing starts once stopped', async () => {
  let stopped = false;
  let runs = 0;
  let inside = 0;
  let most = 0;
  let release: () => void = () => undefined;
  const t = new SerialTask(
    async () => {
      runs++;
      inside++;
      most = Math.max(most, inside);
      await new Promise<void>((r) => (release = r));
      inside--;
    },
    () => stopped,
  );
  t.run();
  t.run();
  t.run();
  t.run();
  assert.equal(runs, 1);
  release();
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 2, 'the three requests made during the first run are one more run');
  release();
  await t.settled();
  assert.equal(runs, 2);
  assert.equal(most, 1);
  stopped = true;
  t.run();
  await t.settled();
  assert.equal(runs, 2);
});
