import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { have, makeCerts, startServer, until, walRecords, type TestServer } from './ingest-helpers.js';

describe('syslog listeners', { skip: !have('openssl') && 'openssl is not installed (needed to make test certificates)' }, () => {
  let s: TestServer;
  let certs: ReturnType<typeof makeCerts>;
  before(async () => {
    certs = makeCerts(mkdtempSync(join(tmpdir(), 'fb-syslog-')), ['known', 'stranger']);
    s = await startServer(`listeners:
  syslog:
    udp: { listen: 0, source: udp-src, allow: [127.0.0.0/8] }
    tcp: { listen: 0, source: tcp-src, allow: [127.0.0.1] }
    tls:
      listen: 0
      tls: { cert: ${certs.cert}, key: ${certs.key}, ca: ${certs.ca} }
      clients: [{ source: tls-src, commonName: known }]
limits: { syslogMessageMaxBytes: 1000 }
`);
  });
  after(() => s.close());
  const since = async (n: number) => (await walRecords(s.wal)).filter((e) => e.offset >= n).map((e) => e.record);

  it('UDP: one message per datagram, trailing newline removed, invalid UTF-8 flagged, long ones cut', async () => {
    const n = s.wal.nextOffset;
    const sock = createSocket('udp4');
    const send = (b: Buffer | string) => new Promise<void>((r) => sock.send(b, s.ingest.addresses.syslogUdp!.port, '127.0.0.1', () => r()));
    await send('<13>Jan  1 00:00:00 h app: one\n');
    await send(Buffer.concat([Buffer.from('<13>bad '), Buffer.from([0xff, 0xfe])]));
    await send('<13>' + 'x'.repeat(3000));
    await until(async () => (await since(n)).length === 3, 'three datagrams');
    sock.close();
    const r = await since(n);
    assert.equal(r[0]!.body, '<13>Jan  1 00:00:00 h app: one');
    assert.deepEqual(r[0]!.meta, { transport: 'udp', framing: 'datagram', remote: r[0]!.meta!.remote });
    assert.equal(r[0]!.source, 'udp-src');
    assert.equal(r[1]!.meta?.invalidUtf8, true);
    assert.equal(r[1]!.body, '<13>bad \ufffd\ufffd');
    assert.equal(r[2]!.body.length, 1000);
    assert.equal(r[2]!.meta?.truncatedFrom, 3004);
  });

  it('TCP: newline framing and octet counting, detected per connection, split anywhere', async () => {
    const n = s.wal.nextOffset;
    const port = s.ingest.addresses.syslogTcp!.port;
    const send = async (text: string) => {
      const c = connect(port, '127.0.0.1');
      await new Promise((r) => c.once('connect', r));
      for (let i = 0; i < text.length; i += 7) c.write(text.slice(i, i + 7));
      await new Promise<void>((r) => c.end(r));
    };
    await send('<13>line one\r\n<13>line two\n\n<13>no final newline');
    const m1 = '<14>1 2024-01-01T00:00:00Z h a - - - with\nnewline inside';
    const m2 = '<14>short';
    await send(`${Buffer.byteLength(m1)} ${m1}${Buffer.byteLength(m2)} ${m2}`);
    await until(async () => (await since(n)).length === 5, 'five messages');
    const r = await since(n);
    assert.deepEqual(
      r.map((x) => [x.body, x.meta?.framing]),
      [
        ['<13>line one', 'newline'],
        ['<13>line two', 'newline'],
        ['<13>no final newline', 'newline'],
        [m1, 'octet-counting'],
        [m2, 'octet-counting'],
      ],
    );
  });

  it('TLS: the configured client certificate names the source; an unknown one is refused', async () => {
    const n = s.wal.nextOffset;
    const port = s.ingest.addresses.syslogTls!.port;
    const open = (name: 'known' | 'stranger') =>
      new Promise<ReturnType<typeof tlsConnect>>((res, rej) => {
        const c = tlsConnect(
          { port, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(certs.ca), cert: readFileSync(certs.clients[name]!.cert), key: readFileSync(certs.clients[name]!.key) },
          () => res(c),
        );
        c.once('error', rej);
      });
    const good = await open('known');
    await new Promise<void>((r) => good.end('16 <13>over TLS ok\n', () => r()));
    await until(async () => (await since(n)).length === 1, 'the TLS message');
    const rec = (await since(n))[0]!;
    assert.equal(rec.source, 'tls-src');
    assert.equal(rec.meta?.peer, 'CN=known');
    assert.equal(rec.body, '<13>over TLS ok');
    const bad = await open('stranger');
    const closed = await new Promise<boolean>((r) => {
      bad.once('close', () => r(true));
      bad.write('12 <13>intruder');
    });
    assert.ok(closed);
    assert.ok(s.logs.some((l) => /client certificate CN=stranger is not configured/.test(l)));
    assert.equal(s.wal.nextOffset, n + 1);
  });

  it('plain TCP from a network not allowed is refused', async () => {
    const other = await startServer(`listeners:\n  syslog:\n    tcp: { listen: 0, source: t, allow: [10.0.0.0/8] }\n`);
    const c = connect(other.ingest.addresses.syslogTcp!.port, '127.0.0.1');
    await new Promise((r) => c.once('close', r));
    assert.ok(other.logs.some((l) => /network not allowed/.test(l)));
    assert.equal(other.ingest.stats.byProtocol.syslog.refusedAuth, 1);
    await other.close();
  });
});
