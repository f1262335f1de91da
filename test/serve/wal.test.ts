import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rng } from '../../src/core/rng.js';
import type { IngestRecord } from '../../src/serve/record.js';
import { WalError, WriteAheadLog, type WalEntry } from '../../src/serve/wal/wal.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fb-wal-'));
const rec = (i: number, body = `{"n":${i}}`): IngestRecord => ({ source: 's1', protocol: 'elastic', receivedAt: 1_700_000_000_000 + i, kind: 'json', body, meta: { index: 'logs' } });

async function readAll(wal: WriteAheadLog, from?: number): Promise<WalEntry[]> {
  const r = wal.reader(from);
  const out: WalEntry[] = [];
  for (;;) {
    const b = await r.read(500, false);
    if (!b.length) break;
    out.push(...b);
  }
  await r.close();
  return out;
}

describe('write-ahead log', () => {
  it('appends, reads back in order with offsets, keeps every field, survives reopen', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir, segmentBytes: 4096 });
    const a = await wal.append([rec(0), rec(1)]);
    assert.deepEqual(a, { first: 0, count: 2 });
    const text: IngestRecord = {
      source: 'net-syslog',
      protocol: 'syslog',
      receivedAt: 5,
      kind: 'text',
      body: '<34>1 2024-01-01T00:00:00Z h app - - - é ✓ \u{1F600}',
      meta: { transport: 'tcp', framing: 'octet-counting' },
    };
    const more = [];
    for (let i = 0; i < 200; i += 10) more.push(await wal.append(Array.from({ length: 10 }, (_, j) => rec(i + j + 2))));
    assert.deepEqual(
      more.map((m) => m.first),
      Array.from({ length: 20 }, (_, i) => i * 10 + 2),
    );
    await wal.append([text]);
    const all = await readAll(wal);
    assert.equal(all.length, 203);
    assert.deepEqual(
      all.map((e) => e.offset),
      Array.from({ length: 203 }, (_, i) => i),
    );
    assert.deepEqual(all[0]!.record, rec(0));
    assert.deepEqual(all[202]!.record, text);
    assert.ok(readdirSync(dir).filter((f) => f.endsWith('.wal')).length >= 3, 'small segments roll');
    await wal.close();
    const again = await WriteAheadLog.open({ dir, segmentBytes: 4096 });
    assert.equal(again.nextOffset, 203);
    assert.equal(again.recovery.truncated, null);
    assert.deepEqual(
      (await readAll(again, 150)).map((e) => e.offset),
      Array.from({ length: 53 }, (_, i) => i + 150),
      'a reader can start in the middle of a segment',
    );
    await again.close();
  });

  it('commit is durable, deletes fully committed segments, and offsets stay monotonic', async () => {
    const dir = tmp();
    let wal = await WriteAheadLog.open({ dir, segmentBytes: 2048 });
    for (let i = 0; i < 100; i++) await wal.append([rec(i)]);
    const before = readdirSync(dir).filter((f) => f.endsWith('.wal')).length;
    assert.deepEqual(wal.lag().records, 100);
    await wal.commit(60);
    assert.equal(wal.lag().records, 40);
    const after = readdirSync(dir).filter((f) => f.endsWith('.wal')).length;
    assert.ok(after < before, `segments deleted (${before} → ${after})`);
    await assert.rejects(wal.commit(101), (e: WalError) => e.code === 'wal-commit-ahead');
    await wal.close();
    wal = await WriteAheadLog.open({ dir, segmentBytes: 2048 });
    assert.equal(wal.committed, 60);
    const rest = await readAll(wal);
    assert.equal(rest[0]!.offset, 60);
    assert.equal(rest.length, 40);
    await assert.rejects(wal.reader(0).read(1), (e: WalError) => e.code === 'wal-offset-gone');
    await wal.commit(100);
    await wal.close();
    // Everything committed: the next record still gets offset 100.
    wal = await WriteAheadLog.open({ dir, segmentBytes: 2048 });
    assert.equal((await wal.append([rec(100)])).first, 100);
    await wal.close();
  });

  it('a reader tails live appends and ends when the log closes', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir, segmentBytes: 1024 });
    const got: number[] = [];
    const consumer = (async () => {
      for await (const e of wal.reader(0)) got.push(e.offset);
    })();
    for (let i = 0; i < 50; i++) await wal.append([rec(i), rec(i)]);
    await wal.close();
    await consumer;
    assert.deepEqual(
      got,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('closing a reader ends a read waiting for new records (the log stays open)', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir });
    await wal.append([rec(0)]);
    const r = wal.reader(0);
    assert.equal((await r.read(10)).length, 1);
    const waiting = r.read(10);
    await r.close();
    assert.deepEqual(await waiting, []);
    await wal.append([rec(1)]);
    assert.deepEqual(await r.read(10), [], 'a closed reader reads nothing more');
    await wal.close();
  });

  it('group commit: concurrent appends share fsyncs and resolve in order', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir, groupCommitMs: 5 });
    let durableEvents = 0;
    wal.on('durable', () => durableEvents++);
    const res = await Promise.all(Array.from({ length: 500 }, (_, i) => wal.append([rec(i)])));
    assert.deepEqual(
      res.map((r) => r.first),
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.ok(durableEvents < 50, `500 concurrent appends took ${durableEvents} syncs`);
    await wal.close();
  });

  it('recovery cuts a torn tail and reports it; corruption elsewhere is refused with its location', async () => {
    const dir = tmp();
    let wal = await WriteAheadLog.open({ dir, segmentBytes: 1 << 20 });
    for (let i = 0; i < 10; i++) await wal.append([rec(i)]);
    await wal.close();
    const seg = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.wal'))!,
    );
    const good = statSync(seg).size;
    appendFileSync(seg, Buffer.from([40, 0, 0, 0, 1, 2, 3])); // half a frame header
    wal = await WriteAheadLog.open({ dir });
    assert.equal(wal.nextOffset, 10);
    assert.equal(wal.recovery.truncated?.bytes, 7);
    assert.match(wal.recovery.truncated?.reason ?? '', /torn frame/);
    assert.equal(statSync(seg).size, good);
    await wal.close();
    // A flipped byte inside the last frame: checksum catches it, the frame is cut.
    const b = readFileSync(seg);
    b[b.length - 3] = b[b.length - 3]! ^ 0xff;
    writeFileSync(seg, b);
    wal = await WriteAheadLog.open({ dir });
    assert.equal(wal.nextOffset, 9);
    assert.match(wal.recovery.truncated!.reason, /checksum/);
    await wal.close();
    // A torn length that claims gigabytes is corruption, not an allocation.
    appendFileSync(seg, Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]));
    wal = await WriteAheadLog.open({ dir });
    assert.match(wal.recovery.truncated!.reason, /exceeds/);
    await wal.close();
    // Damage in a sealed segment is not a crash: refuse to open and say where.
    wal = await WriteAheadLog.open({ dir, segmentBytes: 4096 });
    for (let i = 0; i < 30; i++) await wal.append(Array.from({ length: 10 }, () => rec(i, `{"pad":"${'x'.repeat(100)}"}`)));
    await wal.close();
    assert.ok(readdirSync(dir).filter((f) => f.endsWith('.wal')).length > 2);
    const first = join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.wal'))
        .sort()[0]!,
    );
    truncateSync(first, 200);
    await assert.rejects(WriteAheadLog.open({ dir }), (e: WalError) => e.code === 'wal-corrupt' && /not the last segment/.test(e.message));
  });

  it('one process per directory', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir });
    await assert.rejects(WriteAheadLog.open({ dir }), (e: WalError) => e.code === 'wal-locked');
    await wal.close();
    (await WriteAheadLog.open({ dir })).close().catch(() => {});
  });

  it('append after close is refused; oversized records are refused', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir, frameMaxBytes: 1000 });
    await assert.rejects(wal.append([rec(0, 'x'.repeat(2000))]), (e: WalError) => e.code === 'wal-record-too-large');
    await wal.close();
    await assert.rejects(wal.append([rec(1)]), (e: WalError) => e.code === 'wal-closed');
  });

  it('processed sealed segments kept for replay hold no checkpoints in memory, and a reader can still start inside one', async () => {
    const dir = tmp();
    const wal = await WriteAheadLog.open({ dir, segmentBytes: 512 * 1024 });
    const body = (i: number) => JSON.stringify({ n: i, pad: 'p'.repeat(1000) });
    for (let i = 0; i < 3000; i += 100) await wal.append(Array.from({ length: 100 }, (_, j) => rec(i + j, body(i + j))));
    assert.ok(wal.stats().segments >= 5, `several segments (${wal.stats().segments})`);
    assert.ok(wal.segmentFor(10)!.checkpoints.length > 0, 'a sealed segment has checkpoints while unprocessed');
    // Processed but not committed (kept for replay, as while event time stands still).
    wal.markProcessed(3000);
    assert.equal(wal.committed, 0);
    const kept = [0, 600, 1200, 1800].map((o) => wal.segmentFor(o)!).filter((s) => !wal.isActive(s));
    assert.ok(kept.length >= 3);
    for (const s of kept) assert.equal(s.checkpoints.length, 0, `${s.file} keeps no checkpoints`);
    // A new reader in the middle of a processed segment seeks from its start, frame by frame.
    const from = kept[1]!.base + 137;
    const got = await readAll(wal, from);
    assert.equal(got.length, 3000 - from);
    assert.deepEqual(got[0]!.record, rec(from, body(from)));
    await wal.close();
  });
});

