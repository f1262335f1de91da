/**
 * `hunt` end to end, on material nobody on the team wrote: every SigmaHQ regression event is
 * found by its rule through the whole pipeline (discovery, workers, sorting, outputs), and the
 * same evidence read as EVTX, as evtx-crate JSONL and as Winlogbeat/ECS NDJSON gives the same
 * detections.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { findRegressionCases } from '../../src/engine/regression.js';
import { hunt, type HuntConfig } from '../../src/hunt/run.js';
import { readEventsFromFile } from '../../src/readers/detect.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import type { HuntSummary } from '../../src/output/records.js';
import { BUNDLED_SIGMA_ROOT, DATA_DIR } from '../../src/sigma/bundled.js';
import { REPO, SHARED, skipWithoutShared } from '../helpers.js';
import { toEcs } from './ecs-converter.js';
import type { Story } from '../../src/stories/model.js';

const tmp = mkdtempSync(join(tmpdir(), 'fb-hunt-'));
mkdirSync(join(tmp, 'no-rules'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run a hunt and keep every detection. */
async function collect(cfg: Omit<HuntConfig, 'filter'> & { filter?: HuntConfig['filter'] }, needsEvent = false): Promise<{ detections: DetectionRecord[]; summary: HuntSummary; stories: Story[] }> {
  const detections: DetectionRecord[] = [];
  let stories: Story[] = [];
  const summary = await hunt({
    filter: {},
    threads: 2,
    ...cfg,
    sinks: [{ needsEvent, write: (d) => void detections.push(d), close: async () => undefined }],
    onStories: (s) => void (stories = s),
  });
  return { detections, summary, stories };
}

describe('hunt over SigmaHQ regression data', () => {
  for (const source of ['json', 'evtx'] as const) {
    it(`every regression test's rule fires at least match_count times on its .${source} file`, async () => {
      const cases = findRegressionCases(BUNDLED_SIGMA_ROOT, source);
      assert.ok(cases.length >= 200, `found ${cases.length} regression cases`);
      const { detections, summary } = await collect({
        paths: [...new Set(cases.map((c) => c.file))],
        placeholders: join(DATA_DIR, 'placeholders.example.yml'),
      });
      assert.equal(summary.files.skipped.length, 0, JSON.stringify(summary.files.skipped));
      const counts = new Map<string, number>();
      for (const d of detections) counts.set(`${d.rule.id}|${d.sourceFile}`, (counts.get(`${d.rule.id}|${d.sourceFile}`) ?? 0) + 1);
      const failures = cases
        .filter((c) => (counts.get(`${c.ruleId}|${c.file}`) ?? 0) < c.expected)
        .map((c) => `${c.title} (${c.ruleId}) on ${c.file}: ${counts.get(`${c.ruleId}|${c.file}`) ?? 0} < ${c.expected}`);
      assert.deepEqual(failures, []);
    });
  }
});

/** What makes two detections the same, whatever format the event came in. */
function key(d: DetectionRecord): string {
  return [d.rule.id, d.computer, d.channel, d.eventId, d.recordId, d.timestamp?.slice(0, 23)].join('|');
}

