import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readAttackTags } from '../../src/detections/attack.js';
import { MAX_HOSTS, ReportAggregator } from '../../src/output/report/aggregate.js';
import { contentSecurityPolicy, scriptSafeJson } from '../../src/output/report/html.js';
import { HtmlReportWriter, ROW_FIELDS, type ReportOptions } from '../../src/output/report/index.js';
import { LevelSpill } from '../../src/output/report/spill.js';
import type { DetectionRecord } from '../../src/detections/record.js';
import { detection, XSS } from './fixtures.js';
import { huntDetections, huntSummary } from './report-fixture.js';

/** The parts of the embedded meta block these tests read. */
interface ReportMeta {
  columns: string[];
  byLevel: Record<string, number>;
  table: { total: number; included: number; omitted: number; omittedByLevel: number[] };
}

const dir = mkdtempSync(join(tmpdir(), 'fb-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Write a report; returns its text and the embedded data blocks. */
async function report(name: string, ds: DetectionRecord[], opts: ReportOptions = {}): Promise<{ path: string; html: string; rows: unknown[][]; meta: ReportMeta }> {
  const path = join(dir, name);
  const w = new HtmlReportWriter(path, opts);
  for (const d of ds) await w.write(d);
  await w.close(huntSummary(ds), { generatedAt: '2024-03-02T09:00:00.000Z' });
  const html = readFileSync(path, 'utf8');
  const block = (id: string): string => html.split(`<script type="application/json" id="${id}">`)[1]!.split('</script>')[0]!;
  return { path, html, rows: JSON.parse(block('fb-rows')), meta: JSON.parse(block('fb-meta')) };
}

describe('report data embedding', () => {
  it('scriptSafeJson keeps JSON equal but leaves no </script, <!-- or U+2028/9', () => {
    const v = { a: '</script><script>alert(1)</script>', b: '<!-- x', c: '\u2028\u2029', d: '</SCRIPT >' };
    const s = scriptSafeJson(JSON.stringify(v));
    assert.ok(!/<|\u2028|\u2029/.test(s));
    assert.deepEqual(JSON.parse(s), v);
  });

  it('the policy allows no network and only the page’s own script and style', () => {
    const csp = contentSecurityPolicy();
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.ok(!/unsafe-inline|https?:/.test(csp));
  });

  it('writes one file with no hostile markup, no partial file and no temporary files left', async () => {
    const ds = huntDetections(300);
    const { path, html, rows, meta } = await report('a.html', ds);
    assert.ok(!html.includes('<img'), 'the payload never appears as markup');
    assert.ok(!/<script>window/.test(html));
    assert.ok(!/\b(?:src|href)=["']?https?:/i.test(html), 'no external resources');
    assert.equal(rows.length, 300);
    assert.deepEqual(meta.columns, [...ROW_FIELDS]);
    assert.equal(rows.filter((r) => r[ROW_FIELDS.indexOf('computer')] === XSS).length, 1, 'payload kept exactly as data');
    assert.equal(meta.table.omitted, 0);
    assert.ok(!existsSync(path + '.partial'));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.firebreak-report-')),
      [],
    );
  });

  it('caps the table, keeps the most severe rows and says how many were left out', async () => {
    const ds = [
      ...Array.from({ length: 30 }, (_, i) => detection({ level: 'low', recordId: i })),
      ...Array.from({ length: 20 }, (_, i) => detection({ level: 'critical', recordId: 100 + i })),
      ...Array.from({ length: 30 }, (_, i) => detection({ level: 'medium', recordId: 200 + i })),
    ];
    const { rows, meta } = await report('cap.html', ds, { maxRows: 35 });
    const lv = ROW_FIELDS.indexOf('level');
    assert.equal(rows.length, 35);
    assert.equal(rows.filter((r) => r[lv] === 'critical').length, 20);
    assert.equal(rows.filter((r) => r[lv] === 'medium').length, 15);
    assert.equal(rows.filter((r) => r[lv] === 'low').length, 0);
    assert.equal(meta.table.total, 80);
    assert.equal(meta.table.omitted, 45);
    assert.deepEqual(meta.table.omittedByLevel, [0, 30, 15, 0, 0]);
    assert.deepEqual(meta.byLevel, { informational: 0, low: 30, medium: 30, high: 0, critical: 20 }, 'figures still count every detection');
  });

  it('caps by size, and shortens long values with a count of what was cut', async () => {
    const long = 'A'.repeat(5000);
    const ds = Array.from({ length: 40 }, (_, i) => detection({ recordId: i, matched: { CommandLine: long }, event: { CommandLine: long, Other: 'x' } }));
    const { rows, meta } = await report('size.html', ds, { maxChars: 20_000, maxValue: 100 });
    const m = rows[0]![ROW_FIELDS.indexOf('matched')] as Record<string, string>;
    assert.equal(m.CommandLine, 'A'.repeat(100) + '…');
    assert.equal(rows[0]![ROW_FIELDS.indexOf('cut')], 2);
    assert.ok(rows.length < 40 && rows.length > 20, `size cap applied (${rows.length} rows)`);
    assert.equal(meta.table.included + meta.table.omitted, 40);
  });

  it('embeds stories data (the reserved hook) escaped like the rest, and none when absent', async () => {
    const path = join(dir, 'stories.html');
    const w = new HtmlReportWriter(path);
    await w.write(detection());
    await w.close(huntSummary([detection()]), { stories: [{ from: XSS, to: 'DC01', at: '2024-03-01T10:00:00Z' }] });
    const html = readFileSync(path, 'utf8');
    const block = html.split('<script type="application/json" id="fb-stories">')[1]!.split('</script>')[0]!;
    assert.deepEqual(JSON.parse(block), [{ from: XSS, to: 'DC01', at: '2024-03-01T10:00:00Z' }]);
    assert.ok(!html.includes('<img'));
    const plain = await report('nostories.html', [detection()]);
    assert.match(plain.html, /<script type="application\/json" id="fb-stories"><\/script>/);
  });

  it('abort() leaves neither a report nor temporary files', async () => {
    const path = join(dir, 'aborted.html');
    const w = new HtmlReportWriter(path);
    await w.write(detection());
    await w.abort();
    assert.ok(!existsSync(path));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.firebreak-report-')),
      [],
    );
  });

  it('a spill stops writing levels that can no longer reach the table', async () => {
    const sp = new LevelSpill(dir, 10, 1e9);
    for (let i = 0; i < 10; i++) sp.add(4, `"c${i}"`);
    for (let i = 0; i < 1000; i++) sp.add(0, `"i${i}"`);
    assert.ok(!existsSync(join(sp.dir, 'level-0.jsonl')), 'informational rows were never spilled');
    const stats = { included: 0, includedByLevel: [0, 0, 0, 0, 0] };
    const got: string[] = [];
    for await (const l of sp.selected(stats)) got.push(l);
    assert.equal(got.length, 10);
    assert.deepEqual(sp.offered, [1000, 0, 0, 0, 10]);
    await sp.cleanup();
    assert.ok(!existsSync(sp.dir));
  });
});

describe('report figures', () => {
  it('reads ATT&CK tags: techniques, tactic short names, underscores, TA ids', () => {
    assert.deepEqual(readAttackTags(['attack.credential_access', 'attack.T1003.001', 'attack.ta0002', 'attack.s0002', 'cve.2021-1', 'attack.g0016']), {
      tactics: ['credential-access', 'execution'],
      techniques: ['T1003.001'],
    });
  });

  it('places techniques under their rule’s tactics, or a no-tactic column', () => {
    const a = new ReportAggregator();
    a.add(detection({}, { id: 'r1', tags: ['attack.execution', 'attack.defense-evasion', 'attack.t1059.001'] }));
    a.add(detection({}, { id: 'r2', tags: ['attack.execution', 'attack.t1059.001'] }));
    a.add(detection({}, { id: 'r3', tags: ['attack.t1036'] }));
    const cols = a.finish().attack;
    const col = (s: string) => cols.find((c) => c.short === s)!;
    assert.deepEqual(col('execution').techniques, [{ technique: 'T1059.001', count: 2, rules: 2 }]);
    assert.equal(col('execution').count, 2);
    assert.deepEqual(col('defense-evasion').techniques, [{ technique: 'T1059.001', count: 1, rules: 1 }]);
    assert.deepEqual(col('unassigned').techniques, [{ technique: 'T1036', count: 1, rules: 1 }]);
    assert.deepEqual(
      cols.slice(0, 3).map((c) => c.short),
      ['reconnaissance', 'resource-development', 'initial-access'],
      'kill-chain order',
    );
  });

  it('timeline: counts every timed detection, by level, in ~120 bars or fewer', () => {
    const a = new ReportAggregator();
    const ds = huntDetections(2000);
    ds.push(detection({ timestamp: null }), detection({ timestamp: 'garbage' }));
    for (const d of ds) a.add(d);
    const t = a.finish().timeline;
    const sum = t.counts.reduce((s, c) => s + c.reduce((x, y) => x + y, 0), 0);
    assert.equal(sum + t.before + t.after, 2000);
    assert.equal(t.noTimestamp, 2);
    assert.ok(t.counts.length <= 121, `${t.counts.length} bars`);
    assert.equal(t.step, 15 * 60_000);
  });

  it('timeline: coarsens over years and trims a thin tail of clock outliers', () => {
    const a = new ReportAggregator();
    const base = Date.UTC(2020, 0, 1);
    for (let i = 0; i < 30_000; i++) a.add(detection({ timestamp: new Date(base + i * 97 * 60_000).toISOString() }));
    a.add(detection({ timestamp: '1601-01-01T00:00:00Z' }));
    const t = a.finish().timeline;
    assert.equal(t.before, 1, 'the 1601 outlier is left off the chart, and counted');
    assert.ok(t.counts.length <= 121);
    assert.ok(t.start >= base - 365 * 86400_000);
    assert.equal(
      t.counts.reduce((s, c) => s + c[3]!, 0),
      30_000,
    );
  });

  it('timeline: a timestamp without a zone is UTC, whatever the local zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const a = new ReportAggregator();
      a.add(detection({ timestamp: '2024-03-01T10:00:00' }));
      assert.equal(a.finish().timeline.start, Date.UTC(2024, 2, 1, 10, 0));
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('hosts: pools names beyond the cap instead of growing without bound', () => {
    const a = new ReportAggregator();
    for (let i = 0; i < MAX_HOSTS + 10; i++) a.add(detection({ computer: `h${i}` }));
    const f = a.finish();
    assert.equal(f.hostsDistinct, MAX_HOSTS);
    assert.equal(f.otherHosts, 10);
  });
});
