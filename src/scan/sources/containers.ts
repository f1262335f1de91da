/**
 * Containers: tar (streamed with tar-stream), zip and the zip-based office formats (yauzl), 7z
 * (7-Zip compiled to WASM). Each entry is handed back to the walk with `!name` appended, after
 * the entry-count, size and ratio limits are checked; hostile names are reported, never used as
 * file system paths (nothing is ever extracted to disk).
 */
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import tarStream from 'tar-stream';
import yauzl from 'yauzl';
import { readAllCapped } from './peek.js';
import { ScanIssueError, countOut } from './limits.js';
import { isTraversal, toIssue, type TableInfo, type WalkContext } from './types.js';
import { odsParser, xlsxDigitFormats, xlsxSharedStrings, xlsxSheetText, xlsxSheets } from './sheets.js';
import { officeKind, officeXmlToText } from './office.js';

/** Count one more entry of an archive; throws when the archive has too many. */
function checkEntryCount(path: string, n: number, ctx: WalkContext): void {
  if (n > ctx.limits.maxEntries) {
    throw new ScanIssueError('too-many-entries', path, `more than ${ctx.limits.maxEntries} entries; rest of archive not read`);
  }
}

function reportTraversal(path: string, name: string, ctx: WalkContext): void {
  if (isTraversal(name)) {
    ctx.sink.issue({ path: `${path}!${name}`, kind: 'path-traversal', message: `entry name '${name}' escapes the archive root (path traversal); content scanned, name not trusted` });
  }
}

/** Tar: entries stream one after another; only regular files are scanned. */
export async function walkTar(path: string, src: AsyncIterable<Buffer>, depth: number, ctx: WalkContext): Promise<void> {
  const extract = tarStream.extract();
  Readable.from(src)
    .on('error', (e) => extract.destroy(e))
    .pipe(extract);
  let n = 0;
  for await (const entry of extract) {
    checkEntryCount(path, ++n, ctx);
    const h = entry.header;
    if (h.type !== 'file' && h.type !== 'contiguous-file') {
      entry.resume();
      continue;
    }
    reportTraversal(path, h.name, ctx);
    const meter = ctx.budget.meter(`${path}!${h.name}`);
    // Tar stores entries uncompressed: the ratio is the outer stream's business, size is ours.
    await ctx.enter(`${path}!${h.name}`, countOut(entry as AsyncIterable<Buffer>, meter), depth + 1);
    // An entry abandoned part-way (limit, corrupt nested data) must be drained for the next one.
    entry.resume();
  }
}

/** Zip: needs random access, so a nested zip is held in memory (within maxBuffered). */
export async function walkZip(path: string, src: AsyncIterable<Buffer>, depth: number, ctx: WalkContext, diskPath?: string): Promise<void> {
  // autoClose off: entries are listed first (office detection needs all names), then read.
  const opts = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true } as const;
  let zip: yauzl.ZipFile;
  if (diskPath) {
    zip = await new Promise((res, rej) => yauzl.open(diskPath, opts, (e, z) => (e ? rej(e) : res(z))));
  } else {
    const buf = await readAllCapped(src, ctx.limits.maxBuffered);
    if (!buf) throw new ScanIssueError('too-large', path, `nested zip larger than ${ctx.limits.maxBuffered} bytes; not opened`);
    zip = await new Promise((res, rej) => yauzl.fromBuffer(buf, opts, (e, z) => (e ? rej(e) : res(z))));
  }
  try {
    await walkZipEntries(path, zip, depth, ctx);
  } finally {
    zip.close();
  }
}

/** A zip entry opened for reading: the raw stream (to close) and its bytes counted against the limits. */
interface Opened {
  stream: Readable;
  counted: AsyncIterable<Buffer>;
}

