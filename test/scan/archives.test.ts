/**
 * gitleaks' archive fixtures (../shared): every expected finding (inner path with `!`, line,
 * secret) at archive depth 8, nothing more, and the allowlisted `.env.prod` stays quiet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath, skipWithoutShared } from '../shared.js';
import { dirname, join } from 'node:path';
import { Scanner } from '../../src/scan/scanner.js';
import { loadGitleaksToml } from '../../src/scan/rules/gitleaks-config.js';
import { DEFAULT_LIMITS } from '../../src/scan/sources/limits.js';

const ROOT = sharedPath('dlp/gitleaks');
const noStdin = (async function* (): AsyncGenerator<Buffer> {})();

interface Case {
  scan_target: string;
  expire_context: boolean;
  max_archive_depth: number;
  config: string;
  expected_findings: { rule_id: string; line: number; secret: string; file: string }[];
}

test('gitleaks archive fixtures: expected findings at depth 8', { skip: skipWithoutShared('dlp/gitleaks/testdata/archives/expected-findings.json') }, async (t) => {
  const specPath = join(ROOT, 'testdata/archives/expected-findings.json');
  const cases = JSON.parse(readFileSync(specPath, 'utf8')) as Case[];
  let total = 0;
  for (const c of cases) {
    // gitleaks cancels the scan's context up front in this case (testing its cancellation, which
    // a CLI run has no equivalent of): it expects nothing because nothing was scanned.
    if (c.expire_context) {
      t.diagnostic(`${c.scan_target}: expire_context case not applicable (gitleaks cancellation test)`);
      continue;
    }
    const cfg = loadGitleaksToml(readFileSync(join(ROOT, c.config), 'utf8'), c.config);
    const scanner = new Scanner({ ruleSet: cfg.ruleSet, validated: [], limits: { ...DEFAULT_LIMITS, maxArchiveDepth: c.max_archive_depth }, maxDecodeDepth: 0 });
    const target = join(ROOT, c.scan_target);
    const r = await scanner.scan([target], noStdin);
    const prefix = dirname(target) + '/';
    const got = r.findings.map((f) => JSON.stringify([f.ruleId, f.file.slice(prefix.length), f.startLine, f.secret])).sort();
    const want = c.expected_findings.map((e) => JSON.stringify([e.rule_id, e.file, e.line, e.secret])).sort();
    assert.deepEqual(got, want, c.scan_target);
    if (c.expected_findings.length) assert.deepEqual(r.issues, [], `${c.scan_target}: no issues`);
    total += want.length;
  }
  t.diagnostic(`${cases.length} targets, ${total} expected findings, all found`);
});
