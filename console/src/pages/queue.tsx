/**
 * The live queue: stories first, then alerts in no story, most severe (or newest) on top, with
 * filters kept in the URL, a counter of what arrived since the analyst last looked, pages of 100
 * per list (the page in the URL too), and keyboard navigation (j/k or arrows move, Enter opens,
 * n/p turn the page of the list the selected row is in, / focuses the filters).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, invalidate, post, qs, useQuery } from '../api';
import { killChainIndex, tacticName, TACTICS } from '../attack';
import { onLive } from '../live';
import { navigate, useLocation } from '../router';
import type { Alert, Counts, Page, StorySummary } from '../types';
import { alertHref, canChange, ErrorBox, hostHref, LEVELS, LevelBadge, Link, Pager, StatusBadge, storyHref, Time, useSession } from '../ui';

const FILTERS = ['minLevel', 'status', 'host', 'user', 'rule', 'tactic', 'from', 'to', 'sort', 'q'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const OPEN = ['new', 'acknowledged', 'in_progress'];
/** Rows per page of each list. */
export const PAGE_SIZE = 100;
type Kind = 'story' | 'alert';
const PAGE_PARAM: Record<Kind, string> = { story: 'storiesPage', alert: 'alertsPage' };

/** The 1-based page of a list in the URL (1 when absent or not a page number). */
function pageOf(query: URLSearchParams, kind: Kind): number {
  const n = Number(query.get(PAGE_PARAM[kind]));
  return Number.isSafeInteger(n) && n > 1 ? n : 1;
}

/** Sets a list's page in the URL (page 1 is the address without it). */
function goToPage(kind: Kind, page: number): void {
  const q = new URLSearchParams(location.search);
  if (page > 1) q.set(PAGE_PARAM[kind], String(page));
  else q.delete(PAGE_PARAM[kind]);
  const s = q.toString();
  navigate(`/${s ? `?${s}` : ''}`, true, false);
}

function lastLookKey(user: string): string {
  return `firebreak.lastLook.${user}`;
}

/** Filter values (from the URL) as API parameters. */
function apiParams(f: Filters): Record<string, string | string[] | undefined> {
  const status = f.status === 'any' ? undefined : f.status ? [f.status] : OPEN;
  const iso = (v: string | undefined): string | undefined => {
    if (!v) return undefined;
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  };
  return {
    minLevel: f.minLevel,
    status,
    host: f.host,
    user: f.user,
    rule: f.rule,
    tactic: f.tactic,
    q: f.q,
    from: iso(f.from),
    to: iso(f.to),
    sort: f.sort ?? 'severity',
  };
}

