/**
 * The keyword prefilter: one Aho-Corasick pass over raw bytes finds every rule keyword at once,
 * so the cost of a scan does not grow with the number of rules. Matching is ASCII
 * case-insensitive (keywords are stored lower-case, input bytes A-Z are folded on the fly), which
 * is what gitleaks does by lower-casing the fragment, without allocating a lowered copy.
 *
 * The same loop also notes the starts of digit runs for the validated detectors (cards, SSN,
 * IBAN): one read of every byte serves all detectors.
 */

/** Hits of one pass: keyword ids with the offset just past each hit, and digit-run starts. */
export interface PrefilterHits {
  /** Pairs [keywordId, endOffset] flattened. */
  keywordHits: Int32Array;
  /** Offsets where a run of digits starts (preceded by a non-digit or the start). */
  digitRuns: Int32Array;
  /** The length of each run (capped at 255): detectors refuse most runs by length alone. */
  runLengths: Uint8Array;
}

const FOLD = new Uint8Array(256);
for (let i = 0; i < 256; i++) FOLD[i] = i >= 65 && i <= 90 ? i + 32 : i;

/** An Aho-Corasick automaton over bytes, built once per rule set. */
export class KeywordMatcher {
  /**
   * Transitions, `states x 64` columns. Bytes map to a column first (only the few dozen bytes
   * that occur in keywords get their own; every other byte is column 0), which keeps the table
   * small enough (~200 KB for gitleaks' 244 keywords) to stay in cache: a table of 256 columns
   * per state ran three times slower from cache misses alone.
   */
  private readonly delta: Uint16Array | Uint32Array;
  private readonly column = new Uint8Array(256);
  /** For each state, the keyword ids that end there (own and via suffix links), or null. */
  private readonly outputs: (number[] | null)[];
  private readonly hasOutput: Uint8Array;
  readonly keywords: string[];

  constructor(keywords: string[]) {
    this.keywords = keywords;
    const encoded = keywords.map((kw) => Buffer.from(kw.toLowerCase(), 'utf8'));
    let cols = 1;
    for (const bytes of encoded) for (const b of bytes) if (!this.column[FOLD[b]!]) this.column[FOLD[b]!] = cols++;
    for (let b = 65; b <= 90; b++) this.column[b] = this.column[b + 32]!;
    if (cols > 64) throw new Error(`keyword alphabet of ${cols} bytes exceeds 64`);
    const goto: Map<number, number>[] = [new Map<number, number>()];
    const out: number[][] = [[]];
    encoded.forEach((bytes, id) => {
      let s = 0;
      for (const b of bytes) {
        const c = this.column[b]!;
        let next = goto[s]!.get(c);
        if (next === undefined) {
          next = goto.length;
          goto.push(new Map());
          out.push([]);
          goto[s]!.set(c, next);
        }
        s = next;
      }
      out[s]!.push(id);
    });
    const n = goto.length;
    const delta = n < 65536 ? new Uint16Array(n * 64) : new Uint32Array(n * 64);
    const fail = new Int32Array(n);
    // Breadth-first: each state's row is its failure state's row with its own edges on top, so
    // scanning is one table lookup per byte with no failure-link walks.
    const queue: number[] = [];
    for (const [c, t] of goto[0]!) {
      delta[c] = t;
      queue.push(t);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const f = fail[s]!;
      out[s]!.push(...out[f]!);
      delta.copyWithin(s * 64, f * 64, f * 64 + 64);
      for (const [c, t] of goto[s]!) {
        fail[t] = delta[f * 64 + c]!;
        delta[s * 64 + c] = t;
        queue.push(t);
      }
    }
    this.delta = delta;
    this.outputs = out.map((o) => (o.length ? [...new Set(o)] : null));
    this.hasOutput = Uint8Array.from(this.outputs, (o) => (o ? 1 : 0));
  }

  // Scratch space reused across scans: pushing millions of offsets onto JS arrays (a log file has
  // a digit run every ten bytes) ran the loop at a seventh of this speed.
  private hitBuf = new Int32Array(1 << 12);
  private runBuf = new Int32Array(1 << 12);
  private lenBuf = new Uint8Array(1 << 12);

  /** Scan `buf[start, end)`; hit offsets are absolute positions in `buf`. */
  scan(buf: Uint8Array, start = 0, end = buf.length): PrefilterHits {
    const delta = this.delta;
    const column = this.column;
    const outputs = this.outputs;
    const hasOutput = this.hasOutput;
    // A digit run starts at most every other byte.
    if (this.runBuf.length < ((end - start) >> 1) + 1) {
      this.runBuf = new Int32Array(((end - start) >> 1) + 1);
      this.lenBuf = new Uint8Array(((end - start) >> 1) + 1);
    }
    const runs = this.runBuf;
    const lens = this.lenBuf;
    let hits = this.hitBuf;
    let nh = 0;
    let nr = 0;
    let s = 0;
    let prevDigit = 0;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      s = delta[(s << 6) | column[b]!]!;
      if (hasOutput[s] === 1) {
        const o = outputs[s]!;
        if (nh + 2 * o.length > hits.length) {
          const bigger = new Int32Array(hits.length * 2 + 2 * o.length);
          bigger.set(hits.subarray(0, nh));
          this.hitBuf = hits = bigger;
        }
        for (let k = 0; k < o.length; k++) {
          hits[nh++] = o[k]!;
          hits[nh++] = i + 1;
        }
      }
      const digit = (b - 48) >>> 0 < 10 ? 1 : 0;
      if (digit !== prevDigit) {
        if (digit) runs[nr++] = i;
        else lens[nr - 1] = Math.min(255, i - runs[nr - 1]!);
      }
      prevDigit = digit;
    }
    if (prevDigit) lens[nr - 1] = Math.min(255, end - runs[nr - 1]!);
    return { keywordHits: hits.slice(0, nh), digitRuns: runs.slice(0, nr), runLengths: lens.slice(0, nr) };
  }
}
