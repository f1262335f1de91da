/**
 * `--summary`: what each file holds, for scoping a breach notification. Per document (a sheet,
 * page or mail part counts toward its file) the number of records with personal data, the count
 * of each kind of finding, and the columns whose headers name personal data; files are ranked by
 * a sensitivity score, so a 47,000-row payroll sheet ranks above a config file with one token.
 */
import type { Finding } from '../engine/finding.js';
import type { LeafNote } from '../engine/assess.js';

/** Weight of one finding of a kind: a person's identity or card, a key that opens everything, … */
function weight(ruleId: string): number {
  switch (ruleId) {
    case 'us-ssn':
    case 'us-itin':
    case 'uk-nino':
    case 'ca-sin':
    case 'credit-card':
      return 10;
    case 'iban':
    case 'us-bank-routing':
    case 'swift-bic':
      return 5;
    case 'email-addresses':
    case 'phone-numbers':
      return 1;
    case 'private-key':
    case 'pkcs12-file':
    case 'java-keystore':
      return 50;
    default:
      return 20;
  }
}

export interface FileSummary {
  file: string;
  score: number;
  /** Distinct rows/lines holding personal data (identifiers found, or rows of a personal-data table). */
  records: number;
  counts: Record<string, number>;
  /** Table columns whose headers name personal data (SSN, Salary, DOB…). */
  columns: string[];
}

/** One entry per file, most sensitive first. */
export function summarise(findings: Finding[], notes: LeafNote[]): FileSummary[] {
  const by = new Map<string, { counts: Map<string, number>; rows: Set<string>; columns: Set<string>; tableRows: number }>();
  const get = (file: string) => {
    let e = by.get(file);
    if (!e) by.set(file, (e = { counts: new Map(), rows: new Set(), columns: new Set(), tableRows: 0 }));
    return e;
  };
  for (const f of findings) {
    const e = get(f.file);
    const n = f.count ?? 1;
    e.counts.set(f.ruleId, (e.counts.get(f.ruleId) ?? 0) + n);
    if (f.confidence && f.count === undefined) {
      const l = f.location;
      e.rows.add(l?.row !== undefined ? `${l.sheet ?? ''}\0${l.row}` : `${l?.page ?? ''}\0${f.startLine}`);
    }
  }
  for (const n of notes) {
    const e = get(n.file);
    for (const c of n.columns) e.columns.add(c);
    e.tableRows += n.rows;
  }
  const out: FileSummary[] = [];
  for (const [file, e] of by) {
    const counts = Object.fromEntries([...e.counts].sort((a, b) => b[1] - a[1]));
    const bulk = Math.max(0, ...['email-addresses', 'phone-numbers'].map((k) => e.counts.get(k) ?? 0));
    const records = Math.max(e.rows.size, e.columns.size ? e.tableRows : 0, bulk);
    let score = [...e.counts].reduce((a, [id, n]) => a + weight(id) * n, 0);
    // A table of people (salary, DOB columns) weighs by its rows even without an identifier column.
    if (e.columns.size) score += e.tableRows * e.columns.size;
    out.push({ file, score, records, counts, columns: [...e.columns] });
  }
  return out.sort((a, b) => b.score - a.score || b.records - a.records || a.file.localeCompare(b.file));
}

/** The summary as a table for people. */
export function renderSummary(rows: FileSummary[]): string {
  if (!rows.length) return 'nothing found\n';
  const n = (x: number): string => x.toLocaleString('en-US');
  const lines = rows.map((r) => [
    n(r.score),
    n(r.records),
    r.file,
    [
      Object.entries(r.counts)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', '),
      r.columns.length ? `columns: ${r.columns.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; '),
  ]);
  const head = ['SENSITIVITY', 'RECORDS', 'FILE', 'HOLDS'];
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]): string =>
    l
      .map((c, i) => (i < 2 ? c.padStart(w[i]!) : i === l.length - 1 ? c : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...lines.map(fmt)].join('\n') + '\n';
}
