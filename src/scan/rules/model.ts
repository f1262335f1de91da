/**
 * The compiled rule model every detector shares. A rule set is data: gitleaks-compatible regex
 * rules (loaded from TOML) plus validated detectors written in TypeScript (cards, IBAN, SSN,
 * binary keystores). Everything here is built once at load; scanning never compiles a regex.
 */

/** What an allowlist regex is tested against (gitleaks' `regexTarget`). */
export type RegexTarget = 'secret' | 'match' | 'line';

/** One allowlist: with OR any one check allows a finding; with AND all configured checks must. */
export interface Allowlist {
  description?: string;
  condition: 'OR' | 'AND';
  regexTarget: RegexTarget;
  regexes: RegExp[];
  /** Lower-cased; a secret containing one is allowed. */
  stopwords: string[];
  paths: RegExp[];
  commits: string[];
}

/** A regex rule in gitleaks' sense. */
export interface RegexRule {
  id: string;
  description: string;
  /** Global ('g') regex; null for a path-only rule. */
  regex: RegExp | null;
  /** The same pattern without 'g', to re-extract groups from a match as gitleaks does. */
  groupRegex: RegExp | null;
  secretGroup: number;
  /** 0 = no entropy threshold; otherwise a finding needs entropy strictly above it. */
  entropy: number;
  /** Lower-cased keywords; empty = the rule runs on every fragment. */
  keywords: string[];
  path: RegExp | null;
  allowlists: Allowlist[];
  tags: string[];
  /**
   * Set when the pattern opens with a lazy identifier prefix `[\w.-]{0,N}?` (gitleaks' template
   * for ~100 rules): `core` is the rest of the pattern, found near keyword hits, and the prefix is
   * then extended backwards. Same matches, without trying N prefix lengths at every position.
   */
  lazyPrefix?: { max: number; core: RegExp };
  /** Longest text a match can span, from the pattern (capped); bounds the window around a keyword hit. */
  maxSpan: number;
}

/** A rule set and the global allowlists that apply to every rule. */
export interface RuleSet {
  rules: RegexRule[];
  allowlists: Allowlist[];
}

/** A configuration problem that skips one rule but not the others. */
export interface RuleLoadError {
  ruleId: string;
  message: string;
}
