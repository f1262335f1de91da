/**
 * The one worker-thread pool of the program (hunt, scan, `evtx dump`). A task is submitted and
 * its promise resolves with the worker's result; while a worker works on a task it may stream
 * messages of its own (`onMessage`), which the pool hands over strictly in order, and the main
 * thread may answer (`post`, e.g. flow-control acknowledgements).
 *
 * Failures, and what they do:
 * - A worker that dies without a reported failure (it exited, was killed, ran out of memory) is
 *   replaced; the tasks it held are retried on the replacement (`onDeath` may add tasks it had
 *   finished whose results were not complete yet, or drop some), up to `maxAttempts` times each;
 *   a task that keeps killing workers is rejected with a `TaskLostError`, which names it.
 * - A failing worker (an uncaught exception, or a failure it reports with `fail`) and a throwing
 *   `onMessage` or `onDone` are fatal: every other worker is terminated, every pending task is
 *   rejected with that error, and nothing else is run. Rejections only reach the promises `submit` returned.
 *
 * The worker side is ./pool-worker.ts.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { FirebreakError } from './errors.js';

/** Messages of the pool's own protocol (worker side: ./pool-worker.ts). */
/** How long a worker killed by fault injection has to end itself before it is terminated. */
const KILL_GRACE_MS = 2_000;

export type ToPoolWorker<T> = { pool: 'task'; id: number; task: T } | { pool: 'stop' } | { pool: 'exit'; code: number };
export type FromPoolWorker<R> = { pool: 'ready' } | { pool: 'done'; id: number; result: R } | { pool: 'fatal'; message: string; stack?: string } | { pool: 'stopped'; last: unknown };

/** A task could not be completed: the workers running it died `attempts` times. */
export class TaskLostError extends FirebreakError {
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super('worker-lost', message);
  }
}

/** One worker thread as the caller sees it. */
export interface PoolWorker {
  /** Unique per spawned worker (a replacement gets a new one): names its output, filters its leftovers. */
  readonly instance: number;
  /** Send a message of the caller's protocol to this worker. */
  post(msg: unknown): void;
}

export interface PoolOptions<T, M, R = unknown> {
  /** The worker module (it calls `serveTasks` from ./pool-worker.ts). */
  url: URL;
  /** Worker threads at most (spawned as tasks arrive). */
  size: number;
  workerData?: (instance: number) => unknown;
  /** Heap limits per worker (a worker over them dies of `ERR_WORKER_OUT_OF_MEMORY`: retried, then lost). */
  resourceLimits?: ResourceLimits;
  /** Tasks a worker holds at once (default 1; 2 keeps a busy worker from waiting for its next). */
  depth?: number;
  /** Times a task is tried before it is given up as lost (default 2). */
  maxAttempts?: number;
  /** A message of the caller's protocol from a worker (handled in order; a throw is fatal). */
  onMessage?: (msg: M, from: PoolWorker) => void | Promise<void>;
  /**
   * A worker died. `held` are the tasks it had not finished; return those to run again (default:
   * all of them); the others are rejected with a `TaskLostError`. A caller whose finished tasks
   * may have left results in the dead worker submits those again itself.
   */
  onDeath?: (from: PoolWorker, held: T[], reason: string) => T[] | Promise<T[]>;
  /** A task is done (called in order with its worker's messages, before its promise resolves). */
  onDone?: (task: T, result: R, from: PoolWorker) => void | Promise<void>;
  /** A worker's last words when it stops normally (see `serveTasks`' `onStop`). */
  onStopped?: (last: unknown, from: PoolWorker) => void | Promise<void>;
  /** Names a task in errors (default: its JSON). */
  describe?: (task: T) => string;
  /** Fault injection for tests: terminate the worker when this returns true for a message it sent. */
  killWhen?: (msg: M, from: PoolWorker, task: T | undefined) => boolean;
  /** Fault injection for tests: terminate the worker, its result unheard, when this returns true for a task's result. */
  killWhenDone?: (result: R, from: PoolWorker, task: T) => boolean;
}

