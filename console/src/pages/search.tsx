/**
 * Event search: a field filter (`field=value`, `*` wildcards, terms ANDed) with field-name
 * autocomplete, or read-only SQL for experts; results as a table, a time histogram for filters,
 * and CSV export of the same query (the server streams it, capped).
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { errorText, post, qs, useQuery } from '../api';
import { TimeChart } from '../components/chart';
import { useLocation, navigate } from '../router';
import type { Histogram, QueryResult } from '../types';
import { ErrorBox, fmtTime, Val } from '../ui';

type Mode = 'filter' | 'sql';

function toIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function SearchPage() {
  const { query } = useLocation();
  const [mode, setMode] = useState<Mode>(query.get('sql') ? 'sql' : 'filter');
  const [filter, setFilter] = useState(query.get('filter') ?? '');
  const [sql, setSql] = useState(query.get('sql') ?? 'SELECT * FROM events ORDER BY timestamp DESC LIMIT 100');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [result, setResult] = useState<QueryResult | null>(null);
  const [hist, setHist] = useState<Histogram | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Each search's results start closed (a new table, not the last one's open rows).
  const [runs, setRuns] = useState(0);
  const [ran, setRan] = useState<{ mode: Mode; text: string; from?: string; to?: string } | null>(null);

  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setHist(null);
    setRuns((n) => n + 1);
    const f = toIso(from);
    const t = toIso(to);
    try {
      if (mode === 'filter') {
        const body = { filter: filter.trim(), ...(f ? { from: f } : {}), ...(t ? { to: t } : {}) };
        const [r, h] = await Promise.all([post<QueryResult>('/api/events/search', { ...body, limit: 1000 }), post<Histogram>('/api/events/histogram', { ...body, buckets: 60 })]);
        setResult(r);
        setHist(h);
        setRan({ mode, text: body.filter, from: f, to: t });
        navigate(`/search${qs({ filter: body.filter })}`, true);
      } else {
        setResult(await post<QueryResult>('/api/events/sql', { sql, maxRows: 1000 }));
        setRan({ mode, text: sql });
        navigate(`/search${qs({ sql })}`, true);
      }
    } catch (err) {
      setResult(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const exportHref = ran ? `/api/events/export.csv${ran.mode === 'sql' ? qs({ sql: ran.text }) : qs({ filter: ran.text, from: ran.from, to: ran.to })}` : null;

  return (
    <section class="search">
      <div class="page-head">
        <h1>Search events</h1>
        <div class="tabs" role="group" aria-label="Query language">
          <button type="button" aria-pressed={mode === 'filter'} onClick={() => setMode('filter')}>
            Field filter
          </button>
          <button type="button" aria-pressed={mode === 'sql'} onClick={() => setMode('sql')}>
            SQL
          </button>
        </div>
      </div>
      <form onSubmit={(e) => void run(e)} class="search-form">
        {mode === 'filter' ? (
          <>
            <FilterInput value={filter} onChange={setFilter} />
            <label>
              From
              <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            </label>
            <label>
              To
              <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            </label>
          </>
        ) : (
          <label class="wide">
            Read-only SQL over the <code>events</code> view
            <textarea class="mono" rows={4} value={sql} onInput={(e) => setSql(e.currentTarget.value)} data-testid="sql" spellcheck={false} />
          </label>
        )}
        <button type="submit" disabled={busy || (mode === 'filter' ? !filter.trim() : !sql.trim())}>
          {busy ? 'Searching…' : 'Search'}
        </button>
        {exportHref && (
          <a class="button" href={exportHref} download data-testid="export-csv">
            Export CSV
          </a>
        )}
      </form>
      {mode === 'filter' && (
        <p class="hint muted">
          Terms like <code>EventID=4624 TargetUserName=adm*</code>: all must hold; <code>*</code> matches anything; case does not matter.
        </p>
      )}
      <ErrorBox error={error} />
      {hist && hist.counts.length > 0 && (
        <TimeChart
          x={hist.counts.map((_, i) => (Date.parse(hist.from) + i * hist.bucketMs) / 1000)}
          series={[{ label: 'events', values: hist.counts }]}
          bars
          label="Matching events over time"
          testId="histogram"
        />
      )}
      {result && ran && <ResultTable key={runs} result={result} mode={ran.mode} />}
    </section>
  );
}

/** Columns a field filter's results show first (the rest, and every field, open with the row). */
const FILTER_COLUMNS = ['timestamp', 'computer', 'channel', 'event_id', 'eventId', 'source', 'fields'];

/** A time column: typed so by SQL, or one of the stored events' times (which a field filter returns as ISO text). */
const TIME_COLUMNS = new Set(['time', 'timestamp', 'received']);
const isTimestamp = (type: string, name = ''): boolean => /^TIMESTAMP/i.test(type) || TIME_COLUMNS.has(name);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One cell: times as the analyst reads them, an event's fields as `name value` pairs (clamped), anything else as text. */
function Cell(props: { v: unknown; type: string; name?: string }) {
  const { v, type } = props;
  if (isTimestamp(type, props.name) && typeof v === 'string' && ISO.test(v)) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime()))
      return (
        <time dateTime={v} title={v}>
          {fmtTime(d)}
        </time>
      );
  }
  if (isObject(v)) {
    return (
      <span class="doc">
        {Object.entries(v).map(([k, x]) => (
          <span key={k} class="doc-pair">
            <span class="doc-key">{k}</span> <Val v={x} />{' '}
          </span>
        ))}
      </span>
    );
  }
  return <Val v={v} />;
}