describe('hunt: EVTX, evtx-crate JSONL and ECS NDJSON give the same detections', { skip: skipWithoutShared('evtx/attack-samples') }, () => {
  it('attack samples in three formats', async () => {
    const samples = join(SHARED, 'evtx/attack-samples');
    // The JSONL twin as `firebreak evtx dump` writes it, then the same records as Winlogbeat
    // would ship them (one ECS document per line, every tenth file gzip-compressed).
    const jsonl = execFileSync(process.execPath, [join(REPO, 'bin/firebreak.js'), 'evtx', 'dump', samples], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8');
    const lines = jsonl.split('\n').filter(Boolean);
    const dumpDir = join(tmp, 'dump');
    const ecsDir = join(tmp, 'ecs');
    mkdirSync(dumpDir);
    mkdirSync(ecsDir);
    writeFileSync(join(dumpDir, 'all.jsonl'), jsonl);
    const perFile = 1000;
    for (let i = 0; i * perFile < lines.length; i++) {
      const text =
        lines
          .slice(i * perFile, (i + 1) * perFile)
          .map((l) => JSON.stringify(toEcs(JSON.parse(l))))
          .join('\n') + '\n';
      if (i % 3 === 2) writeFileSync(join(ecsDir, `part${i}.ndjson.gz`), gzipSync(text));
      else writeFileSync(join(ecsDir, `part${i}.ndjson`), text);
    }
    const evtx = await collect({ paths: [samples] }, true);
    const dump = await collect({ paths: [dumpDir] });
    const ecs = await collect({ paths: [ecsDir] });
    assert.equal(dump.summary.events, evtx.summary.events);
    assert.equal(ecs.summary.events, evtx.summary.events);
    assert.ok(evtx.detections.length > 1000, `${evtx.detections.length} detections`);
    const a = evtx.detections.map(key).sort();
    const b = dump.detections.map(key).sort();
    const c = ecs.detections.map(key).sort();
    assert.deepEqual(diff(b, a), { onlyLeft: [], onlyRight: [] }, 'JSONL vs EVTX');
    assert.deepEqual(diff(c, a), { onlyLeft: [], onlyRight: [] }, 'ECS vs EVTX');

    // Without an output that shows whole events, workers cut them to the fields stories and
    // correlations read: the same stories and the same detections otherwise.
    const slim = await collect({ paths: [samples] });
    assert.ok(evtx.stories.length > 50, `${evtx.stories.length} stories`);
    assert.deepEqual(slim.stories, evtx.stories);
    const strip = (ds: DetectionRecord[]) => ds.map(({ event: _event, ...rest }) => rest);
    assert.deepEqual(strip(slim.detections), strip(evtx.detections));
  });
});

/** Multiset difference of two sorted lists, first 20 of each side. */
function diff(left: string[], right: string[]): { onlyLeft: string[]; onlyRight: string[] } {
  const count = new Map<string, number>();
  for (const x of left) count.set(x, (count.get(x) ?? 0) + 1);
  for (const x of right) count.set(x, (count.get(x) ?? 0) - 1);
  const onlyLeft: string[] = [];
  const onlyRight: string[] = [];
  for (const [k, n] of count) {
    if (n > 0) onlyLeft.push(k);
    if (n < 0) onlyRight.push(k);
  }
  return { onlyLeft: onlyLeft.slice(0, 20), onlyRight: onlyRight.slice(0, 20) };
}

describe('hunt: input handling', () => {
  it('--from/--to keep exactly the events in the range', async () => {
    const dir = join(REPO, 'data/samples/intrusion');
    const from = '2024-05-14T11:00:00.000Z';
    const to = '2024-05-14T12:00:00.000Z';
    let inRange = 0;
    for (const f of readdirSync(dir))
      for await (const ev of readEventsFromFile(join(dir, f))) if (ev.timestamp && new Date(ev.timestamp).toISOString() >= from && new Date(ev.timestamp).toISOString() <= to) inRange++;
    const { summary } = await collect({ paths: [dir], rulePaths: [join(tmp, 'no-rules')], from, to });
    assert.ok(inRange > 100 && inRange < 4964, `${inRange} events in range`);
    assert.equal(summary.events, inRange);
    assert.ok(summary.firstEvent! >= from && summary.lastEvent! <= to);
  });

  it('lists unknown and unreadable files with the reason, and reads the rest', async () => {
    const dir = join(tmp, 'mixed');
    mkdirSync(dir);
    const one = findRegressionCases(BUNDLED_SIGMA_ROOT, 'json')[0]!;
    writeFileSync(join(dir, 'good.json'), readFileSync(one.file));
    writeFileSync(join(dir, 'notes.txt'), 'hello, not a log\n');
    writeFileSync(join(dir, 'empty.bin'), '');
    writeFileSync(join(dir, 'bad.json.gz'), gzipSync('just text, not JSON'));
    writeFileSync(join(dir, 'truncated.json'), '{"Event": {"System": {"EventID": 1');
    const { summary } = await collect({ paths: [dir, join(tmp, 'does-not-exist')], rulePaths: [join(tmp, 'no-rules')] });
    const skipped = summary.files.skipped.map((s) => s.file.replace(tmp + '/', '')).sort();
    assert.deepEqual(skipped, ['does-not-exist', 'mixed/bad.json.gz', 'mixed/empty.bin', 'mixed/notes.txt']);
    for (const s of summary.files.skipped) assert.ok(s.reason.length > 5, s.reason);
    let goodEvents = 0;
    for await (const _ of readEventsFromFile(one.file)) goodEvents++;
    assert.ok(goodEvents > 0);
    assert.equal(summary.events, goodEvents, 'the good file is read whole, the truncated record adds no event');
    assert.ok(
      summary.errors.sample.some((e) => e.file.endsWith('truncated.json')),
      'the truncated record is reported',
    );
  });
});