interface Job<T, R> {
  id: number;
  task: T;
  key?: string;
  attempts: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

interface Slot<T, R> {
  worker: Worker;
  handle: PoolWorker;
  held: Map<number, Job<T, R>>;
  ready: boolean;
  stopping: boolean;
  dead: boolean;
  /** Terminated by fault injection: its remaining messages are ignored. */
  killed: boolean;
}

export class WorkerPool<T, R = void, M = never> {
  private readonly slots: Slot<T, R>[] = [];
  /** Affinity key → the worker its tasks run on. */
  private readonly bindings = new Map<string, Slot<T, R>>();
  private readonly queue: Job<T, R>[] = [];
  private nextId = 1;
  private nextInstance = 0;
  private failure: Error | undefined;
  private closing: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Callers of `ready()` waiting for the workers starting now. */
  private readonly readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly depth: number;
  private readonly maxAttempts: number;
  /** Workers replaced after a death, and tasks given up (for the caller's report). */
  readonly stats = { spawned: 0, deaths: 0, retried: 0, lost: 0 };

  constructor(private readonly o: PoolOptions<T, M, R>) {
    this.depth = Math.max(1, o.depth ?? 1);
    this.maxAttempts = Math.max(1, o.maxAttempts ?? 2);
  }

  /**
   * Run one task; resolves with its result. Tasks with the same `affinity` key run on the same
   * worker, in submission order (state a worker keeps per key, e.g. a log stream's); if that worker
   * dies, the key moves to another.
   */
  submit(task: T, affinity?: string): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('worker pool: submit after close'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, attempts: 0, resolve, reject, key: affinity });
      this.dispatch();
    });
  }

  /**
   * Stop every worker once its tasks are done (their last words go to `onStopped`) and wait for
   * them to exit. Rejects with the pool's fatal error, if there was one.
   */
  close(): Promise<void> {
    if (!this.closing) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.closing = { promise, resolve, reject };
      this.settle();
    }
    return this.closing.promise;
  }

  /** When closing: stop idle workers once nothing is left to run; resolve once all have exited. */
  private settle(): void {
    const c = this.closing;
    if (!c) return;
    if (this.failure) return c.reject(this.failure);
    if (this.queue.length || this.slots.some((s) => s.held.size)) return;
    const live = this.slots.filter((s) => !s.dead);
    for (const s of live) if (!s.stopping) this.stop(s);
    if (!live.length) this.chain.then(c.resolve, c.reject);
  }

  /** Start every worker now (rather than as tasks arrive), e.g. so keyed tasks spread over them. */
  warm(): void {
    while (this.slots.filter((s) => !s.dead && !s.stopping).length < this.o.size) this.spawn();
  }

  /**
   * Start every worker (as `warm`) and resolve once each one has done its start-up work (a
   * detection worker compiles its rules) and reported ready, so the first task does not wait for
   * it. Rejects with the pool's fatal error (e.g. a worker that throws while starting). A worker
   * that dies while starting is not waited for: the next task starts a replacement.
   */
  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.warm();
    return new Promise<void>((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.checkReady();
    });
  }

  private checkReady(): void {
    if (!this.readyWaiters.length) return;
    if (this.failure) {
      for (const w of this.readyWaiters.splice(0)) w.reject(this.failure);
      return;
    }
    if (this.slots.some((s) => !s.ready && !s.dead && !s.stopping)) return;
    for (const w of this.readyWaiters.splice(0)) w.resolve();
  }

  /** Terminate everything now (on the caller's own failure); pending tasks are rejected with `reason`. */
  async terminate(reason: Error = new Error('worker pool terminated')): Promise<void> {
    this.fail(reason);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    if (this.failure) return;
    // Tasks with an affinity key wait for their own worker, in order; the others take any. With
    // every worker full nothing can start: return at once (a hunt submits thousands of files up
    // front, and walking the whole queue on each submit would cost its square).
    const blocked = new Set<string>();
    for (let i = 0; i < this.queue.length && this.slots.some((s) => s.ready && !s.dead && !s.stopping && s.held.size < this.depth);) {
      const job = this.queue[i]!;
      let slot: Slot<T, R> | undefined;
      if (job.key !== undefined) {
        if (!blocked.has(job.key)) slot = this.boundSlot(job.key);
        if (!slot || slot.held.size >= this.depth) {
          blocked.add(job.key);
          i++;
          continue;
        }
      } else {
        // The least busy worker: an idle one starts at once rather than queueing behind a busy one.
        for (const s of this.slots) if (s.ready && !s.dead && !s.stopping && s.held.size < this.depth && (!slot || s.held.size < slot.held.size)) slot = s;
        if (!slot) {
          i++;
          continue;
        }
      }
      this.queue.splice(i, 1);
      job.attempts++;
      slot.held.set(job.id, job);
      slot.worker.postMessage({ pool: 'task', id: job.id, task: job.task } satisfies ToPoolWorker<T>);
    }
    if (!this.queue.length) return;
    // Workers still starting take tasks once ready; spawn another only when they cannot take all.
    const live = this.slots.filter((s) => !s.dead && !s.stopping);
    const room = live.reduce((n, s) => n + this.depth - s.held.size, 0);
    if (this.queue.length > room && live.length < this.o.size) this.spawn();
  }

  /** The worker a key is bound to (bound now to the least busy ready worker if its own is gone). */
  private boundSlot(key: string): Slot<T, R> | undefined {
    const s = this.bindings.get(key);
    if (s && !s.dead && !s.stopping) return s.ready ? s : undefined;
    const ready = this.slots.filter((x) => x.ready && !x.dead && !x.stopping);
    let best: Slot<T, R> | undefined;
    for (const x of ready) if (!best || this.boundCount(x) < this.boundCount(best)) best = x;
    // Spread keys: a worker still starting gets the key rather than doubling up on a busy one.
    const starting = this.slots.some((x) => !x.ready && !x.dead && !x.stopping);
    if (best && this.boundCount(best) > 0 && starting) return undefined;
    if (best) this.bindings.set(key, best);
    return best;
  }

  private boundCount(slot: Slot<T, R>): number {
    let n = 0;
    for (const s of this.bindings.values()) if (s === slot) n++;
    return n;
  }

  private spawn(): Slot<T, R> {
    const instance = this.nextInstance++;
    const worker = new Worker(this.o.url, { workerData: this.o.workerData?.(instance), resourceLimits: this.o.resourceLimits });
    this.stats.spawned++;
    const slot: Slot<T, R> = {
      worker,
      held: new Map(),
      ready: false,
      stopping: false,
      dead: false,
      killed: false,
      handle: { instance, post: (msg) => void (!slot.dead && worker.postMessage(msg)) },
    };
    this.slots.push(slot);
    worker.on('message', (m: FromPoolWorker<R> | M) => this.onMessage(slot, m));
    worker.on('error', (e: Error & { code?: string }) => {
      // Out of memory is a death (the task may fit on a fresh heap); anything else thrown is a bug.
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') return this.died(slot, `ran out of memory (${e.message})`);
      this.fail(withTask(e, this.heldNames(slot)));
    });
    worker.on('messageerror', (e) => this.fail(e));
    worker.on('exit', (code) => {
      if (slot.dead) return;
      if (slot.stopping && !slot.held.size) {
        slot.dead = true;
        // Its last words were queued before it exited.
        return this.enqueue(() => this.settle());
      }
      this.died(slot, `exited with code ${code}`);
    });
    return slot;
  }

  private onMessage(slot: Slot<T, R>, m: FromPoolWorker<R> | M): void {
    if (slot.dead || slot.killed) return; // a dead or killed worker's last messages
    const pm = m as FromPoolWorker<R>;
    if (pm && typeof pm === 'object' && 'pool' in pm) {
      switch (pm.pool) {
        case 'ready':
          slot.ready = true;
          this.checkReady();
          return this.dispatch();
        case 'done': {
          const job = slot.held.get(pm.id);
          if (job && this.o.killWhenDone?.(pm.result, slot.handle, job.task)) return this.kill(slot);
          // In order with the task's own messages: its result is final once they are handled.
          this.enqueue(async () => {
            if (!job || slot.dead) return;
            slot.held.delete(pm.id);
            try {
              await this.o.onDone?.(job.task, pm.result, slot.handle);
            } catch (e) {
              // Fatal, and this task's own promise learns it too (it is no longer held, so `fail` would miss it).
              const err = e instanceof Error ? e : new Error(String(e));
              this.fail(err);
              return job.reject(err);
            }
            job.resolve(pm.result);
            this.dispatch();
            this.settle();
          });
          return;
        }
        case 'fatal': {
          const e = new Error(pm.message);
          if (pm.stack) e.stack = pm.stack;
          return this.fail(withTask(e, this.heldNames(slot)));
        }
        case 'stopped':
          return this.enqueue(() => this.o.onStopped?.(pm.last, slot.handle));
      }
    }
    const msg = m as M;
    if (this.o.killWhen?.(msg, slot.handle, slot.held.values().next().value?.task)) return this.kill(slot);
    this.enqueue(() => this.o.onMessage?.(msg, slot.handle));
  }

  /** Fault injection: end the worker as a crash would; what it sends from now on is not heard. */
  private kill(slot: Slot<T, R>): void {
    slot.killed = true;
    // The worker ends itself at its next turn. `terminate()` from here can stop it inside zlib's
    // stream constructor, between creating the native handle and initialising it, and Node then
    // aborts the whole process while cleaning up the thread ("close before init"). A worker
    // stuck in synchronous code is terminated after a while.
    slot.worker.postMessage({ pool: 'exit', code: 1 } satisfies ToPoolWorker<T>);
    setTimeout(() => void slot.worker.terminate(), KILL_GRACE_MS).unref();
  }

  /** Run caller code strictly in order; a throw is fatal. */
  private enqueue(f: () => void | Promise<void>): void {
    this.chain = this.chain.then(f).catch((e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))));
  }

  private died(slot: Slot<T, R>, reason: string): void {
    if (slot.dead || this.failure) return;
    slot.dead = true;
    this.stats.deaths++;
    this.checkReady();
    const held = [...slot.held.values()];
    slot.held.clear();
    // A worker runs its tasks one at a time, in order: only the first it held had started; the
    // others never ran, so this death does not count against them.
    for (const j of held.slice(1)) j.attempts--;
    void slot.worker.terminate();
    // After the messages it sent before dying have been handled.
    this.enqueue(async () => {
      const again = new Set(
        this.o.onDeath
          ? await this.o.onDeath(
              slot.handle,
              held.map((j) => j.task),
              reason,
            )
          : held.map((j) => j.task),
      );
      const retry: Job<T, R>[] = [];
      for (const job of held) {
        if (again.has(job.task) && job.attempts < this.maxAttempts) {
          this.stats.retried++;
          retry.push(job);
          continue;
        }
        this.stats.lost++;
        job.reject(new TaskLostError(`worker thread ${reason} while working on ${this.name(job.task)} (attempt ${job.attempts} of ${this.maxAttempts})`, job.attempts));
      }
      // First, in the order they were given (a key's tasks stay in order).
      this.queue.unshift(...retry);
      this.dispatch();
      this.settle();
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const s of this.slots) {
      for (const j of s.held.values()) j.reject(e);
      s.held.clear();
      s.dead = true;
      void s.worker.terminate();
    }
    for (const j of this.queue.splice(0)) j.reject(e);
    this.closing?.reject(e);
    this.checkReady();
  }

  private stop(slot: Slot<T, R>): void {
    slot.stopping = true;
    slot.worker.postMessage({ pool: 'stop' } satisfies ToPoolWorker<T>);
  }

  private heldNames(slot: Slot<T, R>): string[] {
    return [...slot.held.values()].map((j) => this.name(j.task));
  }

  private name(task: T): string {
    return this.o.describe ? this.o.describe(task) : JSON.stringify(task);
  }
}

function withTask(e: Error, tasks: string[]): Error {
  if (!tasks.length) return e;
  const out = new FirebreakError('worker-failed', `worker thread failed while working on ${tasks.join(', ')}: ${e.message}`, { cause: e });
  out.stack = e.stack;
  return out;
}
