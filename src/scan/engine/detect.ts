/**
 * The detection engine: for one chunk of bytes, one keyword pass decides which rules can apply,
 * each applicable rule's regex runs only in windows around its keyword hits, and the survivors
 * go through gitleaks' filter stages (secret group, entropy, `gitleaks:allow`, global and rule
 * allowlists, generic-rule de-duplication). Decoding passes then repeat the same on decoded text.
 */
import { KeywordMatcher } from './keywords.js';
import { shannonEntropy, type RawFinding } from './finding.js';
import { findingAllowed } from '../rules/allowlist.js';
import type { RegexRule, RuleSet } from '../rules/model.js';
import { Decoder, adjustToOriginal, decodeTags, decodedLine, segmentsOverlapping, type Segment } from '../decode/codec.js';
import type { ValidatedDetector } from '../detectors/validated.js';
import type { PiiKind } from './confidence.js';

const ALLOW_SIGNATURE = 'gitleaks:allow';
const NO_HITS: number[] = [];
const NO_KINDS: ReadonlySet<PiiKind> = new Set();
// How far before a keyword hit the core of a lazy-prefixed rule may start (the keyword is inside
// the core's first word: `passw(or)?d` for the keyword "password", `(?-i:[Aa]pi)` for "api").
const CORE_SLACK = 32;
const PREFIX_CHAR = new Uint8Array(65536);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-') PREFIX_CHAR[c.charCodeAt(0)] = 1;
// How far a window may be widened to reach a line boundary; past it the window is cut mid-line
// (a minified file is one huge line, and a regex should not run over all of it per hit).
const LINE_REACH = 4096;

export interface DetectOptions {
  maxDecodeDepth: number;
}

/** A compiled detector for a rule set: build once, call `detect` for every chunk. */
export class Detector {
  private readonly matcher: KeywordMatcher;
  /** keyword id → indices of the rules that list it. */
  private readonly rulesOfKeyword: number[][];
  private readonly keywordLength: number[];
  private readonly alwaysRules: number[];
  /** keyword id → indices of the validated detectors that asked for it. */
  private readonly validatedOfKeyword: Map<number, number[]>;
  readonly contentRules: RegexRule[];

  constructor(
    readonly ruleSet: RuleSet,
    readonly validated: ValidatedDetector[],
    readonly options: DetectOptions,
  ) {
    this.contentRules = ruleSet.rules.filter((r) => r.regex !== null);
    const ids = new Map<string, number>();
    this.rulesOfKeyword = [];
    this.alwaysRules = [];
    this.contentRules.forEach((r, ri) => {
      if (!r.keywords.length) this.alwaysRules.push(ri);
      for (const k of r.keywords) {
        let id = ids.get(k);
        if (id === undefined) {
          id = ids.size;
          ids.set(k, id);
          this.rulesOfKeyword.push([]);
        }
        this.rulesOfKeyword[id]!.push(ri);
      }
    });
    // Validated detectors' own keywords ("swift", "@") share the automaton; their hits go to them.
    this.validatedOfKeyword = new Map();
    validated.forEach((v, vi) => {
      for (const k of v.keywords ?? []) {
        let id = ids.get(k);
        if (id === undefined) {
          id = ids.size;
          ids.set(k, id);
          this.rulesOfKeyword.push([]);
        }
        let list = this.validatedOfKeyword.get(id);
        if (!list) this.validatedOfKeyword.set(id, (list = []));
        list.push(vi);
      }
    });
    this.matcher = new KeywordMatcher([...ids.keys()]);
    this.keywordLength = [...ids.keys()].map((k) => Buffer.byteLength(k));
  }

