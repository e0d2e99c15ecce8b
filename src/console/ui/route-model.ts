import type { Issue, RouteGraphEdge, RouteGraphModel, RouteGraphNode } from './api-types.ts';

/**
 * The route editor's pure helpers: a graph of a JSON definition drawn while it is typed (before the
 * broker has validated or compiled it), the graph node a validation issue belongs to, and the line
 * of the editor a JSON path starts on. Node paths follow the broker's (`from`, `steps.2`,
 * `steps.1.choice.when.0.steps.0`), so the broker's issues land on the same nodes.
 */

/**
 * The nested step lists of the step kinds that have them, as the patterns' descriptors declare them
 * (`nested` in patterns/*.ts; `[]` an index). Only for the preview: a kind missing here is drawn
 * as one node, as the broker's own graph draws kinds it does not know.
 */
const NESTED: Readonly<Record<string, readonly string[]>> = {
  choice: ['when[].steps', 'otherwise'],
  circuitBreaker: ['steps', 'fallback'],
  doTry: ['steps', 'catch[].steps', 'finally'],
  errorHandler: ['steps'],
  multicast: ['[]'],
  split: ['steps'],
};

const ENDPOINT_KINDS = new Set(['to', 'wireTap', 'enrich', 'pollEnrich', 'toD']);

/** `steps[2].to`, `/steps/2/to`, `$.steps.2.to` -> `steps.2.to`. */
export function normalizePath(path: string): string {
  let p = path.trim();
  if (p.startsWith('$')) p = p.slice(1);
  if (p.startsWith('/')) p = p.slice(1).replace(/\//g, '.');
  return p.replace(/\[(\d+)\]/g, '.$1').replace(/^\.+/, '').replace(/\.{2,}/g, '.');
}

/** The node an issue is about: the one with the longest path the issue's path starts with. */
export function nodeForIssue(issuePath: string, nodes: readonly RouteGraphNode[]): RouteGraphNode | undefined {
  const p = normalizePath(issuePath);
  let best: RouteGraphNode | undefined;
  for (const n of nodes) {
    const np = normalizePath(n.path);
    if ((p === np || p.startsWith(`${np}.`)) && (best === undefined || np.length > normalizePath(best.path).length)) best = n;
  }
  return best;
}

/** Issues grouped by node id; the rest (`id`, `errorHandler`, a syntax error) under `undefined`. */
export function issuesByNode(issues: readonly Issue[], nodes: readonly RouteGraphNode[]): Map<string | undefined, Issue[]> {
  const out = new Map<string | undefined, Issue[]>();
  for (const i of issues) {
    const id = nodeForIssue(i.path, nodes)?.id;
    let list = out.get(id);
    if (list === undefined) out.set(id, (list = []));
    list.push(i);
  }
  return out;
}

/** Short text for a value: a URI without its password, an expression cut to 40 characters. */
export function brief(v: unknown): string {
  const t = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  const safe = t.replace(/\/\/([^/:@\s]*):[^@/\s]*@/g, '//$1:***@');
  return safe.length > 40 ? `${safe.slice(0, 37)}...` : safe;
}

function labelOf(kind: string, v: unknown): string {
  if (typeof v === 'string') return brief(v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.name === 'string') return brief(o.name);
    if (typeof o.uri === 'string') return brief(o.uri);
    if (kind === 'choice' || NESTED[kind] !== undefined) return kind;
  }
  return brief(v);
}

