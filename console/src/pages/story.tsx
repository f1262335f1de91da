/**
 * One story: the narrative, why patient zero, the spread graph, tactics in kill-chain order, the
 * timeline, its alerts (each opens its event with the matched fields highlighted), triage with
 * merge and split, comments and the audit trail.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { errorText, invalidate, post, qs, useQuery } from '../api';
import { killChainIndex } from '../attack';
import { AlertEvent } from '../components/event';
import { SpreadGraph } from '../components/graph';
import { AuditTrail, Triage } from '../components/triage';
import { navigate } from '../router';
import type { Alert, Page, Story, StoryDetail, StorySummary } from '../types';
import { accountHref, alertHref, canChange, Confirm, ErrorBox, fmtTime, hostHref, LevelBadge, Link, Loading, Pager, StatusBadge, storyHref, Time, useSession } from '../ui';

/** Alerts of a story per page. */
const ALERTS_PAGE = 100;

export function StoryPage(props: { id: string }) {
  const [alertsOffset, setAlertsOffset] = useState(0);
  const q = useQuery<StoryDetail>(`/api/stories/${encodeURIComponent(props.id)}${qs({ alertsLimit: ALERTS_PAGE, alertsOffset: alertsOffset || undefined })}`, alertsOffset > 0);
  const [openAlert, setOpenAlert] = useState<number | null>(null);
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Loading />;
  const d = q.data;
  const s = d.story;
  return (
    <article class="story" data-testid="story">
      <div class="page-head">
        <h1>
          <LevelBadge level={d.level} /> {d.title}
        </h1>
        <div class="facts">
          <StatusBadge status={d.status} resolution={d.resolution} />
          <span>score {Math.round(d.score)}</span>
          <span>
            {d.hosts} host{d.hosts === 1 ? '' : 's'}, {d.accounts} account{d.accounts === 1 ? '' : 's'}, {d.alerts.total} alert{d.alerts.total === 1 ? '' : 's'}
          </span>
          <span>
            <Time at={d.firstSeen} /> → <Time at={d.lastSeen} />
          </span>
          <span>assignee: {d.assignee ?? 'nobody'}</span>
        </div>
      </div>
      {d.mergedInto && (
        <p class="notice">
          This story was merged into <Link href={storyHref(d.mergedInto)}>{d.mergedInto}</Link>; act on that one.
        </p>
      )}
      {!d.mergedInto && <Triage kind="story" id={d.id} item={d} />}
      {!d.mergedInto && <MergeControl id={d.id} />}
      {s === null ? (
        <p class="error">The stored story could not be read; its alerts are listed below.</p>
      ) : (
        <>
          <section aria-labelledby="h-narrative">
            <h2 id="h-narrative">What happened</h2>
            <p class="narrative" data-testid="narrative">
              {s.narrative}
            </p>
            <PatientZero story={s} />
          </section>
          <section aria-labelledby="h-graph">
            <h2 id="h-graph">Spread</h2>
            <SpreadGraph story={s} onSelectHost={(h) => navigate(hostHref(h))} />
          </section>
          <div class="two-col">
            <Tactics story={s} />
            <section aria-labelledby="h-who">
              <h2 id="h-who">Accounts and addresses</h2>
              <ul class="plain">
                {s.accounts.map((a) => (
                  <li key={a}>
                    <Link href={accountHref(a)}>{a}</Link>
                  </li>
                ))}
              </ul>
              {s.sourceIps.length > 0 && (
                <p>
                  Source addresses: <span class="mono">{s.sourceIps.join(', ')}</span>
                </p>
              )}
            </section>
          </div>
          <Timeline story={s} alerts={d.alerts.items} onOpen={setOpenAlert} />
        </>
      )}
      <StoryAlerts detail={d} open={openAlert} onOpen={setOpenAlert} onPage={setAlertsOffset} />
      <AuditTrail audit={d.audit} comments={d.comments} />
    </article>
  );
}

function PatientZero(props: { story: Story }) {
  const pz = props.story.patientZero;
  if (!pz) return <p class="muted">No patient zero: the story does not say where it began.</p>;
  return (
    <div class="pz-why" data-testid="patient-zero">
      <h3>
        Why <Link href={hostHref(pz.computer)}>{pz.computer}</Link> is patient zero
      </h3>
      <p>{pz.why}</p>
      {pz.entry && (
        <p>
          Entry: from <span class="mono">{pz.entry.from}</span> at <Time at={pz.entry.at} /> ({pz.entry.technique.id ?? ''} {pz.entry.technique.name})
        </p>
      )}
    </div>
  );
}

function Tactics(props: { story: Story }) {
  const tactics = [...props.story.tactics].sort((a, b) => killChainIndex(a) - killChainIndex(b) || a.first.at.localeCompare(b.first.at));
  return (
    <section aria-labelledby="h-tactics">
      <h2 id="h-tactics">Tactics reached (kill-chain order)</h2>
      <ol class="tactics-list" data-testid="tactics">
        {tactics.map((t) => (
          <li key={t.id}>
            <strong>{t.name}</strong> <span class="muted">{t.id}</span> — first <Time at={t.first.at} /> on {t.first.computer ?? '—'}: {t.first.title}
          </li>
        ))}
      </ol>
      {props.story.techniques.length > 0 && <p class="muted">Techniques: {props.story.techniques.join(', ')}</p>}
    </section>
  );
}

type TimelineEntry = Story['timeline'][number];

/** The end of a run: only its time of day when it ends on the day it began. */
function Until(props: { from: string; to: string }) {
  const a = new Date(props.from);
  const b = new Date(props.to);
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime()) || fmtTime(a).slice(0, 10) !== fmtTime(b).slice(0, 10)) return <Time at={props.to} />;
  return (
    <time dateTime={props.to} title={props.to}>
      {fmtTime(b).slice(11)}
    </time>
  );
}

