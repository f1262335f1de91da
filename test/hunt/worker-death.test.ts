/**
 * A hunt survives its worker threads dying: the worker is replaced, the file it was reading and
 * the files whose detections were still in its memory are read again, and the outcome is the
 * same as without the death (detections, stories, counts, stored events). A file that kills
 * every worker that reads it is reported and the rest of the hunt goes on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DetectionRecord } from '../../src/detections/record.js';
import { hunt, type HuntConfig } from '../../src/hunt/run.js';
import { openOutputs } from '../../src/hunt/outputs.js';
import { DuckDBInstance } from '@duckdb/node-api';
import type { HuntSummary } from '../../src/output/records.js';
import { DATA_DIR } from '../../src/sigma/bundled.js';
import type { Story } from '../../src/stories/model.js';

const SAMPLE = join(DATA_DIR, 'samples', 'intrusion');
const tmp = mkdtempSync(join(tmpdir(), 'fb-death-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  detections: string[];
  stories: string;
  summary: HuntSummary;
}

async function run(extra: Partial<HuntConfig> = {}): Promise<Outcome> {
  const detections: DetectionRecord[] = [];
  let stories: Story[] = [];
  const summary = await hunt({
    paths: [SAMPLE],
    filter: {},
    threads: 2,
    sinks: [{ write: (d) => void detections.push(d), close: async () => undefined }],
    onStories: (s) => void (stories = s),
    ...extra,
  });
  return { detections: detections.map((d) => JSON.stringify(d)), stories: JSON.stringify(stories), summary };
}

describe('hunt: a worker thread dies', { timeout: 300_000 }, () => {
  let clean: Outcome;
  const files = readdirSync(SAMPLE).sort();
  before(async () => {
    clean = await run();
  });

  it('the sample has enough files to spread over two workers', () => {
    assert.ok(files.length >= 6, `${files.length} files`);
    assert.ok(clean.detections.length > 50);
  });

  for (const when of ['first batch of the 4th file', 'first batch of the last file']) {
    it(`killed at the ${when}: replaced, files read again, same outcome`, async () => {
      const target = when.includes('4th') ? files[3]! : files[files.length - 1]!;
      let kills = 0;
      const r = await run({
        testFaults: { killWorkerWhen: (m) => m.type === 'batch' && m.file.endsWith(target) && kills === 0 && ++kills === 1 },
      });
      assert.equal(kills, 1, 'the fault fired');
      assert.equal(r.summary.errors.count, clean.summary.errors.count);
      assert.equal(r.summary.files.read, clean.summary.files.read);
      assert.equal(r.summary.events, clean.summary.events);
      assert.deepEqual(r.detections, clean.detections);
      assert.equal(r.stories, clean.stories);
    });
  }

  it('a file that kills every worker reading it is reported; the rest of the hunt goes on', async () => {
    const target = files[2]!;
    const r = await run({ testFaults: { killWorkerWhen: (m) => m.type === 'batch' && m.file.endsWith(target) } });
    const skipped = r.summary.files.skipped.find((s) => s.file.endsWith(target));
    assert.ok(skipped, JSON.stringify(r.summary.files.skipped));
    assert.match(skipped.reason, /worker thread exited .* while working on .*attempt 2 of 2/);
    assert.equal(r.summary.files.read, clean.summary.files.read - 1);
    assert.ok(r.summary.events < clean.summary.events && r.summary.events > 0);
    // No detection of the lost file, every detection of the others.
    const ofOthers = clean.detections.filter((d) => !(JSON.parse(d) as DetectionRecord).sourceFile.endsWith(target));
    const singles = (list: string[]) => list.filter((d) => (JSON.parse(d) as DetectionRecord).rule.kind === 'sigma');
    assert.deepEqual(singles(r.detections), singles(ofOthers));
  });

  it('events stored for --db are taken back and stored again once', async () => {
    const db = join(tmp, 'h.duckdb');
    const outputs = await openOutputs({ db, overwrite: true });
    let kills = 0;
    const summary = await hunt({
      paths: [SAMPLE],
      filter: {},
      threads: 2,
      sinks: outputs.sinks,
      eventSink: outputs.events,
      // The files this worker finished before are stored already: they are taken back and read again.
      testFaults: { killWorkerWhen: (m) => m.type === 'batch' && m.file.endsWith(files[4]!) && kills === 0 && ++kills === 1 },
    });
    assert.equal(kills, 1);
    const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    try {
      const rows = (await conn.runAndReadAll("SELECT count(*) AS n, count(DISTINCT source_file || ':' || record_id) AS d FROM events")).getRowObjects();
      assert.equal(Number(rows[0]!.n), summary.events);
      assert.equal(Number(rows[0]!.d), summary.events);
      assert.equal(summary.events, clean.summary.events);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
