/**
 * Finding fingerprints: stable across runs, machines and line moves (the secret, not its line,
 * identifies it), and one-way, so a baseline file can be committed without holding secrets.
 */
import { createHash } from 'node:crypto';

/** 16 hex digits of SHA-256 over rule id, display path and secret. */
export function fingerprint(ruleId: string, file: string, secret: string): string {
  return createHash('sha256').update(`${ruleId}\0${file}\0${secret}`).digest('hex').slice(0, 16);
}

/** gitleaks' own fingerprint for a file scan (`file:rule:line`), so its baselines work too. */
export function gitleaksFingerprint(file: string, ruleId: string, startLine: number): string {
  return `${file}:${ruleId}:${startLine}`;
}
