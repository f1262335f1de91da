/**
 * rsyslog from Debian forwards to Firebreak over TCP with octet counting, over TLS with a client
 * certificate, and through omelasticsearch's bulk mode. rsyslogd runs in the foreground with its
 * own configuration, pid file and work folder in a temporary directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_TOKENS_YAML, have, makeCerts, startServer, TOKENS, until, walRecords, type TestServer } from './ingest-helpers.js';

const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p));
const MODDIR = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'].find((p) => existsSync(p));
const missing = !RSYSLOGD
  ? 'rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls rsyslog-elasticsearch)'
  : !MODDIR || !existsSync(join(MODDIR, 'lmnsd_gtls.so'))
    ? 'rsyslog-gnutls is not installed'
    : !existsSync(join(MODDIR, 'omelasticsearch.so'))
      ? 'rsyslog-elasticsearch is not installed'
      : !have('openssl')
        ? 'openssl is not installed (needed to make test certificates)'
        : false;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('rsyslog forwarding (TCP octet counting, TLS, omelasticsearch)', { skip: missing, timeout: 180_000 }, () => {
  let s: TestServer;
  let rsyslog: ChildProcess;
  let inPort: number;
  let stderr = '';
  const N = 300;
  after(async () => {
    rsyslog?.kill('SIGTERM');
    await s?.close();
  });

  it(`${N} messages each arrive once over every path`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fb-rsyslog-'));
    const certs = makeCerts(tmp, ['rsyslog-client']);
    s = await startServer(`listeners:
  elastic: { listen: 0 }
  syslog:
    tcp: { listen: 0, source: rsyslog-tcp, allow: [127.0.0.0/8] }
    tls:
      listen: 0
      tls: { cert: ${certs.cert}, key: ${certs.key}, ca: ${certs.ca} }
      clients: [{ source: rsyslog-tls, commonName: rsyslog-client }]
${DEFAULT_TOKENS_YAML}`);
    const a = s.ingest.addresses;
    inPort = await freePort();
    const work = join(tmp, 'work');
    mkdirSync(work);
    const conf = join(tmp, 'rsyslog.conf');
    writeFileSync(
      conf,
      `global(workDirectory="${work}" maxMessageSize="64k"
  defaultNetstreamDriverCAFile="${certs.ca}" defaultNetstreamDriverCertFile="${certs.clients['rsyslog-client']!.cert}" defaultNetstreamDriverKeyFile="${certs.clients['rsyslog-client']!.key}")
module(load="imtcp")
module(load="omelasticsearch")
input(type="imtcp" port="${inPort}" address="127.0.0.1")
template(name="esdoc" type="string" string="{\\"message\\":\\"%msg:::json%\\",\\"host\\":\\"%hostname:::json%\\",\\"program\\":\\"%programname:::json%\\"}")
action(type="omfwd" target="127.0.0.1" port="${a.syslogTcp!.port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
  queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
action(type="omfwd" target="127.0.0.1" port="${a.syslogTls!.port}" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
  template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
action(type="omelasticsearch" server="127.0.0.1" serverport="${a.elastic!.port}" bulkmode="on" searchIndex="rsyslog" template="esdoc"
  uid="rsyslog" pwd="${TOKENS.elastic}" errorFile="${join(tmp, 'es-errors.json')}" queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
`,
    );
    rsyslog = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', join(tmp, 'rsyslogd.pid'), '-M', MODDIR!], { stdio: ['ignore', 'pipe', 'pipe'] });
    rsyslog.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    rsyslog.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Wait for rsyslog's input, then send it N messages with unique ids.
    let sock: ReturnType<typeof connect> | null = null;
    await until(
      async () =>
        (sock = await new Promise<ReturnType<typeof connect> | null>((res) => {
          const c = connect(inPort, '127.0.0.1', () => res(c));
          c.once('error', () => res(null));
        })) !== null,
      `rsyslogd to listen (${stderr})`,
    );
    const lines = Array.from({ length: N }, (_, i) => `<134>Jan  5 10:00:00 host1 app[42]: firebreak-test id=${i} é\n`).join('');
    await new Promise<void>((r) => sock!.end(lines, r));
    const ids = (kind: string) => async () => {
      const recs = await walRecords(s.wal);
      return recs.filter((e) => (kind === 'elastic' ? e.record.protocol === 'elastic' : e.record.meta?.transport === kind)).map((e) => /id=(\d+)/.exec(e.record.body)?.[1]);
    };
    for (const kind of ['tcp', 'tls', 'elastic']) {
      await until(async () => (await ids(kind)()).length >= N, `${N} messages over ${kind} (rsyslog said: ${stderr.slice(0, 2000)}; server: ${s.logs.join('; ').slice(0, 2000)})`, 120_000);
    }
    // Let rsyslog finish anything still queued, then check exactly once.
    rsyslog.kill('SIGTERM');
    await new Promise((r) => rsyslog.once('exit', r));
    for (const kind of ['tcp', 'tls', 'elastic']) {
      const got = (await ids(kind)()).map(Number).sort((x, y) => x - y);
      assert.deepEqual(
        got,
        Array.from({ length: N }, (_, i) => i),
        `${kind}: every message exactly once`,
      );
    }
    const recs = await walRecords(s.wal);
    const tcp = recs.find((e) => e.record.meta?.transport === 'tcp')!.record;
    assert.equal(tcp.source, 'rsyslog-tcp');
    assert.equal(tcp.meta?.framing, 'octet-counting');
    assert.match(tcp.body, /^<134>1 \S+ host1 app 42 - - +firebreak-test id=\d+ é$/);
    const tls = recs.find((e) => e.record.meta?.transport === 'tls')!.record;
    assert.equal(tls.source, 'rsyslog-tls');
    assert.equal(tls.meta?.peer, 'CN=rsyslog-client');
    const es = recs.find((e) => e.record.protocol === 'elastic')!.record;
    assert.equal(es.meta?.index, 'rsyslog');
    assert.match(JSON.parse(es.body).message, /firebreak-test id=\d+ é/);
    assert.ok(!existsSync(join(tmp, 'es-errors.json')) || readFileSync(join(tmp, 'es-errors.json'), 'utf8') === '', 'omelasticsearch reported no errors');
  });
});
