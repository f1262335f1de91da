/**
 * A worker for the pool tests. Tasks: `{ op: 'echo', n }` returns n × 2 after streaming two
 * messages; `die-once` exits the thread the first time it meets its marker (a file it creates),
 * `die` exits every time, `throw` throws (a failing worker), `oom` fills the heap. Start-up work
 * (for `ready()`): with `startMs` the worker busies itself that long before it serves tasks and then
 * writes `started` + its instance; with `throwAtStart` it throws instead.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../../src/core/pool-worker.js';

export type FixtureTask = { op: 'echo'; n: number } | { op: 'die-once'; n: number; marker: string } | { op: 'die'; n: number } | { op: 'throw'; n: number } | { op: 'oom'; n: number };

const init = workerData as { instance: number; startMs?: number; started?: string; throwAtStart?: boolean };
const instance = init.instance;
if (init.throwAtStart) throw new Error(`worker ${instance} cannot start`);
if (init.startMs) {
  const until = Date.now() + init.startMs;
  while (Date.now() < until);
}
if (init.started) writeFileSync(`${init.started}${instance}`, 'x');
let handled = 0;

serveTasks<FixtureTask, number>(
  async (task, ctx) => {
    handled++;
    ctx.post({ kind: 'progress', n: task.n, instance, step: 1 });
    await new Promise((r) => setTimeout(r, 1));
    ctx.post({ kind: 'progress', n: task.n, instance, step: 2 });
    switch (task.op) {
      case 'echo':
        return task.n * 2;
      case 'die-once':
        if (!existsSync(task.marker)) {
          writeFileSync(task.marker, 'x');
          process.exit(3);
        }
        return task.n * 2;
      case 'die':
        process.exit(4);
        break;
      case 'throw':
        throw new Error(`boom on ${task.n}`);
      case 'oom': {
        const hog: unknown[] = [];
        for (;;) hog.push(new Array(1e6).fill(task.n));
      }
    }
    return -1;
  },
  { onStop: () => ({ instance, handled }) },
);
