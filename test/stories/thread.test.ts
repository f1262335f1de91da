/**
 * The story stage in its own thread (src/stories/thread.ts): `hunt` makes the same stories with
 * it as with the stage on the main thread, fed the same detections in batches with watermarks; a
 * failure in the thread fails the stage with its message instead of hanging; a stage closed early
 * lets the thread go.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DetectionRecord } from '../../src/detections/record.js';
import { eventTime } from '../../src/detections/stage.js';
import { hunt } from '../../src/hunt/run.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import type { Story } from '../../src/stories/model.js';
import { StoryStage } from '../../src/stories/stage.js';
import { StoryThreadStage } from '../../src/stories/thread.js';
import { REPO } from '../helpers.js';

const SAMPLE = join(REPO, 'data/samples/intrusion');

async function huntSample(threads: number): Promise<{ stories: Story[]; detections: DetectionRecord[] }> {
  let stories: Story[] = [];
  const detections: DetectionRecord[] = [];
  await hunt({
    paths: [SAMPLE],
    filter: {},
    threads,
    sinks: [{ needsEvent: false, write: (d) => void detections.push(d), close: async () => undefined }],
    onStories: (s) => void (stories = s),
  });
  return { stories, detections };
}

describe('stories in their own thread', { timeout: 300_000 }, () => {
  it('hunt makes the same stories with the story thread (2 threads) as on the main thread (1)', async () => {
    const one = await huntSample(1);
    const two = await huntSample(2);
    assert.ok(one.stories.length >= 1, 'the sample intrusion makes a story');
    assert.deepEqual(two.stories, one.stories);
  });

  it('the same detections in small batches with watermarks: the thread and the stage agree', async () => {
    const { detections } = await huntSample(1);
    const local = new StoryStage(new StoryBuilder({}));
    const thread = new StoryThreadStage({});
    for (let i = 0; i < detections.length; i += 7) {
      const batch = detections.slice(i, i + 7);
      await local.push(batch);
      await thread.push(batch);
      const w = eventTime(batch[batch.length - 1]!);
      if (Number.isFinite(w)) {
        await local.advance(w);
        await thread.advance(w);
      }
    }
    await local.finish();
    await thread.finish();
    assert.ok(local.stories().length >= 1);
    assert.deepEqual(thread.stories(), local.stories());
    assert.deepEqual(thread.stats(), { ...local.stats() });
  });

  it('a failure in the thread fails the stage with its message', async () => {
    const thread = new StoryThreadStage({});
    // A record without a rule: the builder throws on it, in the thread.
    await thread.push([{ timestamp: '2026-01-01T00:00:00Z' } as unknown as DetectionRecord]);
    await assert.rejects(async () => {
      await thread.finish();
    }, /stories: the story thread failed: /);
    assert.throws(() => thread.stories());
  });

  it('a stage closed before finishing lets its thread go', async () => {
    const thread = new StoryThreadStage({});
    thread.learn([{ ip: '10.0.0.5', host: 'WS01' }]);
    await thread.close();
    assert.deepEqual(thread.stories(), []);
  });
});
