/** ATT&CK coverage: a matrix of the techniques the enabled rules cover and of what fired; Navigator export. */
import { useQuery } from '../api';
import { killChainIndex } from '../attack';
import type { Coverage } from '../types';
import { ErrorBox, Loading } from '../ui';

export function CoveragePage() {
  const q = useQuery<Coverage>('/api/coverage');
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return <Loading />;
  const c = q.data;
  const tactics = [...c.tactics].sort((a, b) => killChainIndex(a) - killChainIndex(b));
  const max = Math.max(1, ...tactics.flatMap((t) => t.techniques.map((x) => x.rules)));
  const fired = tactics.reduce((n, t) => n + t.techniques.filter((x) => x.alerts > 0).length, 0);
  return (
    <section class="coverage">
      <div class="page-head">
        <h1>ATT&amp;CK coverage</h1>
        <div class="facts">
          <span>{c.rulesEnabled} enabled rules</span>
          <span>{c.untagged} without a technique tag</span>
          <span>{fired} technique cells fired</span>
          <a class="button" href="/api/coverage/navigator" download="firebreak-coverage-layer.json" data-testid="navigator">
            Export ATT&amp;CK Navigator layer
          </a>
        </div>
      </div>
      <p class="muted">Shade: how many enabled rules cover the technique. A red mark: it fired (alerts raised). Hover a cell for counts.</p>
      <div class="matrix" data-testid="matrix">
        {tactics.map((t) => (
          <div class="matrix-col" key={t.short || t.id}>
            <h2 class="matrix-head" title={t.id || undefined}>
              {t.name}
              <span class="muted small"> {t.techniques.length}</span>
            </h2>
            <ul>
              {t.techniques.map((x) => {
                const shade = Math.ceil((x.rules / max) * 4);
                return (
                  <li
                    key={x.id}
                    class={`cell shade-${shade}${x.alerts > 0 ? ' fired' : ''}`}
                    title={`${x.id} ${x.name}: ${x.rules} enabled rule${x.rules === 1 ? '' : 's'}, ${x.alerts} alert${x.alerts === 1 ? '' : 's'}`}
                  >
                    <span class="tid">{x.id}</span> {x.name !== x.id && x.name}
                    <span class="counts">
                      {x.rules}
                      {x.alerts > 0 ? ` · ${x.alerts} fired` : ''}
                    </span>
                  </li>
                );
              })}
            </ul>
          </div>
        ))}
      </div>
    </section>
  );
}
