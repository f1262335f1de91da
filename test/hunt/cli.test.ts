/**
 * `firebreak hunt` as a user runs it: every output at once on a generated intrusion, checked by
 * reading each file back (strict CSV parser, JSON, SQL through `firebreak query`, the report in
 * headless Chromium), `--fail-on`, and usage errors with exit status 2.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { progressLine } from '../../src/hunt/summary.js';
import { CSV_COLUMNS } from '../../src/output/csv.js';
import type { HuntSummary } from '../../src/output/records.js';
import { cli, REPO } from '../helpers.js';
import { CHROMIUM_SKIP, openReport } from '../output/browser.js';
import { parseCsv } from '../output/csv-parse.js';
import { writeScenario, type GroundTruth } from '../stories/scenario.js';

const work = mkdtempSync(join(tmpdir(), 'fb-hunt-cli-'));
const evidence = join(work, 'evidence');
const out = (name: string) => join(work, name);
let gt: GroundTruth;
let run: { code: number; out: string; err: string };
let summary: HuntSummary;

describe('firebreak hunt, all outputs', { timeout: 300_000 }, () => {
  before(async () => {
    gt = writeScenario(evidence, { seed: 4, hosts: 10, noiseEvents: 2000 });
    run = await cli(
      'hunt',
      evidence,
      '--csv',
      out('t.csv'),
      '--jsonl',
      out('d.jsonl'),
      '--report',
      out('r.html'),
      '--db',
      out('h.duckdb'),
      '--stories',
      out('s.jsonl'),
      '--summary-json',
      out('summary.json'),
    );
    summary = JSON.parse(readFileSync(out('summary.json'), 'utf8')) as HuntSummary;
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('exits 0 and prints the summary, stories and what it wrote', () => {
    assert.equal(run.code, 0, run.err);
    assert.equal(summary.events, gt.events);
    assert.ok(summary.detections > 20);
    for (const text of ['Firebreak hunt summary', 'Detections: ', 'Top rules', 'Stories: 1', `patient zero: ${gt.patientZero}`, 'Written', out('t.csv'), out('s.jsonl')])
      assert.ok(run.out.includes(text), `summary shows ${text}`);
    assert.equal(run.err, '', 'nothing on stderr when not on a terminal');
  });

  it('CSV: documented columns, one row per detection, parses strictly', () => {
    const rows = parseCsv(readFileSync(out('t.csv'), 'utf8').replace(/^\uFEFF/, ''));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length - 1, summary.detections);
    const ts = rows.slice(1).map((r) => r[0]!);
    assert.deepEqual(ts, [...ts].sort(), 'time order');
  });

  it('JSONL: one detection per line with rule, identity, source and matched fields', () => {
    const lines = readFileSync(out('d.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, summary.detections);
    for (const l of lines) {
      for (const k of ['timestamp', 'rule', 'computer', 'channel', 'event_id', 'record_id', 'source_file', 'matched'])
        assert.ok(k in l || k.replace('_', '') in l || Object.keys(l).some((x) => x.toLowerCase().replace(/_/g, '') === k.replace(/_/g, '')), `${k} in ${Object.keys(l).join(',')}`);
    }
    assert.ok(
      lines.some((l) => (l.rule as { kind?: string }).kind === 'correlation'),
      'correlation detections are written too',
    );
  });

  it('stories JSONL: the intrusion, with its patient zero', () => {
    const stories = readFileSync(out('s.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { patientZero: { computer: string } });
    assert.equal(stories.length, 1);
    assert.equal(stories[0]!.patientZero.computer, gt.patientZero);
  });

  it('DuckDB: every event and detection, queryable with firebreak query', async () => {
    const r = await cli('query', out('h.duckdb'), 'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM detections) AS detections', '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const [row] = JSON.parse(r.out) as { events: number | string; detections: number | string }[];
    assert.equal(Number(row!.events), summary.events);
    assert.equal(Number(row!.detections), summary.detections);
  });

  it('an existing database is refused (exit 2) unless --overwrite', async () => {
    const r = await cli('hunt', evidence, '--db', out('h.duckdb'), '--rules', out('no-rules'), '--quiet');
    assert.equal(r.code, 2);
    assert.match(r.err, /already exists.*--overwrite/);
    mkdirSync(out('no-rules'), { recursive: true });
    const again = await cli('hunt', evidence, '--db', out('h.duckdb'), '--overwrite', '--rules', out('no-rules'), '--quiet');
    assert.equal(again.code, 0, again.err);
  });

  it('the report opens offline in Chromium and shows detections and the story graph', { skip: CHROMIUM_SKIP }, async () => {
    const { ctx, page, pageErrors: errors } = await openReport(out('r.html'), join(work, 'profile'));
    try {
      const text = await page.locator('body').innerText();
      assert.ok(text.includes(`${summary.detections.toLocaleString('en-US')}`), 'detection count shown');
      assert.ok(text.includes(gt.patientZero.split('.')[0]!), 'patient zero shown');
      assert.ok((await page.locator('svg').count()) > 0, 'graphs drawn');
      assert.deepEqual(errors, []);
      mkdirSync(join(REPO, 'tmp'), { recursive: true });
      await page.screenshot({ path: join(REPO, 'tmp', 'hunt-report.png'), fullPage: true });
    } finally {
      await ctx.close();
    }
  });
});

describe('firebreak hunt: exit status', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-hunt-exit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const rules = join(dir, 'rules');
  before(() => {
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'r.yml'),
      'title: Whoami\nid: 0b5c1c7e-2a5f-4c9e-9a57-1d0c3b1f2e10\nstatus: test\nlevel: high\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: \\whoami.exe}\n  condition: s\n',
    );
    writeFileSync(
      join(dir, 'ev.json'),
      JSON.stringify({
        Event: {
          System: { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, Computer: 'WS1', TimeCreated: { '#attributes': { SystemTime: '2024-01-01T00:00:00Z' } } },
          EventData: { Image: 'C:\\Windows\\System32\\whoami.exe', Description: 'whoami - displays logged on user information', FileVersion: '10.0.19041.1' },
        },
      }) + '\n',
    );
  });

  it('--fail-on: 1 when a detection at or above the level was found, else 0', async () => {
    assert.equal((await cli('hunt', join(dir, 'ev.json'), '--rules', rules, '--fail-on', 'high', '--quiet')).code, 1);
    assert.equal((await cli('hunt', join(dir, 'ev.json'), '--rules', rules, '--fail-on', 'medium', '--quiet')).code, 1);
    assert.equal((await cli('hunt', join(dir, 'ev.json'), '--rules', rules, '--fail-on', 'critical', '--quiet')).code, 0);
    assert.equal((await cli('hunt', join(dir, 'ev.json'), '--rules', rules, '--quiet')).code, 0);
  });

  it('on a terminal, a progress line on stderr (cleared at the end); piped, nothing', async () => {
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    let err = '';
    stderr.on('data', (d) => (err += d));
    stdout.resume();
    const code = await main(['hunt', join(dir, 'ev.json'), '--rules', rules], { stdout, stderr });
    assert.equal(code, 0);
    assert.match(err, /\r.*100%.*1 events.*1 detections/s);
    assert.ok(err.endsWith('\r\x1b[K'), JSON.stringify(err.slice(-20)));
    const piped = await cli('hunt', join(dir, 'ev.json'), '--rules', rules);
    assert.equal(piped.err, '');
    const line = progressLine({ bytesDone: 512, bytesTotal: 2048, events: 12345, detections: 7 }, 10_000);
    assert.match(line, /25%/);
    assert.match(line, /ETA 30\.0 s/);
  });

  it('usage errors exit 2 with a message', async () => {
    for (const args of [
      [],
      [dir, '--min-level', 'severe'],
      [dir, '--fail-on', 'x'],
      [dir, '--threads', '-1'],
      [dir, '--from', 'yesterday'],
      [dir, '--csv-profile', 'excel', '--csv', 'x.csv'],
      [dir, '--jsonl-events'],
      [dir, '--bogus'],
    ]) {
      const r = await cli('hunt', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.ok(r.err.length > 10, `a message for ${args.join(' ')}`);
    }
  });
});

describe('firebreak hunt as a new user runs it', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-hunt-new-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const rules = join(dir, 'rules');
  const ev = join(dir, 'ev.json');
  const oneLine = (r: { err: string }) => assert.equal(r.err.trimEnd().split('\n').length, 1, JSON.stringify(r.err));
  before(() => {
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'good.yml'),
      'title: Whoami\nid: 6a0f7a3c-9d1e-4b2a-8c5f-0e1d2c3b4a59\nlevel: high\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: \\whoami.exe}\n  condition: s\n',
    );
    writeFileSync(join(rules, 'broken.yml'), 'title: Broken\nlogsource: {product: windows}\ndetection:\n  s: {Image|nosuchmodifier: x}\n  condition: s\n');
    writeFileSync(
      join(rules, 'needs-values.yml'),
      "title: Admin Logon\nlogsource: {product: windows, service: security}\ndetection:\n  s: {EventID: 4624, TargetUserName|expand: '%Administrators%'}\n  condition: s\n",
    );
    writeFileSync(
      ev,
      JSON.stringify({
        Event: {
          System: { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, Computer: 'WS1', TimeCreated: { '#attributes': { SystemTime: '2024-01-01T00:00:00Z' } } },
          EventData: { Image: 'C:\\Windows\\System32\\whoami.exe', Description: 'whoami - displays logged on user information', FileVersion: '10.0.19041.1' },
        },
      }) + '\n',
    );
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'junk'));
    writeFileSync(join(dir, 'junk', 'notes.txt'), 'hello, not a log\n');
  });

  it('--jsonl-events writes each detection with its whole event; without it, none', async () => {
    const r = await cli('hunt', ev, '--rules', rules, '--quiet', '--jsonl', join(dir, 'ev.jsonl'), '--jsonl-events');
    assert.equal(r.code, 0, r.err);
    const [d] = readFileSync(join(dir, 'ev.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event?: Record<string, unknown> });
    // Fields no story or correlation reads are kept too: the event is the one read, not the stages' cut of it.
    assert.equal(d?.event?.Description, 'whoami - displays logged on user information');
    assert.equal(d?.event?.FileVersion, '10.0.19041.1');
    assert.equal(d?.event?.Image, 'C:\\Windows\\System32\\whoami.exe');
    const plain = await cli('hunt', ev, '--rules', rules, '--quiet', '--jsonl', join(dir, 'plain.jsonl'));
    assert.equal(plain.code, 0, plain.err);
    const [p] = readFileSync(join(dir, 'plain.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event?: unknown; matched?: unknown });
    assert.equal(p?.event, undefined);
    assert.deepEqual(p?.matched, { Image: 'C:\\Windows\\System32\\whoami.exe' });
  });

  it('a path that does not exist: exit 2 and one line naming it, no summary', async () => {
    for (const args of [[join(dir, 'no-such-path')], [ev, join(dir, 'no-such-path')], [join(ev, 'below-a-file')]]) {
      const r = await cli('hunt', ...args, '--rules', rules);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      oneLine(r);
      assert.match(r.err, /^firebreak hunt: .*(no-such-path|below-a-file): no such file or folder\n$/);
    }
  });

  it('nothing could be read: exit 2 and one line saying why, no summary', async () => {
    const empty = await cli('hunt', join(dir, 'empty'), '--rules', rules);
    assert.equal(empty.code, 2);
    assert.equal(empty.out, '');
    assert.equal(empty.err, `firebreak hunt: no files under ${join(dir, 'empty')}\n`);
    const junk = await cli('hunt', join(dir, 'junk'), '--rules', rules, '--summary-json', join(dir, 'junk.json'));
    assert.equal(junk.code, 2);
    assert.equal(junk.out, '');
    oneLine(junk);
    assert.match(junk.err, /no file could be read \(1 skipped; first: .*notes\.txt: not a log format/);
    assert.equal((JSON.parse(readFileSync(join(dir, 'junk.json'), 'utf8')) as HuntSummary).files.skipped.length, 1, 'the summary JSON is still written');
  });

  it('rules waiting for placeholder values are a note with the way to enable them; real rule errors stay errors', async () => {
    const r = await cli('hunt', ev, '--rules', rules);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /rules {6}1 run, 1 failed to load, 1 waiting for placeholder values,/);
    assert.match(r.out, /\nNote: 1 rule compares against values from your own environment .* --placeholders FILE \(template: .*placeholders\.example\.yml/);
    assert.match(r.out, /\nErrors \(1\)\n {2}.*broken\.yml.*nosuchmodifier/);
    assert.ok(!/Errors[^]*needs-values/.test(r.out), 'the placeholder rule is not listed as an error');
    // Given a placeholders file that lacks the name, the rule is misconfigured: an error.
    writeFileSync(join(dir, 'ph.yml'), "Workstations: ['WS-*']\n");
    const given = await cli('hunt', ev, '--rules', rules, '--placeholders', join(dir, 'ph.yml'));
    assert.equal(given.code, 0, given.err);
    assert.ok(!given.out.includes('Note:'));
    assert.match(given.out, /\nErrors \(2\)\n/);
    assert.match(given.out, /needs-values\.yml.*%Administrators% has no values/);
  });

  it('the default rule set: no errors at all, one note for the 25 placeholder rules', async () => {
    const r = await cli('hunt', ev);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes('Errors ('), r.out);
    assert.match(r.out, /0 failed to load, 25 waiting for placeholder values/);
    assert.equal(r.out.match(/^Note: 25 rules compare against values from your own environment/gm)?.length, 1, r.out);
    assert.match(r.out, /^Detections: 1$/m);
  });
});
