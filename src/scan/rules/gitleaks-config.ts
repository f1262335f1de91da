/**
 * Load a gitleaks TOML configuration (rules, keywords, entropy, allowlists, `[extend]`) into the
 * compiled rule model, so users keep their existing configuration. One bad rule is reported in
 * `errors` and skipped; the others load.
 */
import { parse as parseToml } from 'smol-toml';
import { FirebreakError } from '../../core/errors.js';
import { compileRe2 } from './re2.js';
import { maxMatchSpan } from './span.js';
import type { Allowlist, RegexRule, RuleLoadError, RuleSet } from './model.js';

type Table = Record<string, unknown>;

/** Result of loading: the usable rule set and one error per rule that could not be compiled. */
export interface LoadedConfig {
  ruleSet: RuleSet;
  errors: RuleLoadError[];
  /** `[extend] useDefault = true`: the caller merges this config over the built-in rules. */
  extendDefault: boolean;
  disabledRules: string[];
}

/** Parse gitleaks TOML text; `source` names the file in error messages. */
export function loadGitleaksToml(text: string, source: string): LoadedConfig {
  let doc: Table;
  try {
    doc = parseToml(text);
  } catch (err) {
    throw new FirebreakError('scan.config', `${source}: invalid TOML: ${(err as Error).message}`);
  }
  const errors: RuleLoadError[] = [];
  const allowlists: Allowlist[] = [];
  const globalTables = [...asTables(doc.allowlist), ...asTables(doc.allowlists)];
  for (const t of globalTables) {
    try {
      allowlists.push(compileAllowlist(t));
    } catch (err) {
      errors.push({ ruleId: '(global allowlist)', message: (err as Error).message });
    }
  }
  const rules: RegexRule[] = [];
  for (const t of asTables(doc.rules)) {
    const id = str(t.id) ?? '(no id)';
    try {
      rules.push(compileRule(t));
    } catch (err) {
      errors.push({ ruleId: id, message: (err as Error).message });
    }
  }
  const extend = (doc.extend ?? {}) as Table;
  return {
    ruleSet: { rules, allowlists },
    errors,
    extendDefault: extend.useDefault === true,
    disabledRules: strs(extend.disabledRules),
  };
}

/** Overlay `over` on `base`: same-id rules are replaced, allowlists are added. */
export function mergeRuleSets(base: RuleSet, over: RuleSet, disabled: string[] = []): RuleSet {
  const byId = new Map(base.rules.map((r) => [r.id, r]));
  for (const r of over.rules) byId.set(r.id, r);
  for (const id of disabled) byId.delete(id);
  return { rules: [...byId.values()], allowlists: [...base.allowlists, ...over.allowlists] };
}

function compileRule(t: Table): RegexRule {
  const id = str(t.id);
  if (!id) throw new Error('rule without id');
  const regexSrc = str(t.regex);
  const pathSrc = str(t.path);
  if (!regexSrc && !pathSrc) throw new Error('rule has neither regex nor path');
  const allowTables = [...asTables(t.allowlist), ...asTables(t.allowlists)];
  const regex = regexSrc ? compileRe2(regexSrc, 'g') : null;
  const secretGroup = typeof t.secretGroup === 'number' ? t.secretGroup : 0;
  return {
    id,
    description: str(t.description) ?? id,
    regex,
    groupRegex: regexSrc ? compileRe2(regexSrc) : null,
    secretGroup,
    entropy: typeof t.entropy === 'number' ? t.entropy : 0,
    keywords: strs(t.keywords).map((k) => k.toLowerCase()),
    path: pathSrc ? compileRe2(pathSrc) : null,
    allowlists: allowTables.map(compileAllowlist),
    tags: strs(t.tags),
    maxSpan: regexSrc ? maxMatchSpan(regexSrc) : 0,
    ...(regexSrc ? lazyPrefixOf(regexSrc) : {}),
  };
}

const LAZY_PREFIX = /^(\(\?i\))?\[\\w\.-\]\{0,(\d+)\}\?/;
const INNER_PREFIX = /^\(\?i:\[\\w\.-\]\{0,(\d+)\}\?/;

/**
 * Split `[\w.-]{0,N}?REST` (also gitleaks' doubled form `[\w.-]{0,50}?(?i:[\w.-]{0,50}?REST)`,
 * equal to one prefix of 100 because the class has no case) into N and a regex for REST.
 */
function lazyPrefixOf(src: string): Pick<RegexRule, 'lazyPrefix'> {
  const m = LAZY_PREFIX.exec(src);
  if (!m) return {};
  let rest = src.slice(m[0].length);
  let max = Number(m[2]);
  const inner = INNER_PREFIX.exec(rest);
  if (inner) {
    rest = '(?i:' + rest.slice(inner[0].length);
    max += Number(inner[1]);
  }
  // `P A|B` lets the prefix apply to A only: such patterns keep the plain path.
  if (hasTopLevelAlternation(rest)) return {};
  return { lazyPrefix: { max, core: compileRe2((m[1] ?? '') + rest, 'y') } };
}

function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      if (src[i + 1] === '^') i++;
      if (src[i + 1] === ']') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

function compileAllowlist(t: Table): Allowlist {
  const cond = (str(t.condition) ?? 'OR').toUpperCase();
  const target = str(t.regexTarget) ?? 'secret';
  if (target !== 'secret' && target !== 'match' && target !== 'line') throw new Error(`unknown regexTarget '${target}'`);
  return {
    description: str(t.description),
    condition: cond === 'AND' ? 'AND' : 'OR',
    regexTarget: target,
    regexes: strs(t.regexes).map((r) => compileRe2(r)),
    stopwords: strs(t.stopwords).map((w) => w.toLowerCase()),
    paths: strs(t.paths).map((r) => compileRe2(r)),
    commits: strs(t.commits),
  };
}

function asTables(v: unknown): Table[] {
  if (v == null) return [];
  if (Array.isArray(v)) return v.filter((x): x is Table => typeof x === 'object' && x !== null);
  return typeof v === 'object' ? [v as Table] : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
