/**
 * The API's state-database seam over SQLite (src/serve/store/sql.ts): transactions commit, roll
 * back on a failure, join the processor's open batch as a savepoint (a failed API change takes back
 * only its own writes), and a uniqueness failure is recognised.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateDb } from '../../src/serve/store/db.js';
import { auditRow, SqliteSql } from '../../src/serve/store/sql.js';

const count = async (q: SqliteSql): Promise<number> => (await q.get<{ n: number }>('SELECT count(*) AS n FROM audit'))!.n;

describe('state database seam: SQLite', () => {
  it('commits a transaction, and rolls it back (rethrowing) when it fails', async () => {
    const q = new SqliteSql(new StateDb(':memory:'));
    await q.tx(async (t) => auditRow(t, 'alice', 'a.one'));
    assert.equal(await count(q), 1);
    await assert.rejects(
      q.tx(async (t) => {
        await auditRow(t, 'alice', 'a.two');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await count(q), 1, 'the failed transaction left nothing');
    assert.equal(q.state.db.inTransaction, false);
  });

  it("inside the processor's open batch, joins it as a savepoint: a failure takes back only its own writes", async () => {
    const db = new StateDb(':memory:');
    const q = new SqliteSql(db);
    await db.batch(async () => {
      db.audit('pipeline', 'batch.write');
      await q.tx(async (t) => auditRow(t, 'alice', 'api.ok'));
      await assert.rejects(
        q.tx(async (t) => {
          await auditRow(t, 'alice', 'api.failed');
          throw new Error('boom');
        }),
      );
      assert.ok(db.db.inTransaction, "the batch's transaction is still open");
    });
    assert.deepEqual(
      (await q.all<{ action: string }>('SELECT action FROM audit ORDER BY id')).map((r) => r.action),
      ['batch.write', 'api.ok'],
    );
  });

  it('keeps what it wrote when the enclosing transaction commits while it awaits', async () => {
    const db = new StateDb(':memory:');
    const q = new SqliteSql(db);
    db.db.exec('BEGIN IMMEDIATE');
    await q.tx(async (t) => {
      await auditRow(t, 'alice', 'api.first');
      db.db.exec('COMMIT'); // the processor's batch ends meanwhile
      await auditRow(t, 'alice', 'api.second');
    });
    assert.equal(db.db.inTransaction, false);
    assert.equal(await count(q), 2);
  });

  it('recognises a uniqueness failure', async () => {
    const q = new SqliteSql(new StateDb(':memory:'));
    await q.run("INSERT INTO users (name, role, password, created_at) VALUES ('a', 'admin', 'x', 't')");
    const e = await q.run("INSERT INTO users (name, role, password, created_at) VALUES ('a', 'admin', 'x', 't')").catch((err: unknown) => err);
    assert.ok(q.isUniqueViolation(e));
    assert.equal(q.isUniqueViolation(new Error('other')), false);
  });
});
