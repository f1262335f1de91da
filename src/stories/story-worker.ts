/**
 * The story stage in a thread of its own (./thread.ts is the main thread's side). A hunt's time
 * sort ends on one thread: correlation, counts and the outputs run there, and the stories, the
 * heaviest of them, run here beside them. Messages are handled in the order they were sent, so the
 * stories are those the same stage makes on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DetectionRecord } from '../detections/record.js';
import { adoptDefaultDomain, defaultDomain, type DomainHandoff } from '../events/domain.js';
import { StoryBuilder, type StoryOptions } from './builder.js';
import type { RoutineFact } from './facts.js';
import type { Story } from './model.js';
import type { RoutineOptions } from './routine.js';
import { StoryStage } from './stage.js';

export interface StoryWorkerInit {
  /** The builder's options that can cross threads (the bundled domain is handed over apart). */
  options: Omit<StoryOptions, 'domain' | 'routine' | 'live'> & { routine?: RoutineOptions };
  domain: DomainHandoff;
}

export type ToStoryWorker =
  | { t: 'learn'; claims: { ip: string; host: string; at?: string | null }[] }
  | { t: 'routine'; facts: RoutineFact[] }
  | { t: 'push'; batch: DetectionRecord[] }
  | { t: 'advance'; watermark: number }
  | { t: 'finish' };

export type FromStoryWorker =
  /** A batch was taken in (credit back for the sender's window). */
  { t: 'ack' } | { t: 'done'; stories: Story[]; stats: Record<string, number> } | { t: 'fatal'; message: string; stack?: string };

const port = parentPort;
if (!port) throw new Error('story-worker runs in a worker thread');
const init = workerData as StoryWorkerInit;
adoptDefaultDomain(init.domain);
const stage = new StoryStage(new StoryBuilder({ ...init.options, domain: defaultDomain() }));

port.on('message', (m: ToStoryWorker) => {
  try {
    switch (m.t) {
      case 'learn':
        return stage.learn(m.claims);
      case 'routine':
        return stage.learnRoutine(m.facts);
      case 'push':
        void stage.push(m.batch);
        return port.postMessage({ t: 'ack' } satisfies FromStoryWorker);
      case 'advance':
        void stage.advance(m.watermark);
        return;
      case 'finish':
        void stage.finish();
        return port.postMessage({ t: 'done', stories: stage.stories(), stats: { ...stage.stats() } } satisfies FromStoryWorker);
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ t: 'fatal', message: err.message, stack: err.stack } satisfies FromStoryWorker);
    port.close();
  }
});
