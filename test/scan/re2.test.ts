/** Go RE2 → JavaScript translation: the constructs gitleaks' rules use, and no ReDoS from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRe2, translateRe2 } from '../../src/scan/rules/re2.js';
import { Detector } from '../../src/scan/engine/detect.js';
import { defaultGitleaksConfig } from '../../src/scan/rules/builtin.js';

test('inline flags, Go classes and anchors keep their Go meaning', () => {
  assert.ok(compileRe2('abc(?i)def').test('abcDEF'));
  assert.ok(!compileRe2('abc(?i)def').test('ABCdef'));
  assert.ok(compileRe2('(?i)x(?-i:Y)z').test('XYZ'));
  assert.ok(!compileRe2('(?i)x(?-i:Y)z').test('XyZ'));
  assert.ok(compileRe2('a(?s:.)b').test('a\nb'));
  assert.ok(!compileRe2('a.b').test('a\nb'));
  assert.ok(compileRe2('a.b').test('a\rb'), "Go's . matches \\r");
  assert.ok(!compileRe2('a\\sb').test('a\u00a0b'), "Go's \\s is ASCII only");
  assert.ok(!compileRe2('a\\sb').test('a\vb'));
  assert.ok(compileRe2('[[:alnum:]]{3}').test('a1Z'));
  assert.ok(compileRe2('x\\z').test('abx') && !compileRe2('x\\z').test('x\n'));
  assert.equal(compileRe2('(?P<name>a)').exec('a')!.groups!.name, 'a');
});

test('\\S inside a class becomes one class, not an alternation', () => {
  assert.equal(translateRe2('[\\s\\S-]').source, '[\\s\\S]');
  assert.equal(translateRe2('[a\\S]').source, '[^\\t\\n\\f\\r ]');
  assert.ok(compileRe2('[ \\S]').test(' ') && !compileRe2('^[ \\S]$').test('\t'));
});

test('an unterminated private key block is scanned in bounded time', () => {
  const rule = defaultGitleaksConfig().ruleSet.rules.find((r) => r.id === 'private-key')!;
  const d = new Detector({ rules: [rule], allowlists: [] }, [], { maxDecodeDepth: 0 });
  const text = `-----BEGIN PRIVATE KEY-----${'-'.repeat(20_000)}\n${'A-'.repeat(20_000)}`;
  const t0 = performance.now();
  assert.deepEqual(d.detect(Buffer.from(text), 'k.pem'), []);
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
});
