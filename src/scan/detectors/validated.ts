/**
 * Detectors that a regex alone cannot decide: payment cards (Luhn, issuer ranges), IBANs
 * (mod-97, per-country length) and US SSNs (area/group/serial rules). They share one trigger,
 * the digit-run starts noted by the keyword pass, so they add no pass over the bytes.
 * Each declares the strings it must and must not report; the test suite checks them all.
 */
import type { RawFinding } from '../engine/finding.js';
import { shannonEntropy } from '../engine/finding.js';

/** Strings a detector must report (truePositives) and must not (falsePositives). */
export interface DetectorExamples {
  truePositives: string[];
  falsePositives: string[];
}

export interface ValidatedDetector {
  id: string;
  description: string;
  tags: string[];
  examples: DetectorExamples;
  /** Findings in `text`, given the offsets where digit runs start. */
  find(text: string, digitRuns: ArrayLike<number>): RawFinding[];
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

/** Does any of `words` occur (case-insensitively) in the `before` chars preceding `at` or just after `end`? */
export function nearWord(text: string, at: number, end: number, words: RegExp, before = 64, after = 16): boolean {
  const s = Math.max(0, at - before);
  return words.test(text.slice(s, at)) || words.test(text.slice(end, Math.min(text.length, end + after)));
}

/** A RawFinding for a validated match (no decoding, entropy for information only). */
export function validatedFinding(d: { id: string; description: string; tags: string[] }, text: string, start: number, end: number, confidence: 'high' | 'medium'): RawFinding {
  const match = text.slice(start, end);
  return {
    ruleId: d.id,
    description: d.description,
    start,
    end,
    lineStart: start <= 0 ? 0 : text.lastIndexOf('\n', start - 1) + 1,
    match,
    secret: match,
    entropy: shannonEntropy(match),
    tags: [...d.tags, `confidence:${confidence}`],
    decodeChain: [],
    decodeDepth: 0,
    confidence,
  };
}

/** True when the line holding `at` carries the `gitleaks:allow` signature. */
export function lineAllowed(text: string, at: number): boolean {
  const s = text.lastIndexOf('\n', at) + 1;
  let e = text.indexOf('\n', at);
  if (e < 0) e = text.length;
  return text.slice(s, e).includes('gitleaks:allow');
}
