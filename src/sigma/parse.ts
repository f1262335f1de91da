/**
 * Sigma YAML documents → the typed model: detection rules, filters (meta-filters) and
 * correlation rules. Every problem becomes a RuleError with file, line and column; a document
 * with an error is skipped as a whole and the others still load.
 */
import { RuleError } from '../core/errors.js';
import { ConditionError, parseCondition } from './condition.js';
import {
  LEVELS,
  type ConditionNode,
  type CorrelationOp,
  type CorrelationType,
  type DetectionItem,
  type Level,
  type LogSource,
  type SearchExpr,
  type SigmaCorrelation,
  type SigmaDocument,
  type SigmaFilter,
  type SigmaRule,
} from './model.js';
import { ModifierError, applyFlags, applyModifiers, finish, fromYaml, MODIFIERS, type ModifierContext, type ModValue } from './modifiers.js';
import type { YamlDoc } from '../core/yaml.js';

type Path = (string | number)[];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ParseOptions {
  placeholders?: ReadonlyMap<string, readonly string[]>;
}

interface Ctx extends ParseOptions {
  y: YamlDoc;
}

/** Raised inside parsing; carries the YAML path so the location can be resolved. */
class At extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path: Path,
    readonly columnOffset = 0,
    readonly at: 'key' | 'value' = 'key',
  ) {
    super(message);
  }
}

/** Parse one YAML document into a Sigma document, or a RuleError. */
export function parseSigmaDocument(y: YamlDoc, opts: ParseOptions = {}): SigmaDocument | RuleError {
  try {
    if (!isObj(y.data)) throw new At('not-a-map', 'a Sigma document must be a YAML map', []);
    const d = y.data;
    if ('action' in d) throw new At('unsupported-action', `'action: ${String(d.action)}' collections are Sigma v1 and not supported; split them into separate rules`, ['action']);
    if ('correlation' in d) return parseCorrelation(y, d);
    if ('filter' in d) return parseFilter(y, d, { ...opts, y });
    return parseRule(y, d, { ...opts, y });
  } catch (e) {
    if (e instanceof At) {
      const loc = y.locate(e.path, e.at);
      return new RuleError(e.code, e.message, { ...loc, column: loc.column + e.columnOffset });
    }
    throw e;
  }
}

function meta(y: YamlDoc, d: Obj) {
  const title = d.title;
  if (typeof title !== 'string' || !title.trim()) throw new At('missing-title', "'title' is required and must be a string", ['title']);
  const optStr = (k: string): string | undefined => {
    const v = d[k];
    if (v == null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) return v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
    throw new At('bad-field', `'${k}' must be a string`, [k]);
  };
  const strList = (k: string): string[] => {
    const v = d[k];
    if (v == null) return [];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) return v.filter((x) => x != null).map(String);
    throw new At('bad-field', `'${k}' must be a list`, [k]);
  };
  return {
    file: y.file,
    documentIndex: y.index,
    location: y.locate([]),
    id: optStr('id'),
    name: optStr('name'),
    title: title.trim(),
    status: optStr('status'),
    description: optStr('description'),
    author: optStr('author'),
    date: optStr('date'),
    modified: optStr('modified'),
    references: strList('references'),
    tags: strList('tags'),
    falsepositives: strList('falsepositives'),
  };
}

function level(d: Obj): Level | undefined {
  if (d.level == null) return undefined;
  if (typeof d.level !== 'string' || !LEVELS.includes(d.level as Level)) throw new At('invalid-level', `level must be one of ${LEVELS.join(', ')}`, ['level']);
  return d.level as Level;
}

const STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'];

function logsource(d: Obj, required: boolean): LogSource {
  const ls = d.logsource;
  if (ls == null && !required) return {};
  if (!isObj(ls)) throw new At('missing-logsource', "'logsource' is required and must be a map", ['logsource']);
  const out: LogSource = {};
  for (const k of ['product', 'category', 'service'] as const) {
    const v = ls[k];
    if (v == null) continue;
    if (typeof v !== 'string') throw new At('bad-logsource', `logsource ${k} must be a string`, ['logsource', k]);
    out[k] = v.toLowerCase();
  }
  return out;
}

