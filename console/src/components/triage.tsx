/**
 * Triage controls for an alert or a story: acknowledge, assign, status (closing asks for a
 * resolution), comment. Shown only to users who may change things; the API refuses the others
 * anyway. The audit trail and comments are listed below by `AuditTrail`.
 */
import { useEffect, useState } from 'preact/hooks';
import { errorText, invalidate, post, useQuery } from '../api';
import type { AuditEntry, Comment, Resolution, Status, User } from '../types';
import { canChange, RESOLUTIONS, STATUSES, statusText, Time, useSession } from '../ui';

interface Item {
  status: Status;
  resolution: Resolution | null;
  assignee: string | null;
}

export function Triage(props: { kind: 'alert' | 'story'; id: string | number; item: Item }) {
  const session = useSession();
  const users = useQuery<User[]>(canChange(session) ? '/api/users' : null);
  const [status, setStatus] = useState<Status>(props.item.status);
  const [resolution, setResolution] = useState<Resolution | ''>(props.item.resolution ?? '');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The item changes under us (live updates, another analyst): follow it.
  useEffect(() => {
    setStatus(props.item.status);
    setResolution(props.item.resolution ?? '');
  }, [props.item.status, props.item.resolution]);
  if (!canChange(session))
    return (
      <p class="muted readonly-note" data-testid="read-only-note">
        You have read-only access: you can look at everything but change nothing.
      </p>
    );

  const base = `/api/${props.kind === 'alert' ? 'alerts' : 'stories'}/${encodeURIComponent(String(props.id))}`;
  const run = async (path: string, body: unknown): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await post(`${base}/${path}`, body);
      invalidate(`/api/${props.kind === 'alert' ? 'alerts' : 'stories'}`, '/api/counts');
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="triage" aria-label="Triage" data-testid="triage">
      <div class="triage-row">
        <button type="button" disabled={busy || props.item.status !== 'new'} onClick={() => void run('acknowledge', {})}>
          Acknowledge
        </button>
        <label>
          Assignee
          <select value={props.item.assignee ?? ''} disabled={busy} data-testid="assignee" onChange={(e) => void run('assign', { assignee: e.currentTarget.value || null })}>
            <option value="">nobody</option>
            {(users.data ?? [])
              .filter((u) => !u.disabled || u.name === props.item.assignee)
              .map((u) => (
                <option key={u.name} value={u.name}>
                  {u.name}
                  {u.name === session.user ? ' (me)' : ''}
                </option>
              ))}
          </select>
        </label>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void run('status', status === 'closed' ? { status, resolution } : { status });
          }}
        >
          <label>
            Status
            <select value={status} data-testid="status" onChange={(e) => setStatus(e.currentTarget.value as Status)}>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {statusText(s)}
                </option>
              ))}
            </select>
          </label>
          {status === 'closed' && (
            <label>
              Resolution
              <select value={resolution} data-testid="resolution" required onChange={(e) => setResolution(e.currentTarget.value as Resolution)}>
                <option value="">choose…</option>
                {RESOLUTIONS.map((r) => (
                  <option key={r} value={r}>
                    {r.replace(/_/g, ' ')}
                  </option>
                ))}
              </select>
            </label>
          )}
          <button type="submit" disabled={busy || (status === props.item.status && (resolution || null) === props.item.resolution)}>
            Set status
          </button>
        </form>
      </div>
      <form
        class="comment-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run('comments', { body: comment }).then((ok) => ok && setComment(''));
        }}
      >
        <label>
          Comment
          <textarea value={comment} rows={2} maxLength={10000} onInput={(e) => setComment(e.currentTarget.value)} data-testid="comment" />
        </label>
        <button type="submit" disabled={busy || !comment.trim()}>
          Add comment
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

const describe = (a: AuditEntry): string => {
  const d = a.detail;
  const s = (v: unknown): string => (v === null || v === undefined ? 'nobody' : typeof v === 'string' ? v : JSON.stringify(v));
  switch (a.action.split('.')[1]) {
    case 'acknowledge':
      return 'acknowledged';
    case 'assign':
      return `assigned to ${s(d.to)}${d.from ? ` (was ${s(d.from)})` : ''}`;
    case 'status':
      return `status ${s(d.from)} → ${s(d.to)}${d.resolution ? ` (${s(d.resolution)})` : ''}${d.via ? ` via ${s(d.via)}` : ''}`;
    case 'comment':
      return 'commented';
    case 'merge':
      return `merged into ${s(d.into)}`;
    case 'merged-in':
      return `story ${s(d.from)} merged in`;
    case 'split':
      return d.alert !== undefined ? `split out alert ${s(d.alert)}` : `split out of story ${s(d.fromStory)}`;
    default:
      return `${a.action} ${JSON.stringify(d)}`;
  }
};

/** Comments and the audit trail of an item, oldest first. */
export function AuditTrail(props: { audit: AuditEntry[]; comments: Comment[] }) {
  return (
    <section class="audit" aria-label="Audit trail">
      <h2>Comments</h2>
      {props.comments.length === 0 ? (
        <p class="muted">No comments.</p>
      ) : (
        <ul class="comments" data-testid="comments">
          {props.comments.map((c) => (
            <li key={c.id}>
              <strong>{c.author}</strong> <Time at={c.createdAt} />
              <p class="comment-body">{c.body}</p>
            </li>
          ))}
        </ul>
      )}
      <h2>Audit trail</h2>
      {props.audit.length === 0 ? (
        <p class="muted">Nothing done yet.</p>
      ) : (
        <ol class="audit-list" data-testid="audit">
          {props.audit.map((a) => (
            <li key={a.id} data-action={a.action}>
              <Time at={a.at} /> <strong>{a.actor}</strong> {describe(a)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
