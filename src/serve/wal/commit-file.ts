/**
 * The committed-offset file of the write-ahead log: 16 bytes (`FBWC` magic u32 LE, CRC-32 of the
 * offset u32 LE, offset u64 LE), replaced atomically through `commit.tmp` and a rename.
 */
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { WalError } from './errors.js';
import { syncDir } from './segment.js';

const COMMIT_MAGIC = 0x43574246; // "FBWC"

/** The committed offset stored in `dir`, 0 when there is none yet; a damaged file is an error. */
export function readCommitFile(dir: string): number {
  let b: Buffer;
  try {
    b = readFileSync(join(dir, 'commit'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  if (b.length !== 16 || b.readUInt32LE(0) !== COMMIT_MAGIC || crc32(b.subarray(8, 16)) !== b.readUInt32LE(4)) {
    throw new WalError('wal-commit-corrupt', `the committed-offset file is damaged (${b.length} bytes)`, 'commit', 0);
  }
  return Number(b.readBigUInt64LE(8));
}

/** Stores `offset` as the committed offset in `dir`, durably (file synced, renamed, directory synced). */
export async function writeCommitFile(dir: string, offset: number): Promise<void> {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(COMMIT_MAGIC, 0);
  b.writeBigUInt64LE(BigInt(offset), 8);
  b.writeUInt32LE(crc32(b.subarray(8, 16)), 4);
  const tmp = join(dir, 'commit.tmp');
  const fh = await open(tmp, 'w');
  try {
    await fh.write(b, 0, 16, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, 'commit'));
  await syncDir(dir);
}
