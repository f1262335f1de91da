/**
 * `readEventBatches` (what a hunt worker reads with) gives the events `readEvtxFiles` gives, record
 * for record, a chunk at a time for EVTX and one at a time for other formats, with the same
 * errors: over every file of the parser edge cases (bad chunks, bad string caches, files cut
 * short among them), gzipped EVTX, and a JSON log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readEventBatches } from '../../src/readers/detect.js';
import { EvtxError, readEvtxFiles } from '../../src/readers/evtx/index.js';
import type { FirebreakError } from '../../src/core/errors.js';
import { eventFromWindowsDoc } from '../../src/events/winevent.js';
import type { Event } from '../../src/events/event.js';
import { EDGE, FIXTURES, SKIP_EDGE } from '../evtx/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-batches-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Records as `readEvtxFiles` gives them, made events, and its errors. */
async function reference(path: string, label = path): Promise<{ events: Event[]; errors: string[] }> {
  const errors: string[] = [];
  const events: Event[] = [];
  for await (const rec of readEvtxFiles([path], { onError: (e) => errors.push(`${e.code} ${e.chunk ?? '-'} ${e.record ?? '-'}`) }))
    events.push(eventFromWindowsDoc(rec.doc, { file: label, offset: rec.offset }));
  return { events, errors };
}

async function batches(path: string): Promise<{ batches: Event[][]; errors: string[] }> {
  const errors: string[] = [];
  const out: Event[][] = [];
  const where = (e: FirebreakError) => (e instanceof EvtxError ? `${e.chunk ?? '-'} ${e.record ?? '-'}` : '- -');
  for await (const b of readEventBatches(path, { onError: (e) => errors.push(`${e.code} ${where(e)}`) })) out.push(b);
  return { batches: out, errors };
}

describe('readEventBatches', () => {
  it('every parser edge case: the same events and errors as record by record, a chunk at a time', { skip: SKIP_EDGE }, async () => {
    let files = 0;
    let many = 0;
    for (const name of readdirSync(EDGE)
      .filter((n) => n.endsWith('.evtx'))
      .sort()) {
      const path = join(EDGE, name);
      const ref = await reference(path);
      const got = await batches(path);
      assert.deepEqual(got.batches.flat(), ref.events, name);
      assert.deepEqual(got.errors.sort(), ref.errors.sort(), name);
      assert.ok(
        got.batches.every((b) => b.length > 0),
        `${name}: no empty batch`,
      );
      // One chunk's records per batch: a chunk is 64 KiB, so never more than a few thousand.
      assert.ok(
        got.batches.every((b) => b.length <= 2_800),
        `${name}: ${Math.max(...got.batches.map((b) => b.length))} events in one batch`,
      );
      if (got.batches.length > 1) many++;
      files++;
    }
    assert.ok(files >= 20, `${files} files`);
    assert.ok(many >= 5, `${many} files came in more than one batch`);
  });

  it('gzipped EVTX: the events of the file inside, named by the .gz', async () => {
    const src = join(FIXTURES, 'Security_short_selected.evtx');
    const gz = join(dir, 'security.evtx.gz');
    writeFileSync(gz, gzipSync(readFileSync(src)));
    const ref = await reference(src, gz);
    const got = await batches(gz);
    assert.ok(ref.events.length > 0);
    assert.deepEqual(got.batches.flat(), ref.events);
  });

  it('other formats come an event at a time (one record may be megabytes)', async () => {
    const path = join(dir, 'events.ndjson');
    writeFileSync(
      path,
      Array.from({ length: 25 }, (_, i) => JSON.stringify({ EventID: 4624, Channel: 'Security', Computer: 'WS1', TimeCreated: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`, n: i })).join('\n') +
        '\n{broken\n',
    );
    const got = await batches(path);
    assert.equal(got.batches.length, 25);
    assert.ok(got.batches.every((b) => b.length === 1));
    assert.deepEqual(
      got.batches.map((b) => b[0]!.fields.n),
      Array.from({ length: 25 }, (_, i) => i),
    );
    assert.equal(got.errors.length, 1, 'the broken line is reported');
  });
});
