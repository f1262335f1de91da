/**
 * `scan` on many threads survives its worker threads dying: the worker is replaced and the file
 * it was scanning is scanned again, with the same report as without the death. A file that kills
 * every worker scanning it is reported as a `worker-lost` issue naming it, and the rest of the
 * scan completes. A failing worker, or a throwing event callback, stops every worker and rejects
 * the scan, never as an unhandled rejection.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { listFiles, scanParallel, type ScanParallelOptions, type WorkerSpec } from '../../src/scan/parallel.js';
import type { ScanEvents, ScanResult } from '../../src/scan/scanner.js';
import type { Issue } from '../../src/scan/sources/types.js';
import { DEFAULT_LIMITS } from '../../src/scan/sources/limits.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/secrets', import.meta.url));
const SPEC: WorkerSpec = { only: [], limits: DEFAULT_LIMITS, maxDecodeDepth: 5, baseline: [] };

const run = (events: ScanEvents = {}, o: ScanParallelOptions = {}, spec: WorkerSpec = SPEC): Promise<ScanResult> => scanParallel([FIX], spec, 2, events, o);

/** Threads of this process (Linux), to see that stopped workers are gone; undefined elsewhere. */
const threads = (): number | undefined => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : undefined);

describe('scan: a worker thread dies', { timeout: 300_000 }, () => {
  let clean: ScanResult;
  let files: string[];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    files = await listFiles([FIX], []);
    clean = await run();
  });
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });
  after(() => process.off('unhandledRejection', onUnhandled));

  const findingsOf = (r: ScanResult, file: string) => r.findings.filter((f) => f.file === file || f.file.startsWith(`${file}!`));

  it('the fixtures have enough files, with findings in several, to spread over two workers', () => {
    assert.ok(files.length >= 6, `${files.length} files`);
    assert.ok(new Set(clean.findings.map((f) => f.file.split('!')[0])).size >= 3, 'findings in at least three files');
    assert.equal(clean.issues.filter((i) => i.kind === 'worker-lost').length, 0);
  });

  for (const which of ['4th', 'last'] as const) {
    it(`killed after it started the ${which} file: replaced, the file scanned again, the same report`, async () => {
      const target = which === '4th' ? files[3]! : files[files.length - 1]!;
      let kills = 0;
      const r = await run({}, { testFaults: { killWorkerWhen: (m, _from, task) => m.path === target && task?.path === target && kills === 0 && ++kills === 1 } });
      assert.equal(kills, 1, 'the fault fired');
      assert.deepEqual(r, clean);
    });
  }

  it('a file that kills every worker scanning it is reported, naming it; the rest of the scan completes', async () => {
    const target = files.find((f) => f.endsWith('deploy.env'))!;
    assert.ok(findingsOf(clean, target).length >= 2, 'the target has findings of its own');
    const reported: Issue[] = [];
    let kills = 0;
    const r = await run({ issue: (i) => void reported.push(i) }, { testFaults: { killWorkerWhen: (m) => m.path === target && ++kills > 0 } });
    assert.equal(kills, 2, 'tried twice, on two workers');
    const lost = r.issues.filter((i) => i.kind === 'worker-lost');
    assert.equal(lost.length, 1, JSON.stringify(r.issues));
    assert.equal(lost[0]!.path, target);
    assert.match(lost[0]!.message, /worker thread exited .* while working on .*deploy\.env \(attempt 2 of 2\)/);
    assert.deepEqual(
      reported.filter((i) => i.kind === 'worker-lost'),
      lost,
      'reported as it happened',
    );
    // Every other file's findings and issues, in file order; none of the lost file's.
    assert.deepEqual(
      r.findings,
      clean.findings.filter((f) => !findingsOf(clean, target).includes(f)),
    );
    assert.deepEqual(
      r.issues.filter((i) => i.kind !== 'worker-lost'),
      clean.issues,
    );
    assert.equal(r.stats.leaves, clean.stats.leaves - 1);
    // With findings elsewhere the CLI exits 1; the issue alone would make it 2 (see cli.test.ts).
    assert.ok(r.issues.length > clean.issues.length);
  });

  it('a throwing event callback is fatal: the scan rejects with its error and every worker stops', async () => {
    const t0 = threads();
    let calls = 0;
    const events: ScanEvents = {
      finding: () => {
        calls++;
        throw new Error('report sink closed');
      },
    };
    await assert.rejects(run(events), /report sink closed/);
    assert.equal(calls, 1, 'no event after the failure');
    const t1 = threads();
    if (t0 !== undefined && t1 !== undefined) assert.ok(t1 <= t0, `threads before ${t0}, after ${t1}: workers left running`);
  });

  it('a worker that cannot build its scanner fails the scan with the reason, without hanging', async () => {
    const missing = fileURLToPath(new URL('./no-such-config.toml', import.meta.url));
    await assert.rejects(run({}, {}, { ...SPEC, configPath: missing }), (e: Error) => e.message.includes('no-such-config.toml'));
  });
});
