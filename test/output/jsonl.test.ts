import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { JsonlDetectionWriter } from '../../src/output/jsonl.js';
import { detection } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-jsonl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('JsonlDetectionWriter', () => {
  it('writes one documented object per line', async () => {
    const path = join(dir, 'a.jsonl');
    const w = new JsonlDetectionWriter(path);
    await w.write(detection());
    await w.write(detection({ timestamp: null, recordId: null }, { id: null, status: null, kind: 'correlation' }));
    await w.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '', 'ends with a newline');
    assert.deepEqual(JSON.parse(lines[0]!), {
      timestamp: '2024-03-01T10:15:30.123456Z',
      level: 'high',
      rule: {
        id: '5b1f2a51-1b3c-4c7e-9a59-0f6e4fd0a001',
        title: 'Suspicious Encoded PowerShell',
        level: 'high',
        status: 'test',
        tags: ['attack.execution', 'attack.t1059.001', 'cve.2021-0001'],
        kind: 'sigma',
        file: 'rules/ps.yml',
      },
      computer: 'WS01.corp.local',
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider: 'Microsoft-Windows-Sysmon',
      event_id: 1,
      record_id: 4242,
      source_file: 'evidence/WS01/Sysmon.evtx',
      matched: { Image: 'C:\\Windows\\System32\\powershell.exe', CommandLine: 'powershell -enc SQBFAFgA' },
    });
    const second = JSON.parse(lines[1]!);
    assert.equal(second.timestamp, null);
    assert.equal(second.rule.kind, 'correlation');
    assert.equal('event' in second, false, 'the full event is opt-in');
  });

  it('keeps hostile values exact and on one line (newlines, U+2028, lone surrogates, NUL)', async () => {
    const path = join(dir, 'b.jsonl');
    const hostile = 'a\nb\r\u2028\u2029\u0000"\\ \ud800 </script>';
    const w = new JsonlDetectionWriter(path, { includeEvent: true });
    await w.write(detection({ computer: hostile, matched: { CommandLine: hostile }, event: { X: hostile, L: [1, null, true] } }));
    await w.close();
    const text = readFileSync(path, 'utf8');
    assert.equal(text.split('\n').length, 2, 'exactly one line');
    const o = JSON.parse(text);
    assert.equal(o.computer, hostile);
    assert.equal(o.matched.CommandLine, hostile);
    assert.deepEqual(o.event, { X: hostile, L: [1, null, true] });
    assert.match(text, /\\ud800/, 'lone surrogate escaped, not replaced');
  });

  it('honours backpressure on a slow stream and keeps order', async () => {
    const chunks: string[] = [];
    const slow = new Writable({
      highWaterMark: 512,
      write(c, _e, cb) {
        chunks.push(String(c));
        setTimeout(cb, 1);
      },
    });
    const w = new JsonlDetectionWriter(slow);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const wait = w.write(detection({ recordId: i }));
      if (wait) {
        refused++;
        await wait;
      }
    }
    await w.close();
    assert.ok(refused > 0);
    const ids = chunks
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).record_id);
    assert.deepEqual(
      ids,
      Array.from({ length: 2000 }, (_, i) => i),
    );
    assert.equal(w.rows, 2000);
  });
});