  /**
   * Findings in one chunk. `path` is the display path (for path-scoped rules and allowlists);
   * offsets in the results are positions in `text` (= buf as latin1).
   */
  detect(buf: Buffer, path: string, opts: { named?: ReadonlySet<PiiKind>; rules?: boolean } = {}): RawFinding[] {
    const hits = this.matcher.scan(buf);
    // `rules: false`: gitleaks' global path allowlist skips this file for credential rules, but
    // personal data is looked for everywhere.
    const useRules = opts.rules !== false;
    const applicable = useRules ? this.applicableRules(hits.keywordHits, path) : new Map<number, number[]>();
    const decodeCandidates = useRules && this.options.maxDecodeDepth > 0 && mayHoldEncoded(buf);
    const validatedEnds = this.validatedKeywordEnds(hits.keywordHits);
    if (!applicable.size && !hits.digitRuns.length && !decodeCandidates && !validatedEnds) return [];
    const text = buf.toString('latin1');
    const findings: RawFinding[] = [];
    for (const [ri, ends] of applicable) this.runRule(this.contentRules[ri]!, text, text, ends, [], path, findings);
    const named = opts.named ?? NO_KINDS;
    this.validated.forEach((v, vi) => {
      const keywordEnds = validatedEnds?.get(vi) ?? NO_HITS;
      // A detector with keywords runs only where they occur, unless a table header names its kind.
      if (v.keywords && !v.keywordsOptional && !keywordEnds.length && !(v.kind !== undefined && named.has(v.kind))) return;
      findings.push(...v.find(text, hits.digitRuns, { named, keywordEnds, runLengths: hits.runLengths }));
    });
    if (decodeCandidates) this.decodePasses(text, path, findings);
    return dedupeGeneric(findings);
  }

  /** Hit ends of validated detectors' keywords, per detector index; null when there are none. */
  private validatedKeywordEnds(keywordHits: Int32Array): Map<number, number[]> | null {
    if (!this.validatedOfKeyword.size) return null;
    let out: Map<number, number[]> | null = null;
    for (let i = 0; i < keywordHits.length; i += 2) {
      const vs = this.validatedOfKeyword.get(keywordHits[i]!);
      if (!vs) continue;
      out ??= new Map();
      for (const vi of vs) {
        let list = out.get(vi);
        if (!list) out.set(vi, (list = []));
        list.push(keywordHits[i + 1]!);
      }
    }
    return out;
  }

