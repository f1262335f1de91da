/**
 * `firebreak rules lint [PATH…] [--placeholders FILE] [--json]`
 * `firebreak rules test SIGMA_ROOT [--source json|evtx] [--placeholders FILE] [--json]`
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../core/errors.js';
import { Engine } from '../../engine/engine.js';
import { findRegressionCases, runRegression } from '../../engine/regression.js';
import { readEventsFromFile } from '../../readers/detect.js';
import { defaultRuleDirs, ruleDirs } from '../../sigma/bundled.js';
import { loadPlaceholders, loadRules } from '../../sigma/collection.js';
import type { Io } from '../io.js';

const HELP = `usage:
  firebreak rules lint [PATH…] [--placeholders FILE] [--json]
      Load Sigma rules (default: the bundled SigmaHQ set and Firebreak's correlation rules) and report every error with
      file:line:column. Exit 1 when any rule failed to load.
  firebreak rules test SIGMA_ROOT [--source json|evtx] [--placeholders FILE] [--json]
      Run SigmaHQ's regression tests (SIGMA_ROOT/regression_data/…/info.yml): a test passes
      when its rule fires at least match_count times on the test's log file.
`;

export async function run(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'lint') return lint(rest, io);
  if (sub === 'test') return test(rest, io);
  if (!sub || sub === '--help' || sub === '-h') {
    io.stdout.write(HELP);
    return sub ? 0 : 2;
  }
  throw new UsageError(`unknown subcommand '${sub}'\n${HELP}`);
}

function placeholdersFrom(file: string | undefined) {
  return file ? loadPlaceholders(file) : undefined;
}

async function lint(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { placeholders: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return (void io.stdout.write(HELP), 0);
  const paths = positionals.length ? positionals : defaultRuleDirs();
  const col = loadRules(paths, { placeholders: placeholdersFrom(values.placeholders) });
  const engine = new Engine(col.rules);
  if (values.json) {
    io.stdout.write(
      JSON.stringify({
        loaded: col.rules.length + col.filters.length + col.correlations.length,
        rules: col.rules.length,
        filters: col.filters.length,
        correlations: col.correlations.length,
        errors: col.errors.map((e) => ({ file: e.location.file, line: e.location.line, column: e.location.column, code: e.code, message: e.message })),
        unmapped: engine.unmapped.map((u) => ({ id: u.rule.id, title: u.rule.title, file: u.rule.file, reason: u.reason })),
      }) + '\n',
    );
  } else {
    for (const e of col.errors) io.stdout.write(e.format() + '\n');
    io.stdout.write(`loaded ${col.rules.length} rules, ${col.filters.length} filters, ${col.correlations.length} correlations from ${col.files} files; ${col.errors.length} errors\n`);
    if (engine.unmapped.length)
      io.stdout.write(`note: ${engine.unmapped.length} rules name a log source none of Firebreak's readers carries (e.g. ETW-only Windows categories); see --json 'unmapped'\n`);
  }
  return col.errors.length ? 1 : 0;
}

async function test(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { source: { type: 'string', default: 'json' }, placeholders: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return (void io.stdout.write(HELP), 0);
  if (positionals.length !== 1) throw new UsageError('rules test takes one SIGMA_ROOT (a SigmaHQ checkout with regression_data/)');
  const source = values.source;
  if (source !== 'json' && source !== 'evtx') throw new UsageError(`--source must be json or evtx, not '${source}'`);
  const root = positionals[0]!;
  const col = loadRules(ruleDirs(root), { placeholders: placeholdersFrom(values.placeholders) });
  const cases = findRegressionCases(root, source);
  const results = await runRegression(cases, col.rules, (file) => readEventsFromFile(file, { onError: (e) => io.stderr.write(`${e.message}\n`) }));
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (values.json) {
    io.stdout.write(JSON.stringify({ passed, failed, results }) + '\n');
  } else {
    for (const r of results) if (!r.ok) io.stdout.write(`FAIL ${r.rule_id} ${r.file}: expected ≥${r.expected}, matched ${r.matched}${r.error ? ` (${r.error})` : ''}\n`);
    io.stdout.write(`${passed} passed, ${failed} failed\n`);
  }
  return failed ? 1 : 0;
}
