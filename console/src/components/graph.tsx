/**
 * The spread graph of a story (Cytoscape.js): hosts as nodes, outside addresses as diamonds,
 * timed arrows labelled with the technique, patient zero ringed. Labels are drawn on the canvas
 * as text (never markup). A list beside it says the same in words, for screen readers and tests.
 */
import cytoscape from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import type { Story } from '../types';
import { fmtTime, hostHref, Link } from '../ui';

export interface GraphNode {
  id: string;
  label: string;
  kind: 'host' | 'outside';
  patientZero: boolean;
}
export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  at: string;
  /** The technique's id (its name when it has none), as the arrow's label. */
  technique: string;
  /** The technique's name, for the list beside the graph. */
  techniqueName: string;
}

const nodeId = (kind: 'host' | 'outside', name: string): string => `${kind}:${name.toLowerCase()}`;

/** The story's hosts, outside addresses and movements as graph elements. */
export function graphOf(story: Story): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const pz = story.patientZero?.computer.toLowerCase();
  const addNode = (kind: 'host' | 'outside', name: string): string => {
    const id = nodeId(kind, name);
    if (!nodes.has(id)) nodes.set(id, { id, label: name, kind, patientZero: kind === 'host' && name.toLowerCase() === pz });
    return id;
  };
  for (const h of story.hosts) addNode('host', h.computer);
  const edges: GraphEdge[] = [];
  // The entry is normally also one of the spread edges (an outside address into patient zero); draw it once.
  const entry = story.patientZero?.entry;
  const pzName = story.patientZero?.computer;
  const entryInSpread = !!entry && story.spread.some((s) => s.fromKind === 'ip' && s.from === entry.from && s.to.toLowerCase() === pzName?.toLowerCase());
  if (entry && story.patientZero && !entryInSpread) {
    edges.push({
      id: 'entry',
      from: addNode('outside', entry.from),
      to: addNode('host', story.patientZero.computer),
      at: entry.at,
      technique: entry.technique.id ?? entry.technique.name,
      techniqueName: entry.technique.name,
    });
  }
  story.spread.forEach((s, i) => {
    const from = addNode(s.fromKind === 'ip' ? 'outside' : 'host', s.from);
    const to = addNode('host', s.to);
    edges.push({ id: `e${i}`, from, to, at: s.at, technique: s.technique.id ?? s.technique.name, techniqueName: s.technique.name });
  });
  return { nodes: [...nodes.values()], edges };
}

/**
 * Columns by hops from where the intrusion came from (nodes no movement reaches: the outside
 * addresses, patient zero), rows within a column in order of arrival; hosts nothing links stay
 * in the first column.
 */
export function layered(nodes: GraphNode[], edges: GraphEdge[]): Record<string, { x: number; y: number }> {
  const reached = new Set(edges.map((e) => e.to));
  let start = nodes.filter((n) => !reached.has(n.id)).map((n) => n.id);
  if (!start.length) start = [(nodes.find((n) => n.patientZero) ?? nodes[0])?.id ?? ''];
  const depth = new Map<string, number>(start.map((id) => [id, 0]));
  const queue = [...start];
  const byTime = [...edges].sort((a, b) => a.at.localeCompare(b.at));
  while (queue.length) {
    const id = queue.shift()!;
    for (const e of byTime)
      if (e.from === id && !depth.has(e.to)) {
        depth.set(e.to, depth.get(id)! + 1);
        queue.push(e.to);
      }
  }
  const columns = new Map<number, string[]>();
  for (const n of nodes) {
    const d = depth.get(n.id) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), n.id]);
  }
  const pos: Record<string, { x: number; y: number }> = {};
  for (const [d, ids] of columns) ids.forEach((id, i) => (pos[id] = { x: d * 230, y: (i - (ids.length - 1) / 2) * 90 }));
  return pos;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function styleSheet(): cytoscape.StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'background-color': cssVar('--graph-host'),
        color: cssVar('--fg'),
        'font-size': 11,
        'text-valign': 'bottom',
        'text-margin-y': 4,
        'text-wrap': 'wrap',
        'text-max-width': '200px',
        width: 26,
        height: 26,
      },
    },
    { selector: 'node.outside', style: { shape: 'diamond', 'background-color': cssVar('--graph-outside') } },
    { selector: 'node.pz', style: { 'border-width': 4, 'border-color': cssVar('--graph-pz'), width: 34, height: 34, 'font-weight': 'bold' } },
    {
      selector: 'edge',
      style: {
        width: 2,
        'line-color': cssVar('--graph-edge'),
        'target-arrow-color': cssVar('--graph-edge'),
        'target-arrow-shape': 'triangle',
        'curve-style': 'bezier',
        label: 'data(label)',
        'font-size': 9,
        color: cssVar('--muted'),
        'text-rotation': 'autorotate',
        'text-background-color': cssVar('--bg'),
        'text-background-opacity': 1,
        'text-background-padding': '1px',
      },
    },
  ];
}

