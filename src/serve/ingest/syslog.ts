/**
 * Syslog listeners: UDP (one message per datagram), TCP and TLS (RFC 5425). Framing only: each
 * message goes to the log as received (decoded as UTF-8), parsing RFC 5424/3164 is the reader's
 * job. TCP framing is detected per connection from its first byte: a digit means RFC 6587 octet
 * counting (`LEN SP MSG`), anything else newline-delimited messages.
 *
 * Plain syslog carries no token, so UDP and TCP accept only the configured networks. TLS requires
 * a client certificate signed by the configured CA; its subject CN or SHA-256 fingerprint picks
 * the source. Back-pressure: a TCP/TLS connection stops being read while the gate is closed or
 * too much of it waits for the log; UDP cannot be slowed, so datagrams are dropped and counted.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { BlockList, createServer as createTcpServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { LIMITS } from '../../core/limits.js';
import type { SyslogPlainConfig, SyslogTlsConfig } from '../config.js';
import type { IngestMeta, IngestRecord } from '../record.js';
import { strictUtf8 } from './body.js';
import type { IngestContext } from './context.js';
import { tlsOptions } from './http.js';

/** A running syslog listener. */
export interface SyslogListener {
  address: AddressInfo;
  close(): Promise<void>;
}

function blockList(cidrs: readonly string[]): BlockList {
  const b = new BlockList();
  for (const c of cidrs) {
    const [ip, bits] = c.split('/') as [string, string | undefined];
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) b.addAddress(ip, type);
    else b.addSubnet(ip, Number(bits), type);
  }
  return b;
}

