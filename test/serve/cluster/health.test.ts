/** A cluster's health (src/serve/cluster/health.ts): reports read back whatever a row holds, and the cluster's totals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkedReport, clusterTotals, type ClusterNodeHealth } from '../../../src/serve/cluster/health.js';

const node = (name: string, stale: boolean, report: unknown): ClusterNodeHealth => ({
  node: name,
  roles: ['ingest'],
  startedAt: '2026-01-01T00:00:00.000Z',
  reportedAt: '2026-01-01T00:00:05.000Z',
  ageSeconds: stale ? 60 : 1,
  stale,
  report: checkedReport(report),
});

describe('cluster: node health', () => {
  it('reads any row as a report: unknown parts dropped, counters that are not counts read as 0', () => {
    for (const v of [null, 7, 'x', [], {}]) {
      const r = checkedReport(v);
      assert.deepEqual(r, { sources: [], refused: {}, backpressure: false, pipeline: null, drops: {}, detect: null, correlate: null, rules: null, ingestTokens: null });
    }
    const r = checkedReport({
      sources: [{ source: 'beats', protocol: 'elastic', accepted: '12', rejected: -1, bytes: Infinity, lastAt: 5 }, 'junk', null],
      refused: { elastic: { auth: 2, busy: 'x' }, hec: 3 },
      backpressure: 'yes',
      pipeline: { eventsProcessed: 5, lagMs: 'slow', watermark: {} },
      drops: { a: 1, b: 'two' },
      detect: { events: 4, x: [1] },
      correlate: { state: 'active', epoch: 3, odd: { a: 1 } },
      rules: { revision: 2, running: 9, error: 42 },
    });
    assert.deepEqual(r.sources, [{ source: 'beats', protocol: 'elastic', accepted: 0, rejected: 0, bytes: 0, lastAt: null }]);
    assert.deepEqual(r.refused, { elastic: { auth: 2, busy: 0, errors: 0 } });
    assert.equal(r.backpressure, false);
    assert.deepEqual(r.pipeline, { eventsProcessed: 5, detections: 0, suppressed: 0, late: 0, watermark: null, lagMs: null });
    assert.deepEqual(r.drops, { a: 1, b: 0 });
    assert.deepEqual(r.detect, { events: 4, x: 0 });
    assert.deepEqual(r.correlate, { state: 'active', epoch: 3, odd: null });
    assert.deepEqual(r.rules, { revision: 2, running: 9, error: null });
  });

  it("sums the nodes that are not stale; the pipeline is the active correlate node's", () => {
    const src = (accepted: number, lastAt: string) => ({ source: 'beats', protocol: 'elastic', accepted, rejected: 1, bytes: accepted * 10, lastAt });
    const t = clusterTotals([
      node('ingest-1', false, { sources: [src(5, '2026-01-01T00:00:01.000Z')], refused: { elastic: { auth: 1, busy: 2, errors: 0 } }, drops: { syslogDatagrams: 1 } }),
      node('ingest-2', false, { sources: [src(7, '2026-01-01T00:00:03.000Z')], refused: { elastic: { auth: 1, busy: 0, errors: 4 } }, backpressure: true, drops: { syslogDatagrams: 2 } }),
      node('ingest-3', true, { sources: [src(100, '2026-01-01T00:00:09.000Z')], backpressure: true }),
      node('correlate-1', false, { pipeline: { eventsProcessed: 40, detections: 3, suppressed: 1, late: 0, watermark: '2026-01-01T00:00:00.000Z', lagMs: 12 } }),
    ]);
    assert.deepEqual(t.sources, [{ source: 'beats', protocol: 'elastic', accepted: 12, rejected: 2, bytes: 120, lastAt: '2026-01-01T00:00:03.000Z' }]);
    assert.deepEqual(t.refused, { elastic: { auth: 2, busy: 2, errors: 4 } });
    assert.equal(t.backpressure, true);
    assert.deepEqual(t.drops, { syslogDatagrams: 3 });
    assert.equal(t.pipeline.eventsProcessed, 40);
    assert.equal(clusterTotals([node('ingest-3', true, { backpressure: true })]).backpressure, false, 'a stale node counts for nothing');
  });
});
