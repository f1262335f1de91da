/**
 * The worker pool: results, retries after a worker dies, tasks given up with a named error, a
 * failing worker stopping everything cleanly, last words on stop, and no unhandled rejection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { TaskLostError, WorkerPool, type PoolOptions } from '../../src/core/pool.js';
import type { FixtureTask } from './pool-fixture.js';

const URL_ = new URL('./pool-fixture.js', import.meta.url);
type Msg = { kind: 'progress'; n: number; instance: number; step: number };

function pool(o: Partial<PoolOptions<FixtureTask, Msg, number>> = {}) {
  return new WorkerPool<FixtureTask, number, Msg>({ url: URL_, size: 2, workerData: (instance) => ({ instance }), describe: (t) => `task ${t.n}`, ...o });
}

describe('worker pool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-pool-'));
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(() => process.on('unhandledRejection', onUnhandled));
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs tasks on at most `size` workers, in order per worker, with streamed messages and last words', async () => {
    const seen: Msg[] = [];
    const last: unknown[] = [];
    const p = pool({ depth: 2, onMessage: (m) => void seen.push(m), onStopped: (l) => void last.push(l) });
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => p.submit({ op: 'echo', n })));
    await p.close();
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, n) => n * 2),
    );
    assert.equal(seen.length, 40);
    for (let n = 0; n < 20; n++)
      assert.deepEqual(
        seen.filter((m) => m.n === n).map((m) => m.step),
        [1, 2],
      );
    assert.ok(p.stats.spawned <= 2, `${p.stats.spawned} spawned`);
    assert.equal(last.length, p.stats.spawned);
    assert.equal(
      last.reduce((s: number, l) => s + (l as { handled: number }).handled, 0),
      20,
    );
  });

  it('replaces a worker that dies and retries its task; other tasks are unaffected', async () => {
    const p = pool();
    const marker = join(dir, 'die-once');
    const results = await Promise.all([p.submit({ op: 'echo', n: 1 }), p.submit({ op: 'die-once', n: 2, marker }), p.submit({ op: 'echo', n: 3 })]);
    await p.close();
    assert.deepEqual(results, [2, 4, 6]);
    assert.equal(p.stats.deaths, 1);
    assert.equal(p.stats.retried, 1);
  });

  it('gives up a task that keeps killing workers, naming it; the rest completes', async () => {
    const p = pool();
    const lost = p.submit({ op: 'die', n: 7 });
    const ok = Promise.all([1, 2, 3].map((n) => p.submit({ op: 'echo', n })));
    await assert.rejects(lost, (e: unknown) => e instanceof TaskLostError && /task 7/.test(e.message) && e.attempts === 2);
    assert.deepEqual(await ok, [2, 4, 6]);
    await p.close();
    assert.equal(p.stats.lost, 1);
  });

  it('a worker that runs out of memory is a death, not a failure', { timeout: 60_000 }, async () => {
    // A small heap so the test is quick.
    const p = pool({ size: 1, maxAttempts: 1, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 } });
    const lost = p.submit({ op: 'oom', n: 1 });
    await assert.rejects(lost, TaskLostError);
    assert.equal(await p.submit({ op: 'echo', n: 5 }), 10);
    await p.close();
  });

  it('a failing worker stops every other worker and rejects every pending task with its error', async () => {
    const p = pool({ depth: 2 });
    const all = [p.submit({ op: 'echo', n: 1 }), p.submit({ op: 'throw', n: 2 }), ...[3, 4, 5, 6, 7, 8].map((n) => p.submit({ op: 'echo', n }))];
    const settled = await Promise.allSettled(all);
    const failed = settled.filter((s) => s.status === 'rejected');
    assert.ok(failed.length >= 1);
    for (const f of failed) assert.match(String(f.reason), /boom on 2/);
    await assert.rejects(p.close(), /boom on 2/);
    await assert.rejects(p.submit({ op: 'echo', n: 9 }), /boom on 2/);
  });

  it('a throwing message handler is fatal too', async () => {
    const p = pool({
      onMessage: (m) => {
        if (m.n === 3 && m.step === 2) throw new Error('disk full');
      },
    });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => p.submit({ op: 'echo', n })));
    assert.ok(settled.some((s) => s.status === 'rejected' && /disk full/.test(String(s.reason))));
    await assert.rejects(p.close(), /disk full/);
  });

  it('a throwing done handler is fatal and rejects that task as well (even the last one)', async () => {
    const p = pool({
      onDone: (t) => {
        if (t.n === 1) throw new Error('sink closed');
      },
    });
    // The only task: nothing else pending would reject and wake a caller waiting on it.
    await assert.rejects(p.submit({ op: 'echo', n: 1 }), /sink closed/);
    await assert.rejects(p.close(), /sink closed/);
  });

  it('fault injection: a worker killed after it streamed a message is replaced and the task retried', async () => {
    let killed = 0;
    const p = pool({ killWhen: (m) => m.n === 4 && m.step === 1 && killed++ === 0 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => p.submit({ op: 'echo', n })));
    await p.close();
    assert.deepEqual(results, [2, 4, 6, 8, 10]);
    assert.equal(p.stats.deaths, 1);
  });

  it('fault injection: a worker killed at a result is replaced, the result unheard and the task retried', async () => {
    let killed = 0;
    const done: number[] = [];
    const p = pool({ killWhenDone: (r, _from, t) => t.n === 3 && r === 6 && killed === 0 && ++killed === 1, onDone: (t) => void done.push(t.n) });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => p.submit({ op: 'echo', n })));
    await p.close();
    assert.deepEqual(results, [2, 4, 6, 8, 10]);
    assert.equal(killed, 1);
    assert.equal(p.stats.deaths, 1);
    // The killed worker's result was not handed over: task 3 is done once, by its retry.
    assert.deepEqual(
      done.filter((n) => n === 3),
      [3],
    );
  });
});

describe('worker pool: ready', () => {
  it('resolves once every worker has done its start-up work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-pool-ready-'));
    const started = join(dir, 'started-');
    const p = pool({ workerData: (instance) => ({ instance, startMs: 300, started }) });
    await p.ready();
    assert.deepEqual(readdirSync(dir).sort(), ['started-0', 'started-1'], 'both workers started before ready() resolved');
    assert.equal(p.stats.spawned, 2);
    assert.equal(await p.submit({ op: 'echo', n: 3 }), 6);
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a task goes to the least busy worker (two tasks on two idle workers run on both)', async () => {
    const seen: Msg[] = [];
    const p = pool({ depth: 2, onMessage: (m) => void seen.push(m) });
    await p.ready();
    await Promise.all([p.submit({ op: 'echo', n: 1 }), p.submit({ op: 'echo', n: 2 })]);
    await p.close();
    assert.equal(new Set(seen.map((m) => m.instance)).size, 2);
  });

  it('rejects with the error of a worker that fails while starting', async () => {
    const p = pool({ workerData: (instance) => ({ instance, throwAtStart: true }) });
    await assert.rejects(p.ready(), /cannot start/);
    await assert.rejects(p.close(), /cannot start/);
  });
});

describe('worker pool: affinity', () => {
  it('tasks with one key run on one worker, in order; keys spread over the workers', async () => {
    const seen: Msg[] = [];
    const p = pool({ depth: 2, onMessage: (m) => void seen.push(m) });
    p.warm();
    const jobs: Promise<number>[] = [];
    for (let n = 0; n < 40; n++) jobs.push(p.submit({ op: 'echo', n }, `k${n % 4}`));
    await Promise.all(jobs);
    await p.close();
    const byKey = new Map<string, Set<number>>();
    const order = new Map<string, number[]>();
    for (const m of seen) {
      if (m.step !== 1) continue;
      const k = `k${m.n % 4}`;
      byKey.set(k, (byKey.get(k) ?? new Set()).add(m.instance));
      order.set(k, [...(order.get(k) ?? []), m.n]);
    }
    for (const [k, inst] of byKey) assert.equal(inst.size, 1, `${k} ran on ${[...inst].join(', ')}`);
    for (const [k, ns] of order)
      assert.deepEqual(
        ns,
        [...ns].sort((a, b) => a - b),
        `${k} in order`,
      );
    assert.equal(new Set([...byKey.values()].map((s) => [...s][0])).size, 2, 'four keys spread over two workers');
  });

  it('a key whose worker died moves to another worker', async () => {
    const p = pool();
    p.warm();
    const marker = join(tmpdir(), `fb-pool-aff-${process.pid}`);
    rmSync(marker, { force: true });
    const r = await Promise.all([p.submit({ op: 'echo', n: 1 }, 'a'), p.submit({ op: 'die-once', n: 2, marker }, 'a'), p.submit({ op: 'echo', n: 3 }, 'a')]);
    await p.close();
    rmSync(marker, { force: true });
    assert.deepEqual(r, [2, 4, 6]);
  });
});
