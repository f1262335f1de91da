/**
 * The validated detectors: each one's declared examples (found at the default confidence, and
 * lookalikes not), then the rules behind them (Luhn, issuer ranges, IBAN mod-97 and lengths, SSA
 * rules) and the false-positive traps. Values that look like real identifiers live in
 * test/fixtures/secrets (excluded from self-scans); published reference numbers are in
 * published-identifiers.test.ts.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { VALIDATED_DETECTORS } from '../../src/scan/rules/builtin.js';
import { cardIssuer, luhnValid } from '../../src/scan/detectors/payment-card.js';
import { IBAN_LENGTHS, ibanChecksumValid } from '../../src/scan/detectors/iban.js';
import { ssnValid } from '../../src/scan/detectors/us-ssn.js';
import { scanString } from './helpers/scan-string.js';

for (const d of VALIDATED_DETECTORS) {
  test(`${d.id}: declared true positives are found at the default confidence, false positives are not`, async () => {
    assert.ok(d.examples.truePositives.length >= 1 && d.examples.falsePositives.length >= 4);
    for (const tp of d.examples.truePositives) {
      const got = (await scanString(tp)).filter((f) => f.ruleId === d.id);
      assert.equal(got.length, 1, `must find: ${tp.slice(0, 80)} (got ${JSON.stringify(got.map((f) => [f.match, f.confidence]))})`);
      assert.ok(got[0]!.reasons!.length >= 1, 'a finding says why');
    }
    for (const fp of d.examples.falsePositives) {
      const got = (await scanString(fp)).filter((f) => f.ruleId === d.id);
      assert.deepEqual(
        got.map((f) => [f.match, f.confidence, f.reasons]),
        [],
        `must not find: ${fp.slice(0, 80)}`,
      );
    }
  });
}

// Values that look like real card numbers, IBANs and SSNs live with the secret fixtures.
const cases = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/secrets/pii-cases.json', import.meta.url)), 'utf8')) as {
  luhnValid: string[];
  luhnInvalid: string[];
  issuers: [string, string | null][];
  found: [string, string, string][];
  notFound: [string, string][];
  ibanValid: string[];
  ibanInvalid: string[];
  ssnValid: string[];
  ssnInvalid: string[];
};

test('cards: Luhn and issuer ranges, including Mastercard 2-series, 19-digit Visa, no issuer at 1', () => {
  for (const v of cases.luhnValid) assert.ok(luhnValid(v), v);
  for (const v of cases.luhnInvalid) assert.ok(!luhnValid(v), v);
  assert.ok(cases.issuers.some(([, i]) => i === null) && cases.issuers.some(([p]) => p.startsWith('22')));
  for (const [pan, issuer] of cases.issuers) assert.equal(cardIssuer(pan), issuer, pan);
});

test('context words raise confidence; traps stay quiet', async () => {
  for (const [text, id, confidence] of cases.found) {
    const got = (await scanString(text, { minConfidence: 'low' })).filter((f) => f.ruleId === id);
    assert.equal(got[0]?.confidence, confidence, `${text}: ${JSON.stringify(got.map((f) => f.reasons))}`);
  }
  for (const [text, id] of cases.notFound)
    assert.deepEqual(
      (await scanString(text)).filter((f) => f.ruleId === id),
      [],
      text,
    );
  // 13-digit millisecond timestamps that happen to pass Luhn are still not cards, at any level.
  const stamps = Array.from({ length: 10 }, (_, i) => String(1_700_000_000_000 + i));
  const luhnStamp = stamps.find(luhnValid)!;
  assert.deepEqual(await scanString(`{"ts": ${luhnStamp}}`, { minConfidence: 'low' }), []);
});

test('IBAN: mod-97 and every country length', () => {
  for (const v of cases.ibanValid) assert.ok(ibanChecksumValid(v), v);
  for (const v of cases.ibanInvalid) assert.ok(!ibanChecksumValid(v), v);
  assert.ok(Object.keys(IBAN_LENGTHS).length >= 80);
  for (const [cc, len] of Object.entries(IBAN_LENGTHS)) assert.ok(len >= 15 && len <= 34, cc);
  assert.equal(IBAN_LENGTHS.NO, 15);
  assert.equal(IBAN_LENGTHS.RU, 33);
});

test('SSN: area, group and serial rules', () => {
  for (const v of cases.ssnValid) assert.ok(ssnValid(v), v);
  for (const v of cases.ssnInvalid) assert.ok(!ssnValid(v), v);
});
