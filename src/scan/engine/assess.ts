/**
 * The file-level half of confidence: a detector sees a value and the words next to it; only the
 * whole file knows the column header above it, whether most values of its column (or of the
 * file) are valid identifiers, whether the file is source code, test data or a numeric table, and
 * how many distinct e-mail addresses it holds. One assessor per leaf collects the identifier
 * findings, then settles their levels when the leaf ends. Credentials bypass it.
 */
import { shannonEntropy, type Finding } from './finding.js';
import { headerKinds, isNumericTable, levelOf, levelRank, placeReasons, type Confidence, type PiiEvidence, type PiiKind } from './confidence.js';
import { cellIndexAt, columnLetters, looksLikeHeader, splitCells } from '../sources/tables.js';
import type { LeafInfo } from '../sources/types.js';
import { LIMITS } from '../../core/limits.js';

/** Findings of one kind in a column (or the whole file when -1) that count toward density. */
const DENSE_MIN = 5;
const DENSE_SHARE = 0.5;
/** Distinct contacts that make a list when a column header names them (otherwise the detector's `bulk.min`). */
const BULK_MIN_NAMED = 10;

interface Pending {
  f: Finding;
  pii: PiiEvidence;
  line: number;
  cell: number;
}

interface Bulk {
  values: Set<string>;
  count: number;
  first: Finding;
  pii: PiiEvidence;
  cell: number;
  min: number;
}

/** What a table leaf tells the summary: rows and the columns whose headers name personal data. */
export interface LeafNote {
  file: string;
  rows: number;
  columns: string[];
}

export class LeafAssessor {
  private readonly pending: Pending[] = [];
  private readonly bulk = new Map<string, Bulk>();
  private header: string[] | null = null;
  /** The line the header is on: the first that is not empty (extracted text may open with blank lines). */
  private headerLine = 0;
  private readonly headerKindsOf: (PiiKind | 'personal')[][] = [];
  private numeric: boolean | null = null;
  /** Kinds some column header names: their values that need context are kept for the header to lift. */
  readonly named = new Set<PiiKind>();

  constructor(
    private readonly path: string,
    private readonly relative: string,
    private readonly info: LeafInfo | undefined,
    private readonly head: Buffer,
    private readonly minConfidence: Confidence,
    private readonly binary: boolean,
  ) {
    const t = info?.table;
    if (t) {
      let start = 0;
      while (start < head.length && (head[start] === 10 || head[start] === 13)) {
        if (head[start] === 10) this.headerLine++;
        start++;
      }
      const nl = head.indexOf(10, start);
      const firstLine = head.toString('utf8', start, nl < 0 ? Math.min(head.length, start + 65536) : Math.min(nl, start + 65536));
      const cells = splitCells(firstLine, t.delimiter);
      if (looksLikeHeader(cells)) {
        this.header = cells.map((c) => c.trim());
        for (const c of this.header) this.headerKindsOf.push(headerKinds(c));
        for (const ks of this.headerKindsOf) for (const k of ks) if (k !== 'personal') this.named.add(k);
      }
    }
  }

  /** Take one identifier finding; `lineText` is its line, `lineIndex` its 0-based line in the leaf. */
  add(f: Finding, pii: PiiEvidence, lineIndex: number, lineText: string, offsetInLine: number, bulkMin?: number): void {
    const t = this.info?.table;
    const cell = t ? cellIndexAt(lineText, offsetInLine, t.delimiter) : -1;
    if (t && this.header && lineIndex === this.headerLine) return; // a header cell is not a value
    // In a table a word counts only inside the value's own cell: the header line or the cell next
    // to it ("order" beside "SSN") is not this value's context.
    if (t && pii.context && cell >= 0) {
      const own = (splitCells(lineText, t.delimiter)[cell] ?? '').toLowerCase();
      if (!own.includes(pii.context.word)) {
        pii = { ...pii, score: pii.score - pii.context.bonus, reasons: pii.reasons.filter((x) => x !== `context word "${pii.context!.word}"`), needsLift: pii.context.bonus === 2 };
        delete pii.context;
      }
    }
    if (bulkMin !== undefined) {
      let b = this.bulk.get(f.ruleId);
      if (!b) this.bulk.set(f.ruleId, (b = { values: new Set(), count: 0, first: f, pii, cell, min: bulkMin }));
      if (b.values.size < LIMITS.bulkMaxDistinct) b.values.add(f.secret.toLowerCase());
      b.count = Math.max(b.count, b.values.size);
      return;
    }
    // A log full of Luhn-valid ids is counted, not listed: weak candidates past the cap are dropped.
    if (this.pending.length >= LIMITS.scanMaxLowFindingsPerFile * 10 && pii.score <= 1) return;
    this.pending.push({ f, pii, line: lineIndex, cell });
  }

