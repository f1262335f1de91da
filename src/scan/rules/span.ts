/**
 * The longest text a Go RE2 pattern can match, estimated from its syntax. The scanner runs a
 * rule's regex only in a window of this size around each keyword hit, so the bound must never be
 * too small; unbounded repeats count as UNBOUNDED_SPAN, which caps how far one finding may reach
 * (64 KiB: longer than any PEM key block, short enough to keep windows cheap).
 */
export const UNBOUNDED_SPAN = 64 * 1024;

/** Upper bound on the length of any match of `pattern` (a Go regex), capped at UNBOUNDED_SPAN. */
export function maxMatchSpan(pattern: string): number {
  const p = new SpanParser(pattern);
  return Math.min(UNBOUNDED_SPAN, p.alternation());
}

class SpanParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  alternation(): number {
    let best = this.sequence();
    while (this.s[this.pos] === '|') {
      this.pos++;
      best = Math.max(best, this.sequence());
    }
    return best;
  }

  private sequence(): number {
    let total = 0;
    while (this.pos < this.s.length && this.s[this.pos] !== '|' && this.s[this.pos] !== ')') {
      const atom = this.atom();
      total += atom * this.quantifier();
      if (total > UNBOUNDED_SPAN) total = UNBOUNDED_SPAN;
    }
    return total;
  }

  private atom(): number {
    const c = this.s[this.pos]!;
    if (c === '(') {
      this.pos++;
      if (this.s[this.pos] === '?') {
        const m = /^\?(?:P?<[^>]+>|[a-zA-Z-]*:|[a-zA-Z-]*\))/.exec(this.s.slice(this.pos));
        if (m) {
          this.pos += m[0].length;
          if (m[0].endsWith(')')) return 0; // a flag setting such as (?i)
        }
      }
      const inner = this.alternation();
      this.pos++; // )
      return inner;
    }
    if (c === '[') {
      this.pos++;
      if (this.s[this.pos] === '^') this.pos++;
      if (this.s[this.pos] === ']') this.pos++;
      while (this.pos < this.s.length && this.s[this.pos] !== ']') {
        if (this.s[this.pos] === '\\') this.pos++;
        else if (this.s.startsWith('[:', this.pos)) this.pos = this.s.indexOf(':]', this.pos) + 1;
        this.pos++;
      }
      this.pos++;
      return 1;
    }
    if (c === '\\') {
      const e = this.s[this.pos + 1];
      this.pos += 2;
      if (e === 'b' || e === 'B' || e === 'z' || e === 'A') return 0;
      if (e === 'x' && this.s[this.pos] === '{') this.pos = this.s.indexOf('}', this.pos) + 1;
      else if (e === 'x') this.pos += 2;
      if (e === 'Q') {
        const end = this.s.indexOf('\\E', this.pos);
        const len = (end < 0 ? this.s.length : end) - this.pos;
        this.pos = end < 0 ? this.s.length : end + 2;
        return len;
      }
      return 1;
    }
    this.pos++;
    return c === '^' || c === '$' ? 0 : 1;
  }

  private quantifier(): number {
    const c = this.s[this.pos];
    let n = 1;
    if (c === '*' || c === '+') {
      this.pos++;
      n = UNBOUNDED_SPAN;
    } else if (c === '?') {
      this.pos++;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.pos));
      if (m) {
        this.pos += m[0].length;
        n = m[2] === undefined ? Number(m[1]) : m[3] ? Number(m[3]) : UNBOUNDED_SPAN;
      }
    }
    if (this.s[this.pos] === '?') this.pos++; // lazy
    return n;
  }
}
