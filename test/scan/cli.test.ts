/**
 * `firebreak scan` end to end through the CLI entry: exit statuses, masking, every report
 * format, baselines, standard input, --rule and --config, keystores recognised by content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

const FIX = 'test/fixtures/secrets';
const tmp = mkdtempSync(join(tmpdir(), 'firebreak-cli-'));

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(args: string[], stdin: Buffer[] = []): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const io = {
    stdout,
    stderr,
    stdin: (async function* () {
      yield* stdin;
    })(),
  };
  const code = await main(['scan', ...args], io);
  return { code, out: stdout.text, err: stderr.text };
}

const AWS = readFileSync(`${FIX}/leaky/deploy.env`, 'utf8').match(/AKIA[A-Z0-9]{16}/)![0];

test('exit 1 with findings, masked by default; 0 when clean; 2 on unreadable input and bad usage', async () => {
  const leaky = await run([`${FIX}/leaky`]);
  assert.equal(leaky.code, 1);
  assert.match(leaky.out, /aws-access-token/);
  assert.match(leaky.out, /github-pat/);
  assert.match(leaky.out, /private-key/);
  assert.ok(!leaky.out.includes(AWS), 'secret must not be printed');
  assert.ok(!leaky.out.includes('ghp_4jVJ'), 'secret must not be printed');
  assert.ok(!leaky.out.includes('MII'), 'key material must not be printed');
  assert.equal((await run([`${FIX}/clean.txt`])).code, 0);
  const missing = await run([join(tmp, 'nope')]);
  assert.equal(missing.code, 2);
  assert.match(missing.out, /unreadable/);
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['--format', 'xml', FIX])).code, 2);
  assert.equal((await run(['--rule', 'no-such-rule', FIX])).code, 2);
});

test('--no-mask prints secrets; json, jsonl, csv and sarif are well formed', async () => {
  const clear = await run(['--no-mask', '--format', 'json', `${FIX}/leaky/deploy.env`]);
  const rows = JSON.parse(clear.out) as { ruleId: string; secret: string; startLine: number; startColumn: number; fingerprint: string; entropy: number; decodeChain: string[] }[];
  const aws = rows.find((r) => r.ruleId === 'aws-access-token')!;
  assert.equal(aws.secret, AWS);
  assert.deepEqual([aws.startLine, aws.startColumn], [3, 19]);
  assert.match(aws.fingerprint, /^[0-9a-f]{16}$/);
  assert.ok(aws.entropy > 3);
  // A finding at the very first byte of a file is at line 1, column 1.
  const pem = JSON.parse((await run(['--format', 'json', '--rule', 'private-key', `${FIX}/leaky/id_rsa`])).out) as { startLine: number; startColumn: number; endColumn: number }[];
  assert.deepEqual([pem[0]!.startLine, pem[0]!.startColumn, pem[0]!.endColumn], [1, 1, 25]);
  const jsonl = await run(['--format', 'jsonl', `${FIX}/leaky/deploy.env`]);
  const lines = jsonl.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { secret: string });
  assert.equal(lines.length, rows.length);
  assert.ok(lines.every((l) => !l.secret.includes(AWS.slice(4))));
  const csv = await run(['--format', 'csv', `${FIX}/leaky/deploy.env`]);
  assert.equal(
    csv.out.split('\n')[0],
    'ruleId,file,startLine,startColumn,endLine,endColumn,match,secret,entropy,decodeChain,confidence,reasons,sheet,row,column,header,page,offset,count,fingerprint,tags',
  );
  const sarif = JSON.parse((await run(['--format', 'sarif', `${FIX}/leaky/deploy.env`])).out) as {
    version: string;
    runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[];
  };
  assert.equal(sarif.version, '2.1.0');
  assert.equal(sarif.runs[0]!.results.length, rows.length);
  assert.equal(sarif.runs[0]!.results.find((r) => r.ruleId === 'aws-access-token')!.locations[0]!.physicalLocation.region.startLine, 3);
});

test('-o writes the report; a baseline of it suppresses every known finding', async () => {
  const report = join(tmp, 'baseline.json');
  const first = await run(['--format', 'json', '-o', report, `${FIX}/leaky`]);
  assert.equal(first.code, 1);
  assert.equal(first.out, '');
  assert.ok((JSON.parse(readFileSync(report, 'utf8')) as unknown[]).length >= 3);
  const again = await run(['--baseline', report, `${FIX}/leaky`]);
  assert.equal(again.code, 0, again.out);
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{not json');
  assert.equal((await run(['--baseline', bad, `${FIX}/leaky`])).code, 2);
});

test('standard input, --rule, and --config with a gitleaks TOML', async () => {
  const fromStdin = await run(['--format', 'jsonl', '-'], [readFileSync(`${FIX}/leaky/deploy.env`)]);
  assert.equal(fromStdin.code, 1);
  assert.match(fromStdin.out, /"file":"-"/);
  const onlyGithub = await run(['--rule', 'github-pat', '--format', 'jsonl', `${FIX}/leaky`]);
  assert.deepEqual(
    [
      ...new Set(
        onlyGithub.out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { ruleId: string }).ruleId),
      ),
    ],
    ['github-pat'],
  );
  const cfg = join(tmp, 'custom.toml');
  writeFileSync(cfg, `[[rules]]\nid = "region"\nregex = '''REGION=(\\S+)'''\nkeywords = ["region"]\n`);
  const custom = await run(['--config', cfg, '--no-mask', '--format', 'jsonl', `${FIX}/leaky/deploy.env`]);
  const ids = custom.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ruleId: string; secret: string });
  assert.deepEqual(
    ids.map((r) => [r.ruleId, r.secret]),
    [['region', 'eu-west-1']],
  );
  writeFileSync(cfg, `[extend]\nuseDefault = true\n[[rules]]\nid = "region"\nregex = '''REGION=(\\S+)'''\nkeywords = ["region"]\n`);
  const extended = await run(['--config', cfg, '--format', 'jsonl', `${FIX}/leaky/deploy.env`]);
  assert.ok(extended.out.includes('"ruleId":"region"') && extended.out.includes('"ruleId":"aws-access-token"'));
});

test('key stores recognised by content: PKCS#12 (any name) and Java key stores', async () => {
  const renamed = join(tmp, 'backup.dat');
  writeFileSync(renamed, readFileSync(`${FIX}/keystore.p12`));
  const jks = join(tmp, 'trust.bin');
  writeFileSync(jks, Buffer.concat([Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1]), Buffer.alloc(64)]));
  const r = await run(['--format', 'jsonl', renamed, jks]);
  assert.equal(r.code, 1);
  const ids = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ruleId: string; file: string });
  assert.deepEqual(
    ids.map((x) => [x.ruleId, x.file]),
    [
      ['pkcs12-file', renamed],
      ['java-keystore', jks],
    ],
  );
});

test('a progress line on a terminal, none when stderr is not one', async () => {
  const stdout = new Sink();
  const stderr = Object.assign(new Sink(), { isTTY: true });
  const io = { stdout, stderr, stdin: (async function* (): AsyncGenerator<Buffer> {})() };
  await main(['scan', '-j', '1', `${FIX}/leaky`], io);
  assert.match(stderr.text, /\rscanning: \d+ file\(s\)/);
  const plain = await run(['-j', '1', `${FIX}/leaky`]);
  assert.ok(!plain.err.includes('scanning:'));
});
