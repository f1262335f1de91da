/** What every route module of the API shares. */
import type { FastifyRequest } from 'fastify';
import type { Sql } from '../store/sql.js';
import type { EventStore } from '../store/types.js';
import type { Credentials } from './auth/credentials.js';
import type { IngestTokens } from './auth/ingest-tokens.js';
import type { FailureLimiter } from './auth/ratelimit.js';
import type { ApiLog, HealthSource, LiveFeed, RuleCatalog } from './deps.js';
import type { StreamRegistry } from './live.js';
import type { RateSampler } from './rates.js';

export interface ApiSettings {
  sessionHours: number;
  cookieName: string;
  /** Cookies get `Secure` (the listener speaks TLS, or the public URL is https). */
  secureCookie: boolean;
  maxStreams: number;
  heartbeatMs: number;
}

export interface ApiContext {
  db: Sql;
  events: EventStore;
  rules: RuleCatalog;
  live: LiveFeed;
  health: HealthSource;
  log: ApiLog;
  creds: Credentials;
  /** Null: ingest tokens cannot be made here (see `ApiDeps.ingestTokens`). */
  ingestTokens: IngestTokens | null;
  settings: ApiSettings;
  limiters: { account: FailureLimiter; address: FailureLimiter };
  streams: StreamRegistry;
  rates: RateSampler;
  /** Every API route with its access level (for tests and tooling: the route table). */
  routes: { method: string; url: string; access: string }[];
  /** Append to the audit trail (outside a transaction; inside one, `auditRow` with the transaction's `Sql`). */
  audit(actor: string, action: string, target: { kind: string; id: string | number } | undefined, detail?: Record<string, unknown>): Promise<void>;
}

/** The address a request came from (the socket's; no proxy headers are trusted). */
export function clientAddress(req: FastifyRequest): string {
  return req.socket.remoteAddress ?? 'unknown';
}
