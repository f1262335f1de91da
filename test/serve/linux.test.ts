/**
 * `serve` reads Linux: real sshd logs of a server under brute force (loghub OpenSSH, from
 * ../shared/linux) sent over the syslog TCP listener make the SSH brute-force correlation alert on
 * exactly the sources that hammer it (worked out here from the raw lines: ten failed
 * authentications within five minutes); raw audit records shipped as bare `message` documents
 * through the bulk API are joined into processes and raise SigmaHQ process-creation alerts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { DetectionRecord } from '../../src/detections/record.js';
import { parseServeConfig } from '../../src/serve/config.js';
import { startServer, type Server } from '../../src/serve/server.js';
import type { AlertRow } from '../../src/serve/store/db.js';
import { TOKENS, until } from './ingest-helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SSH_LOG = join(REPO, '..', 'shared', 'linux', 'loghub', 'OpenSSH', 'OpenSSH_2k.log');
const missing = existsSync(SSH_LOG) ? false : `../shared/linux is absent (${SSH_LOG}): the real sshd log is not in the repository`;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Sources with ten failed SSH authentications (any method but `none`) within five minutes, from the raw lines. */
function hammering(lines: string[]): string[] {
  const byIp = new Map<string, number[]>();
  for (const l of lines) {
    const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) \S+ sshd\[\d+\]: Failed (\S+) for .* from (\S+) port \d+/.exec(l);
    if (!m || m[6] === 'none') continue;
    const t = Date.UTC(2000, MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
    byIp.set(m[7]!, [...(byIp.get(m[7]!) ?? []), t]);
  }
  const out: string[] = [];
  for (const [ip, ts] of byIp) if (ts.some((t, i) => i + 9 < ts.length && ts[i + 9]! - t <= 5 * 60_000)) out.push(ip);
  return out.sort();
}

function auditLines(): string[] {
  const t = Date.UTC(2024, 4, 14, 10, 0, 0) / 1000;
  const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();
  const exec = (serial: number, pid: number, exe: string, args: string[]) => {
    const hdr = `msg=audit(${(t + serial).toFixed(3)}:${serial}):`;
    return [
      `node=web02 type=SYSCALL ${hdr} arch=c000003e syscall=59 success=yes exit=0 items=2 ppid=900 pid=${pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="${exe.split('/').pop()}" exe="${exe}" key="exec"`,
      `node=web02 type=EXECVE ${hdr} argc=${args.length} ${args.map((a, i) => `a${i}=${/[\s"]/.test(a) ? hex(a) : `"${a}"`}`).join(' ')}`,
      `node=web02 type=CWD ${hdr} cwd="/root"`,
      `node=web02 type=EOE ${hdr}`,
    ];
  };
  return [...exec(1, 1001, '/usr/bin/find', ['find', '/', '-perm', '-4000', '-type', 'f']), ...exec(2, 1002, '/usr/bin/rm', ['rm', '-f', '/root/.bash_history'])];
}

describe('serve: Linux logs through the syslog listener and the bulk API', { skip: missing, timeout: 300_000 }, () => {
  let dir: string;
  let server: Server;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fb-serve-linux-'));
    const file = join(dir, 'serve.yml');
    writeFileSync(
      file,
      `data: ${dir}/data
listeners:
  elastic: { listen: 127.0.0.1:0 }
  syslog:
    tcp: { listen: 127.0.0.1:0, source: linux-syslog, allow: [127.0.0.0/8] }
tokens:
  - { source: auditd-shipper, secret: ${TOKENS.elastic}, protocols: [elastic] }
processing: { threads: 1, idleFlushSeconds: 0.5, allowedLatenessSeconds: 5 }
suppression: { windowMinutes: 0 }
storage: { events: false }
`,
    );
    server = await startServer(parseServeConfig(readFileSync(file, 'utf8'), file), { log: () => undefined });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alerts = () => server.db.db.prepare('SELECT * FROM alerts').all() as AlertRow[];

  it('sshd brute force over syslog TCP: the correlation alerts on the hammering sources', async () => {
    const lines = readFileSync(SSH_LOG, 'utf8').split(/\r?\n/).filter(Boolean);
    assert.equal(lines.length, 2000);
    const want = hammering(lines);
    assert.ok(want.length >= 3, `hammering sources ${want.join(', ')}`);
    const port = server.ingest.addresses.syslogTcp!.port;
    await new Promise<void>((res, rej) => {
      const c = connect(port, '127.0.0.1', () => c.end(lines.join('\n') + '\n', res));
      c.once('error', rej);
    });
    await until(() => server.processor.stats().records >= lines.length, 'every line processed', 120_000);
    assert.equal(server.processor.stats().errors, 0);
    const sources = () =>
      [
        ...new Set(
          alerts()
            .filter((a) => a.rule_title === 'SSH Brute Force From One Source')
            .map((a) => String((JSON.parse(a.detection) as DetectionRecord).correlation?.group.IpAddress)),
        ),
      ].sort();
    await until(() => sources().length >= want.length, `brute-force alerts for ${want.join(', ')}`, 60_000);
    assert.deepEqual(sources(), want);
    const a = alerts().find((x) => x.rule_title === 'SSH Brute Force From One Source')!;
    assert.equal(a.host, 'LabSZ');
    assert.equal(a.kind, 'correlation');
  });

  it('raw audit records through the bulk API: process-creation alerts from the joined processes', async () => {
    const addr = server.ingest.addresses.elastic!;
    const body = auditLines()
      .flatMap((l) => [JSON.stringify({ create: { _index: 'auditd' } }), JSON.stringify({ message: l })])
      .join('\n');
    const res = await fetch(`http://127.0.0.1:${addr.port}/_bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.elastic}`, 'content-type': 'application/x-ndjson' },
      body: body + '\n',
    });
    assert.equal(res.status, 200);
    const r = (await res.json()) as { errors: boolean };
    assert.equal(r.errors, false);
    const want = ['Linux Recon Indicators', 'History File Deletion'];
    const got = () => alerts().filter((a) => a.host === 'web02' && want.includes(a.rule_title));
    await until(() => got().length >= want.length, 'process-creation alerts on web02', 60_000);
    const d = JSON.parse(got().find((a) => a.rule_title === 'History File Deletion')!.detection) as DetectionRecord;
    assert.equal(d.event.Channel, 'linux/auditd/process_creation');
    assert.equal(d.event.CommandLine, 'rm -f /root/.bash_history');
    assert.equal(d.event.Derived, 'auditd');
  });
});
