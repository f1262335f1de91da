/**
 * Health: ingest rates per source (with a chart of the last minutes sampled here), write-ahead-log
 * lag, pipeline counters, drops by reason, storage use and notification failures; on a cluster's
 * api node, every node's last report too. Refreshed every 5 s while open.
 */
import { Fragment } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { invalidate, useQuery } from '../api';
import { TimeChart } from '../components/chart';
import type { ClusterNodeRow, Health } from '../types';
import { ErrorBox, fmtBytes, Loading, Time } from '../ui';

/** Points kept for the rate chart (5 s apart: 10 minutes). */
const HISTORY = 120;

export function HealthPage() {
  const q = useQuery<Health>('/api/health');
  const hist = useRef<{ t: number; rates: Record<string, number> }[]>([]);
  const [, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => invalidate('/api/health'), 5000);
    return () => clearInterval(id);
  }, []);
  useEffect(() => {
    if (!q.data) return;
    const rates: Record<string, number> = {};
    for (const s of q.data.sources) rates[s.source] = s.ratePerSec;
    hist.current = [...hist.current, { t: Date.now() / 1000, rates }].slice(-HISTORY);
    setTick((n) => n + 1);
  }, [q.data]);
  const names = q.data?.sources.map((s) => s.source) ?? [];
  const points = hist.current;
  const x = useMemo(() => points.map((p) => p.t), [points]);
  const series = useMemo(() => names.slice(0, 3).map((n) => ({ label: n, values: points.map((p) => p.rates[n] ?? null) })), [points, names.join('\u0000')]);

  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Loading />;
  const h = q.data;
  const drops = Object.entries(h.drops);
  return (
    <section class="health">
      <div class="page-head">
        <h1>Health</h1>
        <div class="facts">
          <span>
            up since <Time at={h.startedAt} />
          </span>
          <span class={h.backpressure ? 'bad' : 'good'}>{h.backpressure ? 'ingest is refusing data (back-pressure)' : 'ingest accepting'}</span>
          <span>{h.liveStreams} live feeds</span>
        </div>
      </div>
      {h.nodes && <Nodes nodes={h.nodes} />}
      {x.length > 1 && <TimeChart x={x} series={series} label="Ingest rate per source, records per second" testId="rate-chart" />}
      <h2>Sources</h2>
      <table class="grid" data-testid="sources">
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Protocol</th>
            <th scope="col">Rate /s</th>
            <th scope="col">Accepted</th>
            <th scope="col">Rejected</th>
            <th scope="col">Bytes</th>
            <th scope="col">Last record</th>
          </tr>
        </thead>
        <tbody>
          {h.sources.map((s) => (
            <tr key={s.source}>
              <td>{s.source}</td>
              <td>{s.protocol}</td>
              <td class="num">{s.ratePerSec.toFixed(1)}</td>
              <td class="num">{s.accepted}</td>
              <td class="num">{s.rejected}</td>
              <td class="num">{fmtBytes(s.bytes)}</td>
              <td>
                <Time at={s.lastAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="cards">
        <div class="card">
          <h2>Lag</h2>
          <dl>
            <dt>Write-ahead log behind</dt>
            <dd>
              {h.wal.lagRecords} records ({fmtBytes(h.wal.lagBytes)})
            </dd>
            <dt>Arrival to processed</dt>
            <dd>{h.pipeline.lagMs === null ? '—' : `${Math.round(h.pipeline.lagMs)} ms`}</dd>
            <dt>Watermark</dt>
            <dd>
              <Time at={h.pipeline.watermark} />
            </dd>
          </dl>
        </div>
        <div class="card">
          <h2>Pipeline</h2>
          <dl>
            <dt>Events processed</dt>
            <dd>{h.pipeline.eventsProcessed}</dd>
            <dt>Detections</dt>
            <dd>{h.pipeline.detections}</dd>
            <dt>Suppressed</dt>
            <dd>{h.pipeline.suppressed}</dd>
            <dt>Late</dt>
            <dd>{h.pipeline.late}</dd>
          </dl>
        </div>
        <div class="card">
          <h2>Drops</h2>
          {drops.length === 0 ? (
            <p class="muted">Nothing dropped.</p>
          ) : (
            <dl data-testid="drops">
              {drops.map(([k, v]) => (
                <Fragment key={k}>
                  <dt title={k}>{dropLabel(k)}</dt>
                  <dd class={v > 0 ? 'bad' : undefined}>{v}</dd>
                </Fragment>
              ))}
            </dl>
          )}
          {Object.entries(h.refused).map(([proto, r]) => (
            <p key={proto} class="muted">
              {proto} refused: {r.auth} auth, {r.busy} busy, {r.errors} errors
            </p>
          ))}
        </div>
        <div class="card">
          <h2>Storage</h2>
          <dl>
            <dt>Events stored</dt>
            <dd>
              {h.storage.events} over {h.storage.eventDays} day{h.storage.eventDays === 1 ? '' : 's'}
            </dd>
            <dt>Event store</dt>
            <dd>
              {fmtBytes(h.storage.eventBytes)}
              {h.storage.eventStoreError !== null && <span class="bad"> not answering: {h.storage.eventStoreError}</span>}
            </dd>
            <dt>Event store restarts</dt>
            <dd class={h.storage.eventStoreRestarts > 0 ? 'bad' : undefined}>{h.storage.eventStoreRestarts}</dd>
            <dt>Field names catalogued</dt>
            <dd>
              {h.storage.fieldNames}
              {h.storage.fieldNamesDropped > 0 && <span class="bad"> ({h.storage.fieldNamesDropped} new names not catalogued: the catalogue is full)</span>}
            </dd>
            <dt>State database</dt>
            <dd>{fmtBytes(h.storage.stateBytes)}</dd>
            <dt>Write-ahead log</dt>
            <dd>{fmtBytes(h.wal.diskBytes)}</dd>
          </dl>
        </div>
      </div>
      <h2>Notifications</h2>
      {h.notifications.length === 0 ? (
        <p class="muted">No notification channels configured.</p>
      ) : (
        <table class="grid" data-testid="notifications">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Sent</th>
              <th scope="col">Pending</th>
              <th scope="col">Failing</th>
              <th scope="col">Last error</th>
              <th scope="col">Next retry</th>
            </tr>
          </thead>
          <tbody>
            {h.notifications.map((n) => (
              <tr key={n.channel} class={n.failing > 0 ? 'failing' : undefined}>
                <td>{n.channel}</td>
                <td class="num">{n.sent}</td>
                <td class="num">{n.pending}</td>
                <td class="num">{n.failing}</td>
                <td>{n.lastError ?? '—'}</td>
                <td>
                  <Time at={n.nextRetryAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A cluster's nodes: roles, last report, what each runs. */
function Nodes({ nodes }: { nodes: ClusterNodeRow[] }) {
  const what = (n: ClusterNodeRow): string => {
    const r = n.report;
    const parts: string[] = [];
    if (r.correlate) parts.push(String(r.correlate.state));
    if (r.detect) parts.push(`${r.detect.events ?? 0} events matched, ${r.detect.detections ?? 0} detections`);
    const accepted = r.sources.reduce((sum, s) => sum + s.accepted, 0);
    if (n.roles.includes('ingest')) parts.push(`${accepted} records accepted${r.backpressure ? ' (refusing: back-pressure)' : ''}`);
    return parts.join('; ');
  };
  return (
    <>
      <h2>Nodes</h2>
      <table class="grid" data-testid="nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Roles</th>
            <th scope="col">Last report</th>
            <th scope="col">Rules</th>
            <th scope="col">Counters</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.node} class={n.stale ? 'failing' : undefined}>
              <td>{n.node}</td>
              <td>{n.roles.join(', ')}</td>
              <td class={n.stale ? 'bad' : undefined}>
                {Math.round(n.ageSeconds)} s ago{n.stale ? ' (stale: stopped or cut off)' : ''}
              </td>
              <td>
                {n.report.rules ? `${n.report.rules.running} rules, revision ${n.report.rules.revision}` : '—'}
                {n.report.rules?.error && <span class="bad"> {n.report.rules.error}</span>}
              </td>
              <td>{what(n)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** What the server's drop counters count, in words (others: their key, split into words). */
const DROP_LABELS: Record<string, string> = {
  syslogDatagrams: 'syslog datagrams dropped (busy or not allowed)',
  syslogTruncated: 'syslog messages truncated',
  recordErrors: 'records that could not be read',
  flushedEventsNotStored: 'events processed but not stored',
  storyLinks: 'alert-to-story links dropped',
};

function dropLabel(key: string): string {
  return (
    DROP_LABELS[key] ??
    key
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .replace(/\./g, ': ')
      .toLowerCase()
  );
}
