/** Report formats: table (people), json/jsonl (tools), csv (spreadsheets), sarif (code scanning). */
import type { Finding } from '../engine/finding.js';
import type { Issue } from '../sources/types.js';

export const FORMATS = ['table', 'json', 'jsonl', 'csv', 'sarif'] as const;
export type ReportFormat = (typeof FORMATS)[number];

/** The JSON shape of one finding (also one JSONL line). */
function toJson(f: Finding): Record<string, unknown> {
  return {
    ruleId: f.ruleId,
    description: f.description,
    file: f.file,
    startLine: f.startLine,
    startColumn: f.startColumn,
    endLine: f.endLine,
    endColumn: f.endColumn,
    match: f.match,
    secret: f.secret,
    entropy: Number(f.entropy.toFixed(4)),
    decodeChain: f.decodeChain,
    ...(f.confidence ? { confidence: f.confidence, reasons: f.reasons ?? [] } : {}),
    ...(f.location ? { location: f.location } : {}),
    ...(f.count !== undefined ? { count: f.count } : {}),
    tags: f.tags,
    fingerprint: f.fingerprint,
  };
}

/** Render a whole report. Issues go in the table and SARIF; JSON forms carry findings only. */
export function render(format: ReportFormat, findings: Finding[], issues: Issue[]): string {
  switch (format) {
    case 'json':
      return JSON.stringify(findings.map(toJson), null, 1) + '\n';
    case 'jsonl':
      return findings.map((f) => JSON.stringify(toJson(f)) + '\n').join('');
    case 'csv':
      return csv(findings);
    case 'sarif':
      return JSON.stringify(sarif(findings, issues), null, 1) + '\n';
    case 'table':
      return table(findings, issues);
  }
}

const CSV_COLUMNS = [
  'ruleId',
  'file',
  'startLine',
  'startColumn',
  'endLine',
  'endColumn',
  'match',
  'secret',
  'entropy',
  'decodeChain',
  'confidence',
  'reasons',
  'sheet',
  'row',
  'column',
  'header',
  'page',
  'offset',
  'count',
  'fingerprint',
  'tags',
] as const;

function csvCell(v: unknown): string {
  const s = Array.isArray(v)
    ? v.map((x) => String(x as string | number)).join(' ')
    : v == null
      ? ''
      : typeof v === 'string'
        ? v
        : typeof v === 'object'
          ? JSON.stringify(v)
          : typeof v === 'number' || typeof v === 'boolean'
            ? String(v)
            : '';
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(findings: Finding[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const f of findings) {
    const j: Record<string, unknown> = { ...toJson(f), ...(f.location ?? {}), reasons: (f.reasons ?? []).join('; ') };
    rows.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  return rows.join('\n') + '\n';
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The place of a finding for people: a sheet cell, a page, a byte offset, or line:column. */
export function where(f: Finding): string {
  const l = f.location;
  if (l?.row !== undefined) return ` ${l.sheet !== undefined ? `${l.sheet}!` : ''}${l.column ?? ''}${l.row}${l.header ? ` (${l.header})` : ''}`;
  if (l?.page !== undefined) return ` page ${l.page}:${f.startLine}:${f.startColumn}`;
  if (l?.offset !== undefined) return ` @${l.offset}`;
  return `:${f.startLine}:${f.startColumn}`;
}

function table(findings: Finding[], issues: Issue[]): string {
  const rows = findings.map((f) => [
    f.ruleId,
    `${f.file}${where(f)}`,
    oneLine(f.count !== undefined ? `${f.count} × ${f.secret}…` : f.secret || f.match, 48),
    f.entropy.toFixed(2),
    [f.decodeChain.join('>'), f.confidence ? `${f.confidence}: ${(f.reasons ?? []).join(', ')}` : ''].filter(Boolean).join(' '),
  ]);
  const head = ['RULE', 'LOCATION', 'SECRET', 'ENTROPY', 'DECODED/CONFIDENCE'];
  const widths = head.map((h, i) => Math.min(90, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  widths[widths.length - 1] = 0; // the last column is not padded
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  let out = '';
  if (rows.length) out += [fmt(head), ...rows.map(fmt)].join('\n') + '\n';
  return out + footer(findings.length, issues, rows.length > 0);
}

/** The table's closing part: issues, then the counts. */
export function footer(findings: number, issues: Issue[], afterRows = true): string {
  let out = '';
  if (issues.length) {
    out += `${afterRows ? '\n' : ''}ISSUES (inputs not fully scanned)\n`;
    for (const i of issues) out += `  ${i.kind.padEnd(16)} ${i.path}: ${i.message}\n`;
  }
  out += `\n${findings} finding(s), ${issues.length} issue(s)\n`;
  return out;
}

function sarif(findings: Finding[], issues: Issue[]): unknown {
  const rules = [...new Map(findings.map((f) => [f.ruleId, f.description])).entries()].map(([id, d]) => ({ id, shortDescription: { text: d } }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'firebreak', semanticVersion: '0.1.0', rules } },
        results: findings.map((f) => ({
          ruleId: f.ruleId,
          level: f.confidence === 'low' ? 'note' : f.confidence === 'medium' ? 'warning' : 'error',
          message: { text: `${f.ruleId} has detected a secret in ${f.file}${f.decodeChain.length ? ` (decoded: ${f.decodeChain.join(', ')})` : ''}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file },
                region: {
                  startLine: Math.max(1, f.startLine),
                  startColumn: Math.max(1, f.startColumn),
                  endLine: Math.max(1, f.endLine),
                  endColumn: Math.max(1, f.endColumn) + 1,
                  snippet: { text: f.secret },
                },
              },
            },
          ],
          partialFingerprints: { 'firebreak/v1': f.fingerprint },
          ...(f.confidence ? { rank: f.confidence === 'high' ? 90 : f.confidence === 'medium' ? 60 : 30 } : {}),
          properties: {
            tags: f.tags,
            entropy: f.entropy,
            decodeChain: f.decodeChain,
            ...(f.confidence ? { confidence: f.confidence, reasons: f.reasons ?? [] } : {}),
            ...(f.location ? { location: f.location } : {}),
            ...(f.count !== undefined ? { count: f.count } : {}),
          },
        })),
        invocations: [
          {
            executionSuccessful: issues.length === 0,
            toolExecutionNotifications: issues.map((i) => ({
              level: 'warning',
              descriptor: { id: i.kind },
              message: { text: i.message },
              locations: [{ physicalLocation: { artifactLocation: { uri: i.path } } }],
            })),
          },
        ],
      },
    ],
  };
}
