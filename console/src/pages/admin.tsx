/**
 * Administration, for admins: users (add, change the role, disable or enable, set a password), API
 * keys for programs and ingest tokens for shippers (make one, its secret shown once; revoke one),
 * each tab with its recent changes from the audit trail. Other roles are told the page is not
 * theirs (the API refuses them as well); the top bar shows the link to admins only.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { del, errorText, invalidate, patch, post, qs, useQuery } from '../api';
import type { ApiKey, AuditEntry, IngestProtocol, IngestToken, Role, User } from '../types';
import { Confirm, ErrorBox, Link, Loading, Time, useSession } from '../ui';

export type AdminTab = 'users' | 'keys' | 'tokens';

const TABS: { tab: AdminTab; href: string; label: string }[] = [
  { tab: 'users', href: '/admin/users', label: 'Users' },
  { tab: 'keys', href: '/admin/keys', label: 'API keys' },
  { tab: 'tokens', href: '/admin/tokens', label: 'Ingest tokens' },
];
const ROLES: Role[] = ['admin', 'analyst', 'read-only'];
const PROTOCOLS: { p: IngestProtocol; label: string }[] = [
  { p: 'elastic', label: 'Elasticsearch bulk API' },
  { p: 'otlp', label: 'OTLP/HTTP logs' },
  { p: 'hec', label: 'Splunk HEC' },
];

export function AdminPage(props: { tab: AdminTab }) {
  const session = useSession();
  if (session.role !== 'admin') {
    return (
      <section>
        <h1>Administration</h1>
        <p class="notice" data-testid="admin-only">
          Only admins manage users, API keys and ingest tokens; you are logged in as {session.user} ({session.role}).
        </p>
      </section>
    );
  }
  return (
    <section class="admin" data-testid="admin">
      <div class="page-head">
        <h1>Administration</h1>
        <nav aria-label="Administration">
          <ul class="subnav">
            {TABS.map((t) => (
              <li key={t.tab}>
                <Link href={t.href} class={t.tab === props.tab ? 'active' : undefined} current={t.tab === props.tab}>
                  {t.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </div>
      {props.tab === 'users' && <Users />}
      {props.tab === 'keys' && <Keys />}
      {props.tab === 'tokens' && <Tokens />}
    </section>
  );
}

/** Runs an API change, showing its error or a message, then refetches the lists it touched. */
function useAction(...prefixes: string[]) {
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<string | null>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      setMessage(await fn());
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
      invalidate(...prefixes, '/api/audit');
    }
  };
  const feedback = (
    <>
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      <ErrorBox error={error} />
    </>
  );
  return { run, busy, feedback };
}

// ---- users ----

function Users() {
  const session = useSession();
  const users = useQuery<User[]>('/api/users');
  const { run, busy, feedback } = useAction('/api/users');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('analyst');
  const [password, setPassword] = useState('');
  const [pwFor, setPwFor] = useState<string | null>(null);
  const [newPw, setNewPw] = useState('');

  const add = (e: Event): void => {
    e.preventDefault();
    void run(async () => {
      const u = await post<User>('/api/users', { name: name.trim(), role, password });
      setName('');
      setPassword('');
      return `User ${u.name} added (${u.role}).`;
    });
  };
  const setPw = (e: Event, user: string): void => {
    e.preventDefault();
    void run(async () => {
      await patch(`/api/users/${encodeURIComponent(user)}`, { password: newPw });
      setPwFor(null);
      setNewPw('');
      return `Password of ${user} set; their sessions ended.`;
    });
  };

  return (
    <section aria-labelledby="h-users">
      <h2 id="h-users">Users</h2>
      {feedback}
      {!users.data ? (
        users.error ? (
          <ErrorBox error={users.error} />
        ) : (
          <Loading />
        )
      ) : (
        <table class="grid" data-testid="users">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.data.map((u) => {
              const self = u.name === session.user;
              return [
                <tr key={u.name} data-user={u.name} class={u.disabled ? 'disabled' : undefined}>
                  <td>
                    {u.name}
                    {self && <span class="muted"> (you)</span>}
                  </td>
                  <td>
                    <select
                      value={u.role}
                      disabled={busy || self}
                      title={self ? 'Another admin changes your role' : undefined}
                      aria-label={`Role of ${u.name}`}
                      onChange={(e) => {
                        const to = e.currentTarget.value as Role;
                        void run(async () => (await patch(`/api/users/${encodeURIComponent(u.name)}`, { role: to }), `${u.name} is now ${to}.`));
                      }}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>{u.disabled ? <span class="bad">disabled</span> : <span class="good">active</span>}</td>
                  <td>
                    <Time at={u.createdAt} />
                  </td>
                  <td class="actions">
                    {!self && (
                      <button
                        type="button"
                        class="small ghost"
                        disabled={busy}
                        aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.name}`}
                        onClick={() => void run(async () => (await patch(`/api/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled }), `${u.name} ${u.disabled ? 'enabled' : 'disabled'}.`))}
                      >
                        {u.disabled ? 'Enable' : 'Disable'}
                      </button>
                    )}
                    <button
                      type="button"
                      class="small ghost"
                      aria-label={`Set password for ${u.name}`}
                      aria-expanded={pwFor === u.name}
                      onClick={() => (setPwFor(pwFor === u.name ? null : u.name), setNewPw(''))}
                    >
                      Set password
                    </button>
                  </td>
                </tr>,
                pwFor === u.name && (
                  <tr key={`${u.name}-pw`} class="sub-row">
                    <td colSpan={5}>
                      <form class="inline" onSubmit={(e) => setPw(e, u.name)}>
                        <label>
                          New password for {u.name}
                          <input type="password" autoComplete="new-password" value={newPw} onInput={(e) => setNewPw(e.currentTarget.value)} data-testid="new-password" />
                        </label>
                        <button type="submit" disabled={busy || !newPw}>
                          Set password
                        </button>
                        <span class="muted small">At least 10 characters; their sessions end.</span>
                      </form>
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      )}
      <h3>Add a user</h3>
      <form class="inline" onSubmit={add} data-testid="add-user">
        <label>
          Name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" maxLength={64} data-testid="user-name" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)} data-testid="user-role">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Password
          <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="user-password" />
        </label>
        <button type="submit" disabled={busy || !name.trim() || !password}>
          Add user
        </button>
      </form>
      <p class="hint muted">Read-only users see everything and change nothing; analysts triage and manage rules; admins also manage users, keys and tokens.</p>
      <RecentChanges prefix="user." />
    </section>
  );
}