  private applicableRules(keywordHits: Int32Array, path: string): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (let i = 0; i < keywordHits.length; i += 2) {
      const kw = keywordHits[i]!;
      const start = keywordHits[i + 1]! - this.keywordLength[kw]!;
      for (const ri of this.rulesOfKeyword[kw]!) {
        let list = out.get(ri);
        if (!list) out.set(ri, (list = []));
        list.push(start);
      }
    }
    for (const ri of this.alwaysRules) out.set(ri, []);
    for (const ri of [...out.keys()]) {
      const r = this.contentRules[ri]!;
      if (r.path && !r.path.test(path)) out.delete(ri);
    }
    return out;
  }

  private decodePasses(raw: string, path: string, findings: RawFinding[]): void {
    const decoder = new Decoder();
    let current = raw;
    let segments: Segment[] = [];
    for (let depth = 1; depth <= this.options.maxDecodeDepth; depth++) {
      const next = decoder.decode(current, segments);
      if (!next.segments.length) return;
      current = next.text;
      segments = next.segments;
      const buf = Buffer.from(current, 'latin1');
      const hits = this.matcher.scan(buf);
      // Only keyword hits near a decoded run can lead to a new finding (a match must touch
      // decoded text); the rest of the pass is the raw text again, already scanned.
      const near = nearSegments(segments, hits.keywordHits);
      for (const [ri, starts] of this.applicableRules(near, path)) {
        this.runRule(this.contentRules[ri]!, raw, current, starts, segments, path, findings);
      }
    }
  }

  /**
   * Run one rule over `current` (the raw chunk, or a decoded pass of it). `hitStarts` limits the
   * regex to windows around keyword hits; null (decoded passes, keyword-less rules) scans it all.
   */
  private runRule(rule: RegexRule, raw: string, current: string, hitStarts: number[] | null, segments: Segment[], path: string, out: RawFinding[]): void {
    if (rule.lazyPrefix && hitStarts && hitStarts.length) {
      this.runPrefixed(rule, raw, current, hitStarts, segments, path, out);
      return;
    }
    const windows = hitStarts && hitStarts.length ? windowsAround(current, hitStarts, rule.maxSpan) : [[0, current.length] as const];
    const re = rule.regex!;
    for (const [ws, we] of windows) {
      const slice = ws === 0 && we === current.length ? current : current.slice(ws, we);
      re.lastIndex = 0;
      for (let m = re.exec(slice); m; m = re.exec(slice)) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        this.consider(rule, raw, current, ws + m.index, m[0], segments, path, out);
      }
    }
  }

  /**
   * The lazy-prefix fast path. For each keyword hit, find the first match of the core starting at
   * most CORE_SLACK before it (the keyword sits at or just inside the core's opening word); the match
   * then starts where the run of prefix characters before the core starts (at most `max` back,
   * never before the previous match). This is the match the whole regex finds: its leftmost start
   * is the one that reaches the first core match, and lazy matching takes that core.
   */
  private runPrefixed(rule: RegexRule, raw: string, current: string, hitStarts: number[], segments: Segment[], path: string, out: RawFinding[]): void {
    const { max, core } = rule.lazyPrefix!;
    const hits = hitStarts.length > 1 ? [...hitStarts].sort((a, b) => a - b) : hitStarts;
    let lastEnd = 0;
    let searchedTo = -1;
    for (const h of hits) {
      const from = Math.max(lastEnd, h - CORE_SLACK, searchedTo + 1);
      // The core must start within [from, h]: try each position with the sticky core, which
      // fails on its first character almost everywhere.
      let m: RegExpExecArray | null = null;
      let c = from;
      for (; c <= h; c++) {
        core.lastIndex = c;
        m = core.exec(current);
        if (m) break;
      }
      if (!m) {
        searchedTo = h;
        continue;
      }
      const coreEnd = c + m[0].length;
      let p = c;
      while (p > lastEnd && c - p < max && PREFIX_CHAR[current.charCodeAt(p - 1)] === 1) p--;
      this.consider(rule, raw, current, p, current.slice(p, coreEnd), segments, path, out);
      lastEnd = coreEnd;
      searchedTo = coreEnd - 1;
    }
  }

  private consider(rule: RegexRule, raw: string, current: string, start: number, matched: string, segments: Segment[], path: string, out: RawFinding[]): void {
    const match = trimNewlines(matched);
    let s = start;
    let e = start + match.length;
    let chain: string[] = [];
    let depth = 0;
    let currentLine: string | null = null;
    if (segments.length) {
      const segs = segmentsOverlapping(segments, start, start + matched.length);
      // A match that does not touch decoded text was already reported by an earlier pass.
      if (!segs.length) return;
      const r = adjustToOriginal(segs, start, start + matched.length);
      s = r.start;
      e = r.end;
      const t = decodeTags(segs);
      chain = t.chain;
      depth = t.depth;
      currentLine = decodedLine(segs, current);
    }
    const ls = s <= 0 ? 0 : raw.lastIndexOf('\n', s - 1) + 1;
    let le = raw.indexOf('\n', Math.max(e - 1, s));
    if (le < 0) le = raw.length;
    const line = raw.slice(ls, Math.max(le, e));
    if (line.includes(ALLOW_SIGNATURE)) return;
    let secret = match;
    const groups = rule.groupRegex!.exec(match);
    if (groups && groups.length >= 2) {
      if (rule.secretGroup > 0) {
        if (groups.length <= rule.secretGroup) return;
        secret = groups[rule.secretGroup] ?? '';
      } else {
        const g = groups.slice(1).find((x) => x !== undefined && x.length > 0);
        if (g !== undefined) secret = g;
      }
    }
    const entropy = shannonEntropy(secret);
    if (rule.entropy !== 0 && entropy <= rule.entropy) return;
    const candidate = { secret, match, line: currentLine ?? line };
    if (findingAllowed(candidate, path, this.ruleSet.allowlists)) return;
    if (findingAllowed(candidate, path, rule.allowlists)) return;
    out.push({
      ruleId: rule.id,
      description: rule.description,
      start: s,
      end: e,
      lineStart: ls,
      match,
      secret,
      entropy,
      tags: depth ? [...rule.tags, ...chain.map((c) => `decoded:${c}`), `decode-depth:${depth}`] : rule.tags,
      decodeChain: chain,
      decodeDepth: depth,
    });
  }
}