function parseRule(y: YamlDoc, d: Obj, opts: Ctx): SigmaRule {
  const m = meta(y, d);
  if (m.status !== undefined && !STATUSES.includes(m.status)) throw new At('invalid-status', `status must be one of ${STATUSES.join(', ')}`, ['status']);
  const det = d.detection;
  if (!isObj(det)) throw new At('missing-detection', "'detection' is required and must be a map", ['detection']);
  const used = new Set<string>();
  const { searches, condition, conditionText } = parseDetectionSection(det, ['detection'], opts, used);
  return {
    kind: 'rule',
    ...m,
    level: level(d),
    logsource: logsource(d, true),
    searches,
    condition,
    conditionText,
    filters: [],
    placeholders: [...used],
    fields: Array.isArray(d.fields) ? d.fields.map(String) : [],
  };
}

function parseFilter(y: YamlDoc, d: Obj, opts: Ctx): SigmaFilter {
  const m = meta(y, d);
  const f = d.filter;
  if (!isObj(f)) throw new At('bad-filter', "'filter' must be a map with 'rules', search identifiers and 'condition'", ['filter']);
  let rules: string[];
  if (f.rules == null || f.rules === 'any') rules = [];
  else if (typeof f.rules === 'string') rules = [f.rules];
  else if (Array.isArray(f.rules)) rules = f.rules.map(String);
  else throw new At('bad-filter', "filter 'rules' must be a list of rule ids or names", ['filter', 'rules']);
  if (typeof f.condition !== 'string') throw new At('bad-filter', "filter 'condition' must be a single string", ['filter', 'condition']);
  const body: Obj = { ...f };
  delete body.rules;
  const { searches, condition, conditionText } = parseDetectionSection(body, ['filter'], opts, new Set());
  return { kind: 'filter', ...m, logsource: logsource(d, true), rules, searches, condition, conditionText: conditionText[0]! };
}

/** Parse identifiers + condition of a `detection` (or `filter`) map. */
function parseDetectionSection(det: Obj, base: Path, opts: Ctx, used: Set<string>) {
  const searches: Record<string, SearchExpr> = {};
  for (const [name, def] of Object.entries(det)) {
    if (name === 'condition' || name === 'timeframe') continue;
    searches[name] = parseSearch(def, [...base, name], opts, used);
  }
  const cond = det.condition;
  const texts = typeof cond === 'string' ? [cond] : Array.isArray(cond) && cond.length && cond.every((c) => typeof c === 'string') ? cond : undefined;
  if (!texts) throw new At('missing-condition', "'condition' is required: a string or a list of strings", [...base, 'condition']);
  if (det.timeframe != null) throw new At('timeframe-removed', "'timeframe' in detection is Sigma v1; use a correlation rule with 'timespan'", [...base, 'timeframe']);
  const names = Object.keys(searches);
  const nodes = texts.map((t, i) => {
    try {
      return parseCondition(t, names);
    } catch (e) {
      if (e instanceof ConditionError) throw new At(e.code, e.message, typeof cond === 'string' ? [...base, 'condition'] : [...base, 'condition', i], e.offset, 'value');
      throw e;
    }
  });
  const condition: ConditionNode = nodes.length === 1 ? nodes[0]! : { kind: 'or', items: nodes };
  return { searches, condition, conditionText: texts };
}

