/**
 * Translate Go RE2 regular expressions (the dialect of gitleaks configurations) into JavaScript
 * RegExp source with the same meaning.
 *
 * Why a translator and not the pattern as is: Node 20's V8 has no inline modifiers, so Go's
 * `(?i)` in mid-pattern, `(?-i:…)` and `(?s:…)` must be rewritten; and several escapes differ in
 * meaning: Go's `\s` is ASCII `[\t\n\f\r ]` (JS adds \v and Unicode spaces), Go's `.` matches
 * `\r` (JS's does not), `\z` and POSIX classes `[[:alnum:]]` do not exist in JS.
 * Case-insensitive regions are expanded letter by letter (`a` → `[aA]`); when the whole pattern is
 * case-insensitive the JS `i` flag is used instead, which V8 runs faster.
 */
import { FirebreakError } from '../../core/errors.js';

/** A pattern that cannot be translated; `offset` is the position in the Go source. */
export class RegexSyntaxError extends FirebreakError {
  constructor(
    message: string,
    readonly pattern: string,
    readonly offset: number,
  ) {
    super('scan.regex', `${message} at offset ${offset} in /${pattern}/`);
  }
}

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Go's Perl classes are ASCII-only; \d and \w already are in JS, \s is not.
const GO_SPACE = '\\t\\n\\f\\r ';
const NOT_SPACE_MARK = '\u0000S';

/** The result of translation: JS source and flags (`i` only when the whole pattern is folded). */
export interface Translated {
  source: string;
  flags: string;
}

/** Translate one Go RE2 pattern; throws RegexSyntaxError on constructs it cannot express. */
export function translateRe2(pattern: string): Translated {
  const wholeI = isWhollyCaseInsensitive(pattern);
  const src = wholeI ? pattern.slice(4) : pattern;
  const t = new Translator(src, pattern, { i: wholeI, s: false, m: false }, wholeI);
  const source = t.run();
  return { source, flags: wholeI ? 'i' : '' };
}

/** Compile a Go RE2 pattern into a JS RegExp with the given extra flags (e.g. 'g'). */
export function compileRe2(pattern: string, extraFlags = ''): RegExp {
  const { source, flags } = translateRe2(pattern);
  try {
    return new RegExp(source, flags + extraFlags);
  } catch (err) {
    throw new RegexSyntaxError(`cannot compile translated pattern (${(err as Error).message})`, pattern, 0);
  }
}

