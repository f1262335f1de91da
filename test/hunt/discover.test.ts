/** Evidence discovery: every file once, sorted per folder, link loops and missing paths reported or skipped, nothing lost. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { discoverFiles } from '../../src/hunt/discover.js';

describe('discoverFiles', () => {
  const root = mkdtempSync(join(tmpdir(), 'fb-discover-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'b', 'deep'), { recursive: true });
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'b', 'deep', 'z.evtx'), 'xyz');
  writeFileSync(join(root, 'b', 'y.log'), '');
  writeFileSync(join(root, 'a', 'x.json'), '{}\n');
  writeFileSync(join(root, 'top.log'), 'line\n');
  // A loop back to the root, and a second name for a folder already walked.
  symlinkSync(root, join(root, 'b', 'loop'));
  symlinkSync(join(root, 'a'), join(root, 'a-again'));

  it('finds every regular file once, in sorted order per folder, with its size', () => {
    const { files, unreadable } = discoverFiles([root]);
    assert.deepEqual(unreadable, []);
    assert.deepEqual(
      files.map((f) => [f.path.slice(root.length + 1), f.size]),
      [
        ['a/x.json', 3],
        ['b/deep/z.evtx', 3],
        ['b/y.log', 0],
        ['top.log', 5],
      ],
    );
  });

  it('a file or folder named twice is read once; a path that does not exist is reported, the rest goes on', () => {
    const missing = join(root, 'no', 'such');
    const { files, unreadable } = discoverFiles([join(root, 'top.log'), missing, root, join(root, 'top.log')]);
    assert.equal(files.filter((f) => f.path.endsWith('top.log')).length, 1);
    assert.equal(files.length, 4);
    assert.equal(unreadable.length, 1);
    assert.equal(unreadable[0]!.file, missing);
    assert.match(unreadable[0]!.reason, /ENOENT/);
  });
});