// ---- API keys ----

function Keys() {
  const keys = useQuery<ApiKey[]>('/api/keys');
  const { run, busy, feedback } = useAction('/api/keys');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('read-only');
  const [made, setMade] = useState<{ what: string; secret: string } | null>(null);

  const create = (e: Event): void => {
    e.preventDefault();
    void run(async () => {
      const r = await post<{ key: ApiKey; secret: string }>('/api/keys', { name: name.trim(), role });
      setMade({ what: `API key ${r.key.name} (${r.key.role})`, secret: r.secret });
      setName('');
      return null;
    });
  };

  return (
    <section aria-labelledby="h-keys">
      <h2 id="h-keys">API keys</h2>
      <p class="hint muted">
        For programs (a SOAR, a ticketing system, Prometheus): sent as <code>Authorization: Bearer fbk_…</code>, with the role&apos;s rights and no CSRF token.
      </p>
      {feedback}
      {made && <SecretOnce what={made.what} secret={made.secret} onDone={() => setMade(null)} />}
      <form class="inline" onSubmit={create} data-testid="create-key">
        <label>
          Name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={100} autoComplete="off" data-testid="key-name" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)} data-testid="key-role">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy || !name.trim()}>
          Create key
        </button>
      </form>
      {!keys.data ? (
        keys.error ? (
          <ErrorBox error={keys.error} />
        ) : (
          <Loading />
        )
      ) : keys.data.length === 0 ? (
        <p class="muted">No API keys yet.</p>
      ) : (
        <table class="grid" data-testid="keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created by</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id} data-key={k.name} class={k.revoked ? 'disabled' : undefined}>
                <td>{k.name}</td>
                <td>{k.role}</td>
                <td>{k.createdBy}</td>
                <td>
                  <Time at={k.createdAt} />
                </td>
                <td>{k.revoked ? <span class="bad">revoked</span> : <span class="good">active</span>}</td>
                <td class="actions">
                  {!k.revoked && (
                    <Confirm
                      label="Revoke"
                      what={`the API key ${k.name}`}
                      disabled={busy}
                      onConfirm={() => void run(async () => (await del(`/api/keys/${encodeURIComponent(k.id)}`), `API key ${k.name} revoked.`))}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <RecentChanges prefix="key." />
    </section>
  );
}

// ---- ingest tokens ----

function Tokens() {
  const tokens = useQuery<IngestToken[]>('/api/ingest-tokens');
  const { run, busy, feedback } = useAction('/api/ingest-tokens');
  const [source, setSource] = useState('');
  const [protocols, setProtocols] = useState<IngestProtocol[]>(['elastic']);
  const [made, setMade] = useState<{ what: string; secret: string } | null>(null);

  const create = (e: Event): void => {
    e.preventDefault();
    void run(async () => {
      const r = await post<{ token: IngestToken; secret: string }>('/api/ingest-tokens', { source: source.trim(), protocols });
      setMade({ what: `ingest token for ${r.token.source} (${r.token.protocols.join(', ')})`, secret: r.secret });
      setSource('');
      return null;
    });
  };
  const toggle = (p: IngestProtocol, on: boolean): void => setProtocols((ps) => (on ? [...ps, p] : ps.filter((x) => x !== p)));

  return (
    <section aria-labelledby="h-tokens">
      <h2 id="h-tokens">Ingest tokens</h2>
      <p class="hint muted">
        Each source of shippers has its own token: Beats and Logstash send it as the Elasticsearch password (any user name) or <code>Authorization: Bearer</code>, OpenTelemetry exporters as{' '}
        <code>Authorization: Bearer</code>, Splunk HEC clients as <code>Authorization: Splunk</code>. A token made here works from the next request, and stops at once when revoked. Tokens of the
        configuration file are changed there (<code>firebreak token add</code>, then a restart).
      </p>
      {feedback}
      {made && <SecretOnce what={made.what} secret={made.secret} onDone={() => setMade(null)} />}
      <form class="inline" onSubmit={create} data-testid="create-token">
        <label>
          Source name
          <input value={source} onInput={(e) => setSource(e.currentTarget.value)} maxLength={64} autoComplete="off" placeholder="winlogbeat-dcs" data-testid="token-source" />
        </label>
        <fieldset class="checks">
          <legend>Protocols</legend>
          {PROTOCOLS.map(({ p, label }) => (
            <label key={p} class="inline-label">
              <input type="checkbox" checked={protocols.includes(p)} onChange={(e) => toggle(p, e.currentTarget.checked)} data-testid={`token-${p}`} />
              {label}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={busy || !source.trim() || !protocols.length}>
          Create token
        </button>
      </form>
      {!tokens.data ? (
        tokens.error ? (
          <ErrorBox error={tokens.error} />
        ) : (
          <Loading />
        )
      ) : tokens.data.length === 0 ? (
        <p class="muted">No ingest tokens: shippers are refused until one exists.</p>
      ) : (
        <table class="grid" data-testid="tokens">
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Protocols</th>
              <th scope="col">Kept in</th>
              <th scope="col">Created by</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((t, i) => (
              <tr key={t.id ?? `config-${i}`} data-source={t.source} data-origin={t.origin} class={t.revoked ? 'disabled' : undefined}>
                <td>{t.source}</td>
                <td>{t.protocols.join(', ')}</td>
                <td>{t.origin === 'config' ? 'configuration file' : 'state database'}</td>
                <td>{t.createdBy ?? <span class="muted">—</span>}</td>
                <td>
                  <Time at={t.createdAt} />
                </td>
                <td>{t.revoked ? <span class="bad">revoked</span> : <span class="good">active</span>}</td>
                <td class="actions">
                  {t.id !== null && !t.revoked && (
                    <Confirm
                      label="Revoke"
                      what={`this token of ${t.source}`}
                      disabled={busy}
                      ghost
                      onConfirm={() => void run(async () => (await del(`/api/ingest-tokens/${encodeURIComponent(t.id!)}`), `The token of ${t.source} was revoked.`))}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <RecentChanges prefix="ingest-token." />
    </section>
  );
}

// ---- shared pieces ----

/** A new secret, shown once: the analyst copies it now (it is kept only as a hash). */
function SecretOnce(props: { what: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (): void => {
    navigator.clipboard.writeText(props.secret).then(
      () => setCopied('Copied.'),
      () => setCopied('Copying is not allowed here: select the secret and copy it.'),
    );
  };
  return (
    <div class="secret-once notice" role="status" data-testid="secret-once">
      <p>The {props.what} was made. Copy its secret now: it is not shown again.</p>
      <p>
        <code class="secret" data-testid="secret">
          {props.secret}
        </code>
      </p>
      <div class="buttons">
        <button type="button" class="small" onClick={copy}>
          Copy
        </button>
        <button type="button" class="small ghost" onClick={props.onDone}>
          I have copied it
        </button>
        {copied && <span class="muted small">{copied}</span>}
      </div>
    </div>
  );
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '—' : JSON.stringify(v));

/** An admin change in words. */
function describe(a: AuditEntry): ComponentChildren {
  const d = a.detail;
  const t = a.targetId ?? '—';
  switch (a.action) {
    case 'user.add':
      return `added user ${t} (${str(d.role)})`;
    case 'user.role':
      return `changed the role of ${t}: ${str(d.from)} → ${str(d.to)}`;
    case 'user.disable':
      return `disabled ${t}`;
    case 'user.enable':
      return `enabled ${t}`;
    case 'user.password':
      return `set the password of ${t}`;
    case 'key.create':
      return `made the API key ${str(d.name)} (${str(d.role)})`;
    case 'key.revoke':
      return `revoked the API key ${str(d.name)}`;
    case 'ingest-token.create':
      return `made an ingest token for ${str(d.source)} (${Array.isArray(d.protocols) ? d.protocols.map(str).join(', ') : '—'})`;
    case 'ingest-token.revoke':
      return `revoked an ingest token of ${str(d.source)}`;
    default:
      return `${a.action} ${t}`;
  }
}

/** The last changes of one kind from the audit trail, newest first. */
function RecentChanges(props: { prefix: string }) {
  const audit = useQuery<{ items: AuditEntry[]; total: number }>(`/api/audit${qs({ action: props.prefix, limit: 20 })}`);
  return (
    <section aria-label="Recent changes" class="audit">
      <h3>Recent changes</h3>
      {!audit.data ? (
        audit.error ? (
          <ErrorBox error={audit.error} />
        ) : (
          <Loading />
        )
      ) : audit.data.items.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ol class="audit-list" data-testid="admin-audit">
          {audit.data.items.map((a) => (
            <li key={a.id} data-action={a.action}>
              <Time at={a.at} /> <strong>{a.actor}</strong> {describe(a)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
