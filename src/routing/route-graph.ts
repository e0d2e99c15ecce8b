import { stepRegistry, type StepRegistry } from '../../patterns/index.ts';
import type { RouteDefinition } from './definition.ts';
import { redactUri } from './endpoints/endpoint-uri.ts';
import { forEachStepList } from './step-lists.ts';
import type { StepDef } from './types.ts';

/**
 * A route as a Mermaid flowchart (`flowchart LR`), for docs, the console and reviews: the source,
 * each step, branches of choice/multicast/split/circuitBreaker/errorHandler, and the endpoints.
 * Another kind is one node, with its nested step lists (from its descriptor in `registry`) drawn
 * as branches from it.
 */
export function routeGraph(def: RouteDefinition, registry: StepRegistry = stepRegistry): string {
  const lines = ['flowchart LR'];
  let n = 0;
  const node = (label: string, shape: 'step' | 'endpoint' | 'decision' = 'step'): string => {
    const id = `n${n++}`;
    // Endpoint URIs (and expressions naming them) without their passwords: graphs end up in docs and reviews.
    const text = redactUri(label).replace(/"/g, "'");
    lines.push(shape === 'endpoint' ? `  ${id}[("${text}")]` : shape === 'decision' ? `  ${id}{"${text}"}` : `  ${id}["${text}"]`);
    return id;
  };
  const edge = (a: string, b: string, label?: string) => lines.push(label ? `  ${a} -->|"${label.replace(/"/g, "'")}"| ${b}` : `  ${a} --> ${b}`);
  const brief = (v: unknown) => {
    const t = typeof v === 'function' ? 'fn' : JSON.stringify(v);
    return t.length > 40 ? `${t.slice(0, 37)}...` : t;
  };

  /** Draws steps after `prev`; returns the node the flow continues from. */
  const steps = (list: StepDef[], prev: string): string => {
    let at = prev;
    for (const s of list) at = step(s, at);
    return at;
  };
  const step = (s: StepDef, prev: string): string => {
    const kind = Object.keys(s)[0]!;
    if ('to' in s) {
      const id = node(s.to, 'endpoint');
      edge(prev, id);
      return id;
    }
    if ('choice' in s) {
      const d = node('choice', 'decision');
      edge(prev, d);
      const join = node('end choice');
      s.choice.when.forEach((w) => {
        const first = node('when');
        edge(d, first, brief(w.if));
        edge(steps(w.steps, first), join);
      });
      if (s.choice.otherwise) {
        const o = node('otherwise');
        edge(d, o);
        edge(steps(s.choice.otherwise, o), join);
      } else edge(d, join, 'no match');
      return join;
    }
    if ('multicast' in s) {
      const m = node('multicast');
      edge(prev, m);
      s.multicast.forEach((b) => {
        if (typeof b === 'string') edge(m, node(b, 'endpoint'));
        else steps(b, m);
      });
      return m;
    }
    if ('split' in s) {
      const sp = node(`split ${brief(s.split.by)}`);
      edge(prev, sp);
      if (s.split.steps) steps(s.split.steps, sp);
      return sp;
    }
    if ('circuitBreaker' in s) {
      const cb = node('circuitBreaker', 'decision');
      edge(prev, cb);
      const join = node('end circuitBreaker');
      edge(steps(s.circuitBreaker.steps, cb), join, 'closed');
      if (s.circuitBreaker.fallback) {
        const f = node('fallback');
        edge(cb, f, 'open');
        edge(steps(s.circuitBreaker.fallback, f), join);
      }
      return join;
    }
    if ('errorHandler' in s) {
      const { steps: inner, ...policy } = s.errorHandler;
      const eh = node(`errorHandler ${brief(policy)}`);
      edge(prev, eh);
      return steps(inner, eh);
    }
    if ('doTry' in s) {
      const t = node('doTry', 'decision');
      edge(prev, t);
      const join = node('end doTry');
      edge(steps(s.doTry.steps, t), join, 'ok');
      for (const c of s.doTry.catch ?? []) {
        const k = node('catch');
        edge(t, k, c.when !== undefined ? brief(c.when) : 'error');
        edge(steps(c.steps, k), join);
      }
      return s.doTry.finally ? steps(s.doTry.finally, join) : join;
    }
    if ('wireTap' in s) {
      const w = node('wireTap');
      edge(prev, w);
      edge(w, node(s.wireTap, 'endpoint'), 'copy');
      return w;
    }
    if ('enrich' in s) {
      const e = node('enrich');
      edge(prev, e);
      lines.push(`  ${e} <-.->|"request-reply"| ${node(s.enrich.uri, 'endpoint')}`);
      return e;
    }
    if ('loadBalance' in s) {
      const lb = node(`loadBalance ${s.loadBalance.strategy ?? 'roundRobin'}`);
      edge(prev, lb);
      for (const u of s.loadBalance.to) edge(lb, node(u, 'endpoint'));
      return lb;
    }
    const value = (s as Record<string, unknown>)[kind];
    const id = node(kind === 'process' || kind === 'operator' ? `${kind} (function)` : `${kind} ${brief(value)}`);
    edge(prev, id);
    forEachStepList(value, registry.get(kind)?.nested, '', (list) => steps(list as StepDef[], id));
    return id;
  };

  const from = node(def.from, 'endpoint');
  steps(def.steps, from);
  if (def.errorHandler?.deadLetter) lines.push(`  dlq[("${def.errorHandler.deadLetter}")]`, `  ${from} -.->|"failed after ${def.errorHandler.maxRedeliveries ?? 0} redeliveries"| dlq`);
  return lines.join('\n');
}