/**
 * SIGKILL during sustained appends: a child process appends batches (several in flight) and
 * prints each batch's ids once its append resolved; some runs also consume and commit. The parent
 * kills it at a seeded random moment, reopens the log and checks every acknowledged record is
 * there exactly once, in order (or was consumed before the commit that removed it).
 */
describe('write-ahead log: crash safety under SIGKILL', { timeout: 300_000 }, () => {
  const child = fileURLToPath(new URL('./wal-crash-child.js', import.meta.url));
  it('24 kills at random points: every acknowledged record survives, once, in order', async (t) => {
    const dir = tmp();
    const rand = rng(20260105);
    const acked = new Set<number>();
    const consumed = new Set<number>();
    let nextId = 0;
    let truncations = 0;
    for (let run = 0; run < 24; run++) {
      const withConsumer = run % 3 === 2;
      const killAfterAcks = 20 + Math.floor(rand() * 200);
      const { lines } = await runChild(child, [dir, String(nextId), String(Math.floor(rand() * 1e9)), withConsumer ? '1' : '0'], killAfterAcks);
      for (const l of lines) {
        const [kind, ...ids] = l.split(' ');
        const set = kind === 'A' ? acked : kind === 'C' ? consumed : null;
        if (!set) continue;
        for (const id of ids) set.add(Number(id));
      }
      nextId += 1_000_000;
      const wal = await WriteAheadLog.open({ dir, segmentBytes: 64 * 1024 });
      if (wal.recovery.truncated) truncations++;
      const entries = await readAll(wal, wal.firstOffset);
      const ids = entries.map((e) => (JSON.parse(e.record.body) as { id: number }).id);
      assert.equal(new Set(ids).size, ids.length, `run ${run}: a record appears twice`);
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `run ${run}: out of order at offset ${entries[i]!.offset}`);
      for (let i = 1; i < entries.length; i++) assert.equal(entries[i]!.offset, entries[i - 1]!.offset + 1);
      const present = new Set(ids);
      const missing = [...acked].filter((id) => !present.has(id) && !consumed.has(id));
      assert.deepEqual(missing.slice(0, 5), [], `run ${run}: ${missing.length} acknowledged records lost`);
      // A record below the committed offset was consumed before the commit was written.
      const below = entries.filter((e) => e.offset < wal.committed);
      for (const e of below) assert.ok(consumed.has((JSON.parse(e.record.body) as { id: number }).id), `run ${run}: offset ${e.offset} committed but never consumed`);
      await wal.close();
    }
    assert.ok(acked.size > 24 * 20, `acknowledged ${acked.size}`);
    assert.ok(consumed.size > 0, 'the consumer runs consumed and committed');
    t.diagnostic(`${acked.size} acknowledged, ${consumed.size} consumed, ${truncations} recoveries cut a torn tail`);
  });
});

function runChild(script: string, args: string[], killAfterAcks: number): Promise<{ lines: string[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let acks = 0;
    const lines: string[] = [];
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(l);
        if (l.startsWith('A ') && ++acks === killAfterAcks) p.kill('SIGKILL');
      }
    });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} without being killed: ${err}`));
      else resolve({ lines });
    });
  });
}
