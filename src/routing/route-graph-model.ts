import { stepRegistry, type StepRegistry } from '../../patterns/index.ts';
import type { RouteDefinition } from './definition.ts';
import { redactUri } from './endpoints/endpoint-uri.ts';
import type { RouteGraphEdge, RouteGraphModel, RouteGraphNode } from './route-telemetry.ts';
import { dottedPath, forEachStepList } from './step-lists.ts';
import type { StepDef } from './types.ts';

/** Where a route-level dead-letter channel is drawn (no step of its own: the route's `deadLettered` counts it). */
export const DEAD_LETTER_NODE = 'errorHandler.deadLetter';

const DECISIONS = new Set(['choice', 'circuitBreaker', 'doTry']);

/** An expression or parameter as short text (the editor shows the full definition). */
function brief(v: unknown): string {
  const t = typeof v === 'function' ? 'fn' : (JSON.stringify(v) ?? '');
  return redactUri(t.length > 40 ? `${t.slice(0, 37)}...` : t);
}

/**
 * A route as nodes and edges for the console's live graph (issue 15). Node ids are the steps'
 * dotted JSON paths (`steps.1.choice.when.0.steps.0`): the ids the compiler's step counters carry
 * (compile.ts, step-probe.ts) and the paths validation issues name. The flow is the one the
 * compiled route has: a choice, circuit breaker or doTry continues from the end of each branch; a
 * multicast or split continues from itself (its branches end there); an errorHandler from its last
 * step. Kinds registered later are drawn by their descriptor's `nested` lists as branches from the
 * step, as the Mermaid graph (route-graph.ts) draws them. Endpoint URIs lose their passwords.
 */
export function routeGraphModel(def: RouteDefinition, registry: StepRegistry = stepRegistry): RouteGraphModel {
  const nodes: RouteGraphNode[] = [];
  const edges: RouteGraphEdge[] = [];
  const node = (id: string, kind: string, label: string, shape: RouteGraphNode['shape']): string => {
    nodes.push({ id, path: id, kind, label: redactUri(label), shape });
    return id;
  };
  const connect = (from: readonly string[], to: string, label?: string): void => {
    for (const f of from) edges.push(label === undefined ? { from: f, to } : { from: f, to, label });
  };

  /** The nodes of `list` after `prev` (the first edges labelled `label`); returns where the flow continues from. */
  const steps = (list: readonly StepDef[], base: string, prev: readonly string[], label?: string): string[] => {
    let tails = [...prev];
    list.forEach((s, i) => {
      tails = step(s, `${base}.${i}`, tails, i === 0 ? label : undefined);
    });
    return tails;
  };

  const step = (s: StepDef, path: string, prev: readonly string[], label?: string): string[] => {
    const kind = Object.keys(s)[0]!;
    const value = (s as Record<string, unknown>)[kind];
    const id = 'to' in s ? node(path, kind, s.to, 'endpoint') : node(path, kind, text(kind, value), DECISIONS.has(kind) ? 'decision' : 'step');
    connect(prev, id, label);
    const here = [id];
    const at = `${path}.${kind}`;
    if ('choice' in s) {
      const tails: string[] = [];
      s.choice.when.forEach((w, i) => tails.push(...steps(w.steps, `${at}.when.${i}.steps`, here, `when ${brief(w.if)}`)));
      if (s.choice.otherwise) tails.push(...steps(s.choice.otherwise, `${at}.otherwise`, here, 'otherwise'));
      else tails.push(id); // no branch taken: on after the choice
      return tails;
    }
    if ('multicast' in s) {
      s.multicast.forEach((b, i) => {
        if (typeof b === 'string') connect(here, node(`${at}.${i}`, 'to', b, 'endpoint'));
        else steps(b, `${at}.${i}`, here);
      });
      return here;
    }
    if ('split' in s) {
      if (s.split.steps) steps(s.split.steps, `${at}.steps`, here, 'each part');
      return here;
    }
    if ('errorHandler' in s) return steps(s.errorHandler.steps, `${at}.steps`, here);
    if ('circuitBreaker' in s) {
      const tails = steps(s.circuitBreaker.steps, `${at}.steps`, here, 'closed');
      if (s.circuitBreaker.fallback) tails.push(...steps(s.circuitBreaker.fallback, `${at}.fallback`, here, 'open'));
      return tails;
    }
    if ('doTry' in s) {
      const tails = steps(s.doTry.steps, `${at}.steps`, here, 'try');
      (s.doTry.catch ?? []).forEach((c, i) => tails.push(...steps(c.steps, `${at}.catch.${i}.steps`, here, c.when !== undefined ? `catch ${brief(c.when)}` : 'catch')));
      return s.doTry.finally ? steps(s.doTry.finally, `${at}.finally`, tails, 'finally') : tails;
    }
    forEachStepList(value, registry.get(kind)?.nested, at, (list, listPath) => steps(list as StepDef[], dottedPath(listPath), here));
    return here;
  };

  node('from', 'from', def.from, 'source');
  steps(def.steps, 'steps', ['from']);
  if (def.errorHandler?.deadLetter !== undefined) {
    connect(['from'], node(DEAD_LETTER_NODE, 'deadLetter', def.errorHandler.deadLetter, 'endpoint'), `failed after ${def.errorHandler.maxRedeliveries ?? 0} redeliveries`);
  }
  return { routeId: def.id, nodes, edges };
}

/** A step's label: its kind and parameters, without the step lists it holds (drawn as nodes). */
function text(kind: string, value: unknown): string {
  if (kind === 'process' || kind === 'operator') return `${kind} (function)`;
  if (kind === 'choice' || kind === 'multicast' || kind === 'doTry' || kind === 'errorHandler' || kind === 'circuitBreaker') return kind;
  if (kind === 'split') return `split ${brief((value as { by: unknown }).by)}`;
  if (kind === 'wireTap') return `wireTap ${value as string}`;
  if (kind === 'enrich') return `enrich ${(value as { uri: string }).uri}`;
  if (kind === 'loadBalance') return `loadBalance ${(value as { to: string[] }).to.join(', ')}`;
  return `${kind} ${brief(value)}`;
}
