/** Shared helpers for ingest tests: a server on loopback over a fresh log, and reading it back. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeConfig, type ServeConfig } from '../../src/serve/config.js';
import { startIngest, type IngestHandle } from '../../src/serve/ingest/server.js';
import type { IngestRecord } from '../../src/serve/record.js';
import { WriteAheadLog, type WalEntry } from '../../src/serve/wal/wal.js';

export const TOKENS = {
  elastic: 'elastic-token-0123456789abcdef',
  otlp: 'otlp-token-0123456789abcdef',
  hec: '11111111-2222-3333-4444-555555555555',
};

export interface TestServer {
  dir: string;
  config: ServeConfig;
  wal: WriteAheadLog;
  ingest: IngestHandle;
  logs: string[];
  close(): Promise<void>;
}

/** Starts ingest with the given YAML (listeners on port 0) over a WAL in a temporary folder. */
export async function startServer(yaml: string): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-ingest-'));
  const file = join(dir, 'serve.yml');
  writeFileSync(file, yaml);
  const config = parseServeConfig(yaml, file);
  const wal = await WriteAheadLog.open({ dir: config.wal.dir, segmentBytes: config.wal.segmentBytes, groupCommitMs: config.wal.groupCommitMs });
  const logs: string[] = [];
  const ingest = await startIngest(config, wal, { log: (level, m) => logs.push(`${level}: ${m}`) });
  return {
    dir,
    config,
    wal,
    ingest,
    logs,
    async close() {
      await ingest.close();
      await wal.close();
    },
  };
}

export const DEFAULT_TOKENS_YAML = `tokens:
  - { source: es-src, secret: ${TOKENS.elastic}, protocols: [elastic] }
  - { source: otlp-src, secret: ${TOKENS.otlp}, protocols: [otlp] }
  - { source: hec-src, secret: ${TOKENS.hec}, protocols: [hec] }
`;

/** Every record durable in the log, from its first offset (does not commit). */
export async function walRecords(wal: WriteAheadLog): Promise<WalEntry[]> {
  const r = wal.reader(wal.firstOffset);
  const out: WalEntry[] = [];
  for (;;) {
    const b = await r.read(1000, false);
    if (!b.length) break;
    out.push(...b);
  }
  await r.close();
  return out;
}

export const bodies = (es: WalEntry[]): IngestRecord[] => es.map((e) => e.record);

/** Whether a command exists on PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` until true (behaviour, not timing: the bound only stops a broken test). */
export async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), limitMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > limitMs) throw new Error(`gave up waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CA, a server certificate for 127.0.0.1/localhost and client certificates, made with openssl. */
export function makeCerts(dir: string, clients: string[]): { ca: string; cert: string; key: string; clients: Record<string, { cert: string; key: string }> } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=firebreak-test-ca']);
  const issue = (name: string, cn: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  issue('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const out: Record<string, { cert: string; key: string }> = {};
  for (const c of clients) {
    issue(c, c, 'extendedKeyUsage=clientAuth\n');
    out[c] = { cert: join(dir, `${c}.pem`), key: join(dir, `${c}.key`) };
  }
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), clients: out };
}
