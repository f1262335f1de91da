/**
 * The bundled sample intrusion (data/samples/intrusion) as a shipper sends it to `firebreak serve`,
 * and the configuration of a test server that reads it through the Elasticsearch bulk API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DATA_DIR } from '../../src/sigma/bundled.js';
import { toEcs } from '../hunt/ecs-converter.js';
import { TOKENS } from './ingest-helpers.js';

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

/**
 * A server configuration: data under `dir`, the bulk API on a free loopback port with one token,
 * events stored unless `o.events` is false, `o.processing` (YAML flow mapping) or the default
 * processing; `extra` YAML appended.
 */
export function serveYaml(dir: string, extra = '', o: { processing?: string; events?: boolean } = {}): string {
  return `data: ${dir}/data
listeners:
  elastic: { listen: 127.0.0.1:0 }
tokens:
  - { source: winlogbeat, secret: ${TOKENS.elastic}, protocols: [elastic] }
processing: ${o.processing ?? '{ threads: 2, idleFlushSeconds: 0.5, allowedLatenessSeconds: 5 }'}
storage: { events: ${o.events ?? true} }
${extra}`;
}
