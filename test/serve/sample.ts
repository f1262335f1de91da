/** The bundled sample intrusion as shippers send it, for the serve tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DATA_DIR } from '../../src/sigma/bundled.js';
import { toEcs } from '../hunt/ecs-converter.js';

export const SAMPLE = join(DATA_DIR, 'samples', 'intrusion');

/** Every event of the sample, as Winlogbeat would ship it from each host: in time order, hosts interleaved. */
export function sampleDocs(): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  for (const f of readdirSync(SAMPLE).sort()) {
    const text = gunzipSync(readFileSync(join(SAMPLE, f))).toString('utf8');
    for (const line of text.split('\n')) if (line.trim()) docs.push(toEcs(JSON.parse(line)));
  }
  const at = (d: Record<string, unknown>) => String(d['@timestamp']);
  return docs.sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0));
}
