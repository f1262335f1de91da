/**
 * The live feed: one EventSource on /api/stream for the whole console. Each change invalidates
 * the cached lists and the item it names, so open pages refetch; `reset` (the server could not
 * resume) invalidates everything. Subscribers also see each event (the queue counts arrivals).
 */
import { get, invalidate } from './api';
import type { LiveEvent } from './types';

type Listener = (e: LiveEvent) => void;
type StateListener = (connected: boolean) => void;

const listeners = new Set<Listener>();
const stateListeners = new Set<StateListener>();
let source: EventSource | null = null;
let connected = false;

function setConnected(v: boolean): void {
  connected = v;
  for (const fn of [...stateListeners]) fn(v);
}

/** Invalidations wait this long so a burst of changes costs one refetch per open list. */
const COALESCE_MS = 250;
const pending = new Set<string>();
let flushTimer: ReturnType<typeof setTimeout> | null = null;

function invalidateSoon(prefixes: string[]): void {
  for (const p of prefixes) pending.add(p);
  flushTimer ??= setTimeout(() => {
    flushTimer = null;
    const all = [...pending];
    pending.clear();
    invalidate(...all);
  }, COALESCE_MS);
}

function handle(raw: MessageEvent<string>): void {
  let e: LiveEvent;
  try {
    e = JSON.parse(raw.data) as LiveEvent;
  } catch {
    return;
  }
  if (e.type.startsWith('story.')) invalidateSoon(['/api/stories', '/api/counts', '/api/hosts', '/api/accounts', '/api/alerts']);
  else invalidateSoon(['/api/alerts', '/api/counts', '/api/stories/', '/api/hosts', '/api/accounts', '/api/rules', '/api/coverage']);
  for (const fn of [...listeners]) fn(e);
}

let retry: ReturnType<typeof setTimeout> | null = null;

/** Opens the feed (once, after login). EventSource reconnects by itself with Last-Event-ID. */
export function startLive(): void {
  if (source) return;
  const es = new EventSource('/api/stream', { withCredentials: true });
  source = es;
  for (const t of ['alert.created', 'alert.updated', 'story.created', 'story.updated']) es.addEventListener(t, handle as EventListener);
  es.addEventListener('reset', () => invalidate());
  es.addEventListener('open', () => setConnected(true));
  es.addEventListener('error', () => {
    setConnected(false);
    // A refused reconnection (the session ended, too many feeds) closes the EventSource for good:
    // check the session (a 401 shows the login page) and try again later.
    if (es.readyState === EventSource.CLOSED && source === es && !retry) {
      source = null;
      void get('/api/auth/session').then(
        () => void (retry = setTimeout(() => ((retry = null), startLive()), 10_000)),
        () => undefined,
      );
    }
  });
}

/** Closes the feed (logout). */
export function stopLive(): void {
  if (retry) clearTimeout(retry);
  retry = null;
  source?.close();
  source = null;
  setConnected(false);
}

export function onLive(fn: Listener): () => void {
  listeners.add(fn);
  return () => void listeners.delete(fn);
}

export function onLiveState(fn: StateListener): () => void {
  stateListeners.add(fn);
  fn(connected);
  return () => void stateListeners.delete(fn);
}
