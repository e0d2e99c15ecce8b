import dagre from '@dagrejs/dagre';
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import type { Issue, RouteGraphModel, RouteGraphNode, StepStats } from '../api-types.ts';

const CHAR = 6.6;
const NODE_H = 42;
/** A validation issue is written inside its node, one line each, cut to this many characters. */
const NOTE_H = 16;
const NOTE_CHARS = 48;

interface Laid {
  readonly width: number;
  readonly height: number;
  readonly nodes: ReadonlyArray<{ node: RouteGraphNode; x: number; y: number; w: number; h: number }>;
  readonly edges: ReadonlyArray<{ from: string; to: string; label?: string; points: ReadonlyArray<{ x: number; y: number }>; lx: number; ly: number }>;
}

/** Lays the model out left to right with dagre (rank = distance from the source); node widths from their text. */
/** The label without the kind the broker's graph model starts it with (`filter {...}` under `filter`). */
export function nodeText(n: RouteGraphNode): string {
  if (n.label === n.kind) return '';
  return n.label.startsWith(`${n.kind} `) ? n.label.slice(n.kind.length + 1) : n.label;
}

function layout(model: RouteGraphModel, notes: ReadonlyMap<string | undefined, readonly Issue[]> | undefined, counts: boolean): Laid {
  const g = new dagre.graphlib.Graph<Record<string, unknown>, { width: number; height: number }, { width: number; height: number; labelpos: 'c' }>({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 56, edgesep: 16, marginx: 12, marginy: 12 });
  for (const n of model.nodes) {
    const lines = notes?.get(n.id) ?? [];
    const chars = Math.max(n.kind.length, Math.min(34, nodeText(n).length), ...lines.map((i) => Math.min(NOTE_CHARS, i.message.length + 2) * 1.1));
    g.setNode(n.id, { width: Math.max(96, Math.round(chars * CHAR + 28)), height: NODE_H + lines.length * NOTE_H });
  }
  model.edges.forEach((e, i) => {
    // Room for the label: the branch text (cut at 40 characters) and, on a live graph, the counts.
    const chars = Math.min(40, (e.label?.length ?? 0) + (counts ? 10 : 0));
    if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to, { width: chars * 5.8, height: chars > 0 ? 22 : 0, labelpos: 'c' }, String(i));
  });
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  const nodes = model.nodes
    .filter((n) => g.hasNode(n.id))
    .map((node) => {
      const l = g.node(node.id) as { x: number; y: number; width: number; height: number };
      return { node, x: l.x, y: l.y, w: l.width, h: l.height };
    });
  const edges = model.edges.flatMap((e, i) => {
    const l = g.edge(e.from, e.to, String(i)) as { points?: Array<{ x: number; y: number }>; x?: number; y?: number } | undefined;
    if (l?.points === undefined) return [];
    const mid = l.points[Math.floor(l.points.length / 2)]!;
    return [{ from: e.from, to: e.to, label: e.label, points: l.points, lx: l.x ?? mid.x, ly: l.y ?? mid.y }];
  });
  return { width: graph.width ?? 200, height: graph.height ?? 80, nodes, edges };
}

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * A route as a live graph: nodes are the source and the steps (kind and label), edges carry the
 * number of exchanges that entered their target and how many are in it now; a step with failures
 * is drawn red, one whose failures rose at the last update more strongly; a step with validation
 * issues is outlined and lists them. Each node is a labelled group, so its counters are readable
 * by assistive technology (and by tests) as well as on screen.
 */
export function RouteGraph(props: {
  model: RouteGraphModel;
  steps?: ReadonlyMap<string, StepStats>;
  /** Node ids whose `failed` rose at the last update. */
  rising?: ReadonlySet<string>;
  issues?: ReadonlyMap<string | undefined, readonly Issue[]>;
  title: string;
}): JSX.Element {
  const live = props.steps !== undefined;
  const laid = useMemo(() => layout(props.model, props.issues, live), [props.model, props.issues, live]);
  const stats = props.steps;
  return (
    <div class="graph-wrap">
      {/* Scaled down to the panel's width when wider (the viewBox keeps its proportions), never up. */}
      <svg class="graph" role="group" aria-label={props.title} viewBox={`0 0 ${laid.width} ${laid.height}`} style={{ width: '100%', maxWidth: `${laid.width}px`, height: 'auto' }}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
          </marker>
        </defs>
        {laid.edges.map((e, i) => {
          const s = stats?.get(e.to);
          const count = s === undefined ? undefined : `${s.entered}${s.inFlight > 0 ? ` · ${s.inFlight} in flight` : ''}`;
          const text = [e.label, count].filter((x) => x !== undefined && x !== '').join(': ');
          return (
            <g key={i} class={`edge${s !== undefined && s.inFlight > 0 ? ' busy' : ''}`} aria-label={`edge ${e.from} to ${e.to}${count !== undefined ? `: ${s!.entered} entered, ${s!.inFlight} in flight` : ''}`}>
              <polyline points={e.points.map((p) => `${p.x},${p.y}`).join(' ')} marker-end="url(#arrow)" />
              {text !== '' && (
                <text x={e.lx} y={e.ly + 4} text-anchor="middle" class="edge-label">
                  {cut(text, 40)}
                </text>
              )}
            </g>
          );
        })}
        {laid.nodes.map(({ node, x, y, w, h }) => {
          const s = stats?.get(node.id);
          const issues = props.issues?.get(node.id) ?? [];
          const failing = s !== undefined && s.failed > 0;
          const cls = ['node', node.shape, failing ? 'failing' : '', props.rising?.has(node.id) ? 'failing-now' : '', issues.length > 0 ? 'invalid' : ''].filter(Boolean).join(' ');
          const counters = s === undefined ? '' : `: ${s.entered} entered, ${s.completed} completed, ${s.failed} failed, ${s.inFlight} in flight`;
          const problems = issues.length > 0 ? `; error: ${issues.map((i) => i.message).join('; ')}` : '';
          return (
            <g key={node.id} class={cls} data-path={node.path} role="group" aria-label={`${node.kind}${nodeText(node) === '' ? '' : ` ${nodeText(node)}`}${counters}${problems}`} transform={`translate(${x - w / 2},${y - h / 2})`}>
              <title>{`${node.path}: ${node.label}${counters}${problems}`}</title>
              <rect width={w} height={h} rx={node.shape === 'endpoint' || node.shape === 'source' ? h / 2 : node.shape === 'decision' ? 2 : 6} />
              <text x={w / 2} y={nodeText(node) === '' ? 25 : 16} text-anchor="middle" class="kind">
                {node.kind}
                {s !== undefined && s.failed > 0 ? ` ✕${s.failed}` : ''}
              </text>
              <text x={w / 2} y={32} text-anchor="middle" class="label">
                {cut(nodeText(node), 34)}
              </text>
              {issues.map((i, k) => (
                <text key={k} x={w / 2} y={NODE_H + k * NOTE_H + 4} text-anchor="middle" class="note">
                  {cut(`⚠ ${i.message}`, NOTE_CHARS)}
                </text>
              ))}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
