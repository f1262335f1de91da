/**
 * `../shared` (the team's reference data: SigmaHQ, EVTX corpora, gitleaks examples) beside the
 * checkout, found from this file rather than the working directory, so a test finds it whatever
 * directory it runs from. Tests that need it skip, naming the path, when it is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The reference data folder (compiled tests live in dist/test: three levels below its parent). */
export const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const HAVE_SHARED = existsSync(SHARED);

/** A path inside ../shared. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED, ...parts);
}

/** `false` when the path inside ../shared exists, else the reason to skip (for `{ skip }`). */
export function skipWithoutShared(...parts: string[]): string | false {
  const p = sharedPath(...parts);
  return existsSync(p) ? false : `${p} is absent (../shared reference data, expected beside the checkout)`;
}