/** A graph of a route definition as it stands (nothing validated): from, each step, nested branches. */
export function modelFromDefinition(def: unknown): RouteGraphModel {
  const nodes: RouteGraphNode[] = [];
  const edges: RouteGraphEdge[] = [];
  const d = (def !== null && typeof def === 'object' ? def : {}) as Record<string, unknown>;
  nodes.push({ id: 'from', path: 'from', kind: 'from', label: brief(d.from ?? '?'), shape: 'source' });

  const list = (steps: unknown, base: string, prev: readonly string[], label?: string): string[] => {
    let at = [...prev];
    let first = true;
    if (!Array.isArray(steps)) return at;
    steps.forEach((s, i) => {
      at = step(s, `${base}.${i}`, at, first ? label : undefined);
      first = false;
    });
    return at;
  };
  const step = (s: unknown, path: string, prev: readonly string[], label?: string): string[] => {
    const isObj = s !== null && typeof s === 'object' && !Array.isArray(s);
    const kind = isObj ? (Object.keys(s as object)[0] ?? '?') : '?';
    const value = isObj ? (s as Record<string, unknown>)[kind] : s;
    const shape = kind === 'choice' ? 'decision' : ENDPOINT_KINDS.has(kind) ? 'endpoint' : 'step';
    nodes.push({ id: path, path, kind, label: labelOf(kind, value), shape });
    for (const p of prev) edges.push(label === undefined ? { from: p, to: path } : { from: p, to: path, label });
    const nested = NESTED[kind];
    if (nested === undefined) return [path];
    const ends: string[] = [];
    for (const spec of nested) {
      for (const [listPath, items, branch] of listsAt(value, spec, `${path}.${kind}`)) {
        if (Array.isArray(items)) ends.push(...list(items, listPath, [path], branch));
      }
    }
    // A choice continues from its branches' ends (and from itself when nothing matches); other
    // kinds with nested lists (split, doTry, ...) hand the exchange on from themselves.
    if (kind === 'choice') {
      const c = value as { otherwise?: unknown } | undefined;
      return c?.otherwise === undefined ? [...ends, path] : ends;
    }
    return [path];
  };
  list(d.steps, 'steps', ['from']);
  return { routeId: typeof d.id === 'string' ? d.id : '', nodes, edges };
}

/** The step lists of `value` at a `nested` spec, each with its path and a branch label. */
function listsAt(value: unknown, spec: string, base: string): Array<[string, unknown, string]> {
  const segs = spec.split('.').flatMap((s) => (s.endsWith('[]') && s !== '[]' ? [s.slice(0, -2), '[]'] : [s]));
  let at: Array<[string, unknown, string]> = [[base, value, '']];
  for (const seg of segs) {
    const next: Array<[string, unknown, string]> = [];
    for (const [p, v, l] of at) {
      if (seg === '[]') {
        if (Array.isArray(v)) v.forEach((x, i) => next.push([`${p}.${i}`, x, l === '' ? `#${i + 1}` : `${l} ${i + 1}`]));
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        next.push([`${p}.${seg}`, (v as Record<string, unknown>)[seg], l === '' ? seg : l]);
      }
    }
    at = next;
  }
  return at;
}

/**
 * The line (1-based) each JSON path of `text` starts on (an object member: its key's line), from a
 * small scan of the JSON text; at a syntax error it stops with what it has, and gives the error's
 * line (V8's JSON.parse message no longer gives a position).
 */
export function jsonPathLines(text: string): Map<string, number> & { errorLine?: number } {
  const out: Map<string, number> & { errorLine?: number } = new Map<string, number>();
  let i = 0;
  let line = 1;
  const ws = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') return;
      i++;
    }
  };
  const str = (): string => {
    let s = '';
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        s += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (text[i] === '\n') line++;
      s += text[i];
      i++;
    }
    i++;
    return s;
  };
  const join = (p: string, k: string): string => (p === '' ? k : `${p}.${k}`);
  const value = (path: string, at: number): void => {
    ws();
    if (!out.has(path)) out.set(path, at === 0 ? line : at);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Error('key expected');
        const keyLine = line;
        const k = str();
        ws();
        if (text[i] !== ':') throw new Error(': expected');
        i++;
        value(join(path, k), keyLine);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else throw new Error(', or } expected');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(join(path, String(n)), 0);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else throw new Error(', or ] expected');
      }
    }
    if (c === '"') return void str();
    const start = i;
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
    if (!/^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)$/.test(text.slice(start, i))) throw new Error('value expected');
  };
  try {
    value('', 0);
    ws();
    if (i < text.length) throw new Error('end expected');
  } catch {
    out.errorLine = line;
  }
  return out;
}

/** The line an issue's path starts on: the path's own, or its nearest ancestor's. */
export function lineOfIssue(path: string, lines: ReadonlyMap<string, number>): number | undefined {
  let p = normalizePath(path);
  for (;;) {
    const l = lines.get(p);
    if (l !== undefined) return l;
    if (p === '') return undefined;
    const dot = p.lastIndexOf('.');
    p = dot < 0 ? '' : p.slice(0, dot);
  }
}
