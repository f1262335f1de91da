/**
 * The validated detectors: each one's declared examples, then the rules behind them (Luhn,
 * issuer ranges, IBAN mod-97 and lengths, SSA rules) and the false-positive traps.
 */
import { test } from 'node:test';
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

test('cards: Luhn and issuer ranges, including Mastercard 2-series and 19-digit Visa', () => {
  assert.ok(luhnValid('4111111111111111'));
  assert.ok(!luhnValid('4111111111111112'));
  assert.equal(cardIssuer('2221000000000009'), 'mastercard');
  assert.equal(cardIssuer('2720999999999996'), 'mastercard');
  assert.equal(cardIssuer('2721000000000004'), null, '2721 is past the 2-series');
  assert.equal(cardIssuer('5105105105105100'), 'mastercard');
  assert.equal(cardIssuer('4000000000000000006'), 'visa');
  assert.equal(cardIssuer('378282246310005'), 'amex');
  assert.equal(cardIssuer('37828224631000'), null, 'Amex is 15 digits only');
  assert.equal(cardIssuer('6011111111111117'), 'discover');
  assert.equal(cardIssuer('1700000000000000'), null, 'no issuer starts with 1');
});

test('cards: context words raise confidence; traps stay quiet', () => {
  assert.equal(found('credit card: 4012 8888 8888 1881')[0]?.confidence, 'high');
  assert.equal(found('ref 4012888888881881 ok')[0]?.confidence, 'medium');
  // 13-digit millisecond timestamps that happen to pass Luhn are still not cards.
  const luhnTimestamp = ['1700000000000', '1700000000001', '1700000000002', '1700000000003', '1700000000004', '1700000000005', '1700000000006', '1700000000007', '1700000000008', '1700000000009'].find(luhnValid)!;
  assert.deepEqual(found(`{"ts": ${luhnTimestamp}}`), []);
  assert.deepEqual(found('pi=3.4012888888881881'), []);
  assert.deepEqual(found('build 4012888888881881-rc1'), []);
  assert.deepEqual(found('IMEI: 4012888888881881'), []);
  assert.deepEqual(found('uuid 4012888888881881abc'), []);
});

test('IBAN: mod-97 and every country length', () => {
  assert.ok(ibanChecksumValid('GB82WEST12345698765432'));
  assert.ok(!ibanChecksumValid('GB82WEST12345698765433'));
  assert.ok(Object.keys(IBAN_LENGTHS).length >= 80);
  for (const [cc, len] of Object.entries(IBAN_LENGTHS)) assert.ok(len >= 15 && len <= 34, cc);
  assert.equal(IBAN_LENGTHS.NO, 15);
  assert.equal(IBAN_LENGTHS.RU, 33);
  assert.equal(found('Konto DE89370400440532013000')[0]?.confidence, 'high');
  assert.equal(found('x DE89370400440532013000 y')[0]?.confidence, 'medium');
});

test('SSN: area, group and serial rules; bare nine digits need context', () => {
  assert.ok(ssnValid('536228726'));
  for (const bad of ['000228726', '666228726', '900228726', '536008726', '536220000', '078051120', '219099999']) assert.ok(!ssnValid(bad), bad);
  assert.deepEqual(found('536228726', 'us-ssn'), []);
  assert.equal(found('SSN 536228726', 'us-ssn').length, 1);
  assert.equal(found('tel 536-22-8726', 'us-ssn')[0]?.confidence, 'medium');
  assert.equal(found('social security: 536-22-8726', 'us-ssn')[0]?.confidence, 'high');
});
