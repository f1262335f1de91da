/**
 * Done-when 3: every file of ../shared/evtx/attack-samples parses without error, and (when
 * Debian's libevtx-utils is installed) each file's record count equals `evtxexport`'s.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ATTACK, readAll, SKIP_ATTACK } from './helpers.js';

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else out.push(p);
  }
  return out.sort();
}

const HAVE_EVTXEXPORT = spawnSync('evtxexport', ['-V'], { encoding: 'utf8' }).status === 0;

test('attack samples: all parse, 8,255 records, no errors', { skip: SKIP_ATTACK }, async () => {
  let total = 0;
  const problems: string[] = [];
  const all = files(ATTACK);
  assert.equal(all.length, 277);
  for (const f of all) {
    const { records, errors, warnings } = await readAll(f);
    total += records.length;
    for (const e of [...errors, ...warnings]) problems.push(e.format());
  }
  assert.deepEqual(problems, []);
  assert.equal(total, 8255);
});

test(
  'attack samples: record counts agree with evtxexport, file by file',
  { skip: SKIP_ATTACK || (HAVE_EVTXEXPORT ? false : 'evtxexport not installed (apt-get install libevtx-utils)'), timeout: 600_000 },
  async () => {
    const mismatches: string[] = [];
    for (const f of files(ATTACK)) {
      const r = spawnSync('evtxexport', [f], { encoding: 'utf8', maxBuffer: 1 << 30 });
      const theirs = (r.stdout.match(/^Event number\t/gm) ?? []).length;
      const ours = (await readAll(f)).records.length;
      if (ours !== theirs) mismatches.push(`${f}: firebreak ${ours}, evtxexport ${theirs}`);
    }
    assert.deepEqual(mismatches, []);
  },
);
