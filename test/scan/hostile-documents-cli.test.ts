/**
 * Hostile documents scanned end to end as a user would, one `firebreak scan` process each: the
 * process must end by itself (it is killed after two minutes, which fails the test: the runs take
 * a few seconds) with the trouble reported and what can be read found. hostile-documents.test.ts
 * checks the same files in process, with their memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { makeOds, makePdf } from './helpers/documents.js';
import { bigSheet, deepMime, forwardChain, manyPartsMail } from './helpers/hostile.js';
import { makeZip, SECRET_LINE } from './helpers/archives.js';

const BIN = fileURLToPath(new URL('../../../bin/firebreak.js', import.meta.url));
const DEADLINE_MS = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'fb-hostile-cli-'));
const secret = SECRET_LINE.toString().trim();
const CARD = 'card 4012 8888 8888 1881';

interface Case {
  name: string;
  make: () => Buffer | string;
  /** Issue kinds the scan must report (on standard error). */
  issues: string[];
  /** Rules whose findings must be reported (what could be read). */
  found: string[];
}

const CASES: Case[] = [
  { name: 'bomb.pdf', make: () => makePdf([[secret]], { extraStream: deflateSync(Buffer.alloc(256 << 20), { level: 9 }) }), issues: ['zip-bomb'], found: [] },
  { name: 'nested.pdf', make: () => makePdf([[CARD]], { catalogExtra: '/X ' + '['.repeat(1_000_000) + ']'.repeat(1_000_000) }), issues: ['corrupt'], found: [] },
  { name: 'billion-pages.pdf', make: () => makePdf([['cover'], [CARD]], { count: 1_000_000_000 }), issues: [], found: ['credit-card'] },
  { name: 'deep-mime.eml', make: () => deepMime(300), issues: ['too-deep'], found: [] },
  { name: 'fwd-chain.eml', make: () => forwardChain(12), issues: ['too-deep'], found: [] },
  { name: 'many-parts.eml', make: () => manyPartsMail(10_050), issues: ['too-many-entries'], found: [] },
  {
    name: 'billion-cells.ods',
    make: () =>
      makeOds(
        [
          {
            name: 'S',
            rows: [
              ['Name', 'Card'],
              ['x', secret],
            ],
          },
        ],
        1_000_000_000,
      ),
    issues: [],
    found: ['aws-access-token'],
  },
  { name: 'rows-200k.xlsx', make: () => bigSheet(200_000), issues: [], found: ['aws-access-token'] },
  {
    name: 'bomb.docx',
    make: () =>
      makeZip([
        { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
        { name: 'word/document.xml', data: Buffer.alloc(64 << 20, 0x20), declaredSize: 2000 },
        { name: 'docProps/core.xml', data: Buffer.from(`<cp:coreProperties><dc:description>${secret}</dc:description></cp:coreProperties>`) },
      ]),
    issues: ['zip-bomb'],
    found: ['aws-access-token'],
  },
];

for (const c of CASES) {
  test(`hostile document through the CLI: ${c.name} ends by itself, reported and read`, () => {
    const path = join(dir, c.name);
    writeFileSync(path, c.make());
    const r = spawnSync(process.execPath, [BIN, 'scan', '-j', '1', '--format', 'json', path], { encoding: 'utf8', timeout: DEADLINE_MS, maxBuffer: 64 << 20 });
    assert.equal(r.signal, null, `${c.name}: killed after ${DEADLINE_MS} ms (${r.error?.message ?? ''})`);
    assert.ok(r.status === 0 || r.status === 1 || r.status === 2, `${c.name}: exit ${r.status}: ${r.stderr}`);
    for (const kind of c.issues) assert.match(r.stderr, new RegExp(`firebreak scan: ${kind}: `), `${c.name}: no ${kind} issue in ${r.stderr}`);
    if (!c.issues.length) assert.doesNotMatch(r.stderr, /firebreak scan: [a-z-]+: /, `${c.name}: unexpected issue ${r.stderr}`);
    const ids = new Set((JSON.parse(r.stdout) as { ruleId: string }[]).map((f) => f.ruleId));
    for (const rule of c.found) assert.ok(ids.has(rule), `${c.name}: ${rule} not found (${[...ids].join(', ')})`);
  });
}