const hhmm = (at: string): string => {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : fmtTime(d).slice(11, 16);
};

export function SpreadGraph(props: { story: Story; onSelectHost?: (host: string) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const { nodes, edges } = graphOf(props.story);

  useEffect(() => {
    if (!box.current) return;
    const cy = cytoscape({
      container: box.current,
      elements: [
        ...nodes.map((n) => ({ data: { id: n.id, label: n.patientZero ? `${n.label}\n(patient zero)` : n.label, name: n.label, kind: n.kind }, classes: `${n.kind}${n.patientZero ? ' pz' : ''}` })),
        ...edges.map((e) => ({ data: { id: e.id, source: e.from, target: e.to, label: `${e.technique} ${hhmm(e.at)}` } })),
      ],
      style: styleSheet(),
      // Left to right in the order of the spread: where the intrusion came from first.
      layout: { name: 'preset', positions: layered(nodes, edges), fit: true, padding: 40 },
      minZoom: 0.3,
      maxZoom: 2.5,
    });
    cy.on('tap', 'node.host', (ev) => props.onSelectHost?.(String((ev.target as cytoscape.NodeSingular).data('name'))));
    const restyle = (): void => void cy.style(styleSheet());
    window.addEventListener('firebreak-theme', restyle);
    return () => {
      window.removeEventListener('firebreak-theme', restyle);
      cy.destroy();
    };
  }, [props.story]);

  return (
    <div class="graph-wrap">
      <div ref={box} class="graph" role="img" aria-label={`Spread graph: ${nodes.length} nodes, ${edges.length} movements`} data-testid="spread-graph" data-nodes={nodes.length} />
      <div class="graph-text">
        <h3>Nodes</h3>
        <ul data-testid="graph-nodes">
          {nodes.map((n) => (
            <li key={n.id} data-kind={n.kind} data-patient-zero={n.patientZero ? 'true' : undefined}>
              {n.kind === 'host' ? <Link href={hostHref(n.label)}>{n.label}</Link> : <span>{n.label}</span>}
              {n.patientZero && <span class="badge pz-badge">patient zero</span>}
              {n.kind === 'outside' && <span class="badge outside-badge">outside address</span>}
            </li>
          ))}
        </ul>
        <h3>Movements</h3>
        {edges.length === 0 ? (
          <p class="muted">No movement between hosts.</p>
        ) : (
          <ol data-testid="graph-edges">
            {edges.map((e) => (
              <li key={e.id}>
                <span>{nodes.find((n) => n.id === e.from)?.label}</span> → <span>{nodes.find((n) => n.id === e.to)?.label}</span>{' '}
                <span class="muted">
                  {e.technique === e.techniqueName ? e.technique : `${e.technique} ${e.techniqueName}`} at {hhmm(e.at)}
                </span>
              </li>
            ))}
          </ol>
        )}
      </div>
    </div>
  );
}
