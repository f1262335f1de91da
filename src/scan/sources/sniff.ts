/**
 * What a stream is, from its first bytes: archives are found by content, never by extension
 * (attackers rename archives, and tools write `.dat` files that are zips).
 */
export type Format = 'zip' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | '7z' | 'tar' | 'pkcs12' | 'java-keystore' | 'binary' | 'text';

/** Bytes needed to decide: tar's "ustar" magic sits at offset 257. */
export const SNIFF_BYTES = 8192;

function startsWith(b: Buffer, magic: number[], at = 0): boolean {
  if (b.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[at + i] !== magic[i]) return false;
  return true;
}

/** The format of a stream starting with `head` (up to SNIFF_BYTES bytes). */
export function sniff(head: Buffer): Format {
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0x42, 0x5a, 0x68]) && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return '7z';
  if (isTar(head)) return 'tar';
  if (startsWith(head, [0xfe, 0xed, 0xfe, 0xed]) || startsWith(head, [0xce, 0xce, 0xce, 0xce])) return 'java-keystore';
  if (isPkcs12(head)) return 'pkcs12';
  // git's rule: a NUL byte in the first 8 KB means binary.
  return head.subarray(0, SNIFF_BYTES).includes(0) ? 'binary' : 'text';
}

// POSIX/GNU tar has "ustar" at 257; old V7 archives only have a valid header checksum.
function isTar(b: Buffer): boolean {
  if (b.length < 512) return false;
  if (b.toString('latin1', 257, 262) === 'ustar') return true;
  const stored = parseInt(
    b
      .toString('latin1', 148, 156)
      .replace(/[\0 ]+/g, ' ')
      .trim(),
    8,
  );
  if (!Number.isFinite(stored) || b[0] === 0) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === stored;
}

// PKCS#12 (RFC 7292): SEQUENCE { INTEGER 3, ContentInfo { OID pkcs7-data … } }.
const PKCS7_DATA_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]);
function isPkcs12(b: Buffer): boolean {
  if (b[0] !== 0x30 || b.length < 16) return false;
  const l = b[1]!;
  const hdr = l === 0x80 || l < 0x80 ? 2 : 2 + (l & 0x7f);
  if (!startsWith(b, [0x02, 0x01, 0x03, 0x30], hdr)) return false;
  return b.subarray(hdr, hdr + 64).includes(PKCS7_DATA_OID);
}
