/**
 * Ingest tokens from the console in a cluster. An api node makes and revokes them as the embedded
 * server does (`IngestTokens` over PostgreSQL: the secret given once, kept as its SHA-256), then
 * raises the `ingest-tokens` revision with a notice on `firebreak_tokens` (./watch.ts). Each
 * ingest node follows: it reads the active tokens again and hands them to its listeners, which
 * look tokens up by hash, so a new token admits data and a revoked one is refused from the next
 * request, without a restart. The configuration file's tokens work beside them as before.
 */
import type { HashedToken, IngestLog } from '../ingest/context.js';
import { activeTokens } from '../api/auth/ingest-tokens.js';
import type { ClusterDb } from './pg.js';
import { bumpRevision, readRevision } from './pg.js';
import { PgSql } from './pg-sql.js';
import { RevisionFollower } from './watch.js';

export const TOKENS_CHANNEL = 'firebreak_tokens';
const REVISION = 'ingest-tokens';

/** After a token was made or revoked on this api node: tell the ingest nodes. */
export async function announceTokens(db: ClusterDb, node: string): Promise<void> {
  await new PgSql(db.pool).tx((t) => bumpRevision(t, REVISION, TOKENS_CHANNEL, node));
}

/** An ingest node's view of the stored tokens, following changes. */
export class TokenFollower {
  private follower: RevisionFollower | undefined;
  private readonly sql: PgSql;
  readonly health = { revision: 0, active: 0 };

  constructor(
    private readonly db: ClusterDb,
    private readonly log: IngestLog,
  ) {
    this.sql = new PgSql(db.pool);
  }

  /** The active tokens now (at start, before the listeners open). */
  async load(): Promise<HashedToken[]> {
    this.health.revision = await readRevision(this.sql, REVISION);
    const active = await activeTokens(this.sql);
    this.health.active = active.length;
    return active;
  }

  /** Hands every change to `setStored` (the listeners' table). */
  async follow(setStored: (active: HashedToken[]) => void): Promise<void> {
    this.follower = new RevisionFollower({
      what: 'ingest tokens',
      channel: TOKENS_CHANNEL,
      connect: () => this.db.client(),
      revision: () => readRevision(this.sql, REVISION),
      log: this.log,
      apply: async () => {
        const active = await this.load();
        setStored(active);
        return this.health.revision;
      },
    });
    await this.follower.start(this.health.revision);
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }
}
