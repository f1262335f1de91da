/**
 * `firebreak evtx dump FILE|DIR… [--format jsonl|xml] [--threads N]` — print every record of
 * EVTX files: one JSON document per line (the evtx crate's shape) or XML. Directories are
 * searched for files that start with the EVTX signature, whatever their names. Errors go to
 * stderr as they happen, with a count of good and bad records at the end.
 */
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../core/errors.js';
import { isEvtx, renderEvtxFiles, resolveThreads, type EvtxError, type RenderFormat } from '../../readers/evtx/index.js';
import type { Io } from '../io.js';

const HELP = `usage: firebreak evtx dump FILE|DIR... [--format jsonl|xml] [--threads N]

Print the records of Windows event log (EVTX) files, in file order.

  --format jsonl   one JSON document per line, as the evtx crate writes them (default)
  --format xml     the records as XML
  --threads N      worker threads parsing chunks (default: all cores; 1 = no workers)

Directories are searched recursively for EVTX files (recognised by their ElfFile signature).
Errors and warnings go to stderr with file, chunk, record and byte offset; the last stderr line
counts good and bad records. Exit status: 0 when every record was read, 1 when any record,
chunk or file was lost, 2 on wrong usage.
`;

function hasEvtxMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(8);
    return readSync(fd, head, 0, 8, 0) === 8 && isEvtx(head);
  } finally {
    closeSync(fd);
  }
}

/**
 * Files named on the command line, and EVTX files found under named directories (sorted).
 * Synchronous on purpose: thousands of tiny asynchronous stat/open/read round-trips cost more
 * than the walk itself, and nothing else runs while the CLI lists its inputs.
 */
function expand(args: string[], onMissing: (path: string, why: string) => void): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && tryMagic(p)) out.push(p);
    }
  };
  for (const a of args) {
    try {
      if (statSync(a).isDirectory()) walk(a);
      else out.push(a);
    } catch (e) {
      onMissing(a, (e as Error).message);
    }
  }
  return out;
}

function tryMagic(path: string): boolean {
  try {
    return hasEvtxMagic(path);
  } catch {
    return false;
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'jsonl' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const [sub, ...inputs] = positionals;
  if (sub !== 'dump') throw new UsageError(sub ? `unknown subcommand '${sub}' (expected 'dump')` : `missing subcommand\n\n${HELP}`);
  if (!inputs.length) throw new UsageError('dump: no input files');
  const format = values.format as RenderFormat;
  if (format !== 'jsonl' && format !== 'xml') throw new UsageError(`--format must be jsonl or xml, not '${values.format}'`);
  let threads = 0;
  if (values.threads !== undefined) {
    if (!/^\d+$/.test(values.threads)) throw new UsageError(`--threads must be a whole number, not '${values.threads}'`);
    threads = Number(values.threads);
  }

  let bad = 0;
  let warnings = 0;
  let failedFiles = 0;
  const files = expand(inputs, (path, why) => {
    failedFiles++;
    io.stderr.write(`${path}: ${why}\n`);
  });
  const onError = (e: EvtxError): void => {
    if (e.severity === 'warning') warnings++;
    else if (e.chunk === undefined) failedFiles++;
    else bad++;
    io.stderr.write(e.format() + '\n');
  };
  let records = 0;
  for await (const chunk of renderEvtxFiles(files, format, { threads: resolveThreads(threads), onError })) {
    records += chunk.records;
    if (chunk.text && !io.stdout.write(chunk.text)) await once(io.stdout, 'drain');
  }
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  io.stderr.write(
    `firebreak evtx: ${plural(records, 'good record')}, ${plural(bad, 'bad record')}, ${plural(warnings, 'warning')} in ${plural(files.length, 'file')}` +
      (failedFiles ? `, ${plural(failedFiles, 'unreadable file')}` : '') +
      '\n',
  );
  return bad || failedFiles ? 1 : 0;
}
