/**
 * The live feed: alert and story changes as Server-Sent Events (`GET /api/stream`). `LiveHub`
 * numbers each change and keeps the last few in a ring buffer, so a client that reconnects with
 * `Last-Event-ID` gets what it missed; one from an earlier run, or away too long, is told to
 * reload (`event: reset`). Connections are capped in total and per user; a client that stops
 * reading is disconnected once its unsent output passes a bound; an idle feed carries a comment
 * line every `heartbeatMs` (and the session is re-checked then: a logged-out or expired session's
 * stream ends).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { now } from '../store/db.js';
import type { LiveEvent, LiveEventType, LiveFeed } from './deps.js';
import { ApiError } from './errors.js';
import { API_LIMITS } from './limits.js';

/** The in-memory live feed with a bounded replay buffer. */
export class LiveHub implements LiveFeed {
  /** Changes per run: a Last-Event-ID from another run is not resumable. */
  readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly ring: LiveEvent[] = [];
  private readonly subscribers = new Set<(e: LiveEvent) => void>();

  constructor(private readonly capacity: number = API_LIMITS.liveRingSize) {}

  publish(type: LiveEventType, data: LiveEvent['data']): LiveEvent {
    const e: LiveEvent = { id: `${this.epoch}-${++this.seq}`, type, at: now(), data };
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const fn of [...this.subscribers]) {
      try {
        fn(e);
      } catch {
        // A subscriber's failure is its own (the stream closes itself); the publisher goes on.
      }
    }
    return e;
  }

  since(lastId: string): LiveEvent[] | null {
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastId);
    if (!m || m[1] !== this.epoch) return null;
    const n = Number(m[2]);
    if (n > this.seq) return null;
    const first = this.ring.length ? Number(this.ring[0]!.id.split('-')[1]) : this.seq + 1;
    // Events n+1 … seq are needed; the ring must still hold n+1.
    if (n + 1 < first) return null;
    return this.ring.filter((e) => Number(e.id.split('-')[1]) > n);
  }

  subscribe(fn: (e: LiveEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => void this.subscribers.delete(fn);
  }

  /** Connected subscribers (for metrics). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }
}

/** One SSE message. Data is JSON on one line (JSON escapes every line break), so no framing can be injected. */
export function sseMessage(e: { id?: string; event: string; data: unknown }): string {
  return `${e.id ? `id: ${e.id}\n` : ''}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export interface StreamOptions {
  live: LiveFeed;
  maxStreams: number;
  heartbeatMs: number;
  /** Re-checks the request's credentials (false: no longer valid). */
  stillValid: (req: FastifyRequest) => boolean | Promise<boolean>;
}

/** The open streams, for caps and for closing them at shutdown. */
export class StreamRegistry {
  private readonly open = new Set<{ user: string; end: () => void }>();

  count(user?: string): number {
    if (user === undefined) return this.open.size;
    let n = 0;
    for (const s of this.open) if (s.user === user) n++;
    return n;
  }
  add(s: { user: string; end: () => void }): () => void {
    this.open.add(s);
    return () => void this.open.delete(s);
  }
  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const s of [...this.open]) s.end();
  }
}

/** Serves one `/api/stream` connection. */
export function serveStream(req: FastifyRequest, reply: FastifyReply, user: string, streams: StreamRegistry, o: StreamOptions): void {
  if (streams.count() >= o.maxStreams) throw new ApiError(429, 'too-many-streams', `the server has ${o.maxStreams} live feeds open; try again later`, undefined, { 'retry-after': '30' });
  if (streams.count(user) >= API_LIMITS.streamsPerUser)
    throw new ApiError(429, 'too-many-streams', `${API_LIMITS.streamsPerUser} live feeds are already open for this user`, undefined, { 'retry-after': '30' });
  const q = req.query as { lastEventId?: string };
  const header = req.headers['last-event-id'];
  const lastId = typeof header === 'string' ? header : q.lastEventId;
  const backlog = lastId ? o.live.since(lastId) : [];

  const res = reply.raw;
  reply.hijack();
  const headers = reply.getHeaders();
  res.writeHead(200, {
    ...Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  let ended = false;
  let unsubscribe = (): void => undefined;
  let unregister = (): void => undefined;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    unsubscribe();
    unregister();
    res.end();
  };
  const write = (text: string): void => {
    if (ended) return;
    if (res.writableLength > API_LIMITS.streamBufferMaxBytes) return end();
    res.write(text);
  };
  unregister = streams.add({ user, end });
  write(`retry: 5000\n\n`);
  if (backlog === null) write(sseMessage({ event: 'reset', data: { reason: 'the feed cannot resume from that event id; reload the lists' } }));
  else for (const e of backlog) write(sseMessage({ id: e.id, event: e.type, data: e }));
  unsubscribe = o.live.subscribe((e) => write(sseMessage({ id: e.id, event: e.type, data: e })));
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    Promise.resolve(o.stillValid(req))
      .catch(() => true) // the database did not answer: keep the stream, check again at the next beat
      .then((valid) => {
        checking = false;
        if (!valid) return end();
        write(`: heartbeat ${now()}\n\n`);
      })
      .catch(() => undefined);
  }, o.heartbeatMs);
  timer.unref();
  res.on('close', end);
  res.on('error', end);
}
