/** One alert: its rule, host and accounts, the event with the matched fields, triage and the audit trail. */
import { Fragment } from 'preact';
import { useQuery } from '../api';
import { killChainIndex, tacticName } from '../attack';
import { EventFields } from '../components/event';
import { AuditTrail, Triage } from '../components/triage';
import type { AlertDetail } from '../types';
import { accountHref, ErrorBox, hostHref, LevelBadge, Link, Loading, StatusBadge, storyHref, Time } from '../ui';

export function AlertPage(props: { id: string }) {
  const valid = /^\d{1,15}$/.test(props.id);
  const q = useQuery<AlertDetail>(valid ? `/api/alerts/${props.id}` : null);
  if (!valid) return <ErrorBox error={`'${props.id}' is not an alert number`} />;
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Loading />;
  const a = q.data;
  return (
    <article class="alert-page" data-testid="alert">
      <div class="page-head">
        <h1>
          <LevelBadge level={a.level} /> {a.ruleTitle}
        </h1>
        <div class="facts">
          <StatusBadge status={a.status} resolution={a.resolution} />
          <span>host {a.host ? <Link href={hostHref(a.host)}>{a.host}</Link> : '—'}</span>
          <span>
            {a.users.map((u, i) => (
              <Fragment key={u}>
                {i > 0 && ', '}
                <Link href={accountHref(u)}>{u}</Link>
              </Fragment>
            ))}
          </span>
          <span>
            ×{a.count} · <Time at={a.firstSeen} /> → <Time at={a.lastSeen} />
          </span>
          <span>assignee: {a.assignee ?? 'nobody'}</span>
          {a.storyId && (
            <span>
              in story <Link href={storyHref(a.storyId)}>{a.storyId}</Link>
            </span>
          )}
        </div>
      </div>
      <Triage kind="alert" id={a.id} item={a} />
      <section aria-labelledby="h-event">
        <h2 id="h-event">The event</h2>
        {a.tactics.length > 0 && (
          <p class="muted">
            {[...a.tactics]
              .sort((x, y) => killChainIndex(x) - killChainIndex(y))
              .map(tacticName)
              .join(', ')}{' '}
            · {a.techniques.join(', ')}
          </p>
        )}
        <EventFields detection={a.detection} />
      </section>
      <AuditTrail audit={a.audit} comments={a.comments} />
    </article>
  );
}
