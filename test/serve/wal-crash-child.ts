/**
 * Child process for the WAL crash test: appends batches of records with ids from argv[3] on, with
 * several appends in flight, and prints `A <ids>` for each batch once its append resolved. With a
 * consumer (argv[5] = 1) it also reads from the committed offset, prints `C <ids>` and commits.
 * Runs until killed.
 */
import { rng } from '../../src/core/rng.js';
import { WriteAheadLog } from '../../src/serve/wal/wal.js';

const [dir, startId, seed, consumer] = process.argv.slice(2);
const rand = rng(Number(seed));
const wal = await WriteAheadLog.open({ dir: dir!, segmentBytes: 64 * 1024, groupCommitMs: 1 });
let id = Number(startId);

async function producer(): Promise<void> {
  for (;;) {
    const n = 1 + Math.floor(rand() * 20);
    const ids: number[] = [];
    const records = [];
    for (let i = 0; i < n; i++) {
      ids.push(id);
      records.push({ source: 'crash', protocol: 'hec' as const, receivedAt: Date.now(), kind: 'json' as const, body: JSON.stringify({ id: id++, pad: 'p'.repeat(Math.floor(rand() * 3000)) }) });
    }
    await wal.append(records);
    process.stdout.write(`A ${ids.join(' ')}\n`);
  }
}

async function consume(): Promise<void> {
  const r = wal.reader();
  for (;;) {
    const batch = await r.read(1 + Math.floor(rand() * 200));
    if (!batch.length) return;
    process.stdout.write(`C ${batch.map((e) => (JSON.parse(e.record.body) as { id: number }).id).join(' ')}\n`);
    await wal.commit(batch[batch.length - 1]!.offset + 1);
  }
}

// Four producers keep appends in flight concurrently, so kills land inside group commits.
const work = [producer(), producer(), producer(), producer()];
if (consumer === '1') work.push(consume());
await Promise.all(work);