/** Consecutive detections of one rule on one host (a password spray's 24 failed logons) as one run. */
function runs(timeline: TimelineEntry[]): { first: TimelineEntry; last: TimelineEntry; count: number }[] {
  const out: { first: TimelineEntry; last: TimelineEntry; count: number }[] = [];
  for (const t of timeline) {
    const prev = out[out.length - 1];
    if (prev && prev.first.title === t.title && prev.first.computer === t.computer && prev.first.level === t.level) {
      prev.last = t;
      prev.count++;
    } else out.push({ first: t, last: t, count: 1 });
  }
  return out;
}

function Timeline(props: { story: Story; alerts: Alert[]; onOpen: (id: number) => void }) {
  const find = (title: string, host: string | null): Alert | undefined => props.alerts.find((a) => a.ruleTitle === title && (a.host ?? '').toLowerCase() === (host ?? '').toLowerCase());
  return (
    <section aria-labelledby="h-timeline">
      <h2 id="h-timeline">Timeline</h2>
      <table class="grid" data-testid="timeline">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Host</th>
            <th scope="col">Level</th>
            <th scope="col">Detection</th>
          </tr>
        </thead>
        <tbody>
          {runs(props.story.timeline).map(({ first: t, last, count }, i) => {
            const a = find(t.title, t.computer);
            return (
              <tr key={i}>
                <td>
                  <Time at={t.timestamp} />
                  {count > 1 && (
                    <>
                      {' '}
                      – <Until from={t.timestamp} to={last.timestamp} />
                    </>
                  )}
                </td>
                <td>{t.computer ? <Link href={hostHref(t.computer)}>{t.computer}</Link> : '—'}</td>
                <td>
                  <LevelBadge level={t.level} />
                </td>
                <td>
                  {a ? (
                    <button type="button" class="linklike" onClick={() => props.onOpen(a.id)}>
                      {t.title}
                    </button>
                  ) : (
                    t.title
                  )}
                  {count > 1 && <span class="muted"> ×{count}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.story.omitted.timeline > 0 && <p class="muted">{props.story.omitted.timeline} more detections not listed.</p>}
    </section>
  );
}

function StoryAlerts(props: { detail: StoryDetail; open: number | null; onOpen: (id: number | null) => void; onPage: (offset: number) => void }) {
  const session = useSession();
  const [error, setError] = useState<string | null>(null);
  const split = async (alertId: number): Promise<void> => {
    setError(null);
    try {
      await post(`/api/stories/${encodeURIComponent(props.detail.id)}/split`, { alertId });
      invalidate('/api/stories', '/api/alerts');
    } catch (e) {
      setError(errorText(e));
    }
  };
  const items = props.detail.alerts.items;
  return (
    <section aria-labelledby="h-alerts">
      <h2 id="h-alerts">Detections ({props.detail.alerts.total})</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="grid" data-testid="story-alerts">
        <thead>
          <tr>
            <th scope="col">Level</th>
            <th scope="col">Rule</th>
            <th scope="col">Host</th>
            <th scope="col">Count</th>
            <th scope="col">First seen</th>
            <th scope="col">Event</th>
            {canChange(session) && !props.detail.mergedInto && <th scope="col">Split</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <Fragment key={a.id}>
              <tr>
                <td>
                  <LevelBadge level={a.level} />
                </td>
                <td>
                  <Link href={alertHref(a.id)}>{a.ruleTitle}</Link>
                </td>
                <td>{a.host ?? '—'}</td>
                <td class="num">{a.count}</td>
                <td>
                  <Time at={a.firstSeen} />
                </td>
                <td>
                  <button type="button" class="small ghost" aria-expanded={props.open === a.id} onClick={() => props.onOpen(props.open === a.id ? null : a.id)}>
                    {props.open === a.id ? 'Hide event' : 'Show event'}
                  </button>
                </td>
                {canChange(session) && !props.detail.mergedInto && (
                  <td class="actions">
                    <Confirm label="Split out" what={`${a.ruleTitle} on ${a.host ?? 'no host'}`} onConfirm={() => void split(a.id)} ghost />
                  </td>
                )}
              </tr>
              {props.open === a.id && (
                <tr class="event-row">
                  <td colSpan={7}>
                    <AlertEvent id={a.id} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      <Pager offset={props.detail.alerts.offset} limit={props.detail.alerts.limit} total={props.detail.alerts.total} what="the story's detections" onPage={props.onPage} testId="story-alerts-pager" />
    </section>
  );
}

/** Merge this story into another open story. */
function MergeControl(props: { id: string }) {
  const session = useSession();
  const others = useQuery<Page<StorySummary>>(canChange(session) ? `/api/stories${qs({ status: ['new', 'acknowledged', 'in_progress'], limit: 100, sort: 'newest' })}` : null);
  const [into, setInto] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!canChange(session)) return null;
  const candidates = (others.data?.items ?? []).filter((s) => s.id !== props.id);
  if (!candidates.length) return null;
  const merge = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      await post(`/api/stories/${encodeURIComponent(props.id)}/merge`, { into });
      invalidate('/api/stories', '/api/alerts');
      navigate(storyHref(into));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="inline merge" onSubmit={(e) => void merge(e)}>
      <label>
        Merge into
        <select value={into} onChange={(e) => setInto(e.currentTarget.value)} data-testid="merge-into">
          <option value="">choose a story…</option>
          {candidates.map((s) => (
            <option key={s.id} value={s.id}>
              {s.title} ({s.id})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={!into}>
        Merge
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
