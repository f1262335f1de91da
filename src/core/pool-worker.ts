/**
 * The worker side of ./pool.ts: `serveTasks` runs the handler on each task the pool sends, one
 * at a time in arrival order, and reports results. A handler's throw is a failing worker (the
 * pool stops everything); input trouble a handler can report belongs in its result instead.
 */
import { parentPort } from 'node:worker_threads';
import type { FromPoolWorker, ToPoolWorker } from './pool.js';

export interface TaskContext {
  /** Send a message of the caller's protocol to the main thread. */
  post(msg: unknown): void;
}

export interface ServeOptions {
  /** Messages of the caller's protocol from the main thread (e.g. acknowledgements). */
  onMessage?: (msg: unknown) => void;
  /** Runs when the pool stops this worker; what it returns is sent as the worker's last words. */
  onStop?: () => unknown;
  /** Buffers of a result to move to the main thread instead of copying them. */
  transfer?: (result: never) => ArrayBuffer[];
}

export function serveTasks<T, R>(handle: (task: T, ctx: TaskContext) => R | Promise<R>, o: ServeOptions = {}): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks runs in a worker thread');
  const ctx: TaskContext = { post: (msg) => port.postMessage(msg) };
  const queue: Exclude<ToPoolWorker<T>, { pool: 'exit' }>[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (m: unknown) => {
    if (m && typeof m === 'object' && 'pool' in m) {
      const pm = m as ToPoolWorker<T>;
      // Ended by the pool (a test's fault injection): at once, between two turns of this thread.
      if (pm.pool === 'exit') process.exit(pm.code);
      queue.push(pm);
      wake?.();
    } else o.onMessage?.(m);
  });
  const send = (m: FromPoolWorker<R>) => port.postMessage(m);
  const loop = async (): Promise<void> => {
    send({ pool: 'ready' });
    for (;;) {
      if (!queue.length) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const m = queue.shift()!;
      if (m.pool === 'stop') {
        send({ pool: 'stopped', last: o.onStop?.() });
        port.close();
        return;
      }
      const result = await handle(m.task, ctx);
      port.postMessage({ pool: 'done', id: m.id, result } satisfies FromPoolWorker<R>, o.transfer?.(result as never) ?? []);
    }
  };
  loop().catch((e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    send({ pool: 'fatal', message: err.message, stack: err.stack });
    port.close();
  });
}
