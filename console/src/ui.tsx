/** Small shared pieces: links, level and status badges, times, the session context. */
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';
import { onLinkClick } from './router';
import type { Session } from './types';

export const SessionContext = createContext<Session | null>(null);

/** The logged-in session (pages render only after login). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

/** Whether this user may change things (analysts and admins; read-only users only look). */
export function canChange(s: Session): boolean {
  return s.role === 'admin' || s.role === 'analyst';
}

export function Link(props: { href: string; class?: string; children: ComponentChildren; title?: string; current?: boolean }) {
  return (
    <a href={props.href} class={props.class} title={props.title} aria-current={props.current ? 'page' : undefined} onClick={(e) => onLinkClick(e, props.href)}>
      {props.children}
    </a>
  );
}

export const hostHref = (h: string): string => `/hosts/${encodeURIComponent(h)}`;
export const accountHref = (a: string): string => `/accounts/${encodeURIComponent(a)}`;
export const storyHref = (id: string): string => `/stories/${encodeURIComponent(id)}`;
export const alertHref = (id: number | string): string => `/alerts/${encodeURIComponent(String(id))}`;

const LEVEL_RANK: Record<string, number> = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };
export const levelRank = (l: string): number => LEVEL_RANK[l] ?? -1;
export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export const STATUSES = ['new', 'acknowledged', 'in_progress', 'closed'] as const;
export const RESOLUTIONS = ['true_positive', 'benign', 'false_positive'] as const;

export function LevelBadge(props: { level: string | null | undefined }) {
  const l = props.level ?? 'unknown';
  return <span class={`badge level level-${LEVEL_RANK[l] === undefined ? 'unknown' : l}`}>{l}</span>;
}

export const statusText = (s: string, resolution?: string | null): string => (s === 'closed' && resolution ? `closed: ${resolution.replace(/_/g, ' ')}` : s.replace(/_/g, ' '));

export function StatusBadge(props: { status: string; resolution?: string | null }) {
  return <span class={`badge status status-${props.status}`}>{statusText(props.status, props.resolution)}</span>;
}

/** A time as the analyst reads it (local, to the second), with the ISO value as a tooltip. */
export function Time(props: { at: string | null | undefined }) {
  if (!props.at) return <span class="muted">—</span>;
  const d = new Date(props.at);
  if (Number.isNaN(d.getTime())) return <span>{props.at}</span>;
  return (
    <time dateTime={props.at} title={props.at}>
      {fmtTime(d)}
    </time>
  );
}

export function fmtTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]!}`;
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <div class="error" role="alert">
      {text(props.error instanceof Error ? props.error.message : props.error)}
    </div>
  );
}

export function Loading() {
  return <p class="muted">Loading…</p>;
}

/** Any value as display text (objects as JSON). */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

/** A value from a log, always as text (never markup). */
export function Val(props: { v: unknown }) {
  return <span class="val">{text(props.v)}</span>;
}

/** Where a list is: "101–200 of 523" with previous and next buttons (`what` names the list for screen readers). */
export function Pager(props: { offset: number; limit: number; total: number; what: string; onPage: (offset: number) => void; testId?: string }) {
  const { offset, limit, total } = props;
  if (total <= limit && offset === 0) return null;
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  return (
    <nav class="pager" aria-label={`Pages of ${props.what}`} data-testid={props.testId}>
      <button type="button" class="small" disabled={offset === 0} onClick={() => props.onPage(0)} aria-label={`First page of ${props.what}`}>
        «
      </button>
      <button type="button" class="small" disabled={offset === 0} onClick={() => props.onPage(Math.max(0, offset - limit))} aria-label={`Previous page of ${props.what}`}>
        ‹ Previous
      </button>
      <span class="muted" data-testid={props.testId ? `${props.testId}-range` : undefined}>
        {total ? Math.min(offset + 1, total) : 0}–{Math.min(offset + limit, total)} of {total}
      </span>
      <button type="button" class="small" disabled={offset + limit >= total} onClick={() => props.onPage(offset + limit)} aria-label={`Next page of ${props.what}`}>
        Next ›
      </button>
      <button type="button" class="small" disabled={offset >= last} onClick={() => props.onPage(last)} aria-label={`Last page of ${props.what}`}>
        »
      </button>
    </nav>
  );
}

/** A button that asks before it acts (no browser dialog: the question appears in its place). */
export function Confirm(props: { label: string; what: string; disabled?: boolean; ghost?: boolean; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class={props.ghost ? 'small ghost' : 'small'} disabled={props.disabled} aria-label={`${props.label} ${props.what}`} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm">
      {props.label} {props.what}?{' '}
      <button
        type="button"
        class="small danger"
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>{' '}
      <button type="button" class="small ghost" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