async function walkZipEntries(path: string, zip: yauzl.ZipFile, depth: number, ctx: WalkContext): Promise<void> {
  const entries: yauzl.Entry[] = [];
  await new Promise<void>((res, rej) => {
    zip.on('entry', (e: yauzl.Entry) => {
      entries.push(e);
      if (entries.length > ctx.limits.maxEntries) {
        rej(new ScanIssueError('too-many-entries', path, `more than ${ctx.limits.maxEntries} entries; archive not read`));
        return;
      }
      zip.readEntry();
    });
    zip.on('end', () => res());
    zip.on('error', rej);
    zip.readEntry();
  });
  const names = entries.map((e) => (e.fileName as unknown as Buffer).toString('utf8'));
  const l = ctx.limits;
  const byName = new Map(names.map((n, i) => [n, entries[i]!]));
  /** An entry's stream, counted against the limits (declared sizes are checked first, then the bytes). */
  const open = async (e: yauzl.Entry, inner: string): Promise<Opened | null> => {
    if (e.uncompressedSize > l.maxEntryBytes) {
      ctx.sink.issue({ path: inner, kind: 'too-large', message: `declared size ${e.uncompressedSize} bytes exceeds ${l.maxEntryBytes}; not read` });
      return null;
    }
    if (e.uncompressedSize > l.ratioFloor && e.uncompressedSize / Math.max(1, e.compressedSize) > l.maxRatio) {
      ctx.sink.issue({
        path: inner,
        kind: 'zip-bomb',
        message: `declares ${e.uncompressedSize} bytes from ${e.compressedSize} (ratio over ${l.maxRatio}:1); looks like a zip bomb, not followed`,
      });
      return null;
    }
    let stream: Readable;
    try {
      stream = await new Promise<Readable>((res, rej) => zip.openReadStream(e, (err, s) => (err ? rej(err) : res(s))));
    } catch (err) {
      ctx.sink.issue({ path: inner, kind: 'corrupt', message: (err as Error).message });
      return null;
    }
    const meter = ctx.budget.meter(inner);
    meter.addIn(e.compressedSize);
    return { stream, counted: countOut(stream, meter) };
  };
  const done = new Set<string>();
  /**
   * A small part read whole (workbook, relationships, shared strings), or null when absent or
   * unreadable. Trouble (a bomb, a corrupt entry) is reported once, against the part, and the part
   * is not read again as a plain entry.
   */
  const readPart = async (name: string): Promise<string | null> => {
    const e = byName.get(name);
    if (!e) return null;
    const o = await open(e, `${path}!${name}`);
    if (!o) {
      done.add(name);
      return null;
    }
    try {
      const buf = await readAllCapped(o.counted, l.maxBuffered);
      if (!buf) throw new ScanIssueError('too-large', `${path}!${name}`, `part larger than ${l.maxBuffered} bytes; not read`);
      return buf.toString('utf8');
    } catch (err) {
      ctx.sink.issue(toIssue(`${path}!${name}`, err));
      done.add(name);
      return null;
    } finally {
      o.stream.destroy();
    }
  };
  const office = officeKind(names);
  const odf = !office && names.includes('mimetype') && names.includes('content.xml') ? ((await readPart('mimetype')) ?? '').trim() : '';
  try {
    const openPart = async (name: string): Promise<Opened | null> => {
      const e = byName.get(name);
      return e ? open(e, `${path}!${name}`) : null;
    };
    if (office?.kind === 'xlsx') await walkXlsx(path, depth, ctx, readPart, openPart, done);
    else if (odf === 'application/vnd.oasis.opendocument.spreadsheet') await walkOds(path, depth, ctx, readPart, done);
  } catch (err) {
    ctx.sink.issue(toIssue(path, err));
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const name = names[i]!;
    if (name.endsWith('/') || done.has(name)) continue;
    const inner = `${path}!${name}`;
    reportTraversal(path, name, ctx);
    const o = await open(e, inner);
    if (!o) continue;
    const isText = (office && office.isText(name)) || (odf && /^(?:content|styles|meta)\.xml$/.test(name));
    if (isText) {
      await ctx.enter(inner, officeXmlToText(o.counted, l.maxBuffered), depth + 1, { derived: true });
    } else {
      await ctx.enter(inner, o.counted, depth + 1);
    }
    o.stream.destroy();
  }
}

type PartReader = (name: string) => Promise<string | null>;
type PartOpener = (name: string) => Promise<Opened | null>;

/**
 * XLSX: each worksheet becomes one table leaf named after the workbook (findings carry the sheet,
 * row and column), its shared strings and numbers resolved. The shared strings part itself is not
 * scanned again: every string a sheet uses is scanned in its cell.
 */