// gitleaks trims newlines from both ends of a match (keeping its start offset).
function trimNewlines(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 10) a++;
  while (b > a && s.charCodeAt(b - 1) === 10) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Merged windows [start, end) around hits, each reaching `span` before and after the keyword and
 * widened to whole lines (within LINE_REACH) so that `\b`, `^` and look-arounds see real context.
 */
function windowsAround(text: string, starts: number[], span: number): (readonly [number, number])[] {
  const sorted = starts.length > 1 ? [...starts].sort((a, b) => a - b) : starts;
  const out: [number, number][] = [];
  for (const h of sorted) {
    let ws = Math.max(0, h - span);
    let we = Math.min(text.length, h + span);
    const nl = ws <= 0 ? -1 : text.lastIndexOf('\n', ws - 1);
    if (nl >= 0 && ws - nl <= LINE_REACH) ws = nl + 1;
    else if (nl < 0 && ws <= LINE_REACH) ws = 0;
    const nr = text.indexOf('\n', we);
    if (nr >= 0 && nr - we <= LINE_REACH) we = nr;
    else if (nr < 0 && text.length - we <= LINE_REACH) we = text.length;
    const last = out[out.length - 1];
    if (last && ws <= last[1]) last[1] = Math.max(last[1], we);
    else out.push([ws, we]);
  }
  return out;
}

const MAYBE_ENCODED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') MAYBE_ENCODED[c.charCodeAt(0)] = 1;

/** Cheap byte test: could any base64/hex run (16+ chars), percent or Unicode escape be here? */
function mayHoldEncoded(buf: Buffer): boolean {
  if (buf.indexOf(37) >= 0 || buf.indexOf('\\u') >= 0 || buf.indexOf('U+') >= 0) return true; // %XX, \uXXXX, U+XXXX
  let run = 0;
  for (let i = 0; i < buf.length; i++) {
    if (MAYBE_ENCODED[buf[i]!]) {
      if (++run >= 16) return true;
    } else run = 0;
  }
  return false;
}

// Hits within this distance of a decoded run are kept: the longest a rule's match can reach
// from its keyword (UNBOUNDED_SPAN caps it at 64 KiB).
const NEAR_SEGMENT = 64 * 1024;

/** The [keywordId, end] pairs of `hits` whose offset lies within NEAR_SEGMENT of a decoded run. */
function nearSegments(segments: Segment[], hits: Int32Array): Int32Array {
  const out: number[] = [];
  let si = 0;
  for (let i = 0; i < hits.length; i += 2) {
    const at = hits[i + 1]!;
    // Segments are in text order and hits ascend, so one forward walk finds the neighbours.
    while (si < segments.length && segments[si]!.decoded.end + NEAR_SEGMENT < at) si++;
    if (si < segments.length && segments[si]!.decoded.start - NEAR_SEGMENT <= at) out.push(hits[i]!, at);
  }
  return Int32Array.from(out);
}

/** gitleaks drops a generic-rule finding when a specific rule found the same secret on that line. */
function dedupeGeneric(findings: RawFinding[]): RawFinding[] {
  if (findings.length < 2) return findings;
  return findings.filter((f) => {
    if (!f.ruleId.toLowerCase().includes('generic')) return true;
    return !findings.some((g) => g.lineStart === f.lineStart && g.ruleId !== f.ruleId && !g.ruleId.toLowerCase().includes('generic') && g.secret.includes(f.secret));
  });
}
