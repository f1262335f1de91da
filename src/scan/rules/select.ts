/** The rule set for one scan: built-in rules, an optional gitleaks TOML (--config), and --rule. */
import { readFileSync } from 'node:fs';
import { FirebreakError, UsageError } from '../../core/errors.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from './builtin.js';
import { loadGitleaksToml, mergeRuleSets } from './gitleaks-config.js';
import type { RuleLoadError, RuleSet } from './model.js';
import type { ValidatedDetector } from '../detectors/validated.js';

/** Ids of the detectors that recognise key stores by their binary content. */
export const KEYSTORE_IDS = ['pkcs12-file', 'java-keystore'];

export interface SelectedRules {
  ruleSet: RuleSet;
  validated: ValidatedDetector[];
  keystores: string[];
  errors: RuleLoadError[];
}

/**
 * Build the rules: a config without `[extend] useDefault = true` replaces the built-in gitleaks
 * rules (as in gitleaks); `only` (from --rule) keeps just those ids, and an unknown id is a
 * usage error rather than a scan that silently checks nothing.
 */
export function selectRules(configPath: string | undefined, only: string[]): SelectedRules {
  const base = defaultGitleaksConfig();
  let ruleSet = base.ruleSet;
  const errors = [...base.errors];
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new FirebreakError('scan.config', `cannot read config ${configPath}: ${(err as Error).message}`);
    }
    const cfg = loadGitleaksToml(text, configPath);
    errors.push(...cfg.errors.map((e) => ({ ...e, message: `${configPath}: ${e.message}` })));
    ruleSet = cfg.extendDefault ? mergeRuleSets(base.ruleSet, cfg.ruleSet, cfg.disabledRules) : cfg.ruleSet;
  }
  let validated = VALIDATED_DETECTORS;
  let keystores = KEYSTORE_IDS;
  if (only.length) {
    const known = new Set([...ruleSet.rules.map((r) => r.id), ...validated.map((v) => v.id), ...KEYSTORE_IDS]);
    for (const id of only) if (!known.has(id)) throw new UsageError(`unknown rule id '${id}'`);
    ruleSet = { ...ruleSet, rules: ruleSet.rules.filter((r) => only.includes(r.id)) };
    validated = validated.filter((v) => only.includes(v.id));
    keystores = keystores.filter((k) => only.includes(k));
  }
  return { ruleSet, validated, keystores, errors };
}
