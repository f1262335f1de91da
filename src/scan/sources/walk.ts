/**
 * Walk inputs (files, directories, standard input) and everything nested in them, by content:
 * each stream is sniffed; compression layers are undone in place (they add no path component:
 * `main.go.gz` stays `main.go.gz`), containers add `!entry` (`outer.zip!inner.tar.gz!dir/f.txt`),
 * and every leaf goes to the sink. Trouble with one entry becomes an Issue and the walk goes on.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PeekableSource } from './peek.js';
import { SNIFF_BYTES, sniff } from './sniff.js';
import { decompress } from './decompress.js';
import { Budget, type ScanLimits } from './limits.js';
import { walkTar, walkZip, walk7z } from './containers.js';
import { documentKind, expandDocument } from './documents.js';
import { toIssue, type LeafInfo, type WalkContext, type WalkSink } from './types.js';

/** Walk one command-line input: `-` is standard input, a directory is walked recursively. */
export async function walkInput(input: string, limits: ScanLimits, sink: WalkSink, stdin: AsyncIterable<Buffer>): Promise<void> {
  if (input === '-') {
    const ctx = newContext(limits, sink);
    try {
      await expand('-', stdin, 0, ctx);
    } catch (err) {
      sink.issue(toIssue('-', err));
    }
    return;
  }
  let st;
  try {
    st = await fs.lstat(input);
  } catch (err) {
    sink.issue({ path: input, kind: 'unreadable', message: (err as Error).message });
    return;
  }
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = (await fs.readdir(input)).sort();
    } catch (err) {
      sink.issue({ path: input, kind: 'unreadable', message: (err as Error).message });
      return;
    }
    for (const n of names) await walkInput(join(input, n), limits, sink, stdin);
    return;
  }
  // Symlinks are not followed: a link to / would scan the whole machine, and loops never end.
  if (!st.isFile()) return;
  const ctx = newContext(limits, sink);
  try {
    await expand(input, createReadStream(input, { highWaterMark: 1 << 20 }), 0, ctx, input);
  } catch (err) {
    sink.issue(toIssue(input, err));
  }
}

/** Sniff `src` and scan it as a leaf, or undo its compression / open its container. */
export async function expand(path: string, src: AsyncIterable<Buffer>, depth: number, ctx: WalkContext, diskPath?: string, info?: LeafInfo): Promise<void> {
  const p = new PeekableSource(src);
  const head = await p.peek(SNIFF_BYTES);
  const format = sniff(head);
  const doc = info?.derived ? null : documentKind(path, format, head);
  if (doc) {
    await expandDocument(doc, path, p, depth, ctx);
    return;
  }
  switch (format) {
    case 'text':
    case 'binary':
    case 'pkcs12':
    case 'java-keystore':
      await ctx.sink.leaf(path, format, head, p, info);
      return;
    default:
      break; // a compressed stream or a container: opened below
  }
  if (depth >= ctx.limits.maxArchiveDepth) {
    ctx.sink.issue({ path, kind: 'too-deep', message: `${format} archive at depth ${depth} (limit ${ctx.limits.maxArchiveDepth}); not opened` });
    return;
  }
  switch (format) {
    case 'gzip':
    case 'bzip2':
    case 'xz':
    case 'zstd': {
      await expand(
        path,
        ctx.budget.capped(path, p, (s) => decompress(format, s)),
        depth + 1,
        ctx,
      );
      return;
    }
    case 'tar':
      await walkTar(path, p, depth, ctx);
      return;
    case 'zip':
      await walkZip(path, p, depth, ctx, diskPath);
      return;
    case '7z':
      await walk7z(path, p, depth, ctx);
      return;
  }
}

function newContext(limits: ScanLimits, sink: WalkSink): WalkContext {
  const ctx: WalkContext = {
    limits,
    budget: new Budget(limits),
    sink,
    enter: async (path, src, depth, info) => {
      try {
        await expand(path, src, depth, ctx, undefined, info);
      } catch (err) {
        sink.issue(toIssue(path, err));
      }
    },
  };
  return ctx;
}
