/**
 * The layer and cycle rules of .dependency-cruiser.cjs hold over src/, and they really catch a
 * reverse import and a type-only cycle (checked on a scratch copy of the tree, so the rules
 * themselves are tested, not only the code).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type IViolation } from 'dependency-cruiser';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);

async function violations(root: string): Promise<IViolation[]> {
  const config = require(join(root, '.dependency-cruiser.cjs')) as { forbidden: NonNullable<NonNullable<ICruiseOptions['ruleSet']>['forbidden']>; options: ICruiseOptions };
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const res = await cruise(['src'], { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden } }, undefined, { tsConfig: { fileName: join(root, 'tsconfig.json') } as never });
    if (typeof res.output === 'string') throw new Error('unexpected text output');
    return res.output.summary.violations;
  } finally {
    process.chdir(cwd);
  }
}

describe('layers and cycles (dependency-cruiser)', () => {
  it('src/ has no layer violation and no import cycle', async () => {
    const v = await violations(ROOT);
    assert.deepEqual(
      v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`),
      [],
    );
  });

  it('a reverse import and a type-only cycle in a scratch copy are caught', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-layers-'));
    try {
      cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
      for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f));
      // correlation (earlier) reaching into output (later), type-only: still a violation.
      appendFileSync(join(dir, 'src/correlation/engine.ts'), "\nimport type { HuntSummary } from '../output/records.js';\nexport type _Reverse = HuntSummary;\n");
      // a type-only cycle between two new modules of one layer.
      writeFileSync(join(dir, 'src/core/cycle-a.ts'), "import type { B } from './cycle-b.js';\nexport interface A { b?: B }\n");
      writeFileSync(join(dir, 'src/core/cycle-b.ts'), "import type { A } from './cycle-a.js';\nexport interface B { a?: A }\n");
      const v = await violations(dir);
      const names = v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`);
      assert.ok(names.includes('layer-correlation: src/correlation/engine.ts → src/output/records.ts'), names.join('\n'));
      assert.ok(
        names.some((n) => n.startsWith('no-circular: src/core/cycle-')),
        names.join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
