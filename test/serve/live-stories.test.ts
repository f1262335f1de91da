/**
 * Live stories' bookkeeping stays bounded on a long stream: alerts waiting to be linked to a story
 * component are forgotten when the component closes without earning its place (issue 13's soak:
 * event time standing still, every late lone alert a component of its own that is never written).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionRecord } from '../../src/detections/record.js';
import { StoryBuilder } from '../../src/stories/builder.js';
import { StoryStage } from '../../src/stories/stage.js';
import { LiveStories } from '../../src/serve/stories.js';
import { StateDb } from '../../src/serve/store/db.js';
import { detection } from '../output/fixtures.js';

const T0 = Date.UTC(2026, 11, 6, 8, 0, 0);

/** A low-level process start on one host, its command line unique (the soak's latency markers). */
function marker(i: number, t: number): DetectionRecord {
  const cmd = `cmd /c fb-bench-marker ${i}`;
  return detection(
    {
      timestamp: new Date(t).toISOString(),
      computer: 'bench.corp.example',
      level: 'low',
      recordId: 900_000_000 + i,
      matched: { CommandLine: cmd },
      event: { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'bench.corp.example', Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: cmd },
    },
    { id: '0b6a1f64-5c1e-4d4f-9a57-3b8f0f3c2a11', title: 'Bench latency marker', level: 'low', tags: [] },
  );
}

describe('live stories: bounded bookkeeping', () => {
  it('alerts of components that close unearned are forgotten: pending stays bounded while event time stands still', async () => {
    const db = new StateDb(':memory:');
    let alert = 0;
    const live = new LiveStories(db, { alertOf: () => ++alert });
    const builder = new StoryBuilder({ live: { merged: (into, from) => live.merged(into, from), dropped: (key) => live.dropped(key) } });
    const stage = new StoryStage(builder);
    stage.onJoin = (d, key) => live.joined(d, key);
    // Event time reaches T0 + 10 h once, then the stream cycles through the first 100 minutes again
    // and again (as the soak replays its scenario): every marker is hours behind the newest event.
    const newest = T0 + 10 * 3_600_000;
    await stage.push([marker(0, newest)]);
    const N = 12_000;
    let maxPending = 0;
    for (let i = 1; i <= N; i++) {
      await stage.push([marker(i, T0 + (i % 100) * 60_000)]);
      await stage.advance(newest);
      if (i % 200 === 0) {
        live.flush(stage);
        maxPending = Math.max(maxPending, live.pendingComponents);
      }
    }
    const st = builder.stats();
    assert.ok(st.used > N / 2, `most markers joined a component (${st.used} of ${N})`);
    assert.ok(st.discarded > N / 2, `most components closed unearned (${st.discarded})`);
    // At most one sweep's worth (1,024 detections) of components waits to be closed at any time.
    assert.ok(maxPending <= 1_100, `components with alerts waiting to be linked stayed bounded (at most ${maxPending} after ${N} markers)`);
    db.db.close();
  });
});