async function walkXlsx(path: string, depth: number, ctx: WalkContext, readPart: PartReader, open: PartOpener, done: Set<string>): Promise<void> {
  const sharedXml = await readPart('xl/sharedStrings.xml');
  const shared = sharedXml ? xlsxSharedStrings(sharedXml) : [];
  const styles = await readPart('xl/styles.xml');
  const formats = styles ? xlsxDigitFormats(styles) : [];
  const workbook = await readPart('xl/workbook.xml');
  const rels = await readPart('xl/_rels/workbook.xml.rels');
  if (!workbook || !rels) return;
  for (const sheet of xlsxSheets(workbook, rels)) {
    // Done whatever happens: a sheet that could not be opened (a bomb, a corrupt entry) is
    // reported once, here, not again as a plain part.
    done.add(sheet.part);
    const o = await open(sheet.part);
    if (!o) continue;
    // The shared strings are scanned in the cells that use them, not a second time on their own.
    done.add('xl/sharedStrings.xml');
    const table = { delimiter: '\t', sheet: sheet.name, rows: [] as number[] };
    await ctx.enter(path, xlsxSheetText(asPart(`${path}!${sheet.part}`, o.counted), shared, table, formats), depth + 1, { derived: true, table });
    o.stream.destroy();
  }
}

/**
 * A sheet's findings are the workbook's, but trouble reading it (a bomb, a corrupt entry) belongs
 * to its part: the issue names `book.xlsx!xl/worksheets/sheet2.xml`, as for any other entry.
 */
async function* asPart(part: string, src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* src;
  } catch (err) {
    const i = toIssue(part, err);
    throw new ScanIssueError(i.kind, i.path, i.message);
  }
}

/** ODS: content.xml holds every sheet; each becomes one table leaf named after the document. */
async function walkOds(path: string, depth: number, ctx: WalkContext, readPart: PartReader, done: Set<string>): Promise<void> {
  const xml = await readPart('content.xml');
  if (xml === null) return;
  done.add('content.xml');
  const sheets: { table: TableInfo; parts: Buffer[] }[] = [];
  const parser = odsParser(
    (name) => {
      const table: TableInfo = { delimiter: '\t', sheet: name, rows: [] };
      sheets.push({ table, parts: [] });
      return table;
    },
    (b) => sheets[sheets.length - 1]!.parts.push(b),
  );
  parser.write(xml);
  parser.end();
  for (const s of sheets) await ctx.enter(path, fromParts(s.parts), depth + 1, { derived: true, table: s.table });
}

