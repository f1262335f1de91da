/**
 * Validation of data and configuration files against a JSON Schema (ajv), with every error
 * pointing at the file, line and column of the offending value.
 */
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Schema, ValidateFunction } from 'ajv';
import { FirebreakError } from './errors.js';
import type { YamlDoc } from './yaml.js';

// ajv (a large library) is loaded when something is first validated, not when this module is:
// worker threads import modules that can validate but take data the main thread validated, and
// would otherwise each load and compile ajv for nothing.
let ajvInstance: Ajv | undefined;
function compile(schema: Schema & object): ValidateFunction {
  if (!ajvInstance) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    // strictRequired off: `oneOf: [{ required: ['id'] }, { required: ['name'] }]` names properties declared beside it.
    ajvInstance = new AjvClass({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  }
  return ajvInstance.compile(schema);
}
const compiled = new WeakMap<object, ValidateFunction>();

/** Errors reported per file at most: the first few are what a person fixes first. */
const MAX_REPORTED = 20;

/**
 * The document's data when it fits the schema; otherwise throws a `FirebreakError` with code
 * `data-invalid` listing each problem as `file:line:column: message`.
 */
export function validateYaml<T>(doc: YamlDoc, schema: Schema & object): T {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = compile(schema)));
  if (validate(doc.data)) return doc.data as T;
  const lines = (validate.errors ?? []).slice(0, MAX_REPORTED).map((e) => {
    const path = pointerPath(e.instancePath);
    const { file, line, column } = doc.locate(path, 'value');
    return `${file}:${line}:${column}: ${describe(e, path)}`;
  });
  throw new FirebreakError('data-invalid', lines.join('\n'));
}

function pointerPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(e: ErrorObject, path: readonly (string | number)[]): string {
  const where = path.length ? path.join('.') : '(top level)';
  if (e.keyword === 'additionalProperties') return `${where}: unknown key '${String((e.params as { additionalProperty: string }).additionalProperty)}'`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${e.message ?? e.keyword}`;
}

/**
 * Plain data (e.g. parsed JSON state) when it fits the schema; otherwise throws a
 * `FirebreakError` with code `data-invalid` naming `what` and the path of each problem.
 */
export function validateJson<T>(data: unknown, schema: Schema & object, what: string): T {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = compile(schema)));
  if (validate(data)) return data as T;
  const lines = (validate.errors ?? []).slice(0, MAX_REPORTED).map((e) => `${what}: ${describe(e, pointerPath(e.instancePath))}`);
  throw new FirebreakError('data-invalid', lines.join('\n'));
}
