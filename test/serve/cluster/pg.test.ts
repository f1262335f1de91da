/**
 * PostgreSQL for the cluster (a server started by the test): the schema made once by nodes
 * starting together, takeover epochs and fencing, and the correlate node's mirror — idempotent,
 * keeping the analysts' columns, carrying keys with NUL separators, and refusing a second alert for
 * the same detection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { acknowledge, collect, installMirror, writeBatch } from '../../../src/serve/cluster/mirror.js';
import { hydrate } from '../../../src/serve/cluster/hydrate.js';
import { ClusterDb, FencedError } from '../../../src/serve/cluster/pg.js';
import { StateDb } from '../../../src/serve/store/db.js';
import { clusterMissing, startPostgres, type Postgres } from './helpers.js';

const missing = clusterMissing();

function insertAlert(db: StateDb, key: string, rk: string, status = 'new'): number {
  const t = '2024-05-14T11:00:00.000Z';
  const r = db.db
    .prepare(
      `INSERT INTO alerts (key, rule_key, rule_id, rule_title, kind, level, host, first_seen, last_seen, count, detection, created_at, updated_at, status)
       VALUES (?, ?, 'id', 'Rule', 'sigma', 'high', 'WS1', ?, ?, 1, '{}', ?, ?, ?)`,
    )
    .run(key, rk, t, t, t, t, status);
  return Number(r.lastInsertRowid);
}

describe('cluster: PostgreSQL', { skip: missing, timeout: 300_000 }, () => {
  let pgs: Postgres;
  let cdb: ClusterDb;

  before(async () => {
    pgs = await startPostgres();
    // Nodes starting at once make the schema once.
    const [a, b] = await Promise.all([ClusterDb.open({ url: pgs.url, maxConnections: 2 }), ClusterDb.open({ url: pgs.url, maxConnections: 2 })]);
    await b.close();
    cdb = a;
  });
  after(async () => {
    await cdb?.close();
    await pgs?.destroy();
  });

  it('a later epoch takes over; an earlier one is refused, and its writes are fenced out', async () => {
    const first = await cdb.takeOver(10, 'node-a');
    assert.deepEqual(first, { epoch: 10, node: 'node-a', nextSeq: 1, replaySeq: 1, replayDseq: 1 });
    assert.equal(await cdb.takeOver(5, 'node-old'), null);
    const db = new StateDb(':memory:');
    installMirror(db);
    insertAlert(db, 'k1', 'rk');
    const batch = collect(db, { nextSeq: 7, replaySeq: 2, replayDseq: 3 }, 6);
    await writeBatch(cdb, 10, batch);
    acknowledge(db, batch);
    assert.equal((await cdb.progress())?.nextSeq, 7);
    assert.ok(await cdb.takeOver(12, 'node-b'));
    insertAlert(db, 'k2', 'rk');
    await assert.rejects(writeBatch(cdb, 10, collect(db, { nextSeq: 9, replaySeq: 2, replayDseq: 3 }, 8)), FencedError);
    const p = await cdb.progress();
    assert.equal(p?.nextSeq, 7, 'the fenced node changed nothing');
    assert.equal(p?.node, 'node-b');
    const n = await cdb.pool.query<{ n: string }>('SELECT count(*) AS n FROM alerts');
    assert.equal(Number(n.rows[0]!.n), 1);
    db.close();
  });

  it('the mirror is idempotent, keeps what analysts changed, and round-trips keys with NUL', async () => {
    const epoch = 20;
    assert.ok(await cdb.takeOver(epoch, 'node-c'));
    // A working copy numbers its alerts from 1 as the previous test's did: start from no alerts.
    await cdb.pool.query('TRUNCATE alerts, applied');
    const db = new StateDb(':memory:');
    installMirror(db);
    const rk = 'rules/x.yml\u0000id-1\u0000Rule X';
    const id = insertAlert(db, `${rk}\u0000WS1\u0000s\u0000ident`, rk);
    db.db.prepare('INSERT INTO applied (identity, alert_id, event_time) VALUES (?, ?, ?)').run('s\u0000ident', id, '2024-05-14T11:00:00.000Z');
    const b1 = collect(db, { nextSeq: 5, replaySeq: 1, replayDseq: 1 }, 4);
    await writeBatch(cdb, epoch, b1);
    // The same batch again (a retry after a lost answer) changes nothing.
    await writeBatch(cdb, epoch, b1);
    acknowledge(db, b1);
    assert.equal((db.db.prepare('SELECT count(*) AS n FROM mirror_queue').get() as { n: number }).n, 0);
    // An analyst closes the alert in PostgreSQL; the pipeline folds a detection into it.
    await cdb.pool.query("UPDATE alerts SET status = 'closed', assignee = 'alice' WHERE id = $1", [id]);
    db.db.prepare('UPDATE alerts SET count = count + 1 WHERE id = ?').run(id);
    const b2 = collect(db, { nextSeq: 6, replaySeq: 1, replayDseq: 1 }, 5);
    await writeBatch(cdb, epoch, b2);
    acknowledge(db, b2);
    const row = (await cdb.pool.query<{ count: number; status: string; assignee: string; rule_key: string }>('SELECT count, status, assignee, rule_key FROM alerts WHERE id = $1', [id])).rows[0]!;
    assert.equal(row.count, 2);
    assert.equal(row.status, 'closed');
    assert.equal(row.assignee, 'alice');
    // A working copy built from PostgreSQL has the same keys, NULs and all.
    const copy = new StateDb(':memory:');
    const counts = await hydrate(cdb, copy, { epoch, node: 'node-c', nextSeq: 6, replaySeq: 1, replayDseq: 1 });
    assert.ok(counts.applied >= 1);
    const back = copy.db.prepare('SELECT rule_key, key FROM alerts WHERE id = ?').get(id) as { rule_key: string; key: string };
    assert.equal(back.rule_key, rk);
    assert.equal(back.key, `${rk}\u0000WS1\u0000s\u0000ident`);
    assert.ok(copy.db.prepare('SELECT 1 FROM applied WHERE identity = ?').get('s\u0000ident'), 'the applied detection is recognised');
    // A second alert for the same detection (same key) is refused by PostgreSQL, never stored.
    const other = new StateDb(':memory:');
    installMirror(other);
    other.db
      .prepare(
        'INSERT INTO alerts (id, key, rule_key, rule_title, kind, level, first_seen, last_seen, count, detection, created_at, updated_at) SELECT id + 1000, key, rule_key, rule_title, kind, level, first_seen, last_seen, count, detection, created_at, updated_at FROM (SELECT ? AS id, ? AS key, ? AS rule_key, ? AS rule_title, ? AS kind, ? AS level, ? AS first_seen, ? AS last_seen, 1 AS count, ? AS detection, ? AS created_at, ? AS updated_at)',
      )
      .run(id, back.key, rk, 'Rule', 'sigma', 'high', 't', 't', '{}', 't', 't');
    await assert.rejects(writeBatch(cdb, epoch, collect(other, { nextSeq: 7, replaySeq: 1, replayDseq: 1 }, 6)), /duplicate key value violates unique constraint "alerts_key"/);
    for (const d of [db, copy, other]) d.close();
  });
});
