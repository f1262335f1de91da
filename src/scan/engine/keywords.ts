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
  keywordHits: number[];
  /** Offsets where a run of digits starts (preceded by a non-digit or the start). */
  digitRuns: number[];
}

const FOLD = new Uint8Array(256);
for (let i = 0; i < 256; i++) FOLD[i] = i >= 65 && i <= 90 ? i + 32 : i;

/** An Aho-Corasick automaton over bytes, built once per rule set. */
export class KeywordMatcher {
  private readonly delta: Int32Array;
  /** For each state, the keyword ids that end there (own and via suffix links), or null. */
  private readonly outputs: (number[] | null)[];
  readonly keywords: string[];

  constructor(keywords: string[]) {
    this.keywords = keywords;
    const goto: Map<number, number>[] = [new Map()];
    const out: number[][] = [[]];
    keywords.forEach((kw, id) => {
      const bytes = Buffer.from(kw.toLowerCase(), 'utf8');
      let s = 0;
      for (const b of bytes) {
        const c = FOLD[b]!;
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
    const delta = new Int32Array(n * 256);
    const fail = new Int32Array(n);
    // Breadth-first: each state's full transition row is its failure state's row with its own
    // edges on top, so scanning is one table lookup per byte with no failure-link walks.
    const queue: number[] = [];
    for (const [c, t] of goto[0]!) {
      delta[c] = t;
      queue.push(t);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const f = fail[s]!;
      out[s]!.push(...out[f]!);
      const row = s * 256;
      delta.copyWithin(row, f * 256, f * 256 + 256);
      for (const [c, t] of goto[s]!) {
        fail[t] = delta[f * 256 + c]!;
        delta[row + c] = t;
        queue.push(t);
      }
    }
    this.delta = delta;
    this.outputs = out.map((o) => (o.length ? [...new Set(o)] : null));
  }

  /** Scan `buf[start, end)`; hit offsets are absolute positions in `buf`. */
  scan(buf: Uint8Array, start = 0, end = buf.length): PrefilterHits {
    const delta = this.delta;
    const outputs = this.outputs;
    const keywordHits: number[] = [];
    const digitRuns: number[] = [];
    let s = 0;
    let prevDigit = false;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      s = delta[(s << 8) | FOLD[b]!]!;
      const o = outputs[s];
      if (o !== null) for (let k = 0; k < o!.length; k++) keywordHits.push(o![k]!, i + 1);
      const isDigit = b >= 48 && b <= 57;
      if (isDigit && !prevDigit) digitRuns.push(i);
      prevDigit = isDigit;
    }
    return { keywordHits, digitRuns };
  }
}
