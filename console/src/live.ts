/**
 * The live feed: one EventSource on /api/stream for the whole console. Each change invalidates
 * the cached lists and the item it names, so open pages refetch; `reset` (the server could not
 * resume) invalidates everything. Subscribers also see each event (the queue counts arrivals).
 */
import { invalidate } from './api';
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

function handle(raw: MessageEvent<string>): void {
  let e: LiveEvent;
  try {
    e = JSON.parse(raw.data) as LiveEvent;
  } catch {
    return;
  }
  if (e.type.startsWith('story.')) invalidate('/api/stories', '/api/counts', '/api/hosts', '/api/accounts', '/api/alerts');
  else invalidate('/api/alerts', '/api/counts', '/api/stories/', '/api/hosts', '/api/accounts', '/api/rules', '/api/coverage');
  for (const fn of [...listeners]) fn(e);
}

/** Opens the feed (once, after login). EventSource reconnects by itself with Last-Event-ID. */
export function startLive(): void {
  if (source) return;
  source = new EventSource('/api/stream', { withCredentials: true });
  for (const t of ['alert.created', 'alert.updated', 'story.created', 'story.updated']) source.addEventListener(t, handle as EventListener);
  source.addEventListener('reset', () => invalidate());
  source.addEventListener('open', () => setConnected(true));
  source.addEventListener('error', () => setConnected(false));
}

/** Closes the feed (logout). */
export function stopLive(): void {
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
