/**
 * Login throttling: failed attempts counted per key (an account name, a client address) in a fixed
 * window; a key over its budget is refused until its window ends (429 with Retry-After). Memory is
 * bounded: at most `maxKeys` keys are remembered; when full, expired entries go first, then the
 * oldest. (Evicting a throttled key early only gives an attacker back a few guesses; the
 * per-address budget still holds him.)
 */
export class FailureLimiter {
  /** key → first failure time and count; Map order is insertion order (oldest first). */
  private readonly entries = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly budget: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again (0: it may try now). */
  blockedFor(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    const t = this.now();
    if (t - e.start >= this.windowMs) {
      this.entries.delete(key);
      return 0;
    }
    return e.count >= this.budget ? e.start + this.windowMs - t : 0;
  }

  /** Count one failure for `key`. */
  fail(key: string): void {
    const t = this.now();
    const e = this.entries.get(key);
    if (e && t - e.start < this.windowMs) {
      e.count++;
      return;
    }
    if (e) this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) this.evict(t);
    this.entries.set(key, { start: t, count: 1 });
  }

  /** Forget `key` (a successful login clears its account's failures). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(t: number): void {
    for (const [k, e] of this.entries) if (t - e.start >= this.windowMs) this.entries.delete(k);
    while (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
