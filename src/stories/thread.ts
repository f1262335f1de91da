/**
 * The story stage run in its own thread (./story-worker.ts): the same stage contract and the same
 * side inputs as `StoryStage`, for `hunt`. After the time sort one thread does everything else
 * (merging the sorted runs, correlation, counts, the outputs); with the stories beside it, the
 * end of a hunt uses two cores instead of one. Batches are copied to the thread and acknowledged,
 * at most `WINDOW` ahead, so a slower story thread holds the sender back instead of queueing the
 * whole hunt. The thread does not keep the process alive, and a failure in it fails the hunt with
 * its message.
 */
import { Worker } from 'node:worker_threads';
import { FirebreakError } from '../core/errors.js';
import type { DetectionRecord } from '../detections/record.js';
import { NONE, ObserverStage, type StageOutput, type StageStats } from '../detections/stage.js';
import { defaultDomainHandoff } from '../events/domain.js';
import type { RoutineFact } from './facts.js';
import type { Story } from './model.js';
import type { FromStoryWorker, StoryWorkerInit, ToStoryWorker } from './story-worker.js';

/** Batches sent and not yet taken in by the thread. */
const WINDOW = 8;

export class StoryThreadStage extends ObserverStage {
  readonly name = 'stories';
  private readonly worker: Worker;
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private result: { stories: Story[]; stats: StageStats } | undefined;
  private settle: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(options: StoryWorkerInit['options'] = {}) {
    super();
    this.worker = new Worker(new URL('./story-worker.js', import.meta.url), { workerData: { options, domain: defaultDomainHandoff() } satisfies StoryWorkerInit });
    this.worker.unref();
    this.worker.on('message', (m: FromStoryWorker) => {
      if (m.t === 'ack') {
        this.inFlight--;
        this.wake();
      } else if (m.t === 'done') {
        this.result = { stories: m.stories, stats: m.stats };
        this.settle?.resolve();
      } else this.fail(new FirebreakError('story-thread', `stories: the story thread failed: ${m.message}`));
    });
    this.worker.on('error', (e) => this.fail(new FirebreakError('story-thread', `stories: the story thread failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.result) this.fail(new FirebreakError('story-thread', `stories: the story thread stopped (exit code ${code}) before the stories were made`));
    });
  }

  /** Address claims read from the events (see `StoryStage.learn`). */
  learn(claims: Iterable<{ ip: string; host: string; at?: string | null }>): void {
    this.send({ t: 'learn', claims: [...claims] });
  }

  /** Routine facts read from the events (see `StoryStage.learnRoutine`). */
  learnRoutine(facts: Iterable<RoutineFact>): void {
    const list = [...facts];
    if (list.length) this.send({ t: 'routine', facts: list });
  }

  protected observe(batch: readonly DetectionRecord[]): void | Promise<void> {
    this.send({ t: 'push', batch: batch as DetectionRecord[] });
    this.inFlight++;
    if (this.inFlight >= WINDOW) return this.drained();
  }

  override advance(watermark: number): StageOutput {
    this.send({ t: 'advance', watermark });
    return NONE;
  }

  override async finish(): Promise<readonly DetectionRecord[]> {
    this.worker.ref();
    try {
      const done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
      this.send({ t: 'finish' });
      await done;
    } finally {
      await this.worker.terminate();
    }
    return NONE;
  }

  /** The stories, highest score first (after `finish`). */
  stories(): Story[] {
    if (!this.result) throw new Error('stories are known only after finish()');
    return this.result.stories;
  }

  stats(): StageStats {
    return this.result?.stats ?? {};
  }

  /** Stop the thread without results (the hunt ended early). */
  async close(): Promise<void> {
    if (!this.result) this.result = { stories: [], stats: {} };
    await this.worker.terminate();
  }

  private send(m: ToStoryWorker): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(m);
  }

  private async drained(): Promise<void> {
    this.worker.ref();
    try {
      while (this.inFlight >= WINDOW && !this.failure) await new Promise<void>((r) => (this.waiting = r));
    } finally {
      this.worker.unref();
    }
    if (this.failure) throw this.failure;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  private fail(e: Error): void {
    if (this.failure || this.result) return;
    this.failure = e;
    this.wake();
    this.settle?.reject(e);
  }
}
