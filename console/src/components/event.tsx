/** One detection's event: every field as text, the fields the rule matched highlighted. */
import { useQuery } from '../api';
import type { AlertDetail, Detection } from '../types';
import { ErrorBox, Loading, Time, Val } from '../ui';

export function EventFields(props: { detection: Detection }) {
  const d = props.detection;
  const matched = d.matched ?? {};
  const matchedKeys = new Set(Object.keys(matched).map((k) => k.toLowerCase()));
  const fields = Object.entries(d.event ?? {});
  // Matched fields first: they are why the rule fired.
  fields.sort(([a], [b]) => Number(matchedKeys.has(b.toLowerCase())) - Number(matchedKeys.has(a.toLowerCase())) || a.localeCompare(b));
  return (
    <div class="event">
      <p class="event-meta">
        <Time at={d.timestamp} /> · {d.computer ?? '—'} · {d.channel ?? '—'} · event {d.eventId ?? '—'} · record {d.recordId ?? '—'}
      </p>
      <table class="kv" data-testid="event-fields">
        <caption class="sr-only">Event fields; the fields the rule matched are marked</caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {fields.map(([k, v]) => {
            const hit = matchedKeys.has(k.toLowerCase());
            return (
              <tr key={k} class={hit ? 'matched' : undefined} data-matched={hit ? 'true' : undefined}>
                <th scope="row">
                  {k}
                  {hit && <span class="badge matched-badge">matched</span>}
                </th>
                <td>
                  <Val v={v} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Loads an alert and shows its detection's event. */
export function AlertEvent(props: { id: number }) {
  const q = useQuery<AlertDetail>(`/api/alerts/${props.id}`);
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Loading />;
  return <EventFields detection={q.data.detection} />;
}
