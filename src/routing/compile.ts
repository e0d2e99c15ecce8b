import { Ajv } from 'ajv';
import { identity, type SchedulerLike } from 'rxjs';
import { fuse, stepRegistry, type StepRegistry } from '../../patterns/index.ts';
import type { RouteDefinition } from './definition.ts';
import { RouteDefinitionError } from './definition.ts';
import { checkEndpoint } from './endpoints/endpoint-uri.ts';
import { template, type Expressions } from './expression.ts';
import { dottedPath } from './step-lists.ts';
import { probeDispatch, probedErrors, probeHeld, probeSync, StepProbe } from './step-probe.ts';
import type { Log } from '../core/ports/log.ts';
import type {
  ErrorHandlerDef, ErrorHandling, Evaluate, Exchange, ExchangeMessage, Expression, IdempotentRepository, Outcome, Producer, RedeliveryPolicy, Step,
  StepCompiler, StepContext, StepDef, SyncStep,
} from './types.ts';

/** What compiling a route needs from the runtime around it. */
export interface CompileEnv {
  routeId: string;
  expressions: Expressions;
  log: Log;
  scheduler: SchedulerLike;
  producer(uri: string): Producer;
  newExchange(message: ExchangeMessage, onSettled: (o: Outcome) => void, properties?: Record<string, unknown>): Exchange;
  repository(step: string, window: number, persisted: boolean): IdempotentRepository;
  /** The route's error handler for a policy and dead-letter channel. */
  errorHandling(handler: ErrorHandlerDef): ErrorHandling;
  /** The step kinds (default: the built-in patterns). */
  registry?: StepRegistry;
}

export const DEFAULT_POLICY: RedeliveryPolicy = { maxRedeliveries: 0, redeliveryDelay: 100, backoffMultiplier: 1, maxRedeliveryDelay: 60_000 };

/** A policy from a handler definition, unset fields from `base`. */
export function policyOf(h: ErrorHandlerDef, base: RedeliveryPolicy = DEFAULT_POLICY): RedeliveryPolicy {
  return {
    maxRedeliveries: h.maxRedeliveries ?? base.maxRedeliveries,
    redeliveryDelay: h.redeliveryDelay ?? base.redeliveryDelay,
    backoffMultiplier: h.backoffMultiplier ?? base.backoffMultiplier,
    maxRedeliveryDelay: h.maxRedeliveryDelay ?? base.maxRedeliveryDelay,
  };
}

/**
 * Compiles a definition to one RxJS operator, each step by its kind's descriptor in the registry.
 * Everything that can be checked is checked here, once, at deploy (expressions against the
 * allow-list, endpoint URIs, JSON Schemas), so a bad definition never starts; errors name the
 * step's path.
 */
export class RouteCompiler {
  private readonly env: CompileEnv;
  private readonly registry: StepRegistry;
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private trace = false;
  /** Each compiled step's counters by node id (its dotted path), in definition order. */
  readonly probes = new Map<string, StepProbe>();

  constructor(env: CompileEnv) {
    this.env = env;
    this.registry = env.registry ?? stepRegistry;
  }

  compile(def: RouteDefinition): Step {
    try {
      checkEndpoint(def.from, 'from');
    } catch (err) {
      throw new RouteDefinitionError('from', (err as Error).message);
    }
    this.trace = def.trace;
    const handler = def.errorHandler ?? {};
    return this.steps(def.steps, 'steps', { handler, errors: this.handling(handler, 'errorHandler.deadLetter') });
  }

  /** The error handling of a scope; its dead-letter URI is checked (and its producer made) now. */
  private handling(h: ErrorHandlerDef, path: string): ErrorHandling {
    if (h.deadLetter !== undefined) this.producer(h.deadLetter, path);
    return this.env.errorHandling(h);
  }

