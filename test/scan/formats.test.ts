/**
 * Formats the gitleaks fixtures do not cover: bzip2, office documents read as text (a secret
 * split across Word runs, an Excel shared string), and a renamed archive found by content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scanner } from '../../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS } from '../../src/scan/sources/limits.js';
import { xmlToText } from '../../src/scan/sources/office.js';
import { SECRET_LINE, makeZip } from './helpers/archives.js';

const dir = mkdtempSync(join(tmpdir(), 'firebreak-formats-'));
const scanner = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: DEFAULT_LIMITS, maxDecodeDepth: 2 });
const scan = (paths: string[]) => scanner.scan(paths, (async function* (): AsyncGenerator<Buffer> {})());
const KEY = SECRET_LINE.toString().match(/AKIA\w+/)![0];

test('bzip2 stream', async () => {
  const r = await scan(['test/fixtures/secrets/aws-key.env.bz2']);
  assert.deepEqual(
    r.findings.map((f) => [f.ruleId, f.file, f.startLine]),
    [['aws-access-token', 'test/fixtures/secrets/aws-key.env.bz2', 1]],
  );
});

test('docx: text rebuilt across runs and paragraphs; xlsx shared strings', async () => {
  const body = `<w:p><w:r><w:t>Intro</w:t></w:r></w:p><w:p><w:r><w:t>aws_key = "${KEY.slice(0, 8)}</w:t></w:r><w:r><w:t xml:space="preserve">${KEY.slice(8)}"</w:t></w:r></w:p>`;
  const docx = join(dir, 'notes.docx');
  writeFileSync(
    docx,
    makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'word/document.xml', data: Buffer.from(`<w:document><w:body>${body}</w:body></w:document>`) },
    ]),
  );
  const xlsx = join(dir, 'cards.xlsx');
  writeFileSync(
    xlsx,
    makeZip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'xl/sharedStrings.xml', data: Buffer.from(`<sst><si><t>name</t></si><si><t>token</t></si><si><t>${SECRET_LINE.toString().trim().replace(/"/g, '&quot;')}</t></si></sst>`) },
    ]),
  );
  const r = await scan([docx, xlsx]);
  assert.deepEqual(
    r.findings.map((f) => [f.ruleId, f.file, f.startLine, f.secret]),
    [
      ['aws-access-token', `${docx}!word/document.xml`, 2, KEY],
      ['aws-access-token', `${xlsx}!xl/sharedStrings.xml`, 3, KEY],
    ],
  );
});

test('xmlToText: tags dropped, entities decoded, blocks on their own lines', () => {
  assert.equal(xmlToText('<w:p><w:r><w:t>a &amp; b</w:t></w:r><w:r><w:tab/><w:t>c&#x41;</w:t></w:r></w:p><w:p><w:r><w:t>d</w:t></w:r></w:p>'), 'a & b\tcA\nd\n');
});

test('archives are found by content, not by name', async () => {
  const renamed = join(dir, 'backup.dat');
  writeFileSync(renamed, makeZip([{ name: 'inner/.env', data: SECRET_LINE }]));
  const r = await scan([renamed]);
  assert.deepEqual(
    r.findings.map((f) => f.file),
    [`${renamed}!inner/.env`],
  );
  assert.ok(readFileSync(renamed).subarray(0, 2).toString() === 'PK');
});
