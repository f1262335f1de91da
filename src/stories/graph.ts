/**
 * The story graph: detections joined through the entities they share, kept as connected
 * components with a union-find over component ids. An entity links detections only within its
 * window of each other (weak keys: the proximity window; strong keys: unique identifiers, over a
 * long one). Bounded: expired entities are forgotten, a component no live entity points to is
 * closed (it can never grow again), and beyond `maxOpen` the oldest components are closed early.
 */
import type { Kind } from './entities.js';

/** What the graph needs of a component. */
export interface Component {
  readonly id: number;
  lastT: number;
  /** Used to merge the smaller components into the largest. */
  size(): number;
}

export interface GraphHooks<C extends Component> {
  create(id: number): C;
  /** Fold `other` into `into` (`other` is forgotten afterwards). */
  merge(into: C, other: C): void;
  /** The component can never grow again. */
  close(c: C): void;
}

export interface GraphLimits {
  window: number;
  strongWindow: number;
  maxEntities: number;
  maxOpen: number;
}

interface Entity {
  root: number;
  last: number;
  strong: boolean;
}

export class ComponentGraph<C extends Component> {
  private readonly entities = new Map<string, Entity>();
  private readonly parent = new Map<number, number>();
  private readonly open = new Map<number, C>();
  private nextId = 1;
  /** Newest time seen: entities older than their window before it are expired. */
  now = -Infinity;
  entitiesDropped = 0;
  closedEarly = 0;

  constructor(
    private readonly limits: GraphLimits,
    private readonly hooks: GraphHooks<C>,
  ) {}

  get entityCount(): number {
    return this.entities.size;
  }

  get openCount(): number {
    return this.open.size;
  }

  /** The open component with this id, if it is still open (merged or closed ones are gone). */
  component(id: number): C | undefined {
    return this.open.get(id);
  }

  /** Merge the live components the keys point to (or start one) and refresh the keys. */
  join(keys: ReadonlyMap<string, Kind>, t: number): C {
    if (t > this.now) this.now = t;
    const roots = new Set<number>();
    for (const [k, kind] of keys) {
      const e = this.entities.get(k);
      if (e && Math.abs(t - e.last) <= (kind === 'strong' ? this.limits.strongWindow : this.limits.window)) {
        const r = this.find(e.root);
        if (this.open.has(r)) roots.add(r);
      }
    }
    let c: C;
    if (roots.size === 0) {
      c = this.hooks.create(this.nextId++);
      this.open.set(c.id, c);
      this.parent.set(c.id, c.id);
    } else {
      const cs = [...roots].map((r) => this.open.get(r)!);
      cs.sort((a, b) => b.size() - a.size());
      c = cs[0]!;
      for (const other of cs.slice(1)) {
        this.hooks.merge(c, other);
        this.open.delete(other.id);
        this.parent.set(other.id, c.id);
      }
    }
    for (const [k, kind] of keys) {
      const e = this.entities.get(k);
      if (e) {
        e.root = c.id;
        if (t > e.last) e.last = t;
      } else if (this.entities.size < this.limits.maxEntities) {
        this.entities.set(k, { root: c.id, last: t, strong: kind === 'strong' });
      } else {
        this.entitiesDropped++;
      }
    }
    return c;
  }

  /** The open component an entity points to at `t` (within its window), without joining anything. */
  peek(key: string, t: number): C | undefined {
    const e = this.entities.get(key);
    if (!e || Math.abs(t - e.last) > (e.strong ? this.limits.strongWindow : this.limits.window)) return undefined;
    return this.open.get(this.find(e.root));
  }

  /** True when the graph is over its entity bound and should be swept now. */
  full(): boolean {
    return this.entities.size > this.limits.maxEntities;
  }

  /**
   * Drop expired entities; close components no live entity points to; close the oldest ones
   * early when too many are open.
   */
  sweep(): void {
    const live = new Set<number>();
    for (const [k, e] of this.entities) {
      if (this.now - e.last > (e.strong ? this.limits.strongWindow : this.limits.window)) {
        this.entities.delete(k);
        continue;
      }
      e.root = this.find(e.root);
      live.add(e.root);
    }
    for (const [id, c] of this.open) {
      if (!live.has(id)) {
        this.hooks.close(c);
        this.open.delete(id);
      }
    }
    if (this.open.size > this.limits.maxOpen) {
      const oldest = [...this.open.values()].sort((a, b) => a.lastT - b.lastT).slice(0, this.open.size - this.limits.maxOpen);
      for (const c of oldest) {
        this.hooks.close(c);
        this.open.delete(c.id);
        live.delete(c.id);
        this.closedEarly++;
      }
      for (const [k, e] of this.entities) if (!live.has(e.root)) this.entities.delete(k);
    }
    // Entities now point at roots only, so the union-find can forget merged ids.
    this.parent.clear();
    for (const id of this.open.keys()) this.parent.set(id, id);
  }

  /** Close every open component and forget all state. */
  closeAll(): void {
    for (const c of this.open.values()) this.hooks.close(c);
    this.open.clear();
    this.entities.clear();
    this.parent.clear();
  }

  /** The open components (for a live view of stories still growing). */
  openComponents(): IterableIterator<C> {
    return this.open.values();
  }

  private find(id: number): number {
    let r = id;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    // Path compression.
    for (let x = id, p = this.parent.get(x); p !== undefined && p !== r; x = p, p = this.parent.get(x)) this.parent.set(x, r);
    return r;
  }
}
