/**
 * `firebreak serve --demo`: a server on loopback with a temporary data directory, and the bundled
 * sample intrusion replayed through the Elasticsearch bulk API as a shipper would send it (each
 * host's events in time order), with event time compressed so the story appears within minutes.
 * The sample's times are moved forward by whole weeks to the last seven days (same weekday and
 * time of day, so nothing learnt from habits changes): the server files events older than two
 * years under their arrival time, and the console would show a two-year-old intrusion as such.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DATA_DIR } from '../sigma/bundled.js';

export const DEMO_SAMPLE = join(DATA_DIR, 'samples', 'intrusion');

/** The demo's configuration: loopback listeners on free ports (or the given ones), one token. */
export function demoConfig(opts: { apiPort?: number; elasticPort?: number } = {}): { yaml: string; token: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-demo-'));
  const token = randomBytes(24).toString('base64url');
  const yaml = `data: ${JSON.stringify(dir)}
listeners:
  elastic: { listen: 127.0.0.1:${opts.elasticPort ?? 0} }
api: { listen: 127.0.0.1:${opts.apiPort ?? 0} }
tokens:
  - { source: demo-winlogbeat, secret: ${JSON.stringify(token)}, protocols: [elastic] }
processing: { idleFlushSeconds: 1, allowedLatenessSeconds: 30 }
`;
  return { yaml, token, dir };
}

const WEEK_MS = 7 * 24 * 3600_000;
const SYSTEM_TIME = /"SystemTime":"([^"]+)"/;

/**
 * The sample's events (evtx JSON, one object per line), all hosts, in event-time order. With
 * `endBy` (ms), every event time is moved forward by the whole weeks that bring the last event to
 * within the week before `endBy`.
 */
export function demoEvents(endBy?: number): { time: number; line: string }[] {
  const out: { time: number; line: string }[] = [];
  for (const f of readdirSync(DEMO_SAMPLE).sort()) {
    if (!f.endsWith('.json.gz')) continue;
    for (const line of gunzipSync(readFileSync(join(DEMO_SAMPLE, f)))
      .toString('utf8')
      .split('\n')) {
      if (!line.trim()) continue;
      const m = SYSTEM_TIME.exec(line);
      out.push({ time: m ? Date.parse(m[1]!) : 0, line });
    }
  }
  out.sort((a, b) => a.time - b.time);
  const last = out.at(-1)?.time;
  if (endBy === undefined || last === undefined || !(last > 0) || last > endBy) return out;
  const shift = Math.floor((endBy - last) / WEEK_MS) * WEEK_MS;
  if (!shift) return out;
  for (const e of out) {
    if (!(e.time > 0)) continue;
    e.time += shift;
    e.line = e.line.replace(SYSTEM_TIME, `"SystemTime":"${new Date(e.time).toISOString()}"`);
  }
  return out;
}

export interface ReplayOptions {
  /** `http://127.0.0.1:PORT` of the elastic listener. */
  url: string;
  token: string;
  /** Event time passes this many times faster than real time (default: the whole sample in about a minute). */
  speed?: number;
  /** The sample's times are moved forward by whole weeks to the week before this time (ms; default now); null keeps them. */
  endBy?: number | null;
  /** Called after each bulk request with the events sent so far. */
  progress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** Sends the sample through `POST /_bulk`, paced by event time; resolves with the events acknowledged. */
export async function replaySample(o: ReplayOptions): Promise<number> {
  const events = demoEvents(o.endBy === null ? undefined : (o.endBy ?? Date.now()));
  if (!events.length) return 0;
  const span = Math.max(1, events[events.length - 1]!.time - events[0]!.time);
  const speed = o.speed ?? span / 60_000;
  const start = Date.now();
  const auth = 'Basic ' + Buffer.from(`elastic:${o.token}`).toString('base64');
  let sent = 0;
  let i = 0;
  while (i < events.length) {
    if (o.signal?.aborted) break;
    // Everything due by now (event time scaled), at most 500 a request.
    const due = events[0]!.time + (Date.now() - start) * speed;
    let j = i;
    while (j < events.length && j - i < 500 && events[j]!.time <= due) j++;
    if (j === i) {
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(20, (events[i]!.time - due) / speed))));
      continue;
    }
    const body = events
      .slice(i, j)
      .map((e) => `{"create":{"_index":"winlogbeat-demo"}}\n${e.line}\n`)
      .join('');
    const res = await fetch(`${o.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization: auth }, body, signal: o.signal });
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!res.ok) throw new Error(`demo replay: the bulk API answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const answer = (await res.json()) as { errors: boolean; items: { create?: { status: number } }[] };
    sent += answer.items.filter((x) => (x.create?.status ?? 500) < 300).length;
    i = j;
    o.progress?.(sent, events.length);
  }
  return sent;
}
