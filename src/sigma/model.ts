/**
 * The typed, serialisable Sigma rule model (the AST). YAML is parsed into this once; the
 * compiler and the reference interpreter both work from it, never from YAML.
 */
import type { TextLocation } from '../core/errors.js';

/** A piece of a Sigma string: literal text or a wildcard (`*` any run, `?` one character). */
export type StrPart = string | { wildcard: '*' | '?' };

/** A single thing a field value is tested against, after all modifiers were applied. */
export type ValueMatcher =
  | { kind: 'string'; parts: StrPart[]; cased: boolean }
  | { kind: 'regex'; pattern: string; flags: string }
  /** A YAML number: equal when the field is that number or its decimal text. */
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  /** `null`: the field is absent, null or empty. */
  | { kind: 'null' }
  | { kind: 'exists'; value: boolean }
  | { kind: 'compare'; op: CompareOp; value: number }
  | { kind: 'cidr'; network: string }
  | { kind: 'fieldref'; field: string; position: 'exact' | 'start' | 'end' | 'contains'; cased: boolean }
  | { kind: 'datepart'; part: DatePart; op: CompareOp | 'eq'; value: number }
  /** Alternatives produced by one value (windash, base64offset, expand): always OR-ed. */
  | { kind: 'anyOf'; values: ValueMatcher[] };

export type CompareOp = 'lt' | 'lte' | 'gt' | 'gte';
export type DatePart = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

/** `field|mods: values` after modifiers. `field === null` is a keyword search over the whole event. */
export interface DetectionItem {
  kind: 'item';
  field: string | null;
  modifiers: string[];
  values: ValueMatcher[];
  /** `|all`: every value must match (default: any). */
  all: boolean;
  /** `|neq`: the item is negated. */
  negate: boolean;
  location: TextLocation;
}

/** A search identifier's definition: maps AND their entries, lists OR their elements. */
export type SearchExpr = DetectionItem | { kind: 'and' | 'or'; items: SearchExpr[] };

export type ConditionNode =
  | { kind: 'ref'; name: string }
  | { kind: 'and' | 'or'; items: ConditionNode[] }
  | { kind: 'not'; item: ConditionNode }
  /** `1 of`/`any of`/`all of` a pattern, resolved to the identifiers it names. */
  | { kind: 'of'; quantifier: 'any' | 'all'; pattern: string; names: string[] };

export interface LogSource {
  product?: string;
  category?: string;
  service?: string;
}

export type Level = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export const LEVELS: readonly Level[] = ['informational', 'low', 'medium', 'high', 'critical'];

interface DocumentMeta {
  file: string;
  /** Index of the document in a multi-document file. */
  documentIndex: number;
  location: TextLocation;
  id?: string;
  name?: string;
  title: string;
  status?: string;
  description?: string;
  author?: string;
  date?: string;
  modified?: string;
  references: string[];
  tags: string[];
  falsepositives: string[];
}

export interface SigmaRule extends DocumentMeta {
  kind: 'rule';
  level?: Level;
  logsource: LogSource;
  searches: Record<string, SearchExpr>;
  /** Several conditions (a YAML list) are OR-ed. */
  condition: ConditionNode;
  conditionText: string[];
  /** Titles/ids of filters applied to this rule. */
  filters: string[];
  /** Names of placeholders resolved through `|expand`. */
  placeholders: string[];
  /** Fields the rule lists for output (`fields:`). */
  fields: string[];
}

export interface SigmaFilter extends DocumentMeta {
  kind: 'filter';
  logsource: LogSource;
  /** Rule ids or names; empty = any rule the logsource covers. */
  rules: string[];
  searches: Record<string, SearchExpr>;
  condition: ConditionNode;
  conditionText: string;
}

export type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered' | 'value_sum' | 'value_avg' | 'value_percentile' | 'value_median';

export type CorrelationOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

export interface SigmaCorrelation extends DocumentMeta {
  kind: 'correlation';
  level?: Level;
  type: CorrelationType;
  rules: string[];
  groupBy: string[];
  /** Window length in seconds. */
  timespan: number;
  timespanText: string;
  /** Conditions on the aggregate, AND-ed (`gt: 10` and `lte: 20` is a range). */
  condition: { op: CorrelationOp; value: number }[];
  field?: string;
  percentile?: number;
  aliases: Record<string, Record<string, string>>;
  generate: boolean;
}

export type SigmaDocument = SigmaRule | SigmaFilter | SigmaCorrelation;
