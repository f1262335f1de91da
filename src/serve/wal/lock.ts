/** The write-ahead log's lock file (`wal.lock` holding the owner's pid): one process per log. */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WalError } from './errors.js';

const lockPath = (dir: string) => join(dir, 'wal.lock');

/** Takes the lock on the log in `dir`; a stale one (its process gone) is taken over. */
export function lockWal(dir: string): void {
  const p = lockPath(dir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(p, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(p, 'utf8').trim());
      if (pid > 0 && pidAlive(pid)) throw new WalError('wal-locked', `the write-ahead log in ${dir} is in use by process ${pid}`, p);
      unlinkSync(p);
    }
  }
  throw new WalError('wal-locked', `could not lock the write-ahead log in ${dir}`, p);
}

/** Releases the lock on the log in `dir`. */
export function unlockWal(dir: string): void {
  try {
    unlinkSync(lockPath(dir));
  } catch {
    // Already gone: nothing to release.
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
