/**
 * Done-when 2: every SigmaHQ regression `.evtx` in data/sigma/regression_data yields the same
 * records as its `.json` twin (the evtx crate's JSON output), compared field by field (GUIDs,
 * which the crate prints without braces, compared in Windows' braced form).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseBuffer, readBytes, REPO, splitJsonDocuments } from './helpers.js';

const ROOT = `${REPO}data/sigma/regression_data`;

function evtxFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) evtxFiles(p, out);
    else if (e.name.endsWith('.evtx')) out.push(p);
  }
  return out.sort();
}

/**
 * One twin was not produced by the evtx crate from its .evtx: its timestamp has nanoseconds
 * (FILETIME ticks printed in full, where the crate prints microseconds) and a value was edited
 * by hand (`Explorer.exe`; the record holds `Explorer.EXE`, as `evtxexport` also shows). The
 * test pins exactly these two differences, so any other difference still fails.
 */
const KNOWN_TWIN_EDITS: Record<string, [path: string[], fromEvtx: unknown, inTwin: unknown][]> = {
  'ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx': [
    [['Event', 'System', 'TimeCreated', '#attributes', 'SystemTime'], '2026-03-20T08:31:26.751156Z', '2026-03-20T08:31:26.751156500Z'],
    [['Event', 'EventData', 'ParentCommandLine'], 'C:\\Windows\\Explorer.EXE', 'C:\\Windows\\Explorer.exe'],
  ],
};

/**
 * The evtx crate prints GUID-typed values without braces; Windows (and Firebreak) print
 * `{…}`. Put the braces back in the twin, counting how many; any other difference still fails.
 */
function braceGuids(doc: unknown, count: { n: number }): unknown {
  if (typeof doc === 'string' && /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/.test(doc)) {
    count.n++;
    return `{${doc}}`;
  }
  if (Array.isArray(doc)) return doc.map((x) => braceGuids(x, count));
  if (doc !== null && typeof doc === 'object') return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, braceGuids(v, count)]));
  return doc;
}

function setPath(doc: unknown, path: string[], value: unknown): unknown {
  let o = doc as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  assert.ok(path.at(-1)! in o, `path ${path.join('.')} exists`);
  const old = o[path.at(-1)!];
  o[path.at(-1)!] = value;
  return old;
}

test('SigmaHQ regression data: each .evtx equals its .json twin, field by field', async (t) => {
  const files = evtxFiles(ROOT);
  assert.equal(files.length, 202);
  let records = 0;
  const guids = { n: 0 };
  for (const file of files) {
    const name = file.slice(file.lastIndexOf('/') + 1);
    await t.test(name, () => {
      const got = parseBuffer(readBytes(file), file);
      assert.deepEqual(got.errors, []);
      const twin = splitJsonDocuments(readFileSync(file.replace(/\.evtx$/, '.json'), 'utf8')).map((d) => braceGuids(d, guids));
      const docs = got.records.map((r) => r.doc as unknown);
      for (const [path, fromEvtx, inTwin] of KNOWN_TWIN_EDITS[name] ?? []) {
        assert.equal(docs.length, 1);
        assert.equal(setPath(docs[0], path, inTwin), fromEvtx, `known difference at ${path.join('.')}`);
      }
      assert.deepEqual(docs, twin);
      records += docs.length;
    });
  }
  assert.equal(records, 238);
  assert.equal(guids.n, 780, 'GUID values the crate printed without braces');
});
