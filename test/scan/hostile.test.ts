/**
 * Hostile archives: each gets a clear report (issue kind and path), in bounded time and memory,
 * and the scan goes on to the next input. Bombs are generated here, never committed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { Scanner, type ScanResult } from '../../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS, type ScanLimits } from '../../src/scan/sources/limits.js';
import { SECRET_LINE, gzip, makeTar, makeZip } from './helpers/archives.js';

const dir = mkdtempSync(join(tmpdir(), 'firebreak-hostile-'));
const noStdin = (async function* (): AsyncGenerator<Buffer> {})();

function file(name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

async function scan(inputs: string[], limits: Partial<ScanLimits> = {}): Promise<ScanResult> {
  const s = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: { ...DEFAULT_LIMITS, ...limits }, maxDecodeDepth: 2 });
  return s.scan(inputs, noStdin);
}

const clean = (): string => file(`plain-${Math.random().toString(36).slice(2)}.env`, SECRET_LINE);
const zeros = (n: number): Buffer => Buffer.alloc(n);

test('zip bomb with honest headers: refused from its declared ratio, without inflating', async () => {
  const bomb = file(
    'bomb.zip',
    makeZip([
      { name: 'zeros.bin', data: zeros(64 << 20) },
      { name: 'readme.txt', data: SECRET_LINE },
    ]),
  );
  const next = clean();
  const r = await scan([bomb, next]);
  const issue = r.issues.find((i) => i.kind === 'zip-bomb');
  assert.ok(issue, JSON.stringify(r.issues));
  assert.equal(issue.path, `${bomb}!zeros.bin`);
  assert.match(issue.message, /ratio/);
  assert.ok(
    r.findings.some((f) => f.file === `${bomb}!readme.txt`),
    "the archive's other entries are still scanned",
  );
  assert.ok(
    r.findings.some((f) => f.file === next),
    'the scan goes on to the next input',
  );
});

test('zip bomb with lying headers: stopped while inflating', async () => {
  const bomb = file('liar.zip', makeZip([{ name: 'small.txt', data: zeros(64 << 20), declaredSize: 1000 }]));
  const rss0 = process.memoryUsage().rss;
  const r = await scan([bomb, clean()]);
  const issue = r.issues.find((i) => i.path === `${bomb}!small.txt`);
  assert.ok(issue && issue.kind === 'zip-bomb', JSON.stringify(r.issues));
  assert.equal(r.findings.length, 1);
  assert.ok(process.memoryUsage().rss - rss0 < 256 << 20, 'memory stays bounded');
});

test('gzip bomb: stopped by the ratio limit while streaming', async () => {
  // Text, so that the scanner reads on; a bomb of binary zeros is never inflated past its
  // first 8 KiB (binary leaves are not scanned), so there is nothing to stop.
  const bomb = file('bomb.log.gz', gzipSync(Buffer.alloc(64 << 20, 'a'), { level: constants.Z_BEST_COMPRESSION }));
  const rss0 = process.memoryUsage().rss;
  const r = await scan([bomb, clean()]);
  assert.deepEqual(
    r.issues.map((i) => [i.kind, i.path]),
    [['zip-bomb', bomb]],
  );
  assert.match(r.issues[0]!.message, /decompression bomb/);
  assert.equal(r.findings.length, 1);
  assert.ok(process.memoryUsage().rss - rss0 < 256 << 20, 'memory stays bounded');
});

test('deeply nested archives: reported at the depth limit; found when the limit allows', async () => {
  let data: Buffer = SECRET_LINE;
  for (let i = 0; i < 12; i++) data = gzip(data);
  const deepGz = file('deep.gz', data);
  let zip: Buffer = makeZip([{ name: 'key.env', data: SECRET_LINE }]);
  for (let i = 0; i < 10; i++) zip = makeZip([{ name: `level${i}.zip`, data: zip }]);
  const deepZip = file('deep.zip', zip);
  const r = await scan([deepGz, deepZip, clean()]);
  assert.deepEqual(
    r.issues.map((i) => i.kind),
    ['too-deep', 'too-deep'],
  );
  assert.equal(r.issues[0]!.path, deepGz);
  assert.match(r.issues[1]!.path, /^.*deep\.zip!level9\.zip!level8\.zip!.*level2\.zip$/);
  assert.equal(r.findings.length, 1);
  const deeper = await scan([deepGz, deepZip], { maxArchiveDepth: 16 });
  assert.deepEqual(deeper.issues, []);
  assert.equal(deeper.findings.length, 2);
  assert.match(deeper.findings[1]!.file, /level0\.zip!key\.env$/);
});

test('truncated archives: reported as truncated or corrupt, scan continues', async () => {
  const tgz = gzip(
    await makeTar([
      { name: 'a.env', data: Buffer.concat([SECRET_LINE, zeros(0)]) },
      { name: 'b.txt', data: Buffer.alloc(200_000, 'x') },
    ]),
  );
  const cutTgz = file('cut.tar.gz', tgz.subarray(0, Math.floor(tgz.length / 2)));
  const z = makeZip([{ name: 'a.env', data: SECRET_LINE }]);
  const cutZip = file('cut.zip', z.subarray(0, z.length - 30));
  const next = clean();
  const r = await scan([cutTgz, cutZip, next]);
  const kinds = new Map(r.issues.map((i) => [i.path.split('!')[0], i.kind]));
  assert.equal(kinds.get(cutTgz), 'truncated', JSON.stringify(r.issues));
  assert.ok(['truncated', 'corrupt'].includes(kinds.get(cutZip)!), JSON.stringify(r.issues));
  assert.ok(r.findings.some((f) => f.file === next));
  // What was readable before the cut is still scanned.
  assert.ok(r.findings.some((f) => f.file === `${cutTgz}!a.env`));
});

test('path traversal entry names: reported, content still scanned, nothing written', async () => {
  const tar = file('evil.tar', await makeTar([{ name: '../../etc/cron.d/evil', data: SECRET_LINE }]));
  const zip = file(
    'evil.zip',
    makeZip([
      { name: '../../../home/user/.ssh/config', data: SECRET_LINE },
      { name: '/abs/path.txt', data: Buffer.from('hi\n') },
    ]),
  );
  const r = await scan([tar, zip]);
  assert.deepEqual(
    r.issues.map((i) => [i.kind, i.path]),
    [
      ['path-traversal', `${tar}!../../etc/cron.d/evil`],
      ['path-traversal', `${zip}!../../../home/user/.ssh/config`],
      ['path-traversal', `${zip}!/abs/path.txt`],
    ],
  );
  assert.match(r.issues[0]!.message, /path traversal/);
  assert.deepEqual(
    r.findings.map((f) => f.file),
    [`${tar}!../../etc/cron.d/evil`, `${zip}!../../../home/user/.ssh/config`],
  );
});

test('too many entries: refused past the limit', async () => {
  const many = file('many.zip', makeZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }))));
  const r = await scan([many], { maxEntries: 20 });
  assert.deepEqual(
    r.issues.map((i) => i.kind),
    ['too-many-entries'],
  );
});
