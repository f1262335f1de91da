/**
 * The correlate node's lease: one key in the JetStream key-value bucket `<prefix>_LEASES`, whose
 * entries expire `leaseMs` after their last write. The active node rewrites it every third of
 * that, each write conditional on its own last revision; a standby tries to create it, which only
 * succeeds once it is gone (deleted by a node stepping down, or expired after a crash).
 *
 * The revision at which a node acquired the lease is its epoch: it only grows, so PostgreSQL can
 * refuse the writes of a node that lost the lease without knowing it yet (fencing).
 */
import type { KV } from 'nats';
import { transient } from './nats.js';

export interface LeaseHolder {
  node: string;
  since: string;
}

export class Lease {
  private revision = 0;
  /** The revision at which this node acquired the lease (0: not held). */
  epoch = 0;
  private renewedAt = 0;

  constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly node: string,
    private readonly ttlMs: number,
  ) {}

  /** True while this node holds the lease and its last renewal is recent enough to trust. */
  get held(): boolean {
    return this.epoch > 0 && Date.now() - this.renewedAt < (this.ttlMs * 2) / 3;
  }

  /** Takes the lease if nobody holds it. Resolves with the epoch, or 0 when another node has it. */
  async acquire(): Promise<number> {
    const value = JSON.stringify({ node: this.node, since: new Date().toISOString() } satisfies LeaseHolder);
    this.epoch = 0;
    try {
      const at = Date.now();
      this.revision = await this.kv.create(this.key, value);
      this.epoch = this.revision;
      this.renewedAt = at;
      return this.epoch;
    } catch (e) {
      if (transient(e)) throw e;
      return 0; // held by another node (wrong last sequence)
    }
  }

  /**
   * Rewrites the lease (conditional on this node's last write). False when the lease is lost:
   * another node has it, or it could not be renewed before it would expire.
   */
  async renew(): Promise<boolean> {
    if (!this.epoch) return false;
    const at = Date.now();
    try {
      this.revision = await this.kv.update(this.key, JSON.stringify({ node: this.node, since: new Date(at).toISOString() }), this.revision);
      this.renewedAt = at;
      return true;
    } catch (e) {
      if (transient(e) && this.held) return true; // try again at the next renewal
      this.epoch = 0;
      return false;
    }
  }

  /** Gives the lease up (a graceful stop): a standby takes over at once instead of after expiry. */
  async release(): Promise<void> {
    if (!this.epoch) return;
    this.epoch = 0;
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => undefined);
  }

  /** Who holds the lease now (for health), or null. */
  async holder(): Promise<LeaseHolder | null> {
    const e = await this.kv.get(this.key).catch(() => null);
    if (!e || e.operation !== 'PUT') return null;
    try {
      return e.json<LeaseHolder>();
    } catch {
      return null;
    }
  }
}
