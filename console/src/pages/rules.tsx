/**
 * Rules: the loaded rules with their counts (filter, sort, enable/disable), and a Sigma rule
 * upload: check it (every problem at its line, the line shown), test it against the stored
 * events of the last N days, then store it (disabled until enabled).
 */
import { useState } from 'preact/hooks';
import { ApiFailure, errorText, invalidate, post, put, qs, useQuery } from '../api';
import { killChainIndex, tacticName } from '../attack';
import { EventFields } from '../components/event';
import type { LintError, Page, Rule, RuleTestResult } from '../types';
import { canChange, ErrorBox, LevelBadge, Loading, Pager, Time, useSession } from '../ui';

export function RulesPage() {
  return (
    <section class="rules">
      <div class="page-head">
        <h1>Rules</h1>
      </div>
      <RuleList />
      <RuleUpload />
    </section>
  );
}

function RuleList() {
  const session = useSession();
  const [q, setQ] = useState('');
  const [applied, setApplied] = useState('');
  const [enabled, setEnabled] = useState('');
  const [sort, setSort] = useState('alerts');
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const list = useQuery<Page<Rule>>(`/api/rules${qs({ q: applied, enabled: enabled || undefined, sort, limit: 50, offset })}`, true);
  const toggle = async (r: Rule): Promise<void> => {
    setError(null);
    try {
      await put(`/api/rules/${r.ref}/enabled`, { enabled: !r.enabled });
      invalidate('/api/rules', '/api/coverage');
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section aria-labelledby="h-loaded">
      <h2 id="h-loaded">Loaded rules {list.data && <span class="muted">({list.data.total})</span>}</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setApplied(q.trim());
        }}
      >
        <label>
          Title, id, tag or file
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} data-testid="rule-q" />
        </label>
        <label>
          State
          <select value={enabled} onChange={(e) => (setOffset(0), setEnabled(e.currentTarget.value))}>
            <option value="">all</option>
            <option value="true">enabled</option>
            <option value="false">disabled</option>
          </select>
        </label>
        <label>
          Order
          <select value={sort} onChange={(e) => setSort(e.currentTarget.value)}>
            <option value="alerts">most alerts</option>
            <option value="level">level</option>
            <option value="title">title</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={error ?? list.error} />
      {!list.data ? (
        <Loading />
      ) : (
        <>
          <table class="grid" data-testid="rules">
            <thead>
              <tr>
                <th scope="col">Level</th>
                <th scope="col">Rule</th>
                <th scope="col">Tactics</th>
                <th scope="col">Alerts</th>
                <th scope="col">Detections</th>
                <th scope="col">Last fired</th>
                <th scope="col">Origin</th>
                <th scope="col">Enabled</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((r) => (
                <tr key={r.ref} data-ref={r.ref} class={r.enabled ? undefined : 'disabled'}>
                  <td>
                    <LevelBadge level={r.level} />
                  </td>
                  <td>
                    <span class="rule-title">{r.title}</span>
                    <div class="muted small path">{r.file}</div>
                  </td>
                  <td>
                    {[...r.tactics]
                      .sort((a, b) => killChainIndex(a) - killChainIndex(b))
                      .map(tacticName)
                      .join(', ')}
                  </td>
                  <td class="num">{r.alerts}</td>
                  <td class="num">{r.detections}</td>
                  <td>
                    <Time at={r.lastSeen} />
                  </td>
                  <td>{r.origin}</td>
                  <td>
                    <span class={r.enabled ? 'good' : 'muted'}>{r.enabled ? 'enabled' : 'disabled'}</span>{' '}
                    {canChange(session) && (
                      <button type="button" class="small ghost" onClick={() => void toggle(r)} aria-label={`${r.enabled ? 'Disable' : 'Enable'} ${r.title}`}>
                        {r.enabled ? 'Disable' : 'Enable'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={offset} limit={50} total={list.data.total} what="rules" onPage={setOffset} testId="rules-pager" />
        </>
      )}
    </section>
  );
}

function RuleUpload() {
  const session = useSession();
  const [fileName, setFileName] = useState('my-rule.yml');
  const [yaml, setYaml] = useState('');
  const [lint, setLint] = useState<LintError[] | null>(null);
  const [test, setTest] = useState<RuleTestResult | null>(null);
  const [days, setDays] = useState(7);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const act = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      await fn();
    } catch (e) {
      if (e instanceof ApiFailure && e.code === 'lint' && Array.isArray(e.details)) setLint(e.details as LintError[]);
      else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const check = (): Promise<void> =>
    act(async () => {
      const r = await post<{ errors: LintError[]; rules: number }>('/api/rules/lint', { fileName, yaml });
      setLint(r.errors);
      if (!r.errors.length) setMessage(`No problems: ${r.rules} rule${r.rules === 1 ? '' : 's'} in the file.`);
    });
  const runTest = (): Promise<void> =>
    act(async () => {
      setLint([]);
      setTest(await post<RuleTestResult>('/api/rules/test', { yaml, days }));
    });
  const upload = (): Promise<void> =>
    act(async () => {
      setLint([]);
      const r = await post<{ rules: Rule[] }>('/api/rules', { fileName, yaml });
      setMessage(`Stored ${r.rules.map((x) => `'${x.title}'`).join(', ')} (disabled: enable it in the list when ready).`);
      invalidate('/api/rules');
    });

  const lines = yaml.split('\n');
  const bad = new Map<number, LintError[]>();
  for (const e of lint ?? []) bad.set(e.line, [...(bad.get(e.line) ?? []), e]);

  return (
    <section aria-labelledby="h-upload" class="upload">
      <h2 id="h-upload">Check, test and upload a Sigma rule</h2>
      <div class="two-col">
        <div>
          <label>
            File name
            <input value={fileName} onInput={(e) => setFileName(e.currentTarget.value)} data-testid="upload-name" />
          </label>
          <label>
            Rule (YAML)
            <textarea class="mono" rows={16} value={yaml} spellcheck={false} onInput={(e) => (setYaml(e.currentTarget.value), setLint(null))} data-testid="upload-yaml" />
          </label>
          <label>
            or a file
            <input
              type="file"
              accept=".yml,.yaml"
              onChange={(e) => {
                const f = e.currentTarget.files?.[0];
                if (!f) return;
                setFileName(f.name);
                void f.text().then((t) => (setYaml(t), setLint(null)));
              }}
            />
          </label>
          <div class="buttons">
            <button type="button" disabled={busy || !yaml.trim()} onClick={() => void check()}>
              Check
            </button>
            {canChange(session) && (
              <>
                <label class="inline-label">
                  last
                  <input type="number" min={1} max={90} value={days} onInput={(e) => setDays(Math.max(1, Number(e.currentTarget.value) || 1))} class="narrow" />
                  days
                </label>
                <button type="button" disabled={busy || !yaml.trim()} onClick={() => void runTest()}>
                  Test against stored events
                </button>
                <button type="button" disabled={busy || !yaml.trim()} onClick={() => void upload()} data-testid="upload">
                  Upload
                </button>
              </>
            )}
          </div>
          {message && (
            <p class="ok" role="status">
              {message}
            </p>
          )}
          <ErrorBox error={error} />
        </div>
        <div>
          {lint && lint.length > 0 && (
            <div class="lint" data-testid="lint">
              <h3>
                {lint.length} problem{lint.length === 1 ? '' : 's'}
              </h3>
              <ul>
                {lint.map((e, i) => (
                  <li key={i} data-line={e.line}>
                    line {e.line}, column {e.column}: {e.message} <span class="muted">({e.code})</span>
                  </li>
                ))}
              </ul>
              <pre class="lines" aria-label="The rule with its problem lines marked">
                {lines.map((l, i) => (
                  <div key={i} class={bad.has(i + 1) ? 'bad-line' : undefined} data-line={i + 1}>
                    <span class="ln">{i + 1}</span>
                    {l || ' '}
                  </div>
                ))}
              </pre>
            </div>
          )}
          {test && <TestResult r={test} />}
        </div>
      </div>
    </section>
  );
}

function TestResult(props: { r: RuleTestResult }) {
  const r = props.r;
  const [open, setOpen] = useState<number | null>(null);
  return (
    <div class="test-result" data-testid="test-result">
      <h3>
        {r.matched} match{r.matched === 1 ? '' : 'es'} in {r.scanned} events
      </h3>
      <p class="muted">
        <Time at={r.from} /> → <Time at={r.to} />
        {r.truncated ? ' · stopped at the scan cap before the range was covered' : ''}
      </p>
      {r.notTested.map((n) => (
        <p key={n.title} class="notice">
          Not tested: {n.title}: {n.reason}
        </p>
      ))}
      {r.byHost.length > 0 && (
        <ul class="plain">
          {r.byHost.map((h) => (
            <li key={h.host ?? ''}>
              {h.host ?? '(no host)'}: {h.count}
            </li>
          ))}
        </ul>
      )}
      <ol class="matches">
        {r.matches.map((m, i) => (
          <li key={i}>
            <button type="button" class="linklike" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)}>
              {m.rule?.title ?? 'match'} on {m.computer ?? '—'} at {m.timestamp ?? '—'}
            </button>
            {open === i && <EventFields detection={m} />}
          </li>
        ))}
      </ol>
    </div>
  );
}
