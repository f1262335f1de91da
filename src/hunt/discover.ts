/** Evidence discovery: files under the given paths, recursively, without following link loops. */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface EvidenceFile {
  path: string;
  size: number;
}

/** Every regular file under `paths` (sorted), plus the paths that could not be read. */
export async function discoverFiles(paths: readonly string[]): Promise<{ files: EvidenceFile[]; unreadable: { file: string; reason: string }[] }> {
  const files: EvidenceFile[] = [];
  const unreadable: { file: string; reason: string }[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const visit = async (p: string): Promise<void> => {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      unreadable.push({ file: p, reason: (e as Error).message });
      return;
    }
    if (st.isDirectory()) {
      const real = await realpath(p);
      if (seenDirs.has(real)) return; // a symlink loop or a folder given twice
      seenDirs.add(real);
      let names: string[];
      try {
        names = (await readdir(p)).sort();
      } catch (e) {
        unreadable.push({ file: p, reason: (e as Error).message });
        return;
      }
      for (const n of names) await visit(join(p, n));
    } else if (st.isFile()) {
      if (seenFiles.has(p)) return; // a file given twice
      seenFiles.add(p);
      files.push({ path: p, size: st.size });
    }
  };
  for (const p of paths) await visit(p);
  return { files, unreadable };
}
