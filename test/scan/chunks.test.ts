/**
 * The scanner reads a file in chunks of about 108 KiB cut at newlines, each overlapping the last
 * (src/scan/scanner.ts): a secret is found once, with its true line and column, wherever the cuts
 * fall: across a cut, in a file of several reads, on a line longer than a chunk, at the very end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanString } from './helpers/scan-string.js';

let seed = 7;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = ALNUM + '+/';
const pick = (alphabet: string, n: number): string =>
  Array.from({ length: n }, () => {
    seed = (seed * 48271) % 2147483647;
    return alphabet[seed % alphabet.length];
  }).join('');
// Assembled at run time so that this file holds no token or key block itself.
const token = (): string => 'gh' + 'p_' + pick(ALNUM, 36);
const pem = (): string => `-----BEGIN ${'RSA PRIVATE'} KEY-----\n${Array.from({ length: 40 }, () => pick(B64, 64)).join('\n')}\n-----END ${'RSA PRIVATE'} KEY-----\n`;

/** Filler lines without anything to find: `n` bytes or a little more. */
function filler(n: number): string {
  const lines: string[] = [];
  let len = 0;
  while (len < n) {
    const l = `the quick brown fox jumps over the lazy dog, again and again (${lines.length % 97})\n`;
    lines.push(l);
    len += l.length;
  }
  return lines.join('');
}

/** 1-based line and column of `offset` in `text`. */
function place(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, col: offset - nl };
}

test('chunks: a private key across a chunk cut is found once, on its own line', async () => {
  // Starts from 8 KiB before the first cut to just past it, so one of them straddles it whatever the exact cut.
  for (let start = 100 << 10; start <= 112 << 10; start += 1500) {
    const key = pem();
    const head = filler(start);
    const text = head + key + filler(150 << 10);
    const found = (await scanString(text)).filter((f) => f.ruleId === 'private-key');
    assert.equal(found.length, 1, `key at ${head.length}: ${found.length} findings`);
    assert.equal(found[0]!.startLine, place(text, head.length).line, `key at ${head.length}`);
  }
});

test('chunks: tokens all through a file of several reads are each found once, where they are', async () => {
  const parts: string[] = [];
  const at: { token: string; offset: number }[] = [];
  let len = 0;
  while (len < 3.5 * (1 << 20)) {
    const f = filler(9000 + (at.length % 7) * 1111);
    const t = token();
    parts.push(f, `export GITHUB_TOKEN=${t}\n`);
    at.push({ token: t, offset: len + f.length + 'export GITHUB_TOKEN='.length });
    len += f.length + t.length + 'export GITHUB_TOKEN=\n'.length;
  }
  const text = parts.join('');
  const found = (await scanString(text)).filter((f) => f.ruleId === 'github-pat');
  assert.equal(found.length, at.length, `${found.length} findings for ${at.length} tokens`);
  const bySecret = new Map(found.map((f) => [f.secret, f]));
  for (const { token: t, offset } of at) {
    const f = bySecret.get(t);
    assert.ok(f, `token at ${offset} not found`);
    const p = place(text, offset);
    assert.deepEqual([f.startLine, f.startColumn], [p.line, p.col], `token at ${offset}`);
  }
});

test('chunks: a line longer than a chunk is scanned whole (tokens in it and at its end)', async () => {
  const a = token();
  const b = token();
  const long = `${'x '.repeat(90 << 10)}key=${a} ${'y '.repeat(90 << 10)}key=${b}`;
  const text = filler(50 << 10) + long + '\n' + filler(50 << 10);
  const found = (await scanString(text)).filter((f) => f.ruleId === 'github-pat');
  assert.deepEqual(found.map((f) => f.secret).sort(), [a, b].sort());
  const line = place(text, text.indexOf(a)).line;
  for (const f of found) assert.equal(f.startLine, line);
  assert.equal(found.find((f) => f.secret === b)!.startColumn, place(text, text.indexOf(b)).col);
});

test('chunks: a token on the last line of a file without a final newline', async () => {
  const t = token();
  const text = filler(300 << 10) + `token: ${t}`;
  const found = (await scanString(text)).filter((f) => f.ruleId === 'github-pat');
  assert.equal(found.length, 1);
  assert.equal(found[0]!.startLine, place(text, text.length - 1).line);
});