// A leading (?i) with no later (?-i…) makes the whole pattern case-insensitive, so the JS `i`
// flag says the same thing with no expansion.
function isWhollyCaseInsensitive(p: string): boolean {
  return p.startsWith('(?i)') && !/\(\?[a-zA-Z]*-[a-zA-Z]*i/.test(p);
}

class Translator {
  private pos = 0;
  private out = '';
  private readonly stack: Flags[] = [];

  constructor(
    private readonly src: string,
    private readonly original: string,
    private flags: Flags,
    // When the JS `i` flag is on, letters need no expansion (and (?-i) cannot occur).
    private readonly jsFold: boolean,
  ) {}

  run(): string {
    while (this.pos < this.src.length) this.atom();
    if (this.stack.length) this.fail('missing )');
    return this.out;
  }

  private fail(msg: string): never {
    throw new RegexSyntaxError(msg, this.original, this.pos);
  }

  private atom(): void {
    const c = this.src[this.pos]!;
    switch (c) {
      case '\\':
        this.out += this.escape(false);
        return;
      case '[':
        this.out += this.charClass();
        return;
      case '(':
        this.group();
        return;
      case ')':
        if (!this.stack.length) this.fail('unexpected )');
        this.flags = this.stack.pop()!;
        this.out += ')';
        this.pos++;
        return;
      case '.':
        this.out += this.flags.s ? '[\\s\\S]' : '[^\\n]';
        this.pos++;
        return;
      case '^':
        this.out += this.flags.m ? '(?<![^\\n])' : '^';
        this.pos++;
        return;
      case '$':
        this.out += this.flags.m ? '(?![^\\n])' : '$';
        this.pos++;
        return;
      case '{': {
        // A valid repeat passes through; Go treats an invalid one as literal text.
        const m = /^\{\d+(?:,\d*)?\}/.exec(this.src.slice(this.pos));
        if (m) {
          this.out += m[0];
          this.pos += m[0].length;
        } else {
          this.out += '\\{';
          this.pos++;
        }
        return;
      }
      case '}':
      case ']':
        this.out += '\\' + c;
        this.pos++;
        return;
      case '/':
        this.out += '\\/';
        this.pos++;
        return;
      default:
        this.out += this.literal(c);
        this.pos++;
    }
  }

  private literal(c: string): string {
    if (this.flags.i && !this.jsFold) {
      const lo = c.toLowerCase();
      const up = c.toUpperCase();
      if (lo !== up && lo.length === 1 && up.length === 1) return `[${lo}${up}]`;
    }
    return c;
  }

  private group(): void {
    const rest = this.src.slice(this.pos);
    this.stack.push({ ...this.flags });
    if (!rest.startsWith('(?')) {
      this.out += '(';
      this.pos++;
      return;
    }
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named) {
      this.out += `(?<${named[1]}>`;
      this.pos += named[0].length;
      return;
    }
    const fl = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
    if (!fl) this.fail('unsupported group syntax');
    const next = { ...this.flags };
    for (const f of fl[1] ?? '') this.setFlag(next, f, true);
    for (const f of fl[2] ?? '') this.setFlag(next, f, false);
    this.pos += fl[0].length;
    if (fl[3] === ')') {
      // `(?i)` changes flags until the end of the enclosing group: not a group of its own.
      this.stack.pop();
      this.flags = next;
      return;
    }
    this.flags = next;
    this.out += '(?:';
  }

  private setFlag(f: Flags, name: string, on: boolean): void {
    if (name === 'U') this.fail('ungreedy flag U is not supported');
    if (name === 'i' && this.jsFold && !on) this.fail('internal: (?-i) under JS i flag');
    f[name as keyof Flags] = on;
  }

  /** An escape outside a class; `inClass` selects the class form of \s etc. */
  private escape(inClass: boolean): string {
    const e = this.src[this.pos + 1];
    if (e === undefined) this.fail('trailing backslash');
    this.pos += 2;
    switch (e) {
      case 's':
        return inClass ? GO_SPACE : `[${GO_SPACE}]`;
      case 'S':
        // Inside a class the caller turns this marker into an alternation (see charClass).
        return inClass ? NOT_SPACE_MARK : `[^${GO_SPACE}]`;
      case 'z':
        return '(?![\\s\\S])';
      case 'A':
        return '(?<![\\s\\S])';
      case 'Q': {
        const end = this.src.indexOf('\\E', this.pos);
        const lit = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.src.length : end + 2;
        return [...lit].map((ch) => (/[\\^$.|?*+()[\]{}/-]/.test(ch) ? '\\' + ch : this.literal(ch))).join('');
      }
      case 'x': {
        if (this.src[this.pos] === '{') {
          const close = this.src.indexOf('}', this.pos);
          const hex = this.src.slice(this.pos + 1, close);
          this.pos = close + 1;
          const cp = parseInt(hex, 16);
          if (!(cp <= 0xffff)) this.fail('code point above U+FFFF');
          return '\\u' + cp.toString(16).padStart(4, '0');
        }
        const hex = this.src.slice(this.pos, this.pos + 2);
        this.pos += 2;
        return '\\x' + hex;
      }
      case 'p':
      case 'P':
        this.fail('Unicode classes are not supported');
        break;
      default:
        if (/[a-zA-Z]/.test(e) && !'dDwWbBntrfv'.includes(e)) this.fail(`unknown escape \\${e}`);
        if (/[a-zA-Z]/.test(e) || /[0-9]/.test(e)) return '\\' + e;
        return '\\' + e;
    }
    return '';
  }

  private charClass(): string {
    this.pos++; // [
    let negated = false;
    if (this.src[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    const parts: string[] = [];
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) this.fail('missing ]');
      const c = this.src[this.pos]!;
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[' && this.src[this.pos + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
        if (!m || !POSIX_CLASSES[m[2]!]) this.fail('unknown POSIX class');
        if (m[1]) this.fail('negated POSIX class is not supported');
        parts.push(POSIX_CLASSES[m[2]!]!);
        this.pos += m[0].length;
        continue;
      }
      const lo = this.classChar();
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length && lo.single) {
        this.pos++;
        const hi = this.classChar();
        if (!hi.single) this.fail('bad range');
        parts.push(this.foldRange(lo.code, hi.code));
      } else if (lo.single) {
        parts.push(this.foldRange(lo.code, lo.code));
      } else {
        parts.push(lo.text);
      }
    }
    // Go's \S inside a class ("anything but ASCII space") has no class form in JS: with the
    // class's other members it becomes an alternation.
    if (parts.includes(NOT_SPACE_MARK)) {
      if (negated) this.fail('\\S inside a negated class is not supported');
      // [X\S] = everything but the Go spaces that X lacks: one class, never an alternation
      // (an alternation whose branches overlap backtracks exponentially under a repeat).
      const rest = parts.filter((p) => p !== NOT_SPACE_MARK).join('');
      const restRe = rest ? new RegExp(`[${rest}]`) : null;
      const missing = ['\\t', '\\n', '\\f', '\\r', ' '].filter((_sp, k) => !restRe?.test('\t\n\f\r '[k]!));
      return missing.length ? `[^${missing.join('')}]` : '[\\s\\S]';
    }
    return `[${negated ? '^' : ''}${parts.join('')}]`;
  }

  /** One class member: a single code unit (for ranges) or a class escape such as \w. */
  private classChar(): { single: true; code: number } | { single: false; text: string } {
    const c = this.src[this.pos]!;
    if (c !== '\\') {
      this.pos++;
      return { single: true, code: c.charCodeAt(0) };
    }
    const e = this.src[this.pos + 1]!;
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, a: 7 };
    if (e in simple) {
      this.pos += 2;
      return { single: true, code: simple[e]! };
    }
    if (e === 'x') {
      const s = this.escape(true);
      return { single: true, code: parseInt(s.slice(2), 16) };
    }
    if ('dDwWsS'.includes(e)) return { single: false, text: this.escape(true) };
    if (/[a-zA-Z0-9]/.test(e)) this.fail(`unknown escape \\${e} in class`);
    this.pos += 2;
    return { single: true, code: e.charCodeAt(0) };
  }

  // Emit a range, adding the other case of any letters in it when folding is expanded by hand.
  private foldRange(lo: number, hi: number): string {
    const out = [rangeText(lo, hi)];
    if (this.flags.i && !this.jsFold) {
      const addOther = (a: number, b: number, delta: number): void => {
        const s = Math.max(lo, a);
        const e = Math.min(hi, b);
        if (s <= e) out.push(rangeText(s + delta, e + delta));
      };
      addOther(65, 90, 32);
      addOther(97, 122, -32);
    }
    return out.join('');
  }
}

function esc(code: number): string {
  return '\\u' + code.toString(16).padStart(4, '0');
}

function rangeText(lo: number, hi: number): string {
  return lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`;
}
