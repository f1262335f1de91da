/**
 * Detectors that a regex alone cannot decide: payment cards (Luhn, issuer ranges), IBANs
 * (mod-97, per-country length), national identifiers (SSA, IRS, HMRC and Canadian rules), bank
 * routing numbers and BICs, and contacts counted in bulk. They share the triggers the keyword pass
 * already notes (digit-run starts, and their own keywords), so they add no pass over the bytes.
 * Each declares the strings it must and must not report; the test suite checks them all.
 */
import type { RawFinding } from '../engine/finding.js';
import type { PiiEvidence, PiiKind } from '../engine/confidence.js';

/** Strings a detector must report at the default confidence (truePositives) and must not (falsePositives). */
export interface DetectorExamples {
  truePositives: string[];
  falsePositives: string[];
}

/** What a detector is told about the text it searches. */
export interface FindOptions {
  /**
   * Kinds a column header of this table names (empty outside tables): values of these kinds that
   * need context are kept without it, since the header may give it (see engine/assess.ts).
   */
  named: ReadonlySet<PiiKind>;
  /** Offsets just past each hit of the detector's own keywords, ascending. */
  keywordEnds: number[];
  /** Length of each digit run (capped at 255), index for index with the digit runs; absent for a subset. */
  runLengths?: ArrayLike<number>;
}

export interface ValidatedDetector {
  id: string;
  description: string;
  tags: string[];
  examples: DetectorExamples;
  /** Keywords (lower-case) whose hits the keyword pass hands to `find`; without a hit it is not run. */
  keywords?: string[];
  /** The kind a table header can name (then `find` runs even without a keyword hit). */
  kind?: PiiKind;
  /** Run even without a keyword hit (the keywords only narrow part of the search). */
  keywordsOptional?: boolean;
  /** Reported once per file with a count (e-mail addresses, phone numbers), not per value. */
  bulk?: { min: number };
  /** Findings in `text`, given the offsets where digit runs start. */
  find(text: string, digitRuns: ArrayLike<number>, opts: FindOptions): RawFinding[];
}

/** Is the char at `i` a letter, digit or underscore (a word character)? */
export function isWordAt(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

export function isDigitAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 48 && c <= 57;
}

export function allDigits(text: string, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (!isDigitAt(text, i)) return false;
  return true;
}

/** The context word (matched by `words`) in the `before` chars preceding `at` or just after `end`, or null. */
export function contextWord(text: string, at: number, end: number, words: RegExp, before = 64, after = 16): string | null {
  const s = Math.max(0, at - before);
  const m = words.exec(text.slice(s, at)) ?? words.exec(text.slice(end, Math.min(text.length, end + after)));
  return m ? m[0].trim().toLowerCase() : null;
}

/** Kept for detectors that only need a yes/no. */
export function nearWord(text: string, at: number, end: number, words: RegExp, before = 64, after = 16): boolean {
  return contextWord(text, at, end, words, before, after) !== null;
}

/**
 * Evidence for a value: its form's score and reasons, raised by a context word when there is one
 * (+1, or +2 for a value that needs context to count at all).
 */
export function evidence(kind: PiiKind, score: number, reasons: string[], word: string | null, flags: { needsLift?: boolean; dense?: boolean } = {}): PiiEvidence {
  const e: PiiEvidence = { kind, score, reasons, ...flags };
  if (word) {
    const bonus = flags.needsLift ? 2 : 1;
    e.score += bonus;
    e.reasons = [...reasons, `context word "${word}"`];
    e.needsLift = false;
    e.context = { word, bonus };
  }
  return e;
}

/**
 * Digit-run starts within `before` characters after a keyword hit (or `after` before it): the only
 * places a value that needs its name can be. Both lists ascend, so this is one merge.
 */
export function runsNearKeywords(digitRuns: ArrayLike<number>, keywordEnds: number[], before = 64, after = 16): number[] {
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < digitRuns.length; i++) {
    const r = digitRuns[i]!;
    while (k < keywordEnds.length && keywordEnds[k]! + before < r) k++;
    if (k < keywordEnds.length && keywordEnds[k]! - after - 32 <= r) out.push(r);
  }
  return out;
}

/** A RawFinding for a validated match (no decoding, entropy for information only). */
export function validatedFinding(d: { id: string; description: string; tags: string[] }, text: string, start: number, end: number, pii: PiiEvidence): RawFinding {
  const match = text.slice(start, end);
  return {
    ruleId: d.id,
    description: d.description,
    start,
    end,
    lineStart: start <= 0 ? 0 : text.lastIndexOf('\n', start - 1) + 1,
    match,
    secret: match,
    // Computed for the findings that are reported (engine/assess.ts): most candidates are not.
    entropy: 0,
    tags: d.tags,
    decodeChain: [],
    decodeDepth: 0,
    pii,
  };
}

/** True when the line holding `at` carries the `gitleaks:allow` signature. */
export function lineAllowed(text: string, at: number): boolean {
  const s = text.lastIndexOf('\n', at) + 1;
  let e = text.indexOf('\n', at);
  if (e < 0) e = text.length;
  return text.slice(s, e).includes('gitleaks:allow');
}
