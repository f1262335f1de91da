/**
 * One fastify server per HTTP listener, with what every HTTP ingest protocol needs: TLS from files,
 * slow-loris timeouts, a connection cap, bodies left unread for the adapters to stream under their
 * limits, and a connection closed after an error answer when the body was not read (so a refused
 * 100 MB upload is not drained).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { HttpListenerConfig, IngestLimits, TlsConfig } from '../config.js';
import type { IngestProtocol } from '../record.js';
import { BodyLease, discardRest } from './body.js';
import type { IngestContext } from './context.js';

/** TLS options for `https`/`tls` servers from a listener's certificate files. */
export function tlsOptions(t: TlsConfig): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } {
  const o: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } = {
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    requestCert: t.clientAuth !== 'none',
    rejectUnauthorized: t.clientAuth === 'require',
  };
  if (t.ca) o.ca = readFileSync(t.ca);
  return o;
}

/** A fastify instance for one listener; the adapter adds its routes. */
export function createHttpApp(cfg: HttpListenerConfig, limits: IngestLimits): FastifyInstance {
  // Node checks header and request timeouts every `connectionsCheckingInterval` (30 s by default),
  // so a slow-loris client would keep its socket up to 30 s past the limit.
  const serverOptions = {
    connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(limits.headersTimeoutMs / 4))),
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
  };
  const tls = cfg.tls ? tlsOptions(cfg.tls) : null;
  const app = Fastify({
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 1000 },
    exposeHeadRoutes: true,
    serverFactory: (handler) => (tls ? createHttpsServer({ ...serverOptions, ...tls }, handler) : createHttpServer(serverOptions, handler)),
  });
  app.server.setTimeout(limits.requestTimeoutMs);
  app.server.maxConnections = limits.maxConnections;
  // Bodies are streamed by the adapters under their own limits (see body.ts).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  return app;
}

/** Starts listening; resolves with the bound address (port 0 picks a free one). */
export async function listenHttp(app: FastifyInstance, cfg: HttpListenerConfig): Promise<AddressInfo> {
  await app.listen({ host: cfg.listen.host, port: cfg.listen.port });
  return app.server.address() as AddressInfo;
}

/** `ip:port` of the request's peer. */
export function remoteOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return a.includes(':') ? `[${a}]:${req.socket.remotePort}` : `${a}:${req.socket.remotePort}`;
}

/** After an error answer to a request whose body was not read, close rather than drain it. */
export function closeAfter(reply: FastifyReply): void {
  if (!reply.request.raw.readableEnded) reply.header('connection', 'close');
}

/** How much of an unread body is discarded so an error answer reaches the client (else: close). */
const DISCARD_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Runs `fn` with a body lease, released when it is done. When `fn` fails with the body partly
 * read (a limit, bad compression), the rest is discarded up to a cap so the client can read the
 * answer; a larger rest is left and the connection closed after the answer.
 */
export async function withLease<T>(ctx: IngestContext, fn: (lease: BodyLease) => Promise<T>): Promise<T> {
  const lease = new BodyLease(ctx.gate);
  try {
    return await fn(lease);
  } catch (e) {
    lease.release();
    if (lease.req) await discardRest(lease.req, DISCARD_MAX_BYTES);
    throw e;
  } finally {
    lease.release();
  }
}

/** Counts a request for `protocol`. */
export function countRequest(ctx: IngestContext, protocol: IngestProtocol): void {
  ctx.stats.byProtocol[protocol].requests++;
}