async function* fromParts(parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

// 7-Zip as WASM: one instance per process, created on first use (it costs ~100 ms to start).
type SevenZipModule = {
  FS: {
    writeFile(p: string, d: Uint8Array): void;
    readFile(p: string): Uint8Array;
    mkdir(p: string): void;
    readdir(p: string): string[];
    stat(p: string): { mode: number; size: number };
    isDir(mode: number): boolean;
    unlink(p: string): void;
    rmdir(p: string): void;
  };
  callMain(args: string[]): number;
};
let sevenZip: Promise<SevenZipModule> | null = null;
let sevenZipOut: string[] = [];
function getSevenZip(): Promise<SevenZipModule> {
  const require = createRequire(import.meta.url);
  const factory = require('7z-wasm') as (o: object) => Promise<SevenZipModule>;
  sevenZip ??= factory({ print: (s: string) => sevenZipOut.push(s), printErr: (s: string) => sevenZipOut.push(s) });
  return sevenZip;
}

function run7z(sz: SevenZipModule, args: string[]): { code: number; out: string[] } {
  sevenZipOut = [];
  let code: number;
  // Emscripten's exit sets process.exitCode to 7-Zip's status: a damaged archive must not
  // change the exit status of the whole program.
  const exitCode = process.exitCode;
  try {
    code = sz.callMain(args) ?? 0;
  } catch (err) {
    code = typeof (err as { status?: number }).status === 'number' ? (err as { status: number }).status : 1;
  } finally {
    process.exitCode = exitCode;
  }
  return { code, out: sevenZipOut };
}

function rmTree(sz: SevenZipModule, dir: string): void {
  for (const n of sz.FS.readdir(dir)) {
    if (n === '.' || n === '..') continue;
    const p = `${dir}/${n}`;
    if (sz.FS.isDir(sz.FS.stat(p).mode)) rmTree(sz, p);
    else sz.FS.unlink(p);
  }
  sz.FS.rmdir(dir);
}

let sevenZipSeq = 0;

/** 7z: listed first (sizes checked against the limits), then extracted in WASM memory. */
export async function walk7z(path: string, src: AsyncIterable<Buffer>, depth: number, ctx: WalkContext): Promise<void> {
  const l = ctx.limits;
  const buf = await readAllCapped(src, l.maxBuffered);
  if (!buf) throw new ScanIssueError('too-large', path, `7z archive larger than ${l.maxBuffered} bytes; not opened`);
  const sz = await getSevenZip();
  const dir = `/scan${++sevenZipSeq}`;
  sz.FS.mkdir(dir);
  try {
    sz.FS.writeFile(`${dir}/in.7z`, buf);
    const list = run7z(sz, ['l', '-bd', '-slt', '-ba', `${dir}/in.7z`]);
    if (list.code !== 0)
      throw new ScanIssueError(/unexpected end|truncat/i.test(list.out.join(' ')) ? 'truncated' : 'corrupt', path, `7z listing failed: ${list.out.filter(Boolean).slice(-2).join('; ')}`);
    const files = parse7zList(list.out);
    checkEntryCount(path, files.length, ctx);
    const total = files.reduce((a, f) => a + f.size, 0);
    for (const f of files) reportTraversal(path, f.path, ctx);
    if (files.some((f) => f.size > l.maxEntryBytes) || total > l.maxTotalBytes) {
      throw new ScanIssueError('too-large', path, `7z declares ${total} bytes; over the size limits, not extracted`);
    }
    if (total > l.ratioFloor && total / buf.length > l.maxRatio) {
      throw new ScanIssueError('zip-bomb', path, `7z declares ${total} bytes from ${buf.length} (ratio over ${l.maxRatio}:1); not extracted`);
    }
    const x = run7z(sz, ['x', '-bd', '-y', '-p', `-o${dir}/out`, `${dir}/in.7z`]);
    // 7-Zip names the entry of each error (`ERROR: Data Error : a.txt`, `ERROR: … Wrong password? : b.txt`):
    // each is reported against its entry; what is left is reported against the archive.
    const entryErrors = new Map<string, string>();
    for (const line of x.out) {
      const m = /^ERROR: (.+?) : (.+)$/.exec(line.trim());
      if (m) entryErrors.set(m[2]!, m[1]!);
    }
    if (x.code !== 0 && entryErrors.size === 0)
      ctx.sink.issue({
        path,
        kind: /unexpected end|truncat/i.test(x.out.join(' ')) ? 'truncated' : 'corrupt',
        message: `7z extraction reported errors: ${x.out.filter(Boolean).slice(-2).join('; ')}`,
      });
    for (const f of files) {
      let data: Uint8Array;
      try {
        // 7-Zip strips '..' and leading '/' when extracting, so look the entry up the same way.
        data = sz.FS.readFile(
          `${dir}/out/${f.path
            .split('/')
            .filter((s) => s && s !== '..')
            .join('/')}`,
        );
      } catch {
        // Listed but not extracted (a wrong or missing password, an unsupported method, damage):
        // the entry was not scanned, and the report must say so.
        const why = entryErrors.get(f.path);
        const encrypted = why !== undefined && /password|encrypted/i.test(why);
        ctx.sink.issue({
          path: `${path}!${f.path}`,
          kind: encrypted ? 'encrypted' : 'unreadable',
          message: `7z entry listed but not extracted${why ? ` (${why})` : ''}; not scanned`,
        });
        continue;
      }
      const why = entryErrors.get(f.path);
      if (why) ctx.sink.issue({ path: `${path}!${f.path}`, kind: 'corrupt', message: `7z reported '${why}' for this entry; what it extracted is scanned` });
      const meter = ctx.budget.meter(`${path}!${f.path}`);
      await ctx.enter(`${path}!${f.path}`, countOut(once(Buffer.from(data)), meter), depth + 1);
    }
  } finally {
    rmTree(sz, dir);
  }
}

function parse7zList(lines: string[]): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  let cur: { path?: string; size?: number; dir?: boolean } = {};
  const flush = (): void => {
    if (cur.path !== undefined && !cur.dir) out.push({ path: cur.path, size: cur.size ?? 0 });
    cur = {};
  };
  for (const raw of lines) {
    // A progress line ("0M Scan /" and backspaces) can share the line of the first field: keep
    // what follows the last backspace or run of spaces before a field name (-bd should stop it).
    const line = raw.replace(/^.*[\b]\s*/, '');
    const m = /^([A-Za-z ]+?) = (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'Path') {
      flush();
      cur.path = m[2]!;
    } else if (m[1] === 'Size') cur.size = Number(m[2]) || 0;
    else if (m[1] === 'Folder') cur.dir = m[2] === '+';
    else if (m[1] === 'Attributes' && m[2]!.startsWith('D')) cur.dir = true;
  }
  flush();
  return out;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}
