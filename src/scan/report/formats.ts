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
    ...(f.confidence ? { confidence: f.confidence } : {}),
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

const CSV_COLUMNS = ['ruleId', 'file', 'startLine', 'startColumn', 'endLine', 'endColumn', 'match', 'secret', 'entropy', 'decodeChain', 'confidence', 'fingerprint', 'tags'] as const;

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
    const j = toJson(f);
    rows.push(CSV_COLUMNS.map((c) => csvCell(j[c])).join(','));
  }
  return rows.join('\n') + '\n';
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function table(findings: Finding[], issues: Issue[]): string {
  const rows = findings.map((f) => [
    f.ruleId,
    `${f.file}:${f.startLine}:${f.startColumn}`,
    oneLine(f.secret || f.match, 48),
    f.entropy.toFixed(2),
    [f.decodeChain.join('>'), f.confidence ?? ''].filter(Boolean).join(' '),
  ]);
  const head = ['RULE', 'LOCATION', 'SECRET', 'ENTROPY', 'DECODED/CONFIDENCE'];
  const widths = head.map((h, i) => Math.min(90, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  let out = '';
  if (rows.length) out += [fmt(head), ...rows.map(fmt)].join('\n') + '\n';
  if (issues.length) {
    out += `${rows.length ? '\n' : ''}ISSUES (inputs not fully scanned)\n`;
    for (const i of issues) out += `  ${i.kind.padEnd(16)} ${i.path}: ${i.message}\n`;
  }
  out += `\n${findings.length} finding(s), ${issues.length} issue(s)\n`;
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
          level: 'error',
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
          properties: { tags: f.tags, entropy: f.entropy, decodeChain: f.decodeChain },
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
