/**
 * The project scans itself clean: its sources, tests, benchmarks and docs hold no secret-looking
 * text, except under test/fixtures/secrets, which is excluded here and in any self-scan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Scanner } from '../../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS } from '../../src/scan/sources/limits.js';

const EXCLUDED = join('test', 'fixtures', 'secrets');

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === EXCLUDED) continue;
    if (e.isDirectory()) files(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('self-scan of the scanner, its tests, benchmark and docs finds nothing', async () => {
  const inputs = [
    ...files('src/scan'),
    'src/core/capped.ts',
    'src/cli/commands/scan.ts',
    ...files('test/scan'),
    'bench/scan.bench.ts',
    'bench/scan-corpus.ts',
    'bench/scan-pii-corpus.ts',
    'bench/scan-pii-recall.ts',
  ];
  if (existsSync('docs/scan.md')) inputs.push('docs/scan.md');
  assert.ok(inputs.length > 20);
  const s = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: DEFAULT_LIMITS, maxDecodeDepth: 5 });
  const r = await s.scan(inputs, (async function* (): AsyncGenerator<Buffer> {})());
  assert.deepEqual(
    r.findings.map((f) => `${f.ruleId} ${f.file}:${f.startLine}`),
    [],
  );
  // And the excluded folder really holds what the exclusion is for.
  const fx = await s.scan([EXCLUDED], (async function* (): AsyncGenerator<Buffer> {})());
  assert.ok(fx.findings.length >= 5);
});
