/**
 * `firebreak hunt PATH… [options]`: the offline breach hunt over a folder of evidence.
 */
import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../../core/errors.js';
import type { DetectionRecord } from '../../detections/record.js';
import { hunt } from '../../hunt/run.js';
import { levelRank } from '../../pipeline/select.js';
import { progressLine, renderSummary } from '../../hunt/summary.js';
import { openOutputs } from '../../hunt/outputs.js';
import { ZoneConverter } from '../../readers/syslog.js';
import { LEVELS, type Level } from '../../sigma/model.js';
import type { Story } from '../../stories/model.js';
import { StoriesJsonlWriter } from '../../output/stories.js';
import type { Io } from '../io.js';

const HELP = `usage: firebreak hunt PATH… [options]

Reads every log file under PATH (EVTX, evtx-crate JSON, Winlogbeat/Elastic Agent ECS JSON or
_bulk bodies, flat JSON; Linux audit.log, syslog files such as auth.log with Sysmon for Linux in
them, journalctl -o json/export, LAUREL and Auditbeat JSON; gzip of each — detected by content)
and runs the Sigma rules over it (Linux logs: docs/linux.md).

rules:
  --rules PATH            rule file or folder (repeatable; default: the bundled SigmaHQ set)
  --placeholders FILE     values for %placeholders% used with |expand
  --min-level LEVEL       informational|low|medium|high|critical
  --status LIST           statuses to run (default: stable,test,experimental)
  --tags LIST             only rules with one of these tags (attack.t1059 matches sub-techniques)
  --rule-id ID            only this rule (repeatable; id or name)
  --exclude-rule ID       skip this rule (repeatable; id, name or title)
events:
  --from TIME --to TIME   only events in this time range (ISO-8601, UTC when no offset)
  --log-timezone ZONE     zone of log time stamps written without one (syslog RFC 3164): UTC (default),
                          +02:00 or an IANA name such as Europe/Berlin (docs/linux.md)
  --log-year YEAR         the year of RFC 3164 syslog time stamps (default: inferred from each file)
outputs:
  --csv FILE              timeline CSV (columns in docs/hunt-outputs.md)
  --csv-profile NAME      timeline (default) | timesketch (adds datetime, timestamp_desc, message)
  --jsonl FILE            one detection per line
  --jsonl-events          put the whole event on each JSONL line
  --report FILE.html      self-contained HTML report (with the stories view)
  --stories FILE.jsonl    every story, one per line (see docs/stories.md)
  --db FILE               DuckDB database with every event and detection (see 'firebreak query')
  --overwrite             replace an existing --db file
  --no-correlations       run single-event rules only
  --no-stories            do not join detections into stories
run:
  --threads N             worker threads (default: all cores)
  --fail-on LEVEL         exit 1 when a detection at or above LEVEL was found
  --summary-json FILE     also write the summary as JSON (- for stdout)
  --quiet                 no summary, no progress
exit status: 0 the hunt ran, 1 --fail-on matched, 2 usage error, a path that does not exist,
             or no file could be read.
`;

const list = (v: string | string[] | undefined) =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v])
        .flatMap((x) => x.split(','))
        .map((x) => x.trim())
        .filter(Boolean);

function level(v: string | undefined, flag: string): Level | undefined {
  if (v === undefined) return undefined;
  if (!LEVELS.includes(v as Level)) throw new UsageError(`${flag} must be one of ${LEVELS.join(', ')}`);
  return v as Level;
}

