/**
 * Every YAML parse of the program goes through here (rules, the logsource map, domain data,
 * placeholders, configuration), so each one has the alias cap and reports errors with file, line
 * and column.
 *
 * SigmaHQ rules are written against YAML 1.1 (PyYAML). The one behaviour the corpus relies on is
 * that a plain scalar with leading zeros (`00000429`, a keyboard layout id) stays a string, while
 * YAML 1.2's core schema would read it as the integer 429. We use the core schema with an integer
 * tag that refuses leading zeros.
 */
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node, type Range, type ScalarTag } from 'yaml';
import { FirebreakError, RuleError, type TextLocation } from './errors.js';
import { LIMITS } from './limits.js';

const decimalIntNoLeadingZero: ScalarTag = {
  identify: (v) => typeof v === 'number' && Number.isInteger(v),
  default: true,
  tag: 'tag:yaml.org,2002:int',
  test: /^[-+]?(?:0|[1-9][0-9]*)$/,
  resolve: (s) => Number(s),
};

/** A parsed YAML document plus a way to turn node offsets into line/column. */
export interface YamlDoc {
  doc: Document.Parsed;
  file: string;
  index: number;
  /** The document as plain data (aliases bounded). */
  data: unknown;
  /** Location of the node at `path` (falls back to the nearest existing parent). */
  locate(path: readonly (string | number)[], at?: 'key' | 'value'): TextLocation;
}

/** Parse every document of a YAML file. Syntax errors become RuleErrors with line and column. */
export function parseYamlDocuments(text: string, file: string): { docs: YamlDoc[]; errors: RuleError[] } {
  const lineCounter = new LineCounter();
  const errors: RuleError[] = [];
  const docs: YamlDoc[] = [];
  const parsed = parseAllDocuments(text, {
    lineCounter,
    schema: 'core',
    customTags: (tags) => tags.map((t) => ((t as ScalarTag).tag === 'tag:yaml.org,2002:int' && !(t as ScalarTag).format ? decimalIntNoLeadingZero : t)),
    prettyErrors: false,
    uniqueKeys: true,
  });
  const at = (offset: number): TextLocation => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((doc, index) => {
    if (doc.errors.length) {
      for (const e of doc.errors) errors.push(new RuleError('yaml-syntax', e.message.split('\n')[0]!, at(e.pos[0])));
      return;
    }
    if (doc.contents == null) return; // empty document (e.g. trailing `---`)
    let data: unknown;
    try {
      // Hostile input: a billion-laughs document expands aliases exponentially; toJS caps them.
      data = doc.toJS({ maxAliasCount: LIMITS.yamlMaxAliasCount });
    } catch (e) {
      errors.push(new RuleError('yaml-syntax', (e as Error).message, at(doc.contents.range?.[0] ?? 0)));
      return;
    }
    // Point at the key for a map entry (where a reader looks), at the item for a list element.
    const locate = (path: readonly (string | number)[], where: 'key' | 'value' = 'key'): TextLocation => {
      let node: unknown = doc.contents;
      let best: Range | undefined = (node as Node | null)?.range ?? undefined;
      for (const step of path) {
        if (isMap(node)) {
          const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === step);
          if (!pair) break;
          best = (pair.key as Node | null)?.range ?? best;
          node = pair.value;
          if (where === 'value' && step === path[path.length - 1]) best = (node as Node | null)?.range ?? best;
        } else if (isSeq(node) && typeof step === 'number') {
          node = node.items[step];
          best = (node as Node | null)?.range ?? best;
        } else break;
      }
      return at(best?.[0] ?? 0);
    };
    docs.push({ doc, file, index, data, locate });
  });
  return { docs, errors };
}

/**
 * A file that must hold exactly one YAML document (data and configuration files): its data and
 * a locator for error messages. Syntax errors and a missing document throw a `FirebreakError`
 * naming the file, line and column.
 */
export function parseYamlFile(text: string, file: string): YamlDoc {
  const { docs, errors } = parseYamlDocuments(text, file);
  if (errors.length) throw new FirebreakError(errors[0]!.code, errors.map((e) => e.format()).join('\n'));
  if (docs.length !== 1) throw new FirebreakError('yaml-documents', `${file}: expected one YAML document, found ${docs.length}`);
  return docs[0]!;
}
