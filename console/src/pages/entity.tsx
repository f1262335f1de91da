/** Hosts and accounts: a list of each, and a page per host or account with what is known of it. */
import { useState } from 'preact/hooks';
import { qs, useQuery } from '../api';
import { TimeChart } from '../components/chart';
import type { AccountFacts, Alert, HostFacts, LogonSource, Page, StorySummary } from '../types';
import { accountHref, alertHref, ErrorBox, hostHref, LevelBadge, Link, Loading, StatusBadge, storyHref, Time } from '../ui';

type Kind = 'host' | 'account';
const plural = (k: Kind): string => (k === 'host' ? 'hosts' : 'accounts');
const href = (k: Kind, n: string): string => (k === 'host' ? hostHref(n) : accountHref(n));

export function EntityPage(props: { kind: Kind; name: string | null }) {
  return props.name === null ? <EntityList kind={props.kind} /> : <EntityFacts kind={props.kind} name={props.name} />;
}

function EntityList(props: { kind: Kind }) {
  const [q, setQ] = useState('');
  const [applied, setApplied] = useState('');
  const list = useQuery<Page<{ name: string; alerts: number; firstSeen: string; lastSeen: string; maxLevel: string }>>(`/api/${plural(props.kind)}${qs({ q: applied, limit: 200 })}`, true);
  return (
    <section>
      <div class="page-head">
        <h1>{props.kind === 'host' ? 'Hosts' : 'Accounts'}</h1>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(q.trim());
          }}
        >
          <label>
            Name contains
            <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          </label>
          <button type="submit">Filter</button>
        </form>
      </div>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading />
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Most severe</th>
              <th scope="col">Alerts</th>
              <th scope="col">First seen</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((e) => (
              <tr key={e.name}>
                <td>
                  <Link href={href(props.kind, e.name)}>{e.name}</Link>
                </td>
                <td>
                  <LevelBadge level={e.maxLevel} />
                </td>
                <td class="num">{e.alerts}</td>
                <td>
                  <Time at={e.firstSeen} />
                </td>
                <td>
                  <Time at={e.lastSeen} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function EntityFacts(props: { kind: Kind; name: string }) {
  const q = useQuery<HostFacts | AccountFacts>(`/api/${plural(props.kind)}/${encodeURIComponent(props.name)}`);
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Loading />;
  const f = q.data;
  const h = f.events?.histogram;
  return (
    <article data-testid="entity">
      <div class="page-head">
        <h1>
          <span class="muted">{props.kind === 'host' ? 'Host' : 'Account'}</span> {f.name}
        </h1>
        <div class="facts">
          <span>
            first seen <Time at={f.seen.first} />
          </span>
          <span>
            last seen <Time at={f.seen.last} />
          </span>
          <span>
            {f.alerts.total} alert{f.alerts.total === 1 ? '' : 's'} ({f.alerts.open} open)
          </span>
          {f.events && <span>{f.events.events} stored events</span>}
        </div>
      </div>
      {h && h.counts.length > 0 && (
        <TimeChart x={h.counts.map((_, i) => (Date.parse(h.from) + i * h.bucketMs) / 1000)} series={[{ label: 'events', values: h.counts }]} bars label={`Events of ${f.name} over time`} />
      )}
      <div class="two-col">
        <section aria-labelledby="h-stories">
          <h2 id="h-stories">Stories</h2>
          <StoryList items={f.stories} />
        </section>
        <section aria-labelledby="h-logons">
          <h2 id="h-logons">Logon sources</h2>
          <LogonSources items={f.logonSources} />
        </section>
      </div>
      <div class="two-col">
        {'touched' in f ? (
          <section aria-labelledby="h-touched">
            <h2 id="h-touched">Hosts it reached</h2>
            {f.touched.length === 0 ? (
              <p class="muted">None seen.</p>
            ) : (
              <ul class="plain">
                {merged(f.touched.map((t) => ({ key: t.host, via: t.via, at: t.at }))).map((t) => (
                  <li key={t.key}>
                    <Link href={hostHref(t.key)}>{t.key}</Link> <span class="muted">({t.vias.map((v) => v.via).join(', ')})</span> <Time at={t.at} />
                  </li>
                ))}
              </ul>
            )}
            <h2>Accounts on it</h2>
            <ul class="plain">
              {f.accounts.map((a) => (
                <li key={a.name}>
                  <Link href={accountHref(a.name)}>{a.name}</Link>{' '}
                  <span class="muted">
                    {a.alerts} alert{a.alerts === 1 ? '' : 's'}
                  </span>
                </li>
              ))}
            </ul>
          </section>
        ) : (
          <section aria-labelledby="h-hosts">
            <h2 id="h-hosts">Hosts it touched</h2>
            <ul class="plain">
              {merged(f.hosts.map((x) => ({ key: x.host, via: x.via, count: x.count, at: x.lastAt }))).map((x) => (
                <li key={x.key}>
                  <Link href={hostHref(x.key)}>{x.key}</Link> <span class="muted">({seenIn(x.vias)})</span> <Time at={x.at} />
                </li>
              ))}
            </ul>
          </section>
        )}
        <section aria-labelledby="h-recent">
          <h2 id="h-recent">Recent alerts</h2>
          <AlertList items={f.alerts.recent} />
        </section>
      </div>
    </article>
  );
}

function StoryList(props: { items: StorySummary[] }) {
  if (!props.items.length) return <p class="muted">None.</p>;
  return (
    <ul class="plain">
      {props.items.map((s) => (
        <li key={s.id}>
          <LevelBadge level={s.level} /> <Link href={storyHref(s.id)}>{s.title}</Link> <StatusBadge status={s.status} resolution={s.resolution} />
        </li>
      ))}
    </ul>
  );
}

function AlertList(props: { items: Alert[] }) {
  if (!props.items.length) return <p class="muted">None.</p>;
  return (
    <ul class="plain">
      {props.items.map((a) => (
        <li key={a.id}>
          <LevelBadge level={a.level} /> <Link href={alertHref(a.id)}>{a.ruleTitle}</Link> <Time at={a.lastSeen} />
        </li>
      ))}
    </ul>
  );
}

/** One entry per name (case aside): the server lists a host or source once per place it saw it. */
function merged<T extends { key: string; via: string; count?: number; at: string | null }>(items: T[]): { key: string; vias: { via: string; count?: number }[]; at: string | null; first: T }[] {
  const out = new Map<string, { key: string; vias: { via: string; count?: number }[]; at: string | null; first: T }>();
  for (const it of items) {
    const k = it.key.toLowerCase();
    const m = out.get(k);
    if (!m) out.set(k, { key: it.key, vias: [{ via: it.via, count: it.count }], at: it.at, first: it });
    else {
      m.vias.push({ via: it.via, count: it.count });
      if (it.at && (!m.at || it.at > m.at)) m.at = it.at;
    }
  }
  return [...out.values()];
}

const seenIn = (vias: { via: string; count?: number }[]): string => vias.map((v) => (v.count === undefined ? v.via : `${v.via} ×${v.count}`)).join(', ');

function LogonSources(props: { items: LogonSource[] }) {
  if (!props.items.length) return <p class="muted">None seen.</p>;
  const rows = merged(props.items.map((l) => ({ key: l.source, via: l.via, count: l.count, at: l.lastAt, kind: l.kind })));
  return (
    <table class="grid">
      <thead>
        <tr>
          <th scope="col">Source</th>
          <th scope="col">Seen in</th>
          <th scope="col">Last</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((l) => (
          <tr key={l.key}>
            <td>{l.first.kind === 'host' ? <Link href={hostHref(l.key)}>{l.key}</Link> : <span class="mono">{l.key}</span>}</td>
            <td>{seenIn(l.vias)}</td>
            <td>
              <Time at={l.at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
