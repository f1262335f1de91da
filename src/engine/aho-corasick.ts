/**
 * Aho-Corasick multi-pattern search over UTF-16 code units: one pass over a text finds every
 * pattern that occurs in it, whatever the number of patterns. Used by the rule prefilter so the
 * cost of a field does not grow with the number of rules that look at it.
 *
 * The trie is built with Maps, then frozen into flat typed arrays (edges of a node sorted by
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
    const next: Map<number, number>[] = [new Map()];
    const out: number[][] = [[]];
    patterns.forEach((p, id) => {
      let node = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let n = next[node]!.get(c);
        if (n === undefined) {
          n = next.length;
          next.push(new Map());
          out.push([]);
          next[node]!.set(c, n);
        }
        node = n;
      }
      out[node]!.push(id);
    });
    const nodes = next.length;
    this.edgeStart = new Int32Array(nodes + 1);
    let edges = 0;
    for (let n = 0; n < nodes; n++) {
      this.edgeStart[n] = edges;
      edges += next[n]!.size;
    }
    this.edgeStart[nodes] = edges;
    this.edgeChar = new Uint16Array(edges);
    this.edgeNext = new Int32Array(edges);
    for (let n = 0; n < nodes; n++) {
      let k = this.edgeStart[n]!;
      for (const [c, child] of [...next[n]!].sort((a, b) => a[0] - b[0])) {
        this.edgeChar[k] = c;
        this.edgeNext[k++] = child;
      }
    }
    for (const [c, child] of next[0]!) if (c < 128) this.rootAscii[c] = child;

    // Breadth-first failure links; outputs inherited along them.
    this.fail = new Int32Array(nodes);
    const queue: number[] = [...next[0]!.values()];
    for (let qi = 0; qi < queue.length; qi++) {
      const node = queue[qi]!;
      for (const [c, child] of next[node]!) {
        queue.push(child);
        let f = this.fail[node]!;
        let target = next[f]!.get(c);
        while (target === undefined && f !== 0) {
          f = this.fail[f]!;
          target = next[f]!.get(c);
        }
        this.fail[child] = target !== undefined && target !== child ? target : 0;
        const inherited = out[this.fail[child]!]!;
        if (inherited.length) out[child] = [...out[child]!, ...inherited];
      }
    }
    this.outStart = new Int32Array(nodes + 1);
    let total = 0;
    for (let n = 0; n < nodes; n++) {
      this.outStart[n] = total;
      total += out[n]!.length;
    }
    this.outStart[nodes] = total;
    this.outIds = new Int32Array(total);
    for (let n = 0, k = 0; n < nodes; n++) for (const id of out[n]!) this.outIds[k++] = id;
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
