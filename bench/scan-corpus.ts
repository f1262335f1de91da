/**
 * The benchmark corpus for `firebreak scan`: source code (slices of the TypeScript compiler and
 * its .d.ts libraries, real code from node_modules), configuration files, logs full of
 * timestamps and ids (the card detector's traps), office documents, compressed archives, and
 * sparse secrets (about one per two megabytes). Deterministic for a given size, cached on disk.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTar, makeZip } from '../test/scan/helpers/archives.js';
import { rng } from '../src/core/rng.js';

const VERSION = 1;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Secrets the scanner must find, built from parts so this file itself holds none. */
function secretLine(r: () => number): string {
  const pick = (n: number, chars = ALNUM): string => Array.from({ length: n }, () => chars[Math.floor(r() * chars.length)]).join('');
  const kinds = [
    () => `aws_access_key_id = ${'AK' + 'IA'}${pick(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
    () => `GITHUB_TOKEN=${'gh' + 'p_'}${pick(36)}`,
    () => `slack: "${'xo' + 'xb'}-${pick(11, '0123456789')}-${pick(12, '0123456789')}-${pick(24)}"`,
    () => `-----BEGIN ${'RSA PRIVATE'} KEY-----\n${Array.from({ length: 12 }, () => pick(64, ALNUM + '+/')).join('\n')}\n-----END ${'RSA PRIVATE'} KEY-----`,
    () => `payment card: ${['4111', '1111', '1111', '1111'].join(' ')}`,
    () => `iban: ${['GB82', 'WEST', '1234', '5698', '7654', '32'].join(' ')}`,
    () => `ssn: ${['536', '22', '8726'].join('-')}`,
    () => `stripe_key = "${'sk_' + 'live_'}${pick(24)}"`,
  ];
  return kinds[Math.floor(r() * kinds.length)]!();
}

function seedCode(): string[] {
  const lib = join(process.cwd(), 'node_modules/typescript/lib');
  const files = ['typescript.js', 'lib.dom.d.ts', 'lib.es5.d.ts', 'lib.webworker.d.ts', 'typescript.d.ts'].map((f) => join(lib, f)).filter(existsSync);
  if (!files.length) throw new Error('bench corpus needs node_modules/typescript (run npm ci)');
  return files.map((f) => readFileSync(f, 'utf8'));
}

function logLines(r: () => number, bytes: number): string {
  const out: string[] = [];
  let n = 0;
  let t = 1_700_000_000_000;
  const paths = ['/api/v1/orders', '/login', '/static/app.js', '/api/v2/users/search', '/health', '/cart/checkout'];
  while (n < bytes) {
    t += Math.floor(r() * 5000);
    const ip = `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`;
    const line =
      r() < 0.5
        ? `${ip} - - [${new Date(t).toISOString()}] "GET ${paths[Math.floor(r() * paths.length)]}?id=${Math.floor(r() * 1e9)} HTTP/1.1" ${r() < 0.9 ? 200 : 500} ${Math.floor(r() * 1e5)} ${(r() * 2).toFixed(6)}`
        : `{"ts":${t},"level":"info","trace":"${Math.floor(r() * 1e16)}","span":${Math.floor(r() * 1e12)},"msg":"request served","duration_ms":${(r() * 300).toFixed(3)},"user":"u${Math.floor(r() * 1e6)}"}`;
    out.push(line);
    n += line.length + 1;
  }
  return out.join('\n') + '\n';
}

function configText(r: () => number, i: number): string {
  return [
    `# service ${i} configuration`,
    `database:`,
    `  host: db-${i}.internal`,
    `  port: ${5432 + (i % 10)}`,
    `  user: app`,
    `  password: \${DB_PASSWORD}`,
    `cache_ttl_seconds: ${Math.floor(r() * 3600)}`,
    `feature_flags: [${Array.from({ length: 5 }, () => `"f${Math.floor(r() * 100)}"`).join(', ')}]`,
    `api_base_url: https://api.example.com/v${1 + (i % 3)}`,
    `log_level: info`,
    '',
  ].join('\n');
}

function docx(text: string): Buffer {
  const body = text
    .split('\n')
    .map((l) => `<w:p><w:r><w:t>${l.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</w:t></w:r></w:p>`)
    .join('');
  return makeZip([
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types/>') },
    { name: 'word/document.xml', data: Buffer.from(`<?xml version="1.0"?><w:document><w:body>${body}</w:body></w:document>`) },
  ]);
}

/** Build (or reuse) a corpus of about `mb` megabytes in `dir`; returns its size in bytes. */
export async function ensureCorpus(dir: string, mb: number): Promise<{ bytes: number; files: number }> {
  const manifest = join(dir, 'MANIFEST.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { version: number; mb: number; bytes: number; files: number };
    if (m.version === VERSION && m.mb === mb) return m;
  }
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['src', 'logs', 'config', 'office', 'archives']) mkdirSync(join(dir, d), { recursive: true });
  const r = rng(42);
  const seeds = seedCode();
  const target = mb * 1e6;
  let bytes = 0;
  let files = 0;
  let nextSecret = 2e6 * r();
  const withSecrets = (text: string): string => {
    // Sparse secrets: about one per 2 MB of corpus, at line starts.
    const lines = text.split('\n');
    let at = bytes;
    for (let i = 0; i < lines.length; i++) {
      at += lines[i]!.length + 1;
      if (at >= nextSecret) {
        lines.splice(i, 0, secretLine(r));
        nextSecret += 1e6 + 2e6 * r();
      }
    }
    return lines.join('\n');
  };
  const write = (p: string, data: Buffer | string): void => {
    writeFileSync(join(dir, p), data);
    bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    files++;
  };
  const codeSlice = (): string => {
    const s = seeds[Math.floor(r() * seeds.length)]!;
    const len = 64_000 + Math.floor(r() * 448_000);
    const at = Math.floor(r() * Math.max(1, s.length - len));
    return s.slice(at, at + len);
  };
  for (let i = 0; bytes < target; i++) {
    const k = i % 20;
    if (k < 9) write(`src/module${i}.${r() < 0.5 ? 'js' : 'ts'}`, withSecrets(codeSlice()));
    else if (k < 15) write(`logs/app${i}.log`, withSecrets(logLines(r, 256_000 + Math.floor(r() * 768_000))));
    else if (k < 17) write(`config/service${i}.yaml`, withSecrets(Array.from({ length: 200 }, (_, j) => configText(r, i * 1000 + j)).join('\n')));
    else if (k < 18) write(`office/report${i}.docx`, docx(withSecrets(logLines(r, 200_000))));
    else if (k < 19)
      write(
        `archives/src${i}.tar.gz`,
        gzipSync(
          await makeTar([
            { name: `pkg/index${i}.js`, data: Buffer.from(withSecrets(codeSlice())) },
            { name: `pkg/app${i}.log`, data: Buffer.from(logLines(r, 300_000)) },
          ]),
        ),
      );
    else write(`archives/logs${i}.zip`, makeZip([{ name: `day${i}.log`, data: Buffer.from(withSecrets(logLines(r, 400_000))) }]));
  }
  writeFileSync(manifest, JSON.stringify({ version: VERSION, mb, bytes, files }));
  return { bytes, files };
}

/** Total size of the files under `dir` except the manifest. */
export function corpusBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name !== 'MANIFEST.json') n += statSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).size;
  }
  return n;
}