function ResultTable(props: { result: QueryResult; mode: Mode }) {
  const r = props.result;
  const [open, setOpen] = useState<number | null>(null);
  // A field filter returns whole stored events: a few columns and the fields, the rest when the row opens.
  const wanted = props.mode === 'filter' ? FILTER_COLUMNS.map((n) => r.columns.findIndex((c) => c.name === n)).filter((i) => i >= 0) : [];
  const shown = wanted.length ? [...new Set(wanted)] : r.columns.map((_, i) => i);
  const hasObjects = r.rows.some((row) => row.some(isObject));
  const expandable = hasObjects || shown.length < r.columns.length;
  const span = shown.length + (expandable ? 1 : 0);
  return (
    <div class="results">
      <p class="muted" data-testid="result-count">
        {r.rows.length} row{r.rows.length === 1 ? '' : 's'}
        {r.truncated ? ' (more matched: narrow the query or export)' : ''} in {Math.round(r.elapsedMs)} ms
      </p>
      <div class="table-scroll">
        <table class="grid results-grid" data-testid="results">
          <thead>
            <tr>
              {expandable && (
                <th scope="col">
                  <span class="sr-only">Open</span>
                </th>
              )}
              {shown.map((i) => (
                <th scope="col" key={r.columns[i]!.name} title={r.columns[i]!.type}>
                  {r.columns[i]!.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.rows.map((row, n) => (
              <Fragment key={n}>
                <tr>
                  {expandable && (
                    <td>
                      <button type="button" class="small ghost" aria-expanded={open === n} aria-label={`${open === n ? 'Close' : 'Open'} row ${n + 1}`} onClick={() => setOpen(open === n ? null : n)}>
                        {open === n ? '▾' : '▸'}
                      </button>
                    </td>
                  )}
                  {shown.map((i) => (
                    <td key={i} class={isObject(row[i]) ? 'doc-cell' : props.mode === 'filter' || isTimestamp(r.columns[i]!.type, r.columns[i]!.name) ? 'nowrap' : undefined}>
                      <Cell v={row[i]} type={r.columns[i]!.type} name={r.columns[i]!.name} />
                    </td>
                  ))}
                </tr>
                {open === n && (
                  <tr class="event-row">
                    <td colSpan={span}>
                      <RowDetail columns={r.columns} row={row} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Every column of a row, and the fields of an event column, one per line. */
function RowDetail(props: { columns: QueryResult['columns']; row: unknown[] }) {
  const pairs: [string, unknown, string][] = [];
  props.columns.forEach((c, i) => {
    const v = props.row[i];
    if (isObject(v)) for (const [k, x] of Object.entries(v)) pairs.push([k, x, '']);
    else pairs.push([c.name, v, c.type]);
  });
  return (
    <table class="kv" data-testid="row-detail">
      <caption class="sr-only">Every value of the row</caption>
      <tbody>
        {pairs.map(([k, v, type], i) => (
          <tr key={i}>
            <th scope="row">{k}</th>
            <td>
              <Cell v={v} type={type} name={k} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The filter field with autocomplete of field names for the term being typed (an ARIA combobox). */
function FilterInput(props: { value: string; onChange: (v: string) => void }) {
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  const token = /(\S*)$/.exec(props.value)?.[1] ?? '';
  const asking = open && token.length > 0 && !token.includes('=');
  const fields = useQuery<{ fields: string[] }>(asking ? `/api/events/fields${qs({ prefix: token, limit: 20 })}` : null);
  const options = asking ? (fields.data?.fields ?? []) : [];
  const complete = (name: string): void => {
    props.onChange(props.value.slice(0, props.value.length - token.length) + `${name}=`);
    setActive(0);
  };
  const shown = options.length > 0;
  return (
    <div class="combo">
      <label for="filter-input">Filter</label>
      <input
        id="filter-input"
        class="mono"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls="filter-fields"
        aria-activedescendant={shown ? `field-opt-${active}` : undefined}
        autoComplete="off"
        spellcheck={false}
        value={props.value}
        placeholder="EventID=4624 LogonType=3"
        onInput={(e) => {
          props.onChange(e.currentTarget.value);
          setOpen(true);
          setActive(0);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (!shown) return;
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(options.length - 1, a + 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(0, a - 1));
          } else if (e.key === 'Tab' || (e.key === 'Enter' && options[active])) {
            e.preventDefault();
            complete(options[active]!);
          } else if (e.key === 'Escape') setOpen(false);
        }}
      />
      {shown && (
        <ul id="filter-fields" role="listbox" class="combo-list" aria-label="Field names" data-testid="field-suggestions">
          {options.map((f, i) => (
            <li
              key={f}
              id={`field-opt-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                complete(f);
              }}
            >
              {f}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
