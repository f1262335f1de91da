/** Private keys of every common PEM armour, encrypted or not, are reported (bodies made up here). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Detector } from '../../src/scan/engine/detect.js';
import { defaultGitleaksConfig } from '../../src/scan/rules/builtin.js';

const detector = new Detector(defaultGitleaksConfig().ruleSet, [], { maxDecodeDepth: 0 });
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
let seed = 11;
const body = (lines: number): string =>
  Array.from({ length: lines }, () =>
    Array.from({ length: 64 }, () => {
      seed = (seed * 48271) % 2147483647;
      return B64[seed % 64];
    }).join(''),
  ).join('\n');
// Armour words assembled at run time so that this file holds no key block itself.
const pem = (kind: string, headers = ''): string => `-----BEGIN ${kind}-----\n${headers}${body(8)}\n-----END ${kind}-----\n`;

const KINDS: [string, string][] = [
  ['PKCS#1 RSA', 'RSA PRIVATE KEY'],
  ['SEC1 EC', 'EC PRIVATE KEY'],
  ['DSA', 'DSA PRIVATE KEY'],
  ['OpenSSH', 'OPENSSH PRIVATE KEY'],
  ['PKCS#8', 'PRIVATE KEY'],
  ['PKCS#8 encrypted', 'ENCRYPTED PRIVATE KEY'],
  ['PGP', 'PGP PRIVATE KEY BLOCK'],
];

for (const [name, kind] of KINDS) {
  test(`private key: ${name}`, () => {
    const found = detector.detect(Buffer.from(`key = <<EOF\n${pem(kind)}EOF\n`), 'k.txt');
    assert.deepEqual(
      found.map((f) => f.ruleId),
      ['private-key'],
    );
  });
}

test('private key: legacy encrypted PEM with Proc-Type headers', () => {
  const found = detector.detect(Buffer.from(pem('RSA PRIVATE KEY', 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n')), 'k.pem');
  assert.deepEqual(
    found.map((f) => f.ruleId),
    ['private-key'],
  );
});

test('public keys and certificates are not private keys', () => {
  const found = detector.detect(Buffer.from(pem('PUBLIC KEY') + pem('CERTIFICATE')), 'k.pem');
  assert.deepEqual(
    found.filter((f) => f.ruleId === 'private-key'),
    [],
  );
});
