/**
 * Child process for the event-store crash test: opens the store in `argv[2]` (DuckDB in this
 * process), resumes after its highest offset as the server's processor does, and appends records
 * of 1 to 3 events each (record n has 1 + n % 3 events) in batches, printing `A <maxOffset>` once
 * each append resolved. Runs until killed.
 */
import { DuckEventStore } from '../../src/serve/store/duck.js';
import { rng } from '../../src/core/rng.js';
import type { StoredEvent } from '../../src/serve/store/types.js';

const [dir, seed] = process.argv.slice(2);
const rand = rng(Number(seed));
const store = await DuckEventStore.open({ dir: dir!, threads: 1, memoryBytes: 256 * 1024 * 1024 });
let next = (await store.maxOffset()) + 1;
const DAY = 86_400_000;
for (;;) {
  const records = 1 + Math.floor(rand() * 400);
  const events: StoredEvent[] = [];
  for (let r = 0; r < records; r++, next++) {
    for (let k = 0; k <= next % 3; k++) {
      // Spread over a few days, so one append writes several day tables in its transaction.
      const at = Date.now() - Math.floor(rand() * 4) * DAY;
      events.push({
        offset: next,
        source: 'crash',
        timestamp: new Date(at).toISOString(),
        receivedAt: Date.now(),
        computer: 'h',
        channel: null,
        provider: null,
        eventId: k,
        recordId: null,
        fields: { n: next, k, [`f${next % 50}`]: 'x'.repeat(Math.floor(rand() * 200)) },
      });
    }
  }
  await store.append(events);
  process.stdout.write(`A ${next - 1}\n`);
}