/** The peer address without an IPv4-mapped IPv6 prefix. */
function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}
function allowed(list: BlockList | null, addr: string): boolean {
  if (!list) return true;
  const v = isIP(addr);
  return v !== 0 && list.check(addr, v === 6 ? 'ipv6' : 'ipv4');
}
const endpoint = (a: string, port: number | undefined) => (a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`);

/** Turns one message's bytes into a record (lossy UTF-8, flagged). */
function messageRecord(ctx: IngestContext, source: string, bytes: Buffer, meta: IngestMeta): IngestRecord {
  let body = strictUtf8(bytes);
  if (body === null) {
    body = bytes.toString('utf8');
    meta.invalidUtf8 = true;
    ctx.stats.syslogInvalidUtf8++;
  }
  if (meta.truncatedFrom !== undefined) ctx.stats.syslogTruncated++;
  return { source, protocol: 'syslog', receivedAt: Date.now(), kind: 'text', body, meta };
}

/** Starts a UDP syslog listener. */
export async function startSyslogUdp(ctx: IngestContext, cfg: SyslogPlainConfig): Promise<SyslogListener> {
  const allow = blockList(cfg.allow);
  const type = isIP(cfg.listen.host) === 6 ? 'udp6' : 'udp4';
  const sock: UdpSocket = createSocket({ type, recvBufferSize: 4 * 1024 * 1024 });
  const counters = ctx.stats.byProtocol.syslog;
  const max = ctx.limits.syslogMessageMaxBytes;
  let batch: IngestRecord[] = [];
  let pending = Promise.resolve();
  const flush = () => {
    const b = batch;
    batch = [];
    pending = pending.then(() =>
      ctx.append('syslog', b).then(
        () => {},
        (e: Error) => {
          counters.errors++;
          ctx.log('error', `syslog/udp: ${b.length} messages not stored: ${e.message}`);
        },
      ),
    );
  };
  sock.on('message', (msg, rinfo) => {
    counters.requests++;
    const addr = plainAddress(rinfo.address);
    if (!allowed(allow, addr)) {
      counters.refusedAuth++;
      ctx.stats.syslogDropped++;
      return;
    }
    if (ctx.gate.closed) {
      counters.refusedBusy++;
      ctx.stats.syslogDropped++;
      return;
    }
    let end = msg.length;
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0)) end--;
    if (!end) return;
    const meta: IngestMeta = { transport: 'udp', framing: 'datagram', remote: endpoint(addr, rinfo.port) };
    if (end > max) {
      meta.truncatedFrom = end;
      end = max;
    }
    batch.push(messageRecord(ctx, cfg.source, msg.subarray(0, end), meta));
    if (batch.length === 1) setImmediate(flush);
  });
  sock.on('error', (e) => ctx.log('error', `syslog/udp: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(cfg.listen.port, cfg.listen.host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return {
    address: sock.address(),
    close: async () => {
      await new Promise<void>((r) => sock.close(() => r()));
      if (batch.length) flush();
      await pending;
    },
  };
}

/** Starts a TCP (`tls` absent) or TLS syslog listener. */
export async function startSyslogStream(ctx: IngestContext, cfg: SyslogPlainConfig | SyslogTlsConfig, transport: 'tcp' | 'tls'): Promise<SyslogListener> {
  const allow = cfg.allow ? blockList(cfg.allow) : null;
  const counters = ctx.stats.byProtocol.syslog;
  const conns = new Set<Connection>();
  const onConnection = (socket: Socket, source: string, peer?: string) => {
    const c = new Connection(ctx, socket, source, transport, peer);
    conns.add(c);
    socket.once('close', () => conns.delete(c));
  };
  let server: Server;
  if (transport === 'tls') {
    const t = cfg as SyslogTlsConfig;
    server = createTlsServer({ ...tlsOptions({ ...t.tls, clientAuth: 'require' }), handshakeTimeout: LIMITS.tlsHandshakeTimeoutMs });
    server.on('secureConnection', (s: TLSSocket) => {
      counters.requests++;
      const addr = plainAddress(s.remoteAddress);
      const cert = s.getPeerCertificate();
      const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
      const client = s.authorized ? t.clients.find((c) => (c.fingerprint256 ? c.fingerprint256 === cert.fingerprint256 : c.commonName === cn)) : undefined;
      if (!client || !allowed(allow, addr)) {
        counters.refusedAuth++;
        ctx.log('warn', `syslog/tls: refused ${endpoint(addr, s.remotePort)}: ${!client ? `client certificate ${cn ? `CN=${cn}` : '(none)'} is not configured` : 'network not allowed'}`);
        s.destroy();
        return;
      }
      onConnection(s, client.source, cn ? `CN=${cn}` : cert.fingerprint256);
    });
    server.on('tlsClientError', (e: Error, s: TLSSocket) => {
      counters.refusedAuth++;
      ctx.log('warn', `syslog/tls: handshake with ${plainAddress(s.remoteAddress)} failed: ${e.message}`);
    });
  } else {
    const p = cfg as SyslogPlainConfig;
    server = createTcpServer((s) => {
      counters.requests++;
      const addr = plainAddress(s.remoteAddress);
      if (!allowed(allow, addr)) {
        counters.refusedAuth++;
        ctx.log('warn', `syslog/tcp: refused ${endpoint(addr, s.remotePort)}: network not allowed`);
        s.destroy();
        return;
      }
      onConnection(s, p.source);
    });
  }
  server.maxConnections = ctx.limits.maxConnections;
  server.on('error', (e) => ctx.log('error', `syslog/${transport}: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      await Promise.all([...conns].map((c) => c.shutdown()));
      await closed;
    },
  };
}

/** One TCP/TLS syslog connection: framing, batching into the log, flow control. */
class Connection {
  private mode: 'octet-counting' | 'newline' | null = null;
  private parts: Buffer[] = [];
  private held = 0;
  private length = 0; // full length of the message being read (also past the cap)
  private expect = -1; // octet counting: bytes the current message still needs
  private lenDigits = '';
  private batch: IngestRecord[] = [];
  private pendingBytes = 0;
  private pending = new Set<Promise<void>>();
  private readonly remote: string;
  private readonly max: number;
  private readonly onGate: () => void;
  private bytesSeen = 0;

  constructor(
    private readonly ctx: IngestContext,
    private readonly socket: Socket,
    private readonly source: string,
    private readonly transport: 'tcp' | 'tls',
    private readonly peer?: string,
  ) {
    this.remote = endpoint(plainAddress(socket.remoteAddress), socket.remotePort);
    this.max = ctx.limits.syslogMessageMaxBytes;
    this.onGate = () => this.flow();
    ctx.gate.on('change', this.onGate);
    ctx.gate.on('budget', this.onGate);
    if (ctx.limits.syslogIdleTimeoutMs > 0) {
      socket.setTimeout(ctx.limits.syslogIdleTimeoutMs, () => {
        ctx.log('info', `syslog/${transport}: closing ${this.remote}: idle`);
        socket.destroy();
      });
    }
    socket.on('data', (d: Buffer) => {
      try {
        this.feed(d);
      } catch (e) {
        ctx.stats.byProtocol.syslog.errors++;
        ctx.log('warn', `syslog/${transport}: closing ${this.remote}: ${(e as Error).message}`);
        this.flush();
        socket.destroy();
        return;
      }
      this.flush();
      this.flow();
    });
    socket.on('end', () => {
      // A newline-framed message without its final LF is still a message.
      if (this.mode === 'newline' && this.length > 0) this.emit();
      else if (this.mode === 'octet-counting' && (this.expect > 0 || this.lenDigits)) {
        ctx.stats.byProtocol.syslog.errors++;
        ctx.log('warn', `syslog/${transport}: ${this.remote} closed inside an octet-counted frame; ${this.length} bytes of it dropped`);
      }
      this.flush();
      socket.end();
    });
    socket.on('error', (e) => ctx.log('info', `syslog/${transport}: ${this.remote}: ${e.message}`));
    socket.once('close', () => {
      ctx.gate.off('change', this.onGate);
      ctx.gate.off('budget', this.onGate);
    });
    this.flow();
  }

  private feed(d: Buffer): void {
    let p = 0;
    while (p < d.length) {
      if (this.mode === null) this.mode = d[p]! >= 0x30 && d[p]! <= 0x39 ? 'octet-counting' : 'newline';
      if (this.mode === 'newline') {
        const nl = d.indexOf(0x0a, p);
        const end = nl < 0 ? d.length : nl;
        this.take(d.subarray(p, end));
        if (nl < 0) return;
        this.emit();
        p = nl + 1;
        continue;
      }
      // Octet counting: MSG-LEN SP SYSLOG-MSG (RFC 6587 3.4.1).
      if (this.expect < 0) {
        const b = d[p]!;
        if (b === 0x20) {
          if (!this.lenDigits) throw new Error(`octet-counting frame without a length at byte ${this.bytesSeen + p}`);
          this.expect = Number(this.lenDigits);
          this.lenDigits = '';
          this.length = 0;
          p++;
          if (this.expect === 0) this.expect = -1;
          continue;
        }
        if (b === 0x0a || b === 0x0d) {
          p++; // stray line ends between frames (some senders add them)
          continue;
        }
        if (b < 0x30 || b > 0x39 || this.lenDigits.length >= 10) throw new Error(`bad octet-counting frame length at byte ${this.bytesSeen + p} (found ${JSON.stringify(String.fromCharCode(b))})`);
        this.lenDigits += String.fromCharCode(b);
        p++;
        continue;
      }
      const n = Math.min(this.expect, d.length - p);
      this.take(d.subarray(p, p + n));
      this.expect -= n;
      p += n;
      if (this.expect === 0) {
        this.expect = -1;
        this.emit();
      }
    }
    this.bytesSeen += d.length;
  }

  /** Keeps up to the cap of the current message; counts the rest. */
  private take(b: Buffer): void {
    this.length += b.length;
    const room = this.max - this.held;
    if (room > 0 && b.length) {
      const piece = b.length <= room ? b : b.subarray(0, room);
      this.parts.push(Buffer.from(piece));
      this.held += piece.length;
    }
  }

  private emit(): void {
    let bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.held);
    const length = this.length;
    this.parts = [];
    this.held = this.length = 0;
    // A trailing CR/LF is framing residue (rsyslog's RFC 5424 template ends octet-counted frames with LF).
    let end = bytes.length;
    while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
    bytes = bytes.subarray(0, end);
    if (!bytes.length) return;
    const meta: IngestMeta = { transport: this.transport, framing: this.mode!, remote: this.remote };
    if (this.peer) meta.peer = this.peer;
    if (length > this.max) meta.truncatedFrom = length;
    this.batch.push(messageRecord(this.ctx, this.source, bytes, meta));
    if (this.batch.length >= 1000) this.flush();
  }

  private flush(): void {
    if (!this.batch.length) return;
    const b = this.batch;
    this.batch = [];
    const bytes = b.reduce((n, r) => n + r.body.length, 0);
    this.pendingBytes += bytes;
    // Messages waiting for the log count against the server's in-flight budget, so many
    // connections cannot together hold more than it.
    this.ctx.gate.charge(bytes);
    const p: Promise<void> = this.ctx.append('syslog', b).then(
      () => {},
      (e: Error) => {
        this.ctx.stats.byProtocol.syslog.errors++;
        this.ctx.log('error', `syslog/${this.transport}: ${b.length} messages from ${this.remote} not stored: ${e.message}; closing the connection`);
        this.socket.destroy();
      },
    );
    this.pending.add(p);
    void p.finally(() => {
      this.pending.delete(p);
      this.pendingBytes -= bytes;
      this.ctx.gate.release(bytes);
      this.flow();
    });
  }

  /** Reads while the gate is open and little waits for the log; pauses otherwise. */
  private flow(): void {
    const stop = this.ctx.gate.closed || this.ctx.gate.overBudget || this.pendingBytes > LIMITS.syslogConnectionPendingBytes;
    if (stop && !this.socket.isPaused()) this.socket.pause();
    else if (!stop && this.socket.isPaused()) this.socket.resume();
  }

  /** Graceful shutdown: stop reading, store what was read, close. */
  async shutdown(): Promise<void> {
    this.socket.pause();
    this.flush();
    await Promise.all([...this.pending]);
    this.socket.end();
    this.socket.destroy();
  }
}
