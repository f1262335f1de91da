/**
 * Aho-Corasick multi-pattern search over UTF-16 code units: one pass over a text finds every
 * pattern that occurs in it, whatever the number of patterns. Used by the rule prefilter so the
 * cost of a field does not grow with the number of rules that look at it.
 *
 * The trie is built straight into flat typed arrays (edges of a node sorted by
 * code unit, one table for the root's ASCII edges): a few bytes per node instead of a Map each,
 * which matters with tens of thousands of rule literals in every worker thread.
 */
export class AhoCorasick {
  /** Edges of node n are edgeChar/edgeNext[edgeStart[n] .. edgeStart[n + 1]), sorted by code unit. */
  private readonly edgeStart: Int32Array;
  private readonly edgeChar: Uint16Array;
  private readonly edgeNext: Int32Array;
  private readonly fail: Int32Array;
  /** Pattern ids ending at node n (including those reached through failure links). */
  private readonly outStart: Int32Array;
  private readonly outIds: Int32Array;
  /** The root's transitions for ASCII code units (0 = stay at the root). */
  private readonly rootAscii = new Int32Array(128);

  constructor(patterns: readonly string[]) {
    // The trie is built from the patterns in code-unit order, with no lookup structure at all: a
    // new pattern shares only its common prefix with the one before it, so its path below that
    // prefix is all new nodes, and every node's children are made in ascending code-unit order
    // (already the order the frozen edges need). Thousands of per-node Maps made the build (once
    // per rule index, in every worker) the largest cost of a small hunt.
    const order = patterns
      .map((_, i) => i)
      .sort((a, b) => {
        const x = patterns[a]!;
        const y = patterns[b]!;
        return x < y ? -1 : x > y ? 1 : a - b;
      });
    let bound = 1;
    for (const p of patterns) bound += p.length;
    const parentOf = new Int32Array(bound);
    const charOf = new Uint16Array(bound);
    const ownNode = new Int32Array(patterns.length);
    const path = [0];
    let prev = '';
    let nodes = 1;
    for (let k = 0; k < order.length; k++) {
      const id = order[k]!;
      const p = patterns[id]!;
      let d = 0;
      const common = Math.min(p.length, prev.length);
      while (d < common && p.charCodeAt(d) === prev.charCodeAt(d)) d++;
      for (; d < p.length; d++) {
        const n = nodes++;
        parentOf[n] = path[d]!;
        charOf[n] = p.charCodeAt(d);
        path[d + 1] = n;
      }
      ownNode[k] = path[p.length]!;
      prev = p;
    }

    // Edges: a node's children are consecutive and ascending (nodes were made in that order).
    this.edgeStart = new Int32Array(nodes + 1);
    for (let n = 1; n < nodes; n++) this.edgeStart[parentOf[n]! + 1]!++;
    for (let n = 0; n < nodes; n++) this.edgeStart[n + 1]! += this.edgeStart[n]!;
    const edges = nodes - 1;
    this.edgeChar = new Uint16Array(edges);
    this.edgeNext = new Int32Array(edges);
    const fill = this.edgeStart.slice(0, nodes);
    for (let n = 1; n < nodes; n++) {
      const at = fill[parentOf[n]!]!++;
      this.edgeChar[at] = charOf[n]!;
      this.edgeNext[at] = n;
    }
    for (let k = this.edgeStart[0]!; k < this.edgeStart[1]!; k++) if (this.edgeChar[k]! < 128) this.rootAscii[this.edgeChar[k]!] = this.edgeNext[k]!;

    // Breadth-first failure links (a node's link is shallower, so it is done before the node).
    this.fail = new Int32Array(nodes);
    const queue = new Int32Array(nodes);
    let tail = 1;
    for (let qi = 0; qi < tail; qi++) {
      const node = queue[qi]!;
      for (let k = this.edgeStart[node]!, end = this.edgeStart[node + 1]!; k < end; k++) {
        const child = this.edgeNext[k]!;
        queue[tail++] = child;
        if (node !== 0) this.fail[child] = this.step(this.fail[node]!, this.edgeChar[k]!);
      }
    }

    // Outputs: a node's own patterns, then (inherited along its failure link) its link's outputs.
    const ownCount = new Int32Array(nodes);
    for (let k = 0; k < order.length; k++) ownCount[ownNode[k]!]!++;
    const ownStart = new Int32Array(nodes + 1);
    for (let n = 0; n < nodes; n++) ownStart[n + 1] = ownStart[n]! + ownCount[n]!;
    const ownIds = new Int32Array(order.length);
    const ownFill = ownStart.slice(0, nodes);
    for (let k = 0; k < order.length; k++) ownIds[ownFill[ownNode[k]!]!++] = order[k]!;
    const outCount = new Int32Array(nodes);
    for (let qi = 0; qi < nodes; qi++) {
      const n = queue[qi]!;
      outCount[n] = ownCount[n]! + (n === 0 ? 0 : outCount[this.fail[n]!]!);
    }
    this.outStart = new Int32Array(nodes + 1);
    for (let n = 0; n < nodes; n++) this.outStart[n + 1] = this.outStart[n]! + outCount[n]!;
    this.outIds = new Int32Array(this.outStart[nodes]!);
    for (let qi = 0; qi < nodes; qi++) {
      const n = queue[qi]!;
      let at = this.outStart[n]!;
      for (let k = ownStart[n]!; k < ownStart[n + 1]!; k++) this.outIds[at++] = ownIds[k]!;
      if (n === 0) continue;
      const f = this.fail[n]!;
      for (let k = this.outStart[f]!; k < this.outStart[f + 1]!; k++) this.outIds[at++] = this.outIds[k]!;
    }
  }

