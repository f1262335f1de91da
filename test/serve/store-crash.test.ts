/**
 * Crash safety of the event store: a process appending events is killed with SIGKILL at random
 * points, and every reopen finds whole appends only (each record with all of its events, no
 * offset missing below the highest) and at least everything acknowledged. The store process the
 * server uses is killed mid-append too: the append is sent again and lands exactly once. A store
 * process that cannot start, or keeps crashing, ends in a clear error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LIMITS } from '../../src/core/limits.js';
import { rng } from '../../src/core/rng.js';
import { openEventStore, type ProcessEventStore } from '../../src/serve/store/events.js';
import type { EventStore } from '../../src/serve/store/types.js';
import { IN_PROCESS, PROCESS, TEST_MEMORY, ev, rejection, tmp } from './store-helpers.js';

const CHILD = fileURLToPath(new URL('./store-crash-child.js', import.meta.url));

/** Every record 0..max has exactly 1 + n % 3 events, and nothing lies above max. */
async function checkWhole(s: EventStore): Promise<number> {
  const max = await s.maxOffset();
  const r = await s.sql(`SELECT "offset", count(*) AS n, count(DISTINCT event_id) AS k FROM events GROUP BY "offset" ORDER BY "offset"`, { maxRows: 100_000 });
  const rows = r.rows.map(([o, n, k]) => [Number(o), Number(n), Number(k)]);
  assert.equal(rows.length, max + 1, `offsets 0..${max} each present once`);
  rows.forEach(([o, n, k], i) => {
    assert.equal(o, i);
    assert.equal(n, 1 + (o % 3), `record ${o} has all its events`);
    assert.equal(k, n);
  });
  assert.equal(
    (await s.usage()).events,
    rows.reduce((a, [, n]) => a + n!, 0),
  );
  return max;
}

describe('event store crash safety', () => {
  it('keeps whole appends and everything acknowledged when killed at random points', async () => {
    const dir = tmp();
    const rand = rng(42);
    let acked = -1;
    const kills = 5;
    for (let round = 0; round < kills; round++) {
      const child = spawn(process.execPath, [CHILD, dir, String(round + 1)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      let out = '';
      let seen = 0;
      // Kill after a random number of acknowledged appends (0: possibly while opening).
      const target = Math.floor(rand() * 6);
      await new Promise<void>((resolve, reject) => {
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${err}`))));
        const killSoon = () => setTimeout(() => child.kill('SIGKILL'), Math.floor(rand() * 30));
        if (target === 0) killSoon();
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const lines = out.split('\n');
          out = lines.pop()!;
          for (const line of lines) {
            const m = /^A (\d+)$/.exec(line);
            if (!m) continue;
            acked = Math.max(acked, Number(m[1]));
            if (++seen === target) killSoon();
          }
        });
      });
      const s = await IN_PROCESS.open(dir);
      try {
        const max = await checkWhole(s);
        assert.ok(max >= acked, `stored up to ${max}, acknowledged up to ${acked}`);
      } finally {
        await s.close();
      }
    }
    assert.ok(acked > 0, 'appends were acknowledged between the kills');
  });

  it('sends an append again when the store process dies under it, and stores it once', async () => {
    const dir = tmp();
    const s = (await PROCESS.open(dir)) as ProcessEventStore;
    const rand = rng(7);
    let next = 0;
    const pids = new Set<number>();
    try {
      for (let round = 0; round < 4; round++) {
        const events = [];
        for (let r = 0; r < 2000; r++, next++) for (let k = 0; k <= next % 3; k++) events.push({ ...ev(next, Date.now(), { n: next, pad: 'p'.repeat(100) }), eventId: k });
        pids.add(s.pid!);
        const appending = s.append(events);
        // Kill before, during or after the transaction: the append resolves either way. The kill
        // is awaited too, so that it never lands in a later, non-retried call (the sql below).
        const killed = new Promise<void>((resolve) =>
          setTimeout(
            () => {
              if (s.pid) process.kill(s.pid, 'SIGKILL');
              resolve();
            },
            Math.floor(rand() * 200),
          ),
        );
        await Promise.all([appending, killed]);
        assert.equal(await s.maxOffset(), next - 1);
      }
      await checkWhole(s);
      assert.ok(pids.size > 1, 'the store process was replaced');
      assert.ok((await s.usage()).restarts >= 1);
    } finally {
      await s.close();
    }
  });

  it('reports a store process that cannot start', async () => {
    // Too little address space for Node itself.
    const e = await rejection(openEventStore(tmp(), { addressSpaceBytes: 64 * 1024 * 1024, memoryBytes: TEST_MEMORY, threads: 1 }));
    assert.equal(e.code, 'store-open');
    assert.match(e.message, /store process (exited|was killed)/);
  });

  it(`gives up after ${LIMITS.store.restartMax} crashes in a row, with a clear error`, async () => {
    const logs: string[] = [];
    const s = (await PROCESS.open(tmp(), { log: (_l, m) => void logs.push(m) })) as ProcessEventStore;
    try {
      // From now on no store process can start (too little address space for Node): the store
      // tries again restartMax times, then gives up.
      (s as unknown as { cap: number }).cap = 64 * 1024 * 1024;
      process.kill(s.pid!, 'SIGKILL');
      const e = await rejection(s.usage());
      assert.equal(e.code, 'store-failed');
      assert.match(e.message, /died \d+ times in a row; giving up/);
      assert.equal((await rejection(s.maxOffset())).code, 'store-failed');
      assert.ok(logs.some((m) => /giving up/.test(m)));
    } finally {
      await s.close();
    }
  });
});
