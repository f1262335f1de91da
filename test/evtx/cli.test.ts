/** `firebreak evtx dump`: output, errors, the summary line, exit status and usage errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { FIXTURES, readBytes } from './helpers.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdout, stderr });
  return { code, out, err };
}

const SECURITY = `${FIXTURES}Security_short_selected.evtx`;

test('dump: one JSON document per line, summary on stderr, exit 0', async () => {
  for (const threads of ['1', '2']) {
    const { code, out, err } = await cli(['evtx', 'dump', '--threads', threads, SECURITY]);
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 7);
    const doc = JSON.parse(lines[0]!) as { Event: { System: { Channel: string } } };
    assert.equal(doc.Event.System.Channel, 'Security');
    assert.equal(err.trim(), 'firebreak evtx: 7 good records, 0 bad records, 0 warnings in 1 file');
  }
});

test('dump --format xml: one <Event> per record', async () => {
  const { code, out } = await cli(['evtx', 'dump', '--format', 'xml', '--threads', '1', SECURITY]);
  assert.equal(code, 0);
  assert.equal((out.match(/^<Event xmlns=/gm) ?? []).length, 7);
  assert.match(out, /<Channel>Security<\/Channel>/);
});

test('dump: a directory is searched for EVTX files by signature, not by name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-evtx-cli-'));
  try {
    writeFileSync(join(dir, 'renamed.log'), readBytes(SECURITY));
    writeFileSync(join(dir, 'notes.evtx'), 'not an event log');
    const { code, out, err } = await cli(['evtx', 'dump', '--threads', '1', dir]);
    assert.equal(code, 0);
    assert.equal(out.trim().split('\n').length, 7);
    assert.match(err, /7 good records, 0 bad records, 0 warnings in 1 file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dump: a damaged file reports errors with locations, keeps going, exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-evtx-cli-'));
  try {
    const bytes = readBytes(SECURITY);
    bytes.fill(0x41, 4096 + 2000, 4096 + 2400); // inside the records of the only chunk
    const damaged = join(dir, 'damaged.evtx');
    writeFileSync(damaged, bytes);
    const { code, out, err } = await cli(['evtx', 'dump', '--threads', '1', damaged, SECURITY]);
    assert.equal(code, 1);
    assert.match(err, /damaged\.evtx: chunk 0, (record \d+, )?offset 0x[0-9a-f]+: (warning: )?evtx\./);
    assert.ok(out.trim().split('\n').length >= 7, 'the good file is still read after the damaged one');
    assert.match(err.trim().split('\n').pop()!, /^firebreak evtx: \d+ good records, [1-9]\d* bad records?, \d+ warnings? in 2 files$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dump: a file that is not EVTX is reported and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-evtx-cli-'));
  try {
    const bogus = join(dir, 'bogus.evtx');
    writeFileSync(bogus, 'hello');
    const { code, err } = await cli(['evtx', 'dump', '--threads', '1', bogus]);
    assert.equal(code, 1);
    assert.match(err, /bogus\.evtx: offset 0x0: evtx\.file\.magic: not an EVTX file/);
    assert.match(err, /1 unreadable file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2', async () => {
  assert.equal((await cli(['evtx'])).code, 2);
  assert.equal((await cli(['evtx', 'list', SECURITY])).code, 2);
  assert.equal((await cli(['evtx', 'dump'])).code, 2);
  assert.equal((await cli(['evtx', 'dump', '--format', 'csv', SECURITY])).code, 2);
  assert.equal((await cli(['evtx', 'dump', '--threads', 'many', SECURITY])).code, 2);
  const help = await cli(['evtx', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /usage: firebreak evtx dump/);
});
