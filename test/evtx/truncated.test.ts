/**
 * A file cut short loses the chunks its header lists past its end; the reader says so (in this
 * thread and with workers) instead of reporting a clean, smaller file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32 } from '../../src/readers/evtx/crc32.js';
import { FIXTURES, readAll, readBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'firebreak-evtx-cut-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sample = readBytes(`${FIXTURES}Security_short_selected.evtx`);

test('a file cut inside its header block reports the chunk it lost', async () => {
  const path = join(dir, 'cut-in-header.evtx');
  writeFileSync(path, sample.subarray(0, 3000));
  for (const threads of [1, 2]) {
    const { records, errors } = await readAll(path, { threads });
    assert.equal(records.length, 0);
    assert.deepEqual(
      errors.map((e) => e.format()),
      [`${path}: offset 0xbb8: evtx.truncated: the file ends at byte 3000: its header lists 1 chunk and it holds none of them`],
      `threads ${threads}`,
    );
  }
});

test('a file whose header lists more chunks than it holds reports the missing ones', async () => {
  const path = join(dir, 'chunks-missing.evtx');
  const bytes = sample.slice();
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  dv.setUint16(42, 3, true); // chunk count
  dv.setUint32(124, crc32(bytes.subarray(0, 120)), true);
  writeFileSync(path, bytes);
  for (const threads of [1, 2]) {
    const { records, errors } = await readAll(path, { threads });
    assert.equal(records.length, 7, 'the chunk that is there is read');
    assert.deepEqual(
      errors.map((e) => `${e.code}: ${e.message}`),
      [`evtx.truncated: the file ends at byte ${bytes.length}: its header lists 3 chunks and only 1 begins before it ends`],
      `threads ${threads}`,
    );
  }
});
