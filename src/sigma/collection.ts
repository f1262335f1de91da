/**
 * Loading a rule pack: files and folders → `{ rules, filters, correlations, errors }`.
 * One bad rule never stops the others; every error names file, line and column.
 * Filters are applied to the rules they name; correlation references are resolved and checked.
 */
import { readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { RuleError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { LogSource, SigmaCorrelation, SigmaFilter, SigmaRule } from './model.js';
import { parseSigmaDocument, type ParseOptions } from './parse.js';
import { parseYamlDocuments, parseYamlFile } from '../core/yaml.js';

export interface RuleCollection {
  rules: SigmaRule[];
  filters: SigmaFilter[];
  correlations: SigmaCorrelation[];
  errors: RuleError[];
  /** Number of files read. */
  files: number;
  /** The rule cache's key for this collection (src/sigma/cache.ts), when it came through the cache: things made from it alone can be cached under it. */
  cacheKey?: string;
}

/** Every `.yml`/`.yaml` file under the given paths, sorted for stable output. */
export function listRuleFiles(paths: readonly string[]): string[] {
  return listRuleFileStats(paths).map((f) => f.path);
}

/** `listRuleFiles`, with each file's stat (the rule cache's key is made of them: one stat a file, not two). */
export function listRuleFileStats(paths: readonly string[]): { path: string; st: Stats }[] {
  const out: { path: string; st: Stats }[] = [];
  const visit = (p: string, top: boolean) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) visit(join(p, name), false);
    } else if (top || /\.ya?ml$/i.test(p)) {
      out.push({ path: p, st });
    }
  };
  for (const p of paths) visit(p, true);
  return out;
}

/** Parse rule text (one file's content). */
export function parseRuleText(text: string, file: string, opts: ParseOptions = {}): RuleCollection {
  const col: RuleCollection = { rules: [], filters: [], correlations: [], errors: [], files: 1 };
  const { docs, errors } = parseYamlDocuments(text, file);
  col.errors.push(...errors);
  for (const y of docs) {
    const d = parseSigmaDocument(y, opts);
    if (d instanceof RuleError) col.errors.push(d);
    else if (d.kind === 'rule') col.rules.push(d);
    else if (d.kind === 'filter') col.filters.push(d);
    else col.correlations.push(d);
  }
  return col;
}

/** Load rules from files and folders, apply filters and check correlations. */
export function loadRules(paths: readonly string[], opts: ParseOptions = {}): RuleCollection {
  const all: RuleCollection = { rules: [], filters: [], correlations: [], errors: [], files: 0 };
  let files: string[];
  try {
    files = listRuleFiles(paths);
  } catch (e) {
    all.errors.push(new RuleError('unreadable', (e as Error).message, { file: String((e as { path?: string }).path ?? paths.join(' ')), line: 0, column: 0 }));
    return all;
  }
  for (const file of files) {
    let text: string;
    try {
      if (statSync(file).size > LIMITS.ruleFileMaxBytes) throw new Error(`file is larger than ${LIMITS.ruleFileMaxBytes} bytes`);
      text = readFileSync(file, 'utf8');
    } catch (e) {
      all.errors.push(new RuleError('unreadable', (e as Error).message, { file, line: 0, column: 0 }));
      continue;
    }
    const c = parseRuleText(text, file, opts);
    all.files++;
    all.rules.push(...c.rules);
    all.filters.push(...c.filters);
    all.correlations.push(...c.correlations);
    all.errors.push(...c.errors);
  }
  return finalizeCollection(all);
}

/** Apply filters, check references. Exposed for collections built from text. */
export function finalizeCollection(col: RuleCollection): RuleCollection {
  checkDuplicateIds(col);
  for (const f of col.filters) applyFilter(f, col.rules);
  checkCorrelations(col);
  return col;
}

function checkDuplicateIds(col: RuleCollection): void {
  const seen = new Map<string, SigmaRule | SigmaCorrelation>();
  const keep: SigmaRule[] = [];
  for (const r of col.rules) {
    const prev = r.id ? seen.get(r.id) : undefined;
    if (prev) {
      col.errors.push(new RuleError('duplicate-id', `rule id ${r.id} is already used by '${prev.title}' (${prev.file})`, r.location));
      continue;
    }
    if (r.id) seen.set(r.id, r);
    keep.push(r);
  }
  col.rules = keep;
}

