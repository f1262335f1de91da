/**
 * Each recogniser against numbers from independent published sources (the card networks' test
 * numbers, the SSA's and IRS's rules, every example of the SWIFT IBAN Registry, HMRC's NINO rules,
 * Service Canada's SIN rules, Federal Reserve routing numbers, published BICs), each written as
 * people write it, and lookalikes (invalid checksums, timestamps, order ids, phone numbers, version
 * strings) that must not be reported at the default level. The values are in
 * test/fixtures/secrets/published-identifiers.json, which names the sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cardIssuer, luhnValid } from '../../src/scan/detectors/payment-card.js';
import { IBAN_LENGTHS, ibanChecksumValid } from '../../src/scan/detectors/iban.js';
import { itinValid, ssnValid } from '../../src/scan/detectors/us-ssn.js';
import { ninoPrefixValid } from '../../src/scan/detectors/national-ids.js';
import { abaValid, bicValid } from '../../src/scan/detectors/banking.js';
import { scanString } from './helpers/scan-string.js';

const P = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/secrets/published-identifiers.json', import.meta.url)), 'utf8')) as {
  cards: [string, string][];
  cardLookalikes: string[];
  ssnValid: string[];
  ssnInvalid: string[];
  itinValid: string[];
  itinInvalid: string[];
  ibanRegistryExamples: string[];
  ninoValid: string[];
  ninoInvalid: string[];
  sinValid: string[];
  sinInvalid: string[];
  abaValid: string[];
  abaInvalid: string[];
  bics: string[];
  bicInvalid: string[];
};

const ids = async (text: string, ruleId: string): Promise<string[]> => (await scanString(text)).filter((f) => f.ruleId === ruleId).map((f) => f.secret.replace(/[\s-]/g, ''));
const group4 = (v: string): string => (v.length === 15 ? `${v.slice(0, 4)} ${v.slice(4, 10)} ${v.slice(10)}` : v.replace(/(\d{4})(?=\d)/g, '$1 '));

test('cards: every published test number passes Luhn, is in its issuer range, and is found as printed', async () => {
  for (const [issuer, pan] of P.cards) {
    assert.ok(luhnValid(pan), `Luhn ${pan}`);
    assert.equal(cardIssuer(pan), issuer, pan);
    assert.deepEqual(await ids(`Card number: ${pan}`, 'credit-card'), [pan], `with a card word: ${pan}`);
    assert.deepEqual(await ids(`paid ${group4(pan)} today`, 'credit-card'), [pan], `grouped, no card word: ${group4(pan)}`);
  }
  for (const text of P.cardLookalikes) assert.deepEqual(await ids(text, 'credit-card'), [], text);
});

test('SSN (SSA rules) and ITIN (IRS ranges): valid and invalid numbers, dashed and named', async () => {
  for (const v of P.ssnValid) {
    assert.ok(ssnValid(v), v);
    assert.deepEqual(await ids(`SSN ${v.slice(0, 3)}-${v.slice(3, 5)}-${v.slice(5)}`, 'us-ssn'), [v]);
  }
  for (const v of P.ssnInvalid) {
    assert.ok(!ssnValid(v), v);
    assert.deepEqual(await ids(`SSN ${v.slice(0, 3)}-${v.slice(3, 5)}-${v.slice(5)}`, 'us-ssn'), [], v);
  }
  for (const v of P.itinValid) {
    assert.ok(itinValid(v) && !ssnValid(v), v);
    assert.deepEqual(await ids(`ITIN ${v.slice(0, 3)}-${v.slice(3, 5)}-${v.slice(5)}`, 'us-itin'), [v]);
  }
  for (const v of P.itinInvalid) assert.ok(!itinValid(v), v);
  // Lookalikes: a date, a phone number, a ZIP+4, nine digits with no word for them.
  for (const text of ['on 2023-11-26', 'call 555-123-4567', 'zip 10001-2345', 'ref 536228726']) assert.deepEqual(await ids(text, 'us-ssn'), [], text);
});

test('IBAN: every country example of the registry has its length and mod-97, and is found plain or grouped', async () => {
  const countries = new Set<string>();
  for (const v of P.ibanRegistryExamples) {
    const cc = v.slice(0, 2);
    countries.add(cc);
    assert.equal(IBAN_LENGTHS[cc], v.length, `length for ${cc}`);
    assert.ok(ibanChecksumValid(v), `mod 97: ${v}`);
    assert.deepEqual(await ids(`IBAN ${v}`, 'iban'), [v], v);
    assert.deepEqual(await ids(`pay to ${v.replace(/(.{4})(?=.)/g, '$1 ')}`, 'iban'), [v], `grouped ${v}`);
    // One digit off fails the check (mod 97 catches every single-character error).
    const last = v[v.length - 1]!;
    const wrong = v.slice(0, -1) + (/\d/.test(last) ? String((Number(last) + 1) % 10) : last === 'A' ? 'B' : 'A');
    assert.ok(!ibanChecksumValid(wrong), wrong);
    assert.deepEqual(await ids(`IBAN ${wrong}`, 'iban'), [], wrong);
  }
  assert.ok(countries.size >= 70, `${countries.size} countries`);
});

test('UK NINO (HMRC), Canadian SIN (Luhn), ABA routing, BIC: published rules and numbers', async () => {
  for (const v of P.ninoValid) {
    assert.ok(ninoPrefixValid(v.slice(0, 2)), v);
    assert.deepEqual(await ids(`NI number ${v.slice(0, 2)} ${v.slice(2, 4)} ${v.slice(4, 6)} ${v.slice(6, 8)} ${v.slice(8)}`, 'uk-nino'), [v]);
  }
  for (const v of P.ninoInvalid) assert.deepEqual(await ids(`NI number ${v}`, 'uk-nino'), [], v);
  for (const v of P.sinValid) {
    assert.ok(luhnValid(v), v);
    assert.deepEqual(await ids(`SIN ${v.slice(0, 3)} ${v.slice(3, 6)} ${v.slice(6)}`, 'ca-sin'), [v]);
    assert.deepEqual(await ids(`ref ${v.slice(0, 3)} ${v.slice(3, 6)} ${v.slice(6)}`, 'ca-sin'), [], 'without its name: not a SIN');
  }
  for (const v of P.sinInvalid) assert.deepEqual(await ids(`SIN ${v.slice(0, 3)} ${v.slice(3, 6)} ${v.slice(6)}`, 'ca-sin'), [], v);
  for (const v of P.abaValid) {
    assert.ok(abaValid(v), v);
    assert.deepEqual(await ids(`routing number ${v}`, 'us-bank-routing'), [v]);
    assert.deepEqual(await ids(`invoice ${v}`, 'us-bank-routing'), [], 'without its name: not a routing number');
  }
  for (const v of P.abaInvalid) assert.ok(!abaValid(v), v);
  for (const v of P.bics) {
    assert.ok(bicValid(v), v);
    assert.deepEqual(await ids(`SWIFT/BIC: ${v}`, 'swift-bic'), [v]);
    assert.deepEqual(await ids(`code ${v}`, 'swift-bic'), [], 'without its name: not a BIC');
  }
  for (const v of P.bicInvalid) assert.ok(!bicValid(v), v);
});
