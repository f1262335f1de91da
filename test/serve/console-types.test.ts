/**
 * The console's API types (console/src/types.ts) against the OpenAPI document the API serves:
 * every interface named like a schema lists exactly that schema's properties, so a field added,
 * renamed or removed on either side fails here instead of showing as a blank in the console.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';
import { TACTICS } from '../../src/detections/attack.js';
import { startTestApi, type Api } from './api-helpers.js';

const TYPES = new URL('../../../console/src/types.ts', import.meta.url);

/** Property names of each interface, with `extends X` and `extends Omit<X, 'a' | 'b'>` followed. */
function interfaceProps(source: string): Map<string, Set<string>> {
  const file = ts.createSourceFile('types.ts', source, ts.ScriptTarget.ES2022, true);
  const decls = new Map<string, ts.InterfaceDeclaration>();
  file.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n)) decls.set(n.name.text, n);
  });
  const out = new Map<string, Set<string>>();
  const resolve = (name: string): Set<string> => {
    const have = out.get(name);
    if (have) return have;
    const d = decls.get(name);
    if (!d) throw new Error(`no interface ${name} in types.ts`);
    const props = new Set<string>();
    for (const h of d.heritageClauses ?? [])
      for (const t of h.types) {
        const base = t.expression.getText(file);
        if (base === 'Omit') {
          const [target, keys] = t.typeArguments ?? [];
          const omitted = new Set((keys?.getText(file) ?? '').split('|').map((k) => k.trim().replace(/^'|'$/g, '')));
          for (const p of resolve(target!.getText(file))) if (!omitted.has(p)) props.add(p);
        } else for (const p of resolve(base)) props.add(p);
      }
    for (const m of d.members) if (ts.isPropertySignature(m)) props.add(m.name.getText(file));
    out.set(name, props);
    return props;
  };
  for (const name of decls.keys()) resolve(name);
  return out;
}

describe('console API types', () => {
  let api: Api;
  before(async () => {
    api = await startTestApi();
  });
  after(() => api.close());

  it('match the OpenAPI schemas of the same name', async () => {
    const doc = (await (await fetch(`${api.base}/api/openapi.json`)).json()) as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    const schemas = doc.components.schemas;
    const props = interfaceProps(readFileSync(TYPES, 'utf8'));
    const compared: string[] = [];
    for (const [name, own] of props) {
      const schema = schemas[name];
      if (!schema?.properties) continue;
      compared.push(name);
      assert.deepEqual([...own].sort(), Object.keys(schema.properties).sort(), `console/src/types.ts ${name} vs the API's ${name} schema`);
    }
    for (const must of [
      'Alert',
      'AlertDetail',
      'StorySummary',
      'StoryDetail',
      'Story',
      'Session',
      'Rule',
      'Health',
      'HostFacts',
      'AccountFacts',
      'Coverage',
      'RuleTestResult',
      'LiveEvent',
      'User',
      'ApiKey',
      'IngestToken',
    ])
      assert.ok(compared.includes(must), `${must} was compared (compared: ${compared.join(', ')})`);
  });

  it("lists the server's ATT&CK tactics in the server's kill-chain order", () => {
    // console/src/attack.ts is outside this program: its table is read as text.
    const text = readFileSync(new URL('../../../console/src/attack.ts', import.meta.url), 'utf8');
    const rows = [...text.matchAll(/\{ id: '([^']*)', short: '([^']+)', name: '([^']+)' \}/g)].map((m) => ({ id: m[1], short: m[2], name: m[3] }));
    assert.deepEqual(
      rows,
      TACTICS.map((t) => ({ ...t })),
    );
  });
});