function parseSearch(def: unknown, path: Path, opts: Ctx, used: Set<string>): SearchExpr {
  if (isObj(def)) {
    const items = Object.entries(def).map(([key, values]) => parseItem(key, values, [...path, key], opts, used));
    if (!items.length) throw new At('empty-search', `search identifier '${String(path[path.length - 1])}' is empty`, path);
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }
  if (Array.isArray(def)) {
    if (!def.length) throw new At('empty-search', `search identifier '${String(path[path.length - 1])}' is an empty list`, path);
    // A list of plain values is a keyword search; a list of maps is an OR of maps.
    if (def.every((x) => !isObj(x) && !Array.isArray(x))) return parseItem('', def, path, opts, used);
    const items = def.map((x, i) => (isObj(x) ? parseSearch(x, [...path, i], opts, used) : parseItem('', [x], [...path, i], opts, used)));
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }
  if (typeof def === 'string' || typeof def === 'number') return parseItem('', [def], path, opts, used);
  throw new At('bad-search', `search identifier '${String(path[path.length - 1])}' must be a map, a list or a keyword`, path);
}

const POSITIONAL = new Set(['contains', 'startswith', 'endswith', 're', 'cidr', 'exists', 'fieldref', 'base64', 'base64offset']);

function parseItem(key: string, raw: unknown, path: Path, opts: Ctx, used: Set<string>): DetectionItem {
  const [fieldName, ...chain] = key.split('|');
  const field = fieldName === '' ? null : fieldName!;
  for (const mod of chain) if (!(mod in MODIFIERS)) throw new At('unknown-modifier', `unknown modifier '${mod}' in '${key}'`, path);
  const ctx: ModifierContext = { field, chain, index: 0, all: false, negate: false, cased: false, placeholders: opts.placeholders, usedPlaceholders: used };
  const list = Array.isArray(raw) ? raw : [raw];
  try {
    applyFlags(ctx);
    if (Array.isArray(raw) && raw.length === 0) {
      // `field: []` means the field has no value (pySigma: empty list → null).
      return { kind: 'item', field, modifiers: chain, values: [{ kind: 'null' }], all: false, negate: ctx.negate, location: opts.y.locate(path) };
    }
    const keyword = field === null && !chain.some((m) => POSITIONAL.has(m));
    const values = list.map((v, i) => {
      if (isObj(v) || Array.isArray(v))
        throw new At('value-type', `values must be scalars; '${key || 'keywords'}' has a nested ${Array.isArray(v) ? 'list' : 'map'}`, Array.isArray(raw) ? [...path, i] : path);
      let mv: ModValue = applyModifiers(fromYaml(v), ctx);
      // Keywords search the whole event: a plain keyword matches anywhere in a value.
      if (keyword) mv = applyModifiers(mv, { ...ctx, chain: ['contains'], index: 0 });
      return finish(mv, ctx.cased);
    });
    return { kind: 'item', field, modifiers: chain, values, all: ctx.all, negate: ctx.negate, location: opts.y.locate(path) };
  } catch (e) {
    if (e instanceof ModifierError) throw new At(e.code, `${key || 'keywords'}: ${e.message}`, path);
    throw e;
  }
}

const CORRELATION_TYPES: CorrelationType[] = ['event_count', 'value_count', 'temporal', 'temporal_ordered', 'value_sum', 'value_avg', 'value_percentile', 'value_median'];
const OPS: CorrelationOp[] = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'];
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2629746, y: 31556952 };

/** Parse a `timespan` such as `5m`, `1h`, `30s`, `2d` into seconds. */
export function parseTimespan(text: unknown): number | undefined {
  const m = typeof text === 'string' ? /^(\d+)([smhdwMy])$/.exec(text.trim()) : null;
  if (!m) return undefined;
  const n = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return n > 0 ? n : undefined;
}

