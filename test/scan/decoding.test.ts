/**
 * Decoding against gitleaks' own fixtures (../shared): one decoder pass per case of
 * decoder-cases.jsonl, and the findings expected in encoded-test-values.txt at decode depth 8.
 * gitleaks' fixture counts lines from 0 and columns from 2 for the first byte (its location
 * arithmetic); ours are 1-based, so expected line = ours - 1 and expected column = ours + 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath, skipWithoutShared } from '../shared.js';
import { Decoder, ENCODED_RUN, findEncodedRuns } from '../../src/scan/decode/codec.js';
import { Scanner } from '../../src/scan/scanner.js';
import { loadGitleaksToml } from '../../src/scan/rules/gitleaks-config.js';
import { DEFAULT_LIMITS } from '../../src/scan/sources/limits.js';

const DIR = sharedPath('dlp/gitleaks/decoding');

test('decoder: one pass over each of gitleaks decoder cases', { skip: skipWithoutShared('dlp/gitleaks/decoding/decoder-cases.jsonl') }, () => {
  const cases = readFileSync(`${DIR}/decoder-cases.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; input: string; expected_decoded: string });
  assert.ok(cases.length >= 18);
  for (const c of cases) {
    const out = new Decoder().decode(c.input, []).text;
    assert.equal(out, c.expected_decoded, c.name);
  }
});

test('decoding: every expected finding of encoded-test-values.txt, with its decode chain', { skip: skipWithoutShared('dlp/gitleaks/decoding/encoded-expected-findings.json') }, async () => {
  const spec = JSON.parse(readFileSync(`${DIR}/encoded-expected-findings.json`, 'utf8')) as {
    config: string;
    max_decode_depth: number;
    expected_findings: { rule_id: string; start_line: number; start_column: number; end_line: number; end_column: number; secret: string; tags: string[] }[];
  };
  const cfg = loadGitleaksToml(readFileSync(`${DIR}/${spec.config}`, 'utf8'), spec.config);
  assert.deepEqual(cfg.errors, []);
  const scanner = new Scanner({ ruleSet: cfg.ruleSet, validated: [], limits: DEFAULT_LIMITS, maxDecodeDepth: spec.max_decode_depth });
  const r = await scanner.scan([`${DIR}/encoded-test-values.txt`], (async function* () {})());
  const key = (rule: string, l: number, c: number, el: number, ec: number, secret: string, chain: string[]): string => JSON.stringify([rule, l, c, el, ec, secret, chain]);
  const got = new Set(r.findings.map((f) => key(f.ruleId, f.startLine - 1, f.startColumn + 1, f.endLine - 1, f.endColumn + 1, f.secret, f.decodeChain)));
  const expected = spec.expected_findings.map((e) =>
    key(
      e.rule_id,
      e.start_line,
      e.start_column,
      e.end_line,
      e.end_column,
      e.secret,
      e.tags.filter((x) => x.startsWith('decoded:')).map((x) => x.slice(8)),
    ),
  );
  for (const e of expected) assert.ok(got.has(e), `missing ${e}`);
  assert.equal(r.findings.length, expected.length, 'no finding beyond the expected ones');
  // Depth matters: with decoding off only the plain-text findings remain.
  const plain = await new Scanner({ ruleSet: cfg.ruleSet, validated: [], limits: DEFAULT_LIMITS, maxDecodeDepth: 0 }).scan([`${DIR}/encoded-test-values.txt`], (async function* () {})());
  assert.deepEqual(plain.findings.map((f) => f.ruleId).sort(), ['b64-encoded-private-key', 'private-key']);
});

test('decoder: the fast run finder agrees with the reference regex', () => {
  const parts = [
    'abc',
    ' ',
    'U+0041 ',
    'U+00',
    '\\u0068',
    '\\\\u0065',
    '%41',
    '%4',
    'deadbeef',
    '0123456789abcdefABCDEF',
    'ZGVjb2RlZC1zZWNyZXQ',
    '==',
    '=',
    '/',
    '+',
    '-',
    '_',
    '\n',
    'x.y',
    'Uu',
    'AKIA',
    '%%',
  ];
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let k = 0; k < 3000; k++) {
    let s = '';
    const len = 1 + rnd(30);
    for (let i = 0; i < len; i++) s += parts[rnd(parts.length)];
    const ref: { start: number; end: number; kind: number }[] = [];
    ENCODED_RUN.lastIndex = 0;
    for (let m = ENCODED_RUN.exec(s); m; m = ENCODED_RUN.exec(s))
      ref.push({ start: m.index, end: m.index + m[0].length, kind: m[1] !== undefined ? 0 : m[2] !== undefined ? 1 : m[3] !== undefined ? 2 : 3 });
    assert.deepEqual(findEncodedRuns(s), ref, JSON.stringify(s));
  }
});
