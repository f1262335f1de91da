/**
 * `firebreak scan PATH…`: find private keys, credentials, payment cards, IBANs and SSNs in files
 * and nested archives. A thin shell over src/scan: parse options, build the rule set, run the
 * scanner, render the report. Exit 1 when anything was found, 0 when clean, 2 on errors.
 */
import { parseArgs } from 'node:util';
import { statSync, writeFileSync } from 'node:fs';
import { FirebreakError, UsageError } from '../../core/errors.js';
import type { Io } from '../io.js';
import { availableParallelism } from 'node:os';
import { Scanner, type ScanStats } from '../../scan/scanner.js';
import { scanParallel } from '../../scan/parallel.js';
import { selectRules } from '../../scan/rules/select.js';
import { DEFAULT_LIMITS } from '../../scan/sources/limits.js';
import { loadBaseline } from '../../scan/report/baseline.js';
import { maskFinding } from '../../scan/report/mask.js';
import { FORMATS, footer, render, type ReportFormat } from '../../scan/report/formats.js';
import type { Issue } from '../../scan/sources/types.js';
import { LEVELS, type Confidence } from '../../scan/engine/confidence.js';
import { renderSummary, summarise } from '../../scan/report/summary.js';

const HELP = `usage: firebreak scan PATH... [options]

Scan files, directories, archives, documents (PDF, office, RTF, HTML), mail and the strings of
binaries for private keys, credentials (gitleaks rule ids), payment cards, IBANs, national
identifiers (US SSN/ITIN, UK NINO, Canadian SIN), bank routing numbers, BICs, and e-mail
addresses and phone numbers in bulk. '-' reads standard input.

options:
  --format F              table (default), json, jsonl, csv, sarif
  -o, --output FILE       write the report to FILE instead of standard output
  --rule ID               only this rule (repeatable); e.g. aws-access-token, credit-card
  --config FILE           a gitleaks TOML config; with [extend] useDefault = true it adds
                          to the built-in rules, otherwise it replaces them
  --max-archive-depth N   archives nested deeper are reported, not opened (default 8)
  --max-decode-depth N    base64/hex/percent decoding passes (default 5; 0 disables)
  --baseline FILE         suppress findings already in this report (ours or gitleaks' JSON)
  --min-confidence L      low, medium (default) or high: cards, IBANs, national ids and
                          contacts below L are not reported (credentials always are)
  --summary               per file: records and kinds of data held, most sensitive first
                          (table, or JSON with --format json/jsonl)
  --no-mask               print secrets in clear (default: masked)
  -j, --jobs N            scan with N threads (default: one per core)

exit status: 1 findings, 0 clean, 2 errors (unreadable input, corrupt archive, limit hit)
`;

function intOption(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} needs a non-negative integer, got '${v}'`);
  return Number(v);
}

/** Build the rule set from the built-ins, --config and --rule. */
/** Entry point of `firebreak scan`. */
export async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      rule: { type: 'string', multiple: true },
      config: { type: 'string' },
      'max-archive-depth': { type: 'string' },
      'max-decode-depth': { type: 'string' },
      baseline: { type: 'string' },
      'no-mask': { type: 'boolean' },
      'min-confidence': { type: 'string' },
      summary: { type: 'boolean' },
      jobs: { type: 'string', short: 'j' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (!positionals.length) throw new UsageError('no PATH given (use - for standard input)');
  const format = (values.format ?? 'table') as ReportFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const limits = { ...DEFAULT_LIMITS, maxArchiveDepth: intOption(values['max-archive-depth'], 'max-archive-depth', DEFAULT_LIMITS.maxArchiveDepth) };
  const maxDecodeDepth = intOption(values['max-decode-depth'], 'max-decode-depth', 5);
  const jobs = intOption(values.jobs, 'jobs', availableParallelism());
  const minConfidence = (values['min-confidence'] ?? 'medium') as Confidence;
  if (!LEVELS.includes(minConfidence)) throw new UsageError(`--min-confidence must be one of ${LEVELS.join(', ')}`);
  if (jobs < 1) throw new UsageError('--jobs needs at least 1');

  let rules;
  let baseline: Set<string> | undefined;
  try {
    rules = selectRules(values.config, values.rule ?? []);
    baseline = values.baseline ? loadBaseline(values.baseline) : undefined;
  } catch (err) {
    if (err instanceof FirebreakError && !(err instanceof UsageError)) {
      io.stderr.write(`firebreak scan: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  for (const e of rules.errors) io.stderr.write(`firebreak scan: rule ${e.ruleId} skipped: ${e.message}\n`);

  const progress = io.stderr.isTTY ? new Progress(io) : null;
  const events = {
    progress: progress ? (st: ScanStats, p: string) => progress.update(st.leaves, st.bytes, p) : undefined,
    issue: (i: Issue) => {
      if (format !== 'table') io.stderr.write(`firebreak scan: ${i.kind}: ${i.path}: ${i.message}\n`);
    },
  };
  let result;
  // Threads pay off for many files; one file or standard input is scanned right here.
  const many = positionals.length > 1 || (positionals[0] !== '-' && statSync(positionals[0]!, { throwIfNoEntry: false })?.isDirectory());
  if (jobs > 1 && many && !positionals.includes('-')) {
    const spec = { configPath: values.config, only: values.rule ?? [], limits, maxDecodeDepth, baseline: [...(baseline ?? [])], minConfidence };
    result = await scanParallel(positionals, spec, jobs, events);
  } else {
    const scanner = new Scanner({ ruleSet: rules.ruleSet, validated: rules.validated, keystores: rules.keystores, limits, maxDecodeDepth, baseline, minConfidence });
    const stdin = (io as { stdin?: AsyncIterable<Buffer> }).stdin ?? (process.stdin as AsyncIterable<Buffer>);
    result = await scanner.scan(positionals, stdin, events);
  }
  progress?.done();
  const findings = values['no-mask'] ? result.findings : result.findings.map(maskFinding);
  let report: string;
  if (values.summary) {
    const rows = summarise(findings, result.notes);
    report =
      format === 'table'
        ? renderSummary(rows) + footer(findings.length, result.issues)
        : format === 'jsonl'
          ? rows.map((r) => JSON.stringify(r) + '\n').join('')
          : JSON.stringify(rows, null, 1) + '\n';
  } else report = render(format, findings, result.issues);
  if (values.output) writeFileSync(values.output, report);
  else io.stdout.write(report);
  if (values.output || format !== 'table') {
    io.stderr.write(`firebreak scan: ${result.findings.length} finding(s), ${result.issues.length} issue(s), ${result.stats.leaves} file(s), ${(result.stats.bytes / 1e6).toFixed(1)} MB\n`);
  }
  if (result.findings.length) return 1;
  return result.issues.length || rules.errors.length ? 2 : 0;
}

/** A one-line progress display on a terminal, redrawn at most four times a second. */
class Progress {
  private last = 0;
  constructor(private readonly io: Io) {}

  update(files: number, bytes: number, path: string): void {
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    const line = `scanning: ${files} file(s), ${(bytes / 1e6).toFixed(1)} MB  ${path}`;
    this.io.stderr.write(`\r${line.slice(0, 100).padEnd(100)}`);
  }

  done(): void {
    if (this.last) this.io.stderr.write(`\r${' '.repeat(100)}\r`);
  }
}
