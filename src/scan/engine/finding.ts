/** What a detector reports, before and after it is placed in a file. */
import type { Confidence, PiiEvidence } from './confidence.js';

/** A match inside one chunk of text; offsets are string offsets in that chunk (bytes: latin1). */
export interface RawFinding {
  ruleId: string;
  description: string;
  start: number;
  end: number;
  /** Offset of the start of the line holding `start` (findings on one line are compared). */
  lineStart: number;
  match: string;
  secret: string;
  entropy: number;
  tags: string[];
  /** Encodings undone to find it, outermost first; empty for plain text. */
  decodeChain: string[];
  decodeDepth: number;
  /** For validated detectors (cards, IBAN, national ids, contacts): the evidence so far. */
  pii?: PiiEvidence;
}

/** Where in a table or document a finding sits, beyond file:line:column. */
export interface FindingLocation {
  /** Worksheet name (XLSX, ODS). */
  sheet?: string;
  /** 1-based row of a table (a CSV line, a sheet row). */
  row?: number;
  /** Spreadsheet column letters (A, B, … AA) of a table cell. */
  column?: string;
  /** The header of that column, when the table has one. */
  header?: string;
  /** 1-based page of a PDF. */
  page?: number;
  /** Byte offset in a binary file whose printable strings were scanned. */
  offset?: number;
}

/** A finding placed in a file (or an archive entry), ready for output. */
export interface Finding {
  ruleId: string;
  description: string;
  /** Display path; entries inside archives are joined with `!`. */
  file: string;
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
  match: string;
  secret: string;
  entropy: number;
  tags: string[];
  decodeChain: string[];
  /** Cards, IBANs, national identifiers and bulk contacts: low, medium or high, with the reasons. */
  confidence?: Confidence;
  reasons?: string[];
  /** Table cell, sheet, page or byte offset, where the file is not plain text. */
  location?: FindingLocation;
  /** Bulk findings (e-mail addresses, phone numbers): how many distinct values the file holds. */
  count?: number;
  /** Stable across runs and machines: see fingerprint.ts. */
  fingerprint: string;
}

/** Shannon entropy in bits per character, computed as gitleaks does (over code points). */
export function shannonEntropy(s: string): number {
  if (!s) return 0;
  // Our strings are latin1 views of bytes: count runes of the UTF-8 text, divide by byte length.
  const text = /[\x80-\xff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
  const counts = new Map<number, number>();
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let e = 0;
  for (const n of counts.values()) {
    const f = n / s.length;
    e -= f * Math.log2(f);
  }
  return e;
}
