/**
 * A server's story baselines survive a restart: the live stages learn them from the facts that
 * arrive with the events, store them in the state database (`baselines`, under BASELINE_NAME), and
 * live stages built again on the same database start from what was stored instead of warming up
 * again; stored state that cannot be used is reported and the server starts cold.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDetection } from '../../src/pipeline/plan.js';
import { LiveStages } from '../../src/serve/live-stages.js';
import { StateDb } from '../../src/serve/store/db.js';
import type { RoutineFact } from '../../src/stories/facts.js';
import { Routine } from '../../src/stories/routine.js';
import { BASELINE_NAME } from '../../src/stories/stage.js';

const DAY = 86_400_000;
const D0 = Date.UTC(2024, 2, 4);
const at = (d: number, h: number, m = 0) => D0 + d * DAY + h * 3_600_000 + m * 60_000;
const host = (i: number) => `ws${String(i).padStart(2, '0')}`;

/** Three days of a 40-host fleet: each user on their own machine, and DEPLOY01 on 30 of them every night. */
function days(): { t: number; facts: RoutineFact[] }[] {
  const out: { t: number; facts: RoutineFact[] }[] = [];
  for (let d = 0; d < 3; d++) {
    out.push({ t: at(d, 1, 30), facts: Array.from({ length: 30 }, (_, i) => ({ kind: 'access', t: at(d, 1, i), source: 'h:deploy01', target: host(i), account: 'svc_deploy' })) });
    out.push({ t: at(d, 9, 40), facts: Array.from({ length: 40 }, (_, i) => ({ kind: 'access', t: at(d, 9, i), source: `ip:10.0.9.${i}`, target: host(i), account: `user${i}` })) });
  }
  return out;
}

// No rules: only the stories' baselines are under test here.
const plan = () => planDetection({ filter: {}, collection: { rules: [], correlations: [], errors: [] } });
const stages = (db: StateDb, warnings: string[] = []) => new LiveStages({ db, plan: plan(), suppression: { windowMs: 60_000 }, allowedLatenessMs: 0, onWarning: (m) => void warnings.push(m) });
const stored = (db: StateDb) => (db.db.prepare('SELECT state FROM baselines WHERE name = ?').get(BASELINE_NAME) as { state: string } | undefined)?.state;

describe('serve: story baselines across a restart', () => {
  it('are learnt from the facts of each batch, stored, and restored by live stages built on the same database', async () => {
    const db = new StateDb(':memory:');
    const first = stages(db);
    for (const b of days()) await first.apply({ detections: [], claims: [], facts: b.facts, maxTime: b.t });
    const json = first.exportBaseline()!;
    // What was learnt is worth keeping: the nightly fan-out is a management host after three days.
    assert.match(Routine.import(JSON.parse(json)).management('h:deploy01', 'DEPLOY01')?.why ?? '', /^DEPLOY01 reaches 30 of 40 hosts every night/);
    first.saveBaseline(json);
    assert.equal(stored(db), json);

    // A restart: new live stages on the same database begin with the stored baselines…
    const warnings: string[] = [];
    const second = stages(db, warnings);
    assert.deepEqual(warnings, []);
    assert.equal(second.exportBaseline(), json);
    // …where a server on a fresh database begins with nothing (and would warm up again).
    const cold = stages(new StateDb(':memory:'));
    assert.equal(Routine.import(JSON.parse(cold.exportBaseline()!)).management('h:deploy01', 'DEPLOY01'), undefined);
    db.db.close();
  });

  it('stored baselines that cannot be used are reported, and the server starts cold', () => {
    const db = new StateDb(':memory:');
    const fresh = stages(new StateDb(':memory:')).exportBaseline();
    for (const bad of ['{"version":1}', 'not json']) {
      db.db.prepare('INSERT INTO baselines (name, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state').run(BASELINE_NAME, bad, new Date().toISOString());
      const warnings: string[] = [];
      const live = stages(db, warnings);
      assert.equal(warnings.length, 1, bad);
      assert.match(warnings[0]!, /^stored story baselines not used \(starting cold\): /);
      assert.equal(live.exportBaseline(), fresh, 'nothing of the damaged state was taken');
    }
    db.db.close();
  });
});