  /** Whether any pattern occurs in `text` (stops at the first). */
  test(text: string): boolean {
    const outStart = this.outStart;
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      node = this.step(node, text.charCodeAt(i));
      if (outStart[node + 1]! > outStart[node]!) return true;
    }
    return false;
  }

  /** Call `hit(id)` for each occurrence of each pattern in `text` (ids may repeat). */
  scan(text: string, hit: (id: number) => void): void {
    const outStart = this.outStart;
    const outIds = this.outIds;
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      node = this.step(node, text.charCodeAt(i));
      for (let k = outStart[node]!, end = outStart[node + 1]!; k < end; k++) hit(outIds[k]!);
    }
  }

  /**
   * `scan` over the lower-cased text of an ASCII `text` without making it: A–Z are lowered on the
   * fly (for ASCII, exactly what `toLowerCase` does). Stops and returns false at the first
   * non-ASCII code unit (the caller then scans the fully lower-cased text); ids reported before
   * that are real occurrences in the lower-cased text too.
   */
  scanAsciiLowered(text: string, hit: (id: number) => void): boolean {
    const outStart = this.outStart;
    const outIds = this.outIds;
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 128) return false;
      if (c >= 65 && c <= 90) c += 32;
      node = this.step(node, c);
      for (let k = outStart[node]!, end = outStart[node + 1]!; k < end; k++) hit(outIds[k]!);
    }
    return true;
  }

  /** The automaton's transition: follow failure links until `c` can be taken. */
  private step(node: number, c: number): number {
    for (;;) {
      if (node === 0) return c < 128 ? this.rootAscii[c]! : this.edge(0, c);
      const n = this.edge(node, c);
      if (n !== 0) return n;
      node = this.fail[node]!;
    }
  }

  /** The child of `node` by code unit `c`, or 0. */
  private edge(node: number, c: number): number {
    let lo = this.edgeStart[node]!;
    let hi = this.edgeStart[node + 1]! - 1;
    const chars = this.edgeChar;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = chars[mid]!;
      if (m === c) return this.edgeNext[mid]!;
      if (m < c) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }
}