  /**
   * A step list as one operator. Consecutive synchronous steps are fused into one operator (one
   * subscriber hop per exchange instead of one per step: measured on route forwarding).
   */
  private steps(list: readonly StepDef[], path: string, scope: Scope): Step {
    const ops: Step[] = [];
    let run: SyncStep[] = [];
    list.forEach((s, i) => {
      const op = this.step(s, `${path}[${i}]`, scope);
      if ('sync' in op) run.push(op as SyncStep);
      else {
        if (run.length > 0) ops.push(fuse(run));
        run = [];
        ops.push(op);
      }
    });
    if (run.length > 0) ops.push(fuse(run));
    if (ops.length === 0) return identity;
    if (ops.length === 1) return ops[0]!;
    return (source) => ops.reduce((acc, op) => op(acc), source);
  }

  private step(s: StepDef, path: string, scope: Scope): Step {
    const kind = Object.keys(s)[0]!;
    const descriptor = this.registry.get(kind);
    if (!descriptor) throw new RouteDefinitionError(path, `unknown step '${kind}'`);
    const id = dottedPath(path);
    // One probe per path (a circuit breaker may build its steps more than once).
    let probe = this.probes.get(id);
    if (!probe) this.probes.set(id, (probe = new StepProbe(id)));
    const op = descriptor.compile((s as unknown as Record<string, never>)[kind]!, this.compiler(`${path}.${kind}`, path, scope, probe));
    if ('sync' in op) return probeSync(op as SyncStep, probe);
    if ('probed' in op) return op; // counts itself (asyncStep: to, process)
    return descriptor.nested !== undefined && descriptor.nested.length > 0 ? probeDispatch(op, probe) : probeHeld(op, probe);
  }

  /** What one step's compile gets: this compiler's services bound to its path and scope (its failures counted by its probe). */
  private compiler(p: string, path: string, scope: Scope, probe: StepProbe): StepCompiler {
    return {
      path: p,
      context: this.ctx(path, { handler: scope.handler, errors: probedErrors(scope.errors, probe) }, probe),
      expression: (e, at) => this.expr(e, at),
      predicate: (e, at) => this.pred(e, at),
      producer: (uri, at) => this.producer(uri, at),
      steps: (list, at, errors) => this.steps(list, at, errors ? { handler: scope.handler, errors } : scope),
      handled: (h, list, at, deadLetterAt) => {
        const handler: ErrorHandlerDef = { ...scope.handler, ...h };
        return this.steps(list, at, { handler, errors: this.handling(handler, deadLetterAt) });
      },
      contextAt: (step) => this.ctx(step, scope),
      bodySchema: (schema, at) => {
        let check;
        try {
          check = this.ajv.compile(schema);
        } catch (err) {
          throw new RouteDefinitionError(at, `invalid JSON Schema: ${(err as Error).message}`);
        }
        return (ex) => (check(ex.body()) ? undefined : this.ajv.errorsText(check.errors, { dataVar: 'body' }));
      },
      template,
      persistedRepository: (window) => this.env.repository(path, window, true),
      invalid: (at, message) => new RouteDefinitionError(at, message),
    };
  }

  private ctx(step: string, scope: Scope, probe?: StepProbe): StepContext {
    const env = this.env;
    return {
      ...(probe ? { probe } : {}),
      routeId: env.routeId,
      step,
      log: env.log,
      scheduler: env.scheduler,
      errors: scope.errors,
      trace: this.trace,
      producer: (uri) => env.producer(uri),
      newExchange: (m, settle, props) => env.newExchange(m, settle, props),
      repository: (name, window, persisted) => env.repository(name, window, persisted),
    };
  }

  private expr<T = unknown>(e: Expression, path: string): Evaluate<T> {
    if (typeof e === 'function') return e as Evaluate<T>;
    try {
      return this.env.expressions.compile<T>(e, path);
    } catch (err) {
      throw new RouteDefinitionError('', (err as Error).message);
    }
  }

  private pred(e: Expression, path: string): Evaluate<boolean> {
    if (typeof e === 'function') return (ex) => Boolean((e as Evaluate)(ex));
    try {
      return this.env.expressions.predicate(e, path);
    } catch (err) {
      throw new RouteDefinitionError('', (err as Error).message);
    }
  }

  private producer(uri: string, path: string): Producer {
    try {
      return this.env.producer(uri);
    } catch (err) {
      throw new RouteDefinitionError(path, (err as Error).message);
    }
  }
}

interface Scope {
  handler: ErrorHandlerDef;
  errors: ErrorHandling;
}
