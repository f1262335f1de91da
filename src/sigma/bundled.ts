/** Where the bundled SigmaHQ rule set lives (data/sigma, snapshot in SNAPSHOT_COMMIT.txt). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA_DIR = fileURLToPath(new URL('../../../data/', import.meta.url));
export const BUNDLED_SIGMA_ROOT = join(DATA_DIR, 'sigma');
/** SigmaHQ's active rule directories, in the order SigmaHQ lists them. */
export const RULE_DIRS = ['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-compliance', 'rules-placeholder'] as const;

/** Firebreak's own correlation rules (docs/correlations.md), on by default. */
export const FIREBREAK_CORRELATIONS_DIR = join(DATA_DIR, 'correlations');

/** What `hunt` and `rules lint` load when given no rules: SigmaHQ's set and Firebreak's correlations. */
export function defaultRuleDirs(): string[] {
  return [...ruleDirs(), FIREBREAK_CORRELATIONS_DIR].filter((p) => existsSync(p));
}

/** The active rule directories under a SigmaHQ checkout that exist. */
export function ruleDirs(root: string = BUNDLED_SIGMA_ROOT): string[] {
  return RULE_DIRS.map((d) => join(root, d)).filter((p) => existsSync(p));
}