function parseCorrelation(y: YamlDoc, d: Obj): SigmaCorrelation {
  const m = meta(y, d);
  const c = d.correlation;
  const P = ['correlation'];
  if (!isObj(c)) throw new At('bad-correlation', "'correlation' must be a map", P);
  const type = c.type as CorrelationType;
  if (!CORRELATION_TYPES.includes(type)) throw new At('correlation-type', `correlation type must be one of ${CORRELATION_TYPES.join(', ')}`, [...P, 'type']);
  const rules = typeof c.rules === 'string' ? [c.rules] : Array.isArray(c.rules) ? c.rules.map(String) : undefined;
  if (!rules?.length) throw new At('correlation-rules', "correlation 'rules' must name at least one rule id or name", [...P, 'rules']);
  const gb = c['group-by'];
  const groupBy = gb == null ? [] : typeof gb === 'string' ? [gb] : Array.isArray(gb) && gb.every((x) => typeof x === 'string') ? gb : undefined;
  if (!groupBy) throw new At('correlation-group-by', "'group-by' must be a field name or a list of field names", [...P, 'group-by']);
  const timespan = parseTimespan(c.timespan);
  if (timespan === undefined) throw new At('correlation-timespan', "'timespan' must be a positive number with a unit s, m, h, d, w, M or y (e.g. 5m)", [...P, 'timespan']);
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  if (temporal && rules.length < 2) throw new At('correlation-rules', `a ${type} correlation needs at least two rules`, [...P, 'rules']);
  const condition: { op: CorrelationOp; value: number }[] = [];
  let field: string | undefined;
  let percentile: number | undefined;
  if (c.condition == null) {
    if (!temporal) throw new At('correlation-condition', `a ${type} correlation needs a 'condition' such as {gte: 10}`, P);
    condition.push({ op: 'gte', value: rules.length });
  } else {
    if (!isObj(c.condition)) throw new At('correlation-condition', "correlation 'condition' must be a map such as {gte: 10}", [...P, 'condition']);
    for (const [k, v] of Object.entries(c.condition)) {
      if (k === 'field') {
        if (typeof v !== 'string') throw new At('correlation-condition', "condition 'field' must be a field name", [...P, 'condition', k]);
        field = v;
      } else if (k === 'percentile') {
        if (typeof v !== 'number' || v < 0 || v > 100) throw new At('correlation-condition', "'percentile' must be a number from 0 to 100", [...P, 'condition', k]);
        percentile = v;
      } else if (OPS.includes(k as CorrelationOp)) {
        if (typeof v !== 'number') throw new At('correlation-condition', `condition '${k}' needs a number`, [...P, 'condition', k]);
        condition.push({ op: k as CorrelationOp, value: v });
      } else {
        throw new At('correlation-condition', `unknown condition key '${k}' (use gt, gte, lt, lte, eq, neq, field, percentile)`, [...P, 'condition', k]);
      }
    }
    if (!condition.length) throw new At('correlation-condition', 'correlation condition needs an operator: gt, gte, lt, lte, eq or neq', [...P, 'condition']);
  }
  const needsField = type === 'value_count' || type.startsWith('value_');
  if (needsField && !field) throw new At('correlation-field', `a ${type} correlation needs 'condition.field'`, [...P, 'condition']);
  if (type === 'value_percentile' && percentile === undefined) throw new At('correlation-condition', "a value_percentile correlation needs 'condition.percentile'", [...P, 'condition']);
  const aliases: Record<string, Record<string, string>> = {};
  if (c.aliases != null) {
    if (!isObj(c.aliases)) throw new At('correlation-aliases', "'aliases' must map alias names to {rule: field}", [...P, 'aliases']);
    for (const [alias, map] of Object.entries(c.aliases)) {
      if (!isObj(map) || !Object.values(map).every((v) => typeof v === 'string')) throw new At('correlation-aliases', `alias '${alias}' must map rule names to field names`, [...P, 'aliases', alias]);
      for (const r of Object.keys(map)) if (!rules.includes(r)) throw new At('correlation-aliases', `alias '${alias}' names rule '${r}', which is not in 'rules'`, [...P, 'aliases', alias, r]);
      aliases[alias] = map as Record<string, string>;
    }
  }
  if (c.generate != null && typeof c.generate !== 'boolean') throw new At('correlation-generate', "'generate' must be true or false", [...P, 'generate']);
  const generate = (c.generate as boolean | undefined) ?? (d.generate as boolean | undefined) ?? false;
  return {
    kind: 'correlation',
    ...m,
    level: level(d),
    type,
    rules,
    groupBy,
    timespan,
    timespanText: String(c.timespan),
    condition,
    field,
    percentile,
    aliases,
    generate,
  };
}
