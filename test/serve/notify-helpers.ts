/** Shared helpers for notification tests: a story with hostile values, loopback receivers, a state database. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeConfig } from '../../src/serve/config.js';
import type { NotificationsConfig } from '../../src/serve/notify/config.js';
import { StateDb } from '../../src/serve/store/db.js';
import type { Story } from '../../src/stories/model.js';

/** A story whose host names, accounts and narrative carry markup an attacker could plant in logs. */
export function hostileStory(over: Partial<Story> = {}): Story {
  const t = (m: number) => new Date(Date.UTC(2026, 7, 5, 14, m, 0)).toISOString();
  return {
    id: 'st-0123456789abcdef',
    score: 87,
    firstSeen: t(3),
    lastSeen: t(41),
    hosts: [
      { computer: '<script>alert(1)</script>', firstTouched: t(3), detections: 4, maxLevel: 'critical', addresses: ['10.0.0.5'] },
      { computer: 'ws02 <!channel> & <@U123>', firstTouched: t(9), detections: 2, maxLevel: 'high', addresses: [] },
      { computer: 'dc01.corp.example', firstTouched: t(20), detections: 1, maxLevel: 'high', addresses: [] },
    ],
    patientZero: { computer: '<script>alert(1)</script>', why: 'first host with a high detection <https://evil.example|click>' },
    spread: [],
    context: [],
    routine: [],
    earned: 'a critical detection <b>',
    accounts: ['CORP\\admin"<b>', 'svc_backup'],
    sourceIps: ['203.0.113.9'],
    tactics: [
      { id: 'TA0002', short: 'execution', name: 'Execution', first: { at: t(3), computer: 'ws01', title: 'x', significant: true } },
      { id: 'TA0008', short: 'lateral-movement', name: 'Lateral Movement', first: { at: t(9), computer: 'ws02', title: 'y', significant: true } },
    ],
    techniques: ['T1021.002', 'T1059.001'],
    levels: { informational: 0, low: 1, medium: 0, high: 3, critical: 3 },
    detections: 7,
    correlations: 0,
    topRules: [{ id: 'r1', title: 'Mimikatz & friends <img src=x onerror=alert(1)>', level: 'critical', count: 3 }],
    narrative: 'The attacker ran `powershell -enc <!here>` on <script>alert(1)</script>\r\nthen moved to dc01 & took \u202etxt.exe.',
    timeline: [],
    omitted: { timeline: 0, hosts: 0, accounts: 0, sourceIps: 0, spread: 0, rules: 0, context: 0 },
    ...over,
  };
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  requests: Received[];
  server: Server;
  close(): Promise<void>;
}

/**
 * An HTTP server on loopback that records every request and answers with `respond(n, req, res)`
 * (n counts from 1). The default answers 200 "ok" as Slack does.
 */
export async function receiver(respond: (n: number, req: Received, res: ServerResponse) => void = (_n, _r, res) => res.end('ok')): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      respond(requests.length, r, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook/T000/B000/secretsecret`,
    requests,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A fresh state database in a temporary folder. */
export function tempDb(): { dir: string; db: StateDb; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fb-notify-'));
  const path = join(dir, 'state.db');
  return { dir, db: new StateDb(path), path };
}

/** The resolved `notifications:` section of a serve configuration holding `yaml` (indented under it). */
export function notifyConfig(yaml: string, dir = mkdtempSync(join(tmpdir(), 'fb-notify-cfg-'))): NotificationsConfig {
  const file = join(dir, 'serve.yml');
  const text = `listeners:\n  syslog:\n    udp: { listen: 0, source: s, allow: [127.0.0.1] }\nnotifications:\n${yaml}`;
  writeFileSync(file, text);
  return parseServeConfig(text, file).notifications;
}
