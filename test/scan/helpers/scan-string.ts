/** Scan a string (or buffer) as a file named `name` through the whole scanner, as the CLI does. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scanner, type ScanResult } from '../../../src/scan/scanner.js';
import { defaultGitleaksConfig, VALIDATED_DETECTORS } from '../../../src/scan/rules/builtin.js';
import { DEFAULT_LIMITS } from '../../../src/scan/sources/limits.js';
import type { Finding } from '../../../src/scan/engine/finding.js';
import type { Confidence } from '../../../src/scan/engine/confidence.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-scan-string-'));
const noStdin = (async function* (): AsyncGenerator<Buffer> {})();
const scanners = new Map<string, Scanner>();

export interface ScanStringOptions {
  minConfidence?: Confidence;
  name?: string;
}

function scanner(minConfidence: Confidence): Scanner {
  let s = scanners.get(minConfidence);
  if (!s) scanners.set(minConfidence, (s = new Scanner({ ruleSet: defaultGitleaksConfig().ruleSet, validated: VALIDATED_DETECTORS, limits: DEFAULT_LIMITS, maxDecodeDepth: 2, minConfidence })));
  return s;
}

let seq = 0;
/** Findings in `content` written to a file (default name `notes.txt`, scanned from its own folder). */
export async function scanString(content: string | Buffer, opts: ScanStringOptions = {}): Promise<Finding[]> {
  return (await scanFile(content, opts)).findings;
}

export async function scanFile(content: string | Buffer, opts: ScanStringOptions = {}): Promise<ScanResult> {
  const sub = join(dir, String(++seq));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(sub);
  const path = join(sub, opts.name ?? 'notes.txt');
  writeFileSync(path, content);
  return scanner(opts.minConfidence ?? 'medium').scan([path], noStdin);
}
