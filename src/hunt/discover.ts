/** Evidence discovery: files under the given paths, recursively, without following link loops. */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface EvidenceFile {
  path: string;
  size: number;
}

/**
 * Every regular file under `paths` (sorted), plus the paths that could not be read. The calls
 * are synchronous on purpose: a collection is tens of thousands of small files, and each
 * asynchronous stat was a round trip through the I/O thread pool with its promise, which made
 * discovery several times slower on the main thread, which has nothing else to do yet.
 */
export function discoverFiles(paths: readonly string[]): { files: EvidenceFile[]; unreadable: { file: string; reason: string }[] } {
  const files: EvidenceFile[] = [];
  const unreadable: { file: string; reason: string }[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const visit = (p: string): void => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      unreadable.push({ file: p, reason: (e as Error).message });
      return;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        const real = realpathSync(p);
        if (seenDirs.has(real)) return; // a symlink loop or a folder given twice
        seenDirs.add(real);
        names = readdirSync(p).sort();
      } catch (e) {
        unreadable.push({ file: p, reason: (e as Error).message });
        return;
      }
      for (const n of names) visit(join(p, n));
    } else if (st.isFile()) {
      if (seenFiles.has(p)) return; // a file given twice
      seenFiles.add(p);
      files.push({ path: p, size: st.size });
    }
  };
  for (const p of paths) visit(p);
  return { files, unreadable };
}