  /** The table cell of a credential found in a table leaf (identifiers get theirs when settled). */
  locate(f: Finding, lineIndex: number, lineText: string, offsetInLine: number): void {
    const t = this.info?.table;
    if (!t) return;
    const cell = cellIndexAt(lineText, offsetInLine, t.delimiter);
    const header = this.header?.[cell];
    f.location = { ...(t.sheet !== undefined ? { sheet: t.sheet } : {}), row: t.rows?.[lineIndex] ?? lineIndex + 1, column: columnLetters(cell), ...(header ? { header } : {}) };
  }

  /** Settle levels once the leaf has ended (`lines` = its number of lines) and return what to report. */
  finish(lines: number): { findings: Finding[]; note: LeafNote | null } {
    const t = this.info?.table;
    const dataRows = Math.max(1, lines - this.headerLine - (this.header ? 1 : 0));
    // Density per kind and column (or the whole file): most rows hold a strong valid value.
    // Under a header that names the kind, every valid value counts (bare digits included).
    const dense = new Map<string, number>();
    for (const p of this.pending) {
      if (p.pii.dense || this.names(p.cell, p.pii.kind)) dense.set(`${p.pii.kind}\0${p.cell}`, (dense.get(`${p.pii.kind}\0${p.cell}`) ?? 0) + 1);
    }
    const place = placeReasons(this.relative);
    if (this.binary) place.push('strings of a binary file');
    const out: Finding[] = [];
    let lows = 0;
    const settle = (f: Finding, pii: PiiEvidence, cell: number, line: number, extra: string[] = []): void => {
      let score = pii.score;
      const reasons = [...pii.reasons, ...extra];
      let lifted = !pii.needsLift;
      const header = cell >= 0 && this.header ? this.header[cell] : undefined;
      const named = cell >= 0 ? this.headerKindsOf[cell] : undefined;
      if (header !== undefined && named?.includes(pii.kind)) {
        score += 2;
        reasons.push(`column header "${header}"`);
        lifted = true;
      }
      if (!lifted) return;
      const n = dense.get(`${pii.kind}\0${cell}`) ?? 0;
      const isDense = (pii.dense === true || named?.includes(pii.kind) === true) && n >= DENSE_MIN && n / dataRows >= DENSE_SHARE;
      if (isDense) {
        score = Math.max(score, 3);
        reasons.push(`${n} of ${dataRows} ${cell >= 0 ? 'rows of the column' : 'lines of the file'} hold one`);
      }
      // Lookalikes live in source code, test data and the strings of binaries: there a value is
      // low whatever else it has. A numeric table lowers it unless a header or density names it.
      const where = place.map((r) => `in ${r}`);
      // Contact lists are columns of numbers by nature: only identifiers are judged by it.
      if (!isDense && !named?.includes(pii.kind) && !t && pii.kind !== 'phone' && pii.kind !== 'email' && this.isNumeric()) where.push('in a numeric table');
      if (where.length) {
        score = 1;
        reasons.push(...where);
      }
      if (score < 1) return;
      const level = levelOf(score);
      if (levelRank(level) < levelRank(this.minConfidence)) return;
      if (level === 'low' && ++lows > LIMITS.scanMaxLowFindingsPerFile) return;
      f.entropy = shannonEntropy(f.secret);
      f.confidence = level;
      f.reasons = reasons;
      f.tags = [...f.tags, `confidence:${level}`];
      if (t) {
        const row = t.rows?.[line] ?? line + 1;
        f.location = { ...(f.location ?? {}), ...(t.sheet !== undefined ? { sheet: t.sheet } : {}), row, column: columnLetters(cell), ...(header ? { header } : {}) };
      }
      out.push(f);
    };
    for (const p of this.pending) settle(p.f, p.pii, p.cell, p.line);
    for (const b of this.bulk.values()) {
      // A column whose header names the kind (E-mail, Phone) is a list of people at any length past a few.
      const min = this.names(b.cell, b.pii.kind) ? Math.min(b.min, BULK_MIN_NAMED) : b.min;
      if (b.count < min) continue;
      b.first.count = b.count;
      b.first.description = `${b.first.description}: ${b.count} distinct in this file`;
      settle(b.first, b.pii, b.cell, 0, [`${b.count} distinct values in the file (reported from ${min})`]);
    }
    let note: LeafNote | null = null;
    if (t && this.header) {
      const columns = this.header.filter((_, i) => this.headerKindsOf[i]!.length > 0);
      if (columns.length) note = { file: this.path, rows: dataRows, columns };
    }
    return { findings: out, note };
  }

  private names(cell: number, kind: PiiKind): boolean {
    return cell >= 0 && this.header !== null && this.headerKindsOf[cell]?.includes(kind) === true;
  }

  private isNumeric(): boolean {
    this.numeric ??= isNumericTable(this.head.toString('latin1', 0, 8192));
    return this.numeric;
  }
}
