/**
 * Starts every configured ingest listener over one sink (the write-ahead log, or a JetStream
 * stream when scaled out). The handle's `close()` is the graceful shutdown: stop accepting, finish
 * requests in flight (their records are durable before they are answered), then return. The sink
 * itself is the caller's to close.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ServeConfig } from '../config.js';
import type { IngestProtocol, IngestRecord } from '../record.js';
import { IngestGate, IngestStats, TokenTable, type HashedToken, type IngestContext, type IngestLog, type IngestSink } from './context.js';
import { registerElastic } from './elastic.js';
import { registerHec } from './hec.js';
import { createHttpApp, listenHttp } from './http.js';
import { registerOtlp } from './otlp.js';
import { startSyslogStream, startSyslogUdp, type SyslogListener } from './syslog.js';

export interface IngestAddresses {
  elastic?: AddressInfo;
  otlp?: AddressInfo;
  hec?: AddressInfo;
  syslogUdp?: AddressInfo;
  syslogTcp?: AddressInfo;
  syslogTls?: AddressInfo;
}

export interface IngestHandle {
  /** Where each listener is bound (port 0 in the config picks a free port). */
  addresses: IngestAddresses;
  stats: IngestStats;
  gate: IngestGate;
  /** The tokens that admit data (the stored ones can be replaced while running). */
  tokens: TokenTable;
  /** Graceful shutdown of the listeners. */
  close(): Promise<void>;
}

/** Starts the listeners in `config.listeners`; fails (closing what started) if one cannot bind. */
export async function startIngest(config: ServeConfig, sink: IngestSink, opts: { log?: IngestLog; storedTokens?: readonly HashedToken[] } = {}): Promise<IngestHandle> {
  const stats = new IngestStats();
  const gate = new IngestGate(sink, config.backpressure, config.limits.inflightMaxBytes);
  const log: IngestLog = opts.log ?? ((level, m) => (level === 'info' ? undefined : process.stderr.write(`firebreak serve: ${level}: ${m}\n`)));
  const ctx: IngestContext = {
    config,
    limits: config.limits,
    sink,
    gate,
    tokens: new TokenTable(config.tokens, opts.storedTokens),
    stats,
    log,
    async append(protocol: IngestProtocol, records: IngestRecord[]) {
      const r = await sink.append(records);
      stats.accepted(protocol, records);
      return r;
    },
  };
  const apps: FastifyInstance[] = [];
  const syslogs: SyslogListener[] = [];
  const addresses: IngestAddresses = {};
  const L = config.listeners;
  try {
    if (L.elastic) {
      const app = createHttpApp(L.elastic, config.limits);
      registerElastic(app, ctx, L.elastic);
      apps.push(app);
      addresses.elastic = await listenHttp(app, L.elastic);
    }
    if (L.otlp) {
      const app = createHttpApp(L.otlp, config.limits);
      registerOtlp(app, ctx, L.otlp);
      apps.push(app);
      addresses.otlp = await listenHttp(app, L.otlp);
    }
    if (L.hec) {
      const app = createHttpApp(L.hec, config.limits);
      registerHec(app, ctx);
      apps.push(app);
      addresses.hec = await listenHttp(app, L.hec);
    }
    if (L.syslog?.udp) {
      const s = await startSyslogUdp(ctx, L.syslog.udp);
      syslogs.push(s);
      addresses.syslogUdp = s.address;
    }
    if (L.syslog?.tcp) {
      const s = await startSyslogStream(ctx, L.syslog.tcp, 'tcp');
      syslogs.push(s);
      addresses.syslogTcp = s.address;
    }
    if (L.syslog?.tls) {
      const s = await startSyslogStream(ctx, L.syslog.tls, 'tls');
      syslogs.push(s);
      addresses.syslogTls = s.address;
    }
  } catch (e) {
    await Promise.allSettled([...apps.map((a) => a.close()), ...syslogs.map((s) => s.close())]);
    throw e;
  }
  let closing: Promise<void> | null = null;
  return {
    addresses,
    stats,
    gate,
    tokens: ctx.tokens,
    close: () =>
      (closing ??= (async () => {
        await Promise.all([...apps.map((a) => a.close()), ...syslogs.map((s) => s.close())]);
        gate.dispose();
      })()),
  };
}