/** pySigma: logsource A contains B when every attribute set in A equals B's. */
export function logsourceContains(a: LogSource, b: LogSource): boolean {
  return (['product', 'category', 'service'] as const).every((k) => a[k] === undefined || a[k] === b[k]);
}

/**
 * A filter (Sigma filters spec) adds `and (<filter condition>)` to every rule it names whose
 * logsource it covers. Its identifiers are renamed so they cannot clash with the rule's.
 */
function applyFilter(f: SigmaFilter, rules: SigmaRule[]): void {
  const prefix = `_filter_${(f.id ?? f.title).replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}_`;
  const targets = rules.filter((r) => (f.rules.length === 0 || f.rules.includes(r.id ?? '') || (r.name !== undefined && f.rules.includes(r.name))) && logsourceContains(f.logsource, r.logsource));
  for (const r of targets) {
    for (const [name, expr] of Object.entries(f.searches)) r.searches[prefix + name] = expr;
    r.condition = { kind: 'and', items: [r.condition, renameRefs(f.condition, prefix)] };
    r.conditionText = r.conditionText.map((t) => `(${t}) and (${f.conditionText})`);
    r.filters.push(f.id ?? f.title);
  }
}

function renameRefs(node: SigmaFilter['condition'], prefix: string): SigmaFilter['condition'] {
  switch (node.kind) {
    case 'ref':
      return { kind: 'ref', name: prefix + node.name };
    case 'of':
      return { ...node, names: node.names.map((n) => prefix + n) };
    case 'not':
      return { kind: 'not', item: renameRefs(node.item, prefix) };
    default:
      return { kind: node.kind, items: node.items.map((i) => renameRefs(i, prefix)) };
  }
}

function checkCorrelations(col: RuleCollection): void {
  const known = new Set<string>();
  for (const r of [...col.rules, ...col.correlations]) {
    if (r.id) known.add(r.id);
    if (r.name) known.add(r.name);
  }
  const ok: SigmaCorrelation[] = [];
  for (const c of col.correlations) {
    const missing = c.rules.filter((r) => !known.has(r));
    if (missing.length) col.errors.push(new RuleError('correlation-unknown-rule', `correlation '${c.title}' references unknown rule(s): ${missing.join(', ')}`, c.location));
    else if (refersToItself(c, col.correlations)) col.errors.push(new RuleError('correlation-cycle', `correlation '${c.title}' references itself through other correlations`, c.location));
    else ok.push(c);
  }
  col.correlations = ok;
}

function refersToItself(start: SigmaCorrelation, all: SigmaCorrelation[]): boolean {
  const byRef = new Map<string, SigmaCorrelation>();
  for (const c of all) {
    if (c.id) byRef.set(c.id, c);
    if (c.name) byRef.set(c.name, c);
  }
  const seen = new Set<SigmaCorrelation>();
  const stack = [...start.rules];
  while (stack.length) {
    const c = byRef.get(stack.pop()!);
    if (!c) continue;
    if (c === start) return true;
    if (seen.has(c)) continue;
    seen.add(c);
    stack.push(...c.rules);
  }
  return false;
}

/**
 * Read a placeholders file: a YAML map from placeholder name (without `%`) to a value or a list
 * of values, e.g. `Administrators: ['Administrator', 'Domain Admins']`.
 */
export function loadPlaceholders(file: string): Map<string, string[]> {
  const data = parseYamlFile(readFileSync(file, 'utf8'), file).data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new RuleError('placeholders', 'a placeholders file must be a YAML map of name: [values]', { file, line: 1, column: 1 });
  const out = new Map<string, string[]>();
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const name = k.replace(/^%|%$/g, '');
    const text = (x: unknown): string => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x));
    const values = Array.isArray(v) ? v.map(text) : v == null ? [] : [text(v)];
    if (!values.length) throw new RuleError('placeholders', `placeholder '${name}' has no values`, { file, line: 1, column: 1 });
    out.set(name, values);
  }
  return out;
}
