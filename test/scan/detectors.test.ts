/**
 * The validated detectors: each one's declared examples, then the rules behind them (Luhn,
 * issuer ranges, IBAN mod-97 and lengths, SSA rules) and the false-positive traps.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Detector } from '../../src/scan/engine/detect.js';
import { VALIDATED_DETECTORS } from '../../src/scan/rules/builtin.js';
import { cardIssuer, luhnValid } from '../../src/scan/detectors/payment-card.js';
import { IBAN_LENGTHS, ibanChecksumValid } from '../../src/scan/detectors/iban.js';
import { ssnValid } from '../../src/scan/detectors/us-ssn.js';

const detector = new Detector({ rules: [], allowlists: [] }, VALIDATED_DETECTORS, { maxDecodeDepth: 0 });
function found(text: string, id?: string): { ruleId: string; match: string; confidence?: string }[] {
  return detector.detect(Buffer.from(text, 'utf8'), 'x.txt').filter((f) => !id || f.ruleId === id);
}

for (const d of VALIDATED_DETECTORS) {
  test(`${d.id}: declared true positives are found, false positives are not`, () => {
    assert.ok(d.examples.truePositives.length >= 4 && d.examples.falsePositives.length >= 5);
    for (const tp of d.examples.truePositives) assert.equal(found(tp, d.id).length, 1, `must find: ${tp}`);
    for (const fp of d.examples.falsePositives) assert.deepEqual(found(fp, d.id), [], `must not find: ${fp}`);
  });
}

// Values that look like real card numbers, IBANs and SSNs live with the secret fixtures.
const cases = JSON.parse(readFileSync('test/fixtures/secrets/pii-cases.json', 'utf8')) as {
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

test('context words raise confidence; traps stay quiet', () => {
  for (const [text, id, confidence] of cases.found) assert.equal(found(text, id)[0]?.confidence, confidence, text);
  for (const [text, id] of cases.notFound) assert.deepEqual(found(text, id), [], text);
  // 13-digit millisecond timestamps that happen to pass Luhn are still not cards.
  const stamps = Array.from({ length: 10 }, (_, i) => String(1_700_000_000_000 + i));
  const luhnStamp = stamps.find(luhnValid)!;
  assert.deepEqual(found(`{"ts": ${luhnStamp}}`), []);
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
