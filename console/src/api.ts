/**
 * The one fetching layer: every request to the API goes through `api()`, which sends the session
 * cookie (same origin), the CSRF token on changes, and turns the API's error shape into
 * `ApiFailure`. `useQuery` caches GET results by path and refetches when the live feed says
 * something changed (`invalidate`), so every page stays current without a reload.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from './types';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
let onUnauthorized: () => void = () => undefined;

/** Remembers the session's CSRF token (sent in X-CSRF-Token on every change). */
export function setSession(s: Session | null): void {
  csrf = s?.csrfToken ?? null;
}

/** What to do when the API answers 401 (the session ended): show the login page. */
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
}

/** Calls the API; resolves to the parsed JSON body (or text for non-JSON answers). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const type = r.headers.get('content-type') ?? '';
  const parsed: unknown = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    const e = (parsed && typeof parsed === 'object' ? (parsed as ErrorBody).error : undefined) ?? {};
    if (r.status === 401 && path !== '/api/auth/login') onUnauthorized();
    throw new ApiFailure(r.status, e.code ?? `http-${r.status}`, e.message ?? `${method} ${path}: HTTP ${r.status}`, e.details);
  }
  return parsed as T;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => api<T>('POST', path, body);
export const put = <T>(path: string, body: unknown): Promise<T> => api<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown): Promise<T> => api<T>('PATCH', path, body);
export const del = <T>(path: string): Promise<T> => api<T>('DELETE', path);

/** A query string from defined, non-empty values (arrays repeat the parameter). */
export function qs(params: Record<string, string | number | boolean | string[] | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) u.append(k, x);
    else u.append(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

// ---- the cache ----

interface Entry {
  data?: unknown;
  error?: ApiFailure | Error;
  promise?: Promise<void>;
  /** Bumped by invalidate(); a fetch started under an older generation refetches. */
  stale: boolean;
}

/** Bounds the cache: the least recently used paths are forgotten first. */
const CACHE_MAX = 200;
const cache = new Map<string, Entry>();
const listeners = new Set<() => void>();

function notify(): void {
  for (const fn of [...listeners]) fn();
}

function load(path: string): void {
  let e = cache.get(path);
  if (!e) {
    e = { stale: true };
    cache.set(path, e);
    if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  }
  if (e.promise || !e.stale) return;
  const entry = e;
  entry.stale = false;
  entry.promise = get<unknown>(path)
    .then(
      (data) => {
        entry.data = data;
        entry.error = undefined;
      },
      (err: unknown) => {
        entry.error = err instanceof Error ? err : new Error(String(err));
      },
    )
    .finally(() => {
      entry.promise = undefined;
      notify();
      if (entry.stale) load(path);
    });
}

/** Marks cached answers stale (those whose path starts with one of `prefixes`; all when none) and refetches the ones in use. */
export function invalidate(...prefixes: string[]): void {
  for (const [path, e] of cache) if (!prefixes.length || prefixes.some((p) => path.startsWith(p))) e.stale = true;
  notify();
}

export interface QueryState<T> {
  data: T | undefined;
  error: ApiFailure | Error | undefined;
  loading: boolean;
}

/**
 * The cached answer to GET `path` (null: nothing to fetch), refetched when invalidated. With
 * `keepPrevious` (lists), the previous path's answer stays while a new path loads (with
 * `loading`), so a list does not flash empty when a filter changes; never for single items,
 * where the old item would stand in for another.
 */
export function useQuery<T>(path: string | null, keepPrevious = false): QueryState<T> {
  const [, setTick] = useState(0);
  const shown = useRef<unknown>(undefined);
  useEffect(() => {
    if (path === null) return;
    const fn = (): void => {
      const e = cache.get(path);
      if (e?.stale) load(path);
      setTick((n) => n + 1);
    };
    listeners.add(fn);
    load(path);
    return () => void listeners.delete(fn);
  }, [path]);
  if (path === null) return { data: undefined, error: undefined, loading: false };
  const e = cache.get(path);
  if (e?.data !== undefined || e?.error) shown.current = e.data;
  const data = e?.data ?? (keepPrevious && !e?.error ? shown.current : undefined);
  return { data: data as T | undefined, error: e?.error, loading: !!e?.promise };
}

/** Message of any thrown value. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
