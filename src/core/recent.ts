/**
 * A map of what was used recently, in two generations: entries go into the young one; when it is
 * full it becomes the old one (the previous old one is dropped) and a new young one starts; an
 * entry found in the old one moves back to the young one. Memory stays at two generations,
 * entries in use survive every turn, and a cache fed a stream of values never seen again (the
 * command lines of a live server) stops growing after its first two generations instead of
 * growing to a large bound and then being cleared all at once.
 */
export class RecentMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  /** `generation`: entries per generation (at most twice that are held). */
  constructor(private readonly generation: number) {
    if (!(generation >= 1)) throw new RangeError(`RecentMap: a generation holds at least one entry (got ${generation})`);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.set(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.generation && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }
}
