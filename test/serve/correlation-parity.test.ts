/**
 * An `event_count` correlation grouped by host fires in `serve` exactly as in `hunt` for the same
 * events, whether its rule makes alerts of its own (`generate: true`, folded by the suppression
 * window) or only feeds it (`generate: false`). The detection that completes the correlation is the
 * newest event of the stream: it must be released from the reorder stage when input goes quiet,
 * not held until later events arrive, and so when the server stops before it goes quiet.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DetectionRecord } from '../../src/detections/record.js';
import { hunt } from '../../src/hunt/run.js';
import { parseServeConfig } from '../../src/serve/config.js';
import { startServer, type Server } from '../../src/serve/server.js';
import { StateDb } from '../../src/serve/store/db.js';
import { TOKENS, until } from './ingest-helpers.js';
import { serveYaml } from './sample.js';

const rules = (generate: boolean) => `title: Parity Marker Process
id: 5d0b2c1e-8f3a-4e1b-9c6d-2a7f0e4b1c01
name: parity_marker_process
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: parity-marker
    condition: selection
level: medium
---
title: Parity Marker Burst On One Host
id: 5d0b2c1e-8f3a-4e1b-9c6d-2a7f0e4b1c02
status: test
correlation:
    type: event_count
    rules:
        - parity_marker_process
    group-by:
        - Computer
    timespan: 5m
    condition:
        gte: 3
    generate: ${generate}
level: high
`;

/** Sysmon process creations: three on ws1 (the third the newest event of all), two on ws2. */
function events(): Record<string, unknown>[] {
  const base = Math.floor((Date.now() - 30 * 60_000) / 1000) * 1000;
  const at = [
    ['ws1.corp.example', 0],
    ['ws2.corp.example', 30],
    ['ws1.corp.example', 60],
    ['ws2.corp.example', 90],
    ['ws1.corp.example', 120],
  ] as const;
  return at.map(([host, s], i) => ({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
        EventID: 1,
        TimeCreated: { '#attributes': { SystemTime: new Date(base + s * 1000).toISOString() } },
        EventRecordID: 100 + i,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: host,
      },
      EventData: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: `cmd.exe /c echo parity-marker ${i}`, ProcessId: 4000 + i },
    },
  }));
}

type Row = { rule_title: string; kind: string; host: string | null; count: number };

/** Suppression at its default; the allowed lateness well above the idle flush, so only going quiet (or stopping) releases the newest detection. */
async function serve(dir: string, idleFlushSeconds: number): Promise<Server> {
  const file = join(dir, 'serve.yml');
  writeFileSync(
    file,
    serveYaml(dir, `rules: { paths: [${dir}/rules.yml], stories: false }\n`, {
      processing: `{ threads: 1, idleFlushSeconds: ${idleFlushSeconds}, allowedLatenessSeconds: 10 }`,
      events: false,
    }),
  );
  return startServer(parseServeConfig(readFileSync(file, 'utf8'), file), { log: () => undefined });
}

async function send(server: Server, docs: Record<string, unknown>[]): Promise<void> {
  const addr = server.ingest.addresses.elastic!;
  const auth = 'Basic ' + Buffer.from(`elastic:${TOKENS.elastic}`).toString('base64');
  const body = docs.map((d) => `{"create":{"_index":"winlogbeat"}}\n${JSON.stringify(d)}\n`).join('');
  const res = await fetch(`http://127.0.0.1:${addr.port}/_bulk`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-ndjson' }, body });
  assert.equal(res.status, 200);
  const answer = (await res.json()) as { errors: boolean };
  assert.equal(answer.errors, false);
}

const ALERTS = 'SELECT rule_title, kind, host, count FROM alerts ORDER BY kind, host';

for (const generate of [true, false]) {
  describe(`serve: an event_count correlation by host over a rule with generate: ${generate} fires as in hunt`, { timeout: 120_000 }, () => {
    let dir: string;
    let server: Server;
    const found: DetectionRecord[] = [];
    const docs = events();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fb-corr-parity-'));
      writeFileSync(join(dir, 'rules.yml'), rules(generate));
      mkdirSync(join(dir, 'evidence'));
      writeFileSync(join(dir, 'evidence', 'sysmon.json'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
      await hunt({
        paths: [join(dir, 'evidence')],
        rulePaths: [join(dir, 'rules.yml')],
        filter: {},
        threads: 1,
        stories: false,
        sinks: [{ write: (d) => void found.push(d), close: async () => undefined }],
      });
      server = await serve(dir, 0.2);
    });
    after(async () => {
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('hunt fires the correlation once, on ws1', () => {
      const corr = found.filter((d) => d.rule.kind === 'correlation');
      assert.deepEqual(
        corr.map((d) => d.computer),
        ['ws1.corp.example'],
      );
      assert.equal(found.filter((d) => d.rule.kind === 'sigma').length, generate ? docs.length : 0);
    });

    it('serve raises the same correlation alert once input goes quiet, and folds the rule’s own alerts by host', async () => {
      await send(server, docs);

      const rows = () => server.db.db.prepare(ALERTS).all() as Row[];
      const held = () => server.processor.stats().stages['reorder']?.['held'];
      // Nothing newer arrives: the idle flush must release the newest detection (the one completing the correlation).
      await until(
        () => server.processor.stats().processedOffset >= docs.length && held() === 0 && rows().some((r) => r.kind === 'correlation'),
        () => `the correlation alert after going quiet (reorder holds ${held()}; alerts: ${JSON.stringify(rows())})`,
        30_000,
      );
      const huntCorr = found.filter((d) => d.rule.kind === 'correlation').map((d) => ({ rule_title: d.rule.title, kind: 'correlation', host: d.computer, count: 1 }));
      const own = generate
        ? [
            { rule_title: 'Parity Marker Process', kind: 'sigma', host: 'ws1.corp.example', count: 3 },
            { rule_title: 'Parity Marker Process', kind: 'sigma', host: 'ws2.corp.example', count: 2 },
          ]
        : [];
      assert.deepEqual(rows(), [...huntCorr, ...own]);
      const alerts = server.processor.alerts.counters;
      assert.equal(alerts.created, own.length);
      assert.equal(alerts.folded, generate ? docs.length - own.length : 0);
      const corr = server.processor.stats().stages['correlation']!;
      assert.equal(corr['consumed'], docs.length, 'the correlation saw every detection, folded or not');
      assert.equal(corr['fired'], 1);
    });
  });
}

describe('serve: a correlation completed by the newest detection fires when the server stops before going quiet', { timeout: 120_000 }, () => {
  it('the stop releases it and the correlation alert is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-corr-parity-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), rules(true));
      // No idle flush within the test: only the stop releases what the reorder stage holds.
      const server = await serve(dir, 3600);
      const docs = events();
      try {
        await send(server, docs);
        await until(() => server.processor.stats().processedOffset >= docs.length, 'all records processed');
        assert.equal(server.processor.stats().stages['reorder']?.['held'], 1, 'the newest detection is held before the stop');
      } finally {
        await server.close();
      }
      const db = new StateDb(join(dir, 'data', 'state.db'));
      try {
        const corr = (db.db.prepare(ALERTS).all() as Row[]).filter((r) => r.kind === 'correlation');
        assert.deepEqual(corr, [{ rule_title: 'Parity Marker Burst On One Host', kind: 'correlation', host: 'ws1.corp.example', count: 1 }]);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
