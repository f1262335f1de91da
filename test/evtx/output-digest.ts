/**
 * Byte-for-byte output check for `firebreak evtx dump`, for changes that must not change what
 * it prints (speed work): digests every file's rendered output and error lines, and compares
 * them with a saved list.
 *
 *   node dist/test/evtx/output-digest.js [--format jsonl|xml] [--threads N] --save FILE PATH...
 *   node dist/test/evtx/output-digest.js [--format jsonl|xml] [--threads N] --compare FILE PATH...
 *
 * Save the list with the old build, compare with the new one; a difference names the file and
 * exits 1. Each file is rendered on its own, so a difference points at one file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isEvtx, renderEvtxFiles, type RenderFormat } from '../../src/readers/evtx/index.js';

function evtxFiles(p: string, out: string[] = []): string[] {
  if (statSync(p).isDirectory()) {
    for (const n of readdirSync(p).sort()) evtxFiles(join(p, n), out);
  } else if (isEvtx(readFileSync(p).subarray(0, 8))) {
    out.push(p);
  }
  return out;
}

async function digest(file: string, format: RenderFormat, threads: number): Promise<string> {
  const out = createHash('sha256');
  const err = createHash('sha256');
  let records = 0;
  let errors = 0;
  for await (const c of renderEvtxFiles([file], format, { threads, onError: (e) => (errors++, err.update(e.format() + '\n')) })) {
    out.update(c.text);
    records += c.records;
  }
  return `${out.digest('hex').slice(0, 16)} ${err.digest('hex').slice(0, 16)} ${records} ${errors} ${file}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let format: RenderFormat = 'jsonl';
  let threads = 1;
  let save: string | undefined;
  let compare: string | undefined;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--format') format = args[++i] as RenderFormat;
    else if (a === '--threads') threads = Number(args[++i]);
    else if (a === '--save') save = args[++i];
    else if (a === '--compare') compare = args[++i];
    else inputs.push(a);
  }
  if (!inputs.length || (!save && !compare)) {
    process.stderr.write('usage: output-digest [--format jsonl|xml] [--threads N] (--save FILE | --compare FILE) PATH...\n');
    return 2;
  }
  const lines: string[] = [];
  for (const f of inputs.flatMap((p) => evtxFiles(p))) lines.push(await digest(f, format, threads));
  if (save) {
    writeFileSync(save, lines.join('\n') + '\n');
    process.stdout.write(`saved ${lines.length} digests to ${save}\n`);
    return 0;
  }
  const want = readFileSync(compare!, 'utf8').trim().split('\n');
  let diffs = 0;
  const n = Math.max(want.length, lines.length);
  for (let i = 0; i < n; i++) {
    if (want[i] === lines[i]) continue;
    diffs++;
    process.stdout.write(`- ${want[i] ?? '(none)'}\n+ ${lines[i] ?? '(none)'}\n`);
  }
  process.stdout.write(`${lines.length} files, ${diffs} differ (${format}, ${threads} thread${threads === 1 ? '' : 's'})\n`);
  return diffs ? 1 : 0;
}

void main().then((code) => (process.exitCode = code));