function time(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) || !/T|\d \d/.test(v) ? v : v + 'Z');
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag}: '${v}' is not a date/time (use ISO-8601, e.g. 2026-01-31T12:00:00Z)`);
  return d.toISOString();
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rules: { type: 'string', multiple: true },
      placeholders: { type: 'string' },
      'min-level': { type: 'string' },
      status: { type: 'string', multiple: true },
      tags: { type: 'string', multiple: true },
      'rule-id': { type: 'string', multiple: true },
      'exclude-rule': { type: 'string', multiple: true },
      from: { type: 'string' },
      'log-timezone': { type: 'string' },
      'log-year': { type: 'string' },
      to: { type: 'string' },
      csv: { type: 'string' },
      'csv-profile': { type: 'string' },
      jsonl: { type: 'string' },
      'jsonl-events': { type: 'boolean' },
      overwrite: { type: 'boolean' },
      report: { type: 'string' },
      stories: { type: 'string' },
      db: { type: 'string' },
      threads: { type: 'string' },
      'fail-on': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      'summary-json': { type: 'string' },
      'no-correlations': { type: 'boolean' },
      'no-stories': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return (void io.stdout.write(HELP), 0);
  if (!positionals.length) throw new UsageError(`give at least one file or folder to hunt through\n\n${HELP}`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 0)) throw new UsageError('--threads must be a whole number (0 = all cores)');
  const failOn = level(values['fail-on'], '--fail-on');
  const from = time(values.from, '--from');
  const to = time(values.to, '--to');
  if (from && to && from > to) throw new UsageError('--from is after --to');
  const linux = linuxOptions(values['log-timezone'], values['log-year']);

  const profile = values['csv-profile'];
  if (profile !== undefined && profile !== 'timeline' && profile !== 'timesketch') throw new UsageError('--csv-profile must be timeline or timesketch');
  if (profile && !values.csv) throw new UsageError('--csv-profile needs --csv FILE');
  if (values['no-stories'] && values.stories) throw new UsageError('--stories FILE and --no-stories contradict each other');
  if (values['jsonl-events'] && !values.jsonl) throw new UsageError('--jsonl-events needs --jsonl FILE');
  // A mistyped path fails at once, before the rules load, rather than as an empty hunt.
  for (const p of positionals) {
    try {
      statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`${p}: no such file or folder`);
    }
  }
  const outputs = await openOutputs({
    csv: values.csv,
    csvProfile: profile,
    jsonl: values.jsonl,
    jsonlEvents: values['jsonl-events'],
    report: values.report,
    db: values.db,
    overwrite: values.overwrite,
  });
  let failed = false;
  let found: Story[] = [];
  const tty = !values.quiet && !!io.stderr.isTTY;
  const t0 = Date.now();
  let lastDraw = 0;
  try {
    const summary = await hunt({
      paths: positionals,
      rulePaths: values.rules,
      placeholders: values.placeholders,
      filter: {
        minLevel: level(values['min-level'], '--min-level'),
        statuses: list(values.status),
        tags: list(values.tags),
        ruleIds: list(values['rule-id']),
        excludeRules: values['exclude-rule'],
      },
      from,
      to,
      linux,
      threads,
      correlations: !values['no-correlations'],
      stories: !values['no-stories'],
      sinks: outputs.sinks,
      onStories: async (list) => {
        found = list;
        outputs.reportExtras.stories = list;
        if (values.stories) {
          const w = new StoriesJsonlWriter(values.stories);
          try {
            await w.writeAll(list);
            await w.close();
          } catch (e) {
            await w.abort();
            throw e;
          }
        }
      },
      eventSink: outputs.events,
      // Only with --fail-on: a hunt nobody reads detections of does not explain them (src/hunt/run.ts).
      onDetection: failOn
        ? (d: DetectionRecord) => {
            if (levelRank(d.level) >= levelRank(failOn)) failed = true;
          }
        : undefined,
      onProgress: tty
        ? (p) => {
            const now = Date.now();
            if (now - lastDraw < 100 && p.filesDone < p.filesTotal) return;
            lastDraw = now;
            io.stderr.write(`\r${progressLine(p, now - t0)}\x1b[K`);
          }
        : undefined,
    });
    if (tty) io.stderr.write('\r\x1b[K');
    const sj = values['summary-json'];
    if (summary.files.read === 0) {
      // Nothing was hunted through: not a clean result, and one line says why.
      const first = summary.files.skipped[0];
      io.stderr.write(
        first
          ? `firebreak hunt: no file could be read (${summary.files.skipped.length} skipped; first: ${first.reason.includes(first.file) ? first.reason : `${first.file}: ${first.reason}`})\n`
          : `firebreak hunt: no files under ${positionals.join(', ')}\n`,
      );
      if (sj && sj !== '-') writeFileSync(sj, JSON.stringify(summary, null, 2) + '\n');
      return 2;
    }
    const written = outputs.describe();
    if (values.stories) written.push(...(written.length ? [] : ['', 'Written']), `  stories ${values.stories}`);
    if (!values.quiet) io.stdout.write(renderSummary(summary, written, values['no-stories'] ? undefined : found, { placeholdersGiven: values.placeholders !== undefined }));
    if (sj === '-') io.stdout.write(JSON.stringify(summary) + '\n');
    else if (sj) writeFileSync(sj, JSON.stringify(summary, null, 2) + '\n');
  } finally {
    await outputs.abort();
  }
  return failed ? 1 : 0;
}

/** `--log-timezone` and `--log-year`, checked here so a typo is a usage error, not a failed read per file. */
function linuxOptions(zone: string | undefined, year: string | undefined): { timeZone?: string; year?: number } | undefined {
  if (zone === undefined && year === undefined) return undefined;
  const out: { timeZone?: string; year?: number } = {};
  if (zone !== undefined) {
    try {
      new ZoneConverter(zone);
    } catch {
      throw new UsageError(`--log-timezone: unknown time zone '${zone}' (give UTC, an offset such as +02:00, or an IANA name such as Europe/Berlin)`);
    }
    out.timeZone = zone;
  }
  if (year !== undefined) {
    if (!/^\d{4}$/.test(year)) throw new UsageError('--log-year must be a four-digit year');
    out.year = Number(year);
  }
  return out;
}
