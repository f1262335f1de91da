/** Shared shapes of the walk: issues, the sink that receives leaves, the per-input context. */
import type { Format } from './sniff.js';
import { CapExceededError } from '../../core/capped.js';
import { ScanIssueError, type Budget, type IssueKind, type ScanLimits } from './limits.js';

/** A problem with one input or entry, reported and skipped. */
export interface Issue {
  path: string;
  kind: IssueKind;
  message: string;
}

/** What the walk knows about a leaf beyond its bytes: text made from a document, a table, a page. */
export interface LeafInfo {
  /** Text extracted from a document, sheet or mail (not the file's own bytes). */
  derived?: boolean;
  /** The text is a table: one row a line, cells split by `delimiter` (quotes as in CSV). */
  table?: TableInfo;
  /** 1-based PDF page the text comes from. */
  page?: number;
}

export interface TableInfo {
  delimiter: string;
  /** Worksheet name (XLSX, ODS). */
  sheet?: string;
  /** Sheet row of each line (filled while the sheet streams); absent: row = line. */
  rows?: number[];
}

/** Where the walk sends leaves (files to scan as text or recognise as binary) and issues. */
export interface WalkSink {
  leaf(path: string, format: Format, head: Buffer, src: AsyncIterable<Buffer>, info?: LeafInfo): Promise<void>;
  issue(issue: Issue): void;
}

/** State shared by everything nested under one top-level input. */
export interface WalkContext {
  limits: ScanLimits;
  budget: Budget;
  sink: WalkSink;
  /** Scan one archive entry; its failure becomes an issue and does not stop its siblings. */
  enter(path: string, src: AsyncIterable<Buffer>, depth: number, info?: LeafInfo): Promise<void>;
}

/** Classify an error from reading an input as an Issue. */
export function toIssue(path: string, err: unknown): Issue {
  if (err instanceof ScanIssueError) return { path: err.path, kind: err.kind, message: err.message };
  if (err instanceof CapExceededError) {
    // The message names the path already; the issue line shows it separately.
    const message = err.message.startsWith(`${err.path}: `) ? err.message.slice(err.path.length + 2) : err.message;
    return { path: err.path, kind: err.kind === 'ratio' ? 'zip-bomb' : 'too-large', message };
  }
  const msg = (err as Error)?.message ?? String(err);
  // yauzl's check that an entry inflates to no more than its header declared: a lying header.
  if (/too many bytes in the stream/.test(msg)) {
    return { path, kind: 'zip-bomb', message: `entry inflates past the size its header declares (${msg}); looks like a zip bomb, not followed` };
  }
  const truncated = /unexpected end|end of (?:file|data|stream)|truncat|premature|ended early|too short|incomplete|unexpected eof/i.test(msg);
  return { path, kind: truncated ? 'truncated' : 'corrupt', message: msg };
}

/** Names that would escape an extraction directory: reported, since attackers use them. */
export function isTraversal(name: string): boolean {
  return /^(?:[/\\]|[A-Za-z]:)/.test(name) || name.split(/[/\\]/).includes('..');
}
