/**
 * Ingest tokens an admin makes and revokes through the API, in the state database (those of the
 * configuration file are listed beside them but live in the file: `firebreak token add`). Like API
 * keys, the secret is random (256 bits), given once, and kept only as its SHA-256; the ingest
 * listeners look tokens up by that hash, so a new token admits data with its next request and a
 * revoked one stops at once, without a restart.
 */
import { randomBytes } from 'node:crypto';
import { FirebreakError } from '../../../core/errors.js';
import { tokenHash, type HashedToken } from '../../ingest/context.js';
import type { IngestProtocol } from '../../record.js';
import type { StateDb } from '../../store/db.js';
import { now } from '../../store/db.js';
import { asSql, type Sql } from '../../store/sql.js';
import { API_LIMITS } from '../limits.js';

/** The protocols a token can admit (syslog has no tokens: its listeners admit by network). */
export const TOKEN_PROTOCOLS: readonly IngestProtocol[] = ['elastic', 'otlp', 'hec'];

/** Source names: what health, search (`@source=`) and the events' `source` column show. */
export const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A token as the API lists it (never its secret). */
export interface IngestTokenInfo {
  /** Null for a token of the configuration file. */
  id: string | null;
  source: string;
  protocols: IngestProtocol[];
  origin: 'config' | 'api';
  createdBy: string | null;
  createdAt: string | null;
  revoked: boolean;
  revokedAt: string | null;
}

interface Row {
  id: string;
  hash: string;
  source: string;
  protocols: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

const info = (r: Row): IngestTokenInfo => ({
  id: r.id,
  source: r.source,
  protocols: JSON.parse(r.protocols) as IngestProtocol[],
  origin: 'api',
  createdBy: r.created_by,
  createdAt: r.created_at,
  revoked: r.revoked_at !== null,
  revokedAt: r.revoked_at,
});

export class IngestTokens {
  private readonly sql: Sql;

  constructor(
    /** The embedded server's SQLite state database, or a cluster's PostgreSQL (`PgSql`). */
    db: StateDb | Sql,
    /** The configuration file's tokens (listed, never changed here). */
    private readonly configured: readonly { source: string; protocols: readonly IngestProtocol[] }[] = [],
    /** Told the active stored tokens after every change (the ingest listeners' table). */
    private readonly onChange: (active: HashedToken[]) => void | Promise<void> = () => undefined,
  ) {
    this.sql = asSql(db);
  }

  /** The tokens that admit data now (not revoked), as the listeners look them up. */
  async active(): Promise<HashedToken[]> {
    return activeTokens(this.sql);
  }

  /** The configuration's tokens, then the stored ones (oldest first). */
  async list(): Promise<IngestTokenInfo[]> {
    const fromConfig = this.configured.map((t): IngestTokenInfo => ({
      id: null,
      source: t.source,
      protocols: [...t.protocols],
      origin: 'config',
      createdBy: null,
      createdAt: null,
      revoked: false,
      revokedAt: null,
    }));
    return [...fromConfig, ...(await this.sql.all<Row>('SELECT * FROM ingest_tokens ORDER BY created_at, id')).map(info)];
  }

  async get(id: string): Promise<IngestTokenInfo | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM ingest_tokens WHERE id = ?', id);
    return r && info(r);
  }

  /** A new token for `source`; the secret is in this answer only. Throws `bad-source`, `bad-protocols`, `too-many-tokens`. */
  async create(source: string, protocols: readonly IngestProtocol[], createdBy: string): Promise<{ token: IngestTokenInfo; secret: string }> {
    if (!SOURCE_NAME.test(source)) throw new FirebreakError('bad-source', `'${source}' is not a source name: letters, digits and . _ - (at most 64, starting with a letter or digit)`);
    const wanted = [...new Set(protocols)];
    if (!wanted.length || wanted.some((p) => !TOKEN_PROTOCOLS.includes(p))) throw new FirebreakError('bad-protocols', `protocols must be one or more of ${TOKEN_PROTOCOLS.join(', ')}`);
    const id = randomBytes(9).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const ordered = TOKEN_PROTOCOLS.filter((p) => wanted.includes(p));
    await this.sql.tx(async (t) => {
      const activeCount = (await t.get<{ n: number }>('SELECT count(*) AS n FROM ingest_tokens WHERE revoked_at IS NULL'))!.n;
      if (activeCount >= API_LIMITS.ingestTokensMax) throw new FirebreakError('too-many-tokens', `${activeCount} ingest tokens are active, the most there may be; revoke unused ones first`);
      await t.run(
        'INSERT INTO ingest_tokens (id, hash, source, protocols, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        id,
        tokenHash(secret),
        source,
        JSON.stringify(ordered),
        createdBy,
        now(),
      );
    });
    await this.onChange(await this.active());
    return { token: (await this.get(id))!, secret };
  }

  /** Revokes a stored token (revoking twice is a no-op); throws `no-such-token`. */
  async revoke(id: string): Promise<IngestTokenInfo> {
    if (!(await this.get(id))) throw new FirebreakError('no-such-token', `no ingest token '${id}'`);
    await this.sql.run('UPDATE ingest_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now(), id);
    await this.onChange(await this.active());
    return (await this.get(id))!;
  }
}

/** The stored tokens that admit data now, as the listeners look them up (also read by a cluster's ingest nodes). */
export async function activeTokens(sql: Sql): Promise<HashedToken[]> {
  return (await sql.all<Row>('SELECT * FROM ingest_tokens WHERE revoked_at IS NULL ORDER BY created_at, id')).map((r) => ({
    hash: r.hash,
    source: r.source,
    protocols: JSON.parse(r.protocols) as IngestProtocol[],
  }));
}
