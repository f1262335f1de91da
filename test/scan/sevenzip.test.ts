/**
 * 7z entries that 7-Zip lists but cannot extract (an encrypted entry without its password, a
 * damaged block) are reported against the entry, never skipped in silence; the readable entries
 * of the same archive are still scanned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scanner } from '../../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS } from '../../src/scan/sources/limits.js';
import { SECRET_LINE } from './helpers/archives.js';

type Sz = { FS: { mkdir(p: string): void; writeFile(p: string, d: Uint8Array | string): void; readFile(p: string): Uint8Array }; callMain(a: string[]): number };
const noStdin = (async function* (): AsyncGenerator<Buffer> {})();

async function build7z(): Promise<Buffer> {
  const require = createRequire(import.meta.url);
  const sz = await (require('7z-wasm') as (o: object) => Promise<Sz>)({ print: () => {}, printErr: () => {} });
  const call = (args: string[]): void => {
    const exitCode = process.exitCode;
    try {
      sz.callMain(args);
    } catch {
      // emscripten signals exit through an exception; the archive is checked below
    } finally {
      process.exitCode = exitCode;
    }
  };
  sz.FS.mkdir('/w');
  sz.FS.writeFile('/w/open.env', SECRET_LINE);
  sz.FS.writeFile('/w/locked.env', SECRET_LINE);
  // Non-solid, so each entry is its own block: one is encrypted, the other is not.
  call(['a', '-ms=off', '-mx=1', '-pcorrect-horse', '/w/t.7z', '/w/locked.env']);
  call(['a', '-ms=off', '-mx=1', '/w/t.7z', '/w/open.env']);
  return Buffer.from(sz.FS.readFile('/w/t.7z'));
}

test('7z: an entry that cannot be extracted is an issue naming it; the others are scanned', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fb-7z-')), 'mixed.7z');
  writeFileSync(path, await build7z());
  const s = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: DEFAULT_LIMITS, maxDecodeDepth: 0 });
  const r = await s.scan([path], noStdin);
  assert.deepEqual(
    r.issues.map((i) => [i.kind, i.path]),
    [['encrypted', `${path}!locked.env`]],
  );
  assert.match(r.issues[0]!.message, /not extracted \(.*password.*\); not scanned/i);
  assert.deepEqual(
    r.findings.map((f) => f.file),
    [`${path}!open.env`],
  );
});
