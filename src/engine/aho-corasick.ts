/**
 * Aho-Corasick multi-pattern search over UTF-16 code units: one pass over a text finds every
 * pattern that occurs in it, whatever the number of patterns. Used by the rule prefilter so the
 * cost of a field does not grow with the number of rules that look at it.
 */
export class AhoCorasick {
  /** Per node: code unit → next node. */
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** Pattern ids ending at each node (including those reached through failure links). */
  private readonly out: number[][] = [[]];

  constructor(patterns: readonly string[]) {
    patterns.forEach((p, id) => {
      let node = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let n = this.next[node]!.get(c);
        if (n === undefined) {
          n = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push([]);
          this.next[node]!.set(c, n);
        }
        node = n;
      }
      this.out[node]!.push(id);
    });
    // Breadth-first failure links.
    const queue: number[] = [];
    for (const n of this.next[0]!.values()) queue.push(n);
    for (let qi = 0; qi < queue.length; qi++) {
      const node = queue[qi]!;
      for (const [c, child] of this.next[node]!) {
        queue.push(child);
        let f = this.fail[node]!;
        while (f !== 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const target = this.next[f]!.get(c);
        this.fail[child] = target !== undefined && target !== child ? target : 0;
        const inherited = this.out[this.fail[child]!]!;
        if (inherited.length) this.out[child] = [...this.out[child]!, ...inherited];
      }
    }
  }

  /** Whether any pattern occurs in `text` (stops at the first). */
  test(text: string): boolean {
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      node = this.step(node, text.charCodeAt(i));
      if (this.out[node]!.length) return true;
    }
    return false;
  }

  /** The automaton's transition: follow failure links until `c` can be taken. */
  private step(node: number, c: number): number {
    let n = this.next[node]!.get(c);
    while (n === undefined && node !== 0) {
      node = this.fail[node]!;
      n = this.next[node]!.get(c);
    }
    return n ?? 0;
  }

  /** Call `hit(id)` for each occurrence of each pattern in `text` (ids may repeat). */
  scan(text: string, hit: (id: number) => void): void {
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      node = this.step(node, text.charCodeAt(i));
      const o = this.out[node]!;
      for (let k = 0; k < o.length; k++) hit(o[k]!);
    }
  }
}
