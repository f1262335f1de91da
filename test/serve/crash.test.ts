/**
 * Crash safety of `firebreak serve`: the real CLI is killed with SIGKILL at random points while a
 * shipper sends without pause, 20 times, then started once more. Every document the server
 * acknowledged must come out exactly once (one alert each: suppression is off for the test rule),
 * and nothing unacknowledged may come out twice. The client never resends (a shipper would, and
 * then a second copy is its own business), so any duplicate is the server's.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StateDb } from '../../src/serve/store/db.js';
import { WriteAheadLog } from '../../src/serve/wal/wal.js';
import { until } from './ingest-helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/firebreak.js', import.meta.url));
const TOKEN = 'crash-test-token-0123456789';
const KILLS = 20;

const RULE = `title: Crash test marker
id: 6f0c3f5e-8a4b-4f7e-9d2a-0c1b2a3d4e5f
status: test
level: high
logsource: { product: windows, category: process_creation }
detection:
  sel: { CommandLine|contains: 'crashtest-marker' }
  condition: sel
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One past the last record of the log in `dir` after crash recovery, found by recovering a copy of it in `copy`. */
async function walEnd(dir: string, copy: string): Promise<number> {
  rmSync(copy, { recursive: true, force: true });
  cpSync(dir, copy, { recursive: true, filter: (f) => !f.endsWith('wal.lock') });
  const wal = await WriteAheadLog.open({ dir: copy });
  const end = wal.nextOffset;
  await wal.close();
  rmSync(copy, { recursive: true, force: true });
  return end;
}

/** One Sysmon process creation as evtx JSON (what the decoder reads from a bulk document). */
function doc(seq: number): string {
  const t = new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();
  return JSON.stringify({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
        EventID: 1,
        TimeCreated: { '#attributes': { SystemTime: t } },
        EventRecordID: seq,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: `ws${seq % 7}.corp.example`,
      },
      EventData: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: `cmd.exe /c echo crashtest-marker ${seq}`, ProcessId: 1000 + (seq % 5000) },
    },
  });
}

describe('serve: SIGKILL during sustained ingest', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-crash-'));
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(`acknowledged documents come out exactly once after ${KILLS} kills`, async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'rule.yml'), RULE);
    const config = join(dir, 'serve.yml');
    writeFileSync(
      config,
      `data: ${dir}/data
listeners:
  elastic: { listen: 127.0.0.1:${port} }
tokens:
  - { source: shipper, secret: ${TOKEN}, protocols: [elastic] }
rules: { paths: [${dir}/rule.yml], correlations: false, stories: false }
processing: { threads: 1, idleFlushSeconds: 0.2, allowedLatenessSeconds: 0 }
suppression: { windowMinutes: 0 }
storage: { events: false }
`,
    );
    const auth = 'Basic ' + Buffer.from(`elastic:${TOKEN}`).toString('base64');
    const url = `http://127.0.0.1:${port}`;
    const acked = new Set<number>();
    let sent = 0;
    let seq = 0;
    let stderr = '';

    const start = async (): Promise<ChildProcess> => {
      const c = spawn(process.execPath, [BIN, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
      for (let i = 0; i < 600; i++) {
        if (c.exitCode !== null) throw new Error(`server exited with ${c.exitCode}: ${stderr}`);
        const ok = await fetch(`${url}/`, { headers: { authorization: auth } }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return c;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`server did not start: ${stderr}`);
    };

    /** Sends batches without pause until the server goes away; records what was acknowledged. */
    const pump = async (stop: { done: boolean }): Promise<void> => {
      while (!stop.done) {
        const batch = Array.from({ length: 1 + Math.floor(Math.random() * 60) }, () => seq++);
        const body = batch.map((s) => `{"create":{"_index":"winlogbeat"}}\n${doc(s)}\n`).join('');
        sent += batch.length;
        try {
          const res = await fetch(`${url}/_bulk`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-ndjson' }, body });
          if (res.status !== 200) continue;
          const answer = (await res.json()) as { items: { create: { status: number } }[] };
          answer.items.forEach((it, i) => {
            if (it.create.status === 201) acked.add(batch[i]!);
          });
        } catch {
          return; // the server died under us: this batch is unacknowledged
        }
      }
    };

    for (let k = 0; k < KILLS; k++) {
      child = await start();
      const stop = { done: false };
      const pumping = pump(stop);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 1200));
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      stop.done = true;
      await pumping;
    }
    assert.ok(acked.size > 200, `enough was acknowledged between kills (${acked.size} of ${sent})`);

    // Where the log ends: every record in it, acknowledged or not, must be processed by the last
    // start. Read from a copy, so that the server's own recovery of the torn tail is what is tested.
    const logEnd = await walEnd(join(dir, 'data', 'wal'), join(dir, 'wal-copy'));

    // A last start: it must finish what the killed ones left, then stop cleanly. It first reads the
    // log again from its replay point (the last hour of event time, all of it here) without making
    // a new alert, so the count of alerts standing still says nothing: the test waits for the
    // offset the server records as processed to reach the end of the log.
    child = await start();
    const db = new StateDb(join(dir, 'data', 'state.db'));
    try {
      const processed = () => Number(db.getMeta('processed') ?? 0);
      await until(
        () => processed() >= logEnd,
        () => `the restarted server to process the log to its end (${logEnd}; processed: ${processed()}; server said: ${stderr})`,
        600_000,
      );
      const rows = db.db.prepare('SELECT detection FROM alerts').all() as { detection: string }[];
      const seen = new Map<number, number>();
      for (const r of rows) {
        const d = JSON.parse(r.detection) as { event: { CommandLine?: string } };
        const m = /crashtest-marker (\d+)/.exec(String(d.event.CommandLine));
        assert.ok(m, 'every alert is one of the test documents');
        const s = Number(m[1]);
        seen.set(s, (seen.get(s) ?? 0) + 1);
      }
      const twice = [...seen].filter(([, n]) => n > 1).map(([s]) => s);
      assert.deepEqual(twice, [], 'no document made two alerts');
      const lost = [...acked].filter((s) => !seen.has(s));
      assert.deepEqual(lost.slice(0, 20), [], `every acknowledged document made its alert (${lost.length} of ${acked.size} missing)`);
    } finally {
      db.close();
    }
    child.kill('SIGTERM');
    const code = await new Promise((r) => child!.once('exit', r));
    assert.equal(code, 0, `a clean stop after SIGTERM: ${stderr}`);
  });
});