export function QueuePage() {
  const session = useSession();
  const { query } = useLocation();
  const filters: Filters = {};
  for (const k of FILTERS) {
    const v = query.get(k);
    if (v) filters[k] = v;
  }
  const params = apiParams(filters);
  const page: Record<Kind, number> = { story: pageOf(query, 'story'), alert: pageOf(query, 'alert') };
  const offset = (kind: Kind): number => (page[kind] - 1) * PAGE_SIZE;
  const stories = useQuery<Page<StorySummary>>(`/api/stories${qs({ ...params, limit: PAGE_SIZE, offset: offset('story') })}`, true);
  const alerts = useQuery<Page<Alert>>(`/api/alerts${qs({ ...params, ungrouped: true, limit: PAGE_SIZE, offset: offset('alert') })}`, true);

  // A page past the end (items were closed, or the list shrank): show the last one.
  useEffect(() => {
    for (const [kind, q] of [
      ['story', stories],
      ['alert', alerts],
    ] as const) {
      const total = q.data?.total;
      if (total !== undefined && !q.loading && q.data?.offset === offset(kind) && page[kind] > 1 && offset(kind) >= total) goToPage(kind, Math.max(1, Math.ceil(total / PAGE_SIZE)));
    }
  });

  const [lastLook, setLastLook] = useState<string>(() => {
    const saved = localStorage.getItem(lastLookKey(session.user));
    if (saved) return saved;
    const t = new Date().toISOString();
    localStorage.setItem(lastLookKey(session.user), t);
    return t;
  });
  const counts = useQuery<Counts>(`/api/counts${qs({ since: lastLook })}`);
  const [arrived, setArrived] = useState(0);
  useEffect(() => onLive((e) => (e.type.endsWith('.created') ? setArrived((n) => n + 1) : undefined)), []);
  const markSeen = (): void => {
    const t = new Date().toISOString();
    localStorage.setItem(lastLookKey(session.user), t);
    setLastLook(t);
    setArrived(0);
  };
  const newCount = counts.data ? counts.data.stories.created + counts.data.alerts.created : 0;

  const setFilter = (k: keyof Filters, v: string): void => {
    const q = new URLSearchParams(location.search);
    if (v) q.set(k, v);
    else q.delete(k);
    // Another filter, another list: back to the first pages.
    q.delete(PAGE_PARAM.story);
    q.delete(PAGE_PARAM.alert);
    const s = q.toString();
    navigate(`/${s ? `?${s}` : ''}`, true);
  };

  // Keyboard navigation: the selected row is the one whose link has focus.
  const listRef = useRef<HTMLDivElement>(null);
  const [selected, setSelected] = useState(0);
  const [keyError, setKeyError] = useState<string | null>(null);
  const rows = (): HTMLAnchorElement[] => [...(listRef.current?.querySelectorAll<HTMLAnchorElement>('a.row-link') ?? [])];
  // After turning a page with the keyboard: the list whose first row takes the selection once that page has loaded.
  const [focusFirst, setFocusFirst] = useState<{ kind: Kind; page: number } | null>(null);
  const turn = (kind: Kind, to: number, viaKeyboard: boolean): void => {
    if (viaKeyboard) setFocusFirst({ kind, page: to });
    goToPage(kind, to);
  };
  const storiesReady = !!stories.data && !stories.loading && stories.data.offset === offset('story');
  const alertsReady = !!alerts.data && !alerts.loading && alerts.data.offset === offset('alert');
  useEffect(() => {
    if (!focusFirst || page[focusFirst.kind] !== focusFirst.page || !(focusFirst.kind === 'story' ? storiesReady : alertsReady)) return;
    const links = rows();
    const i = links.findIndex((a) => a.closest('tr')?.dataset.kind === focusFirst.kind);
    setFocusFirst(null);
    if (i < 0) return;
    setSelected(i);
    links[i]!.focus();
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const links = rows();
      if (e.key === '/') {
        e.preventDefault();
        document.getElementById('f-q')?.focus();
        return;
      }
      if (!links.length) return;
      const cur = links.findIndex((a) => a === document.activeElement);
      const at = cur >= 0 ? cur : Math.min(selected, links.length - 1);
      if (e.key === 'n' || e.key === 'p') {
        // The next or previous page of the list the selected row is in.
        const kind: Kind = links[at]!.closest('tr')?.dataset.kind === 'alert' ? 'alert' : 'story';
        const total = (kind === 'story' ? stories.data : alerts.data)?.total ?? 0;
        const to = page[kind] + (e.key === 'n' ? 1 : -1);
        if (to < 1 || (to - 1) * PAGE_SIZE >= total) return;
        e.preventDefault();
        turn(kind, to, true);
        return;
      }
      let next = -1;
      if (e.key === 'j' || e.key === 'ArrowDown') next = cur < 0 ? at : Math.min(links.length - 1, at + 1);
      else if (e.key === 'k' || e.key === 'ArrowUp') next = cur < 0 ? at : Math.max(0, at - 1);
      else if (e.key === 'Home') next = 0;
      else if (e.key === 'End') next = links.length - 1;
      else if ((e.key === 'Enter' || e.key === 'o') && cur < 0) {
        e.preventDefault();
        navigate(links[at]!.getAttribute('href')!);
        return;
      } else if (e.key === 'a' && canChange(session)) {
        // Acknowledge the selected row without opening it.
        const row = links[at]!.closest('tr');
        const kind = row?.dataset.kind;
        const id = row?.dataset.id;
        if (!kind || !id) return;
        e.preventDefault();
        post(`/api/${kind === 'story' ? 'stories' : 'alerts'}/${encodeURIComponent(id)}/acknowledge`).then(
          () => invalidate('/api/stories', '/api/alerts', '/api/counts'),
          (err: unknown) => setKeyError(errorText(err)),
        );
        return;
      }
      if (next < 0) return;
      e.preventDefault();
      setSelected(next);
      links[next]!.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [selected, session, stories.data, alerts.data, page.story, page.alert]);

  const storyItems = stories.data?.items ?? [];
  const alertItems = alerts.data?.items ?? [];
  let rowIndex = 0;
  const rowClass = (createdAt: string): string => {
    const i = rowIndex++;
    return `${i === selected ? 'selected' : ''} ${createdAt > lastLook ? 'fresh' : ''}`.trim();
  };

  return (
    <section class="queue">
      <div class="page-head">
        <h1>Queue</h1>
        <div class="new-counter" data-testid="new-counter" aria-live="polite">
          <strong>{newCount}</strong> new since you last looked
          {arrived > 0 && <span class="muted"> ({arrived} arrived live)</span>}
          <button type="button" class="small" onClick={markSeen}>
            Mark all seen
          </button>
        </div>
      </div>
      <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Severity
          <select value={filters.minLevel ?? ''} onChange={(e) => setFilter('minLevel', e.currentTarget.value)}>
            <option value="">any</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} or more
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filters.status ?? ''} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">open</option>
            <option value="any">any</option>
            <option value="new">new</option>
            <option value="acknowledged">acknowledged</option>
            <option value="in_progress">in progress</option>
            <option value="closed">closed</option>
          </select>
        </label>
        <TextFilter id="f-q" label="Text" value={filters.q} onCommit={(v) => setFilter('q', v)} />
        <TextFilter id="f-host" label="Host" value={filters.host} onCommit={(v) => setFilter('host', v)} />
        <TextFilter id="f-user" label="User" value={filters.user} onCommit={(v) => setFilter('user', v)} />
        <TextFilter id="f-rule" label="Rule" value={filters.rule} onCommit={(v) => setFilter('rule', v)} />
        <label>
          Tactic
          <select value={filters.tactic ?? ''} onChange={(e) => setFilter('tactic', e.currentTarget.value)}>
            <option value="">any</option>
            {TACTICS.map((t) => (
              <option key={t.short} value={t.short}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={filters.from ?? ''} onChange={(e) => setFilter('from', e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" value={filters.to ?? ''} onChange={(e) => setFilter('to', e.currentTarget.value)} />
        </label>
        <label>
          Order
          <select value={filters.sort ?? 'severity'} onChange={(e) => setFilter('sort', e.currentTarget.value === 'severity' ? '' : e.currentTarget.value)}>
            <option value="severity">most severe first</option>
            <option value="newest">newest first</option>
            <option value="oldest">oldest first</option>
          </select>
        </label>
      </form>
      <p class="hint muted">Keys: j/k or ↓/↑ move, Enter opens{canChange(session) ? ', a acknowledges' : ''}, n/p next or previous page, / filters.</p>
      <ErrorBox error={keyError ?? stories.error ?? alerts.error} />
      <div ref={listRef} class="queue-list" data-testid="queue">
        <h2>
          Stories <span class="muted">({stories.data?.total ?? '…'})</span>
        </h2>
        {storyItems.length === 0 && stories.data && <p class="muted">No stories match.</p>}
        {storyItems.length > 0 && (
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Level</th>
                <th scope="col">Story</th>
                <th scope="col">Score</th>
                <th scope="col">Hosts</th>
                <th scope="col">Patient zero</th>
                <th scope="col">Tactics</th>
                <th scope="col">Status</th>
                <th scope="col">Assignee</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {storyItems.map((s) => (
                <tr key={s.id} class={rowClass(s.createdAt)} data-kind="story" data-id={s.id}>
                  <td>
                    <LevelBadge level={s.level} />
                  </td>
                  <td class="title-cell">
                    <Link href={storyHref(s.id)} class="row-link">
                      {s.title}
                    </Link>
                    {s.createdAt > lastLook && <span class="badge fresh-badge">new</span>}
                  </td>
                  <td class="num">{Math.round(s.score)}</td>
                  <td class="num">{s.hosts}</td>
                  <td>{s.patientZero ? <Link href={hostHref(s.patientZero)}>{s.patientZero}</Link> : <span class="muted">—</span>}</td>
                  <td class="tactics">
                    {[...s.tactics]
                      .sort((a, b) => killChainIndex(a) - killChainIndex(b))
                      .map(tacticName)
                      .join(', ')}
                  </td>
                  <td>
                    <StatusBadge status={s.status} resolution={s.resolution} />
                  </td>
                  <td>{s.assignee ?? <span class="muted">—</span>}</td>
                  <td>
                    <Time at={s.lastSeen} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {stories.data && <Pager offset={offset('story')} limit={PAGE_SIZE} total={stories.data.total} what="stories" onPage={(o) => turn('story', o / PAGE_SIZE + 1, false)} testId="stories-pager" />}
        <h2>
          Alerts in no story <span class="muted">({alerts.data?.total ?? '…'})</span>
        </h2>
        {alertItems.length === 0 && alerts.data && <p class="muted">No alerts match.</p>}
        {alertItems.length > 0 && (
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Level</th>
                <th scope="col">Rule</th>
                <th scope="col">Host</th>
                <th scope="col">Users</th>
                <th scope="col">Count</th>
                <th scope="col">Status</th>
                <th scope="col">Assignee</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {alertItems.map((a) => (
                <tr key={a.id} class={rowClass(a.createdAt)} data-kind="alert" data-id={String(a.id)}>
                  <td>
                    <LevelBadge level={a.level} />
                  </td>
                  <td class="title-cell">
                    <Link href={alertHref(a.id)} class="row-link">
                      {a.ruleTitle}
                    </Link>
                    {a.createdAt > lastLook && <span class="badge fresh-badge">new</span>}
                  </td>
                  <td>{a.host ? <Link href={hostHref(a.host)}>{a.host}</Link> : <span class="muted">—</span>}</td>
                  <td>{a.users.join(', ')}</td>
                  <td class="num">{a.count}</td>
                  <td>
                    <StatusBadge status={a.status} resolution={a.resolution} />
                  </td>
                  <td>{a.assignee ?? <span class="muted">—</span>}</td>
                  <td>
                    <Time at={a.lastSeen} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {alerts.data && <Pager offset={offset('alert')} limit={PAGE_SIZE} total={alerts.data.total} what="alerts" onPage={(o) => turn('alert', o / PAGE_SIZE + 1, false)} testId="alerts-pager" />}
      </div>
    </section>
  );
}

/** A text filter applied on Enter or when the field loses focus (not on every key). */
function TextFilter(props: { id: string; label: string; value: string | undefined; onCommit: (v: string) => void }) {
  const [v, setV] = useState(props.value ?? '');
  useEffect(() => setV(props.value ?? ''), [props.value]);
  const commit = (): void => {
    if (v.trim() !== (props.value ?? '')) props.onCommit(v.trim());
  };
  return (
    <label>
      {props.label}
      <input
        id={props.id}
        type="search"
        value={v}
        onInput={(e) => setV(e.currentTarget.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape') e.currentTarget.blur();
        }}
      />
    </label>
  );
}
