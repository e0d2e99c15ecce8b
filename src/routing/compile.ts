import { Ajv } from 'ajv';
import { identity, type SchedulerLike } from 'rxjs';
import {
  aggregate, choice, circuitBreaker, delay, doTry, enrich, filter, idempotent, loadBalance, log, memoryRepository, multicast, processStep,
  recipientList, removeHeader, removeProperty, resequence, setBody, setHeader, setProperty, split, throttle, to, validate, wireTap,
} from '../../patterns/index.ts';
import { fuse, type SyncStep } from '../../patterns/internals.ts';
import type { ErrorHandlerDef, Expression, RouteDefinition, StepDef } from './definition.ts';
import { RouteDefinitionError } from './definition.ts';
import { checkEndpoint } from './endpoints/endpoint-uri.ts';
import { expressionData, type Expressions } from './expression.ts';
import type { Log } from '../core/ports/log.ts';
import type { ErrorHandling, Evaluate, Exchange, ExchangeMessage, IdempotentRepository, Outcome, Producer, RedeliveryPolicy, Step, StepContext } from './types.ts';

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

function lookup(data: unknown, path: string): unknown {
  let v: any = data;
  for (const k of path.split('.')) {
    if (v === null || v === undefined) return undefined;
    v = v[k];
  }
  return v;
}

/** `${body.id}`-style templates of the log step. */
export function template(text: string): Evaluate<string> {
  if (!text.includes('${')) return () => text;
  return (ex) => {
    const data = expressionData(ex);
    return text.replace(/\$\{([^}]+)\}/g, (_, p: string) => {
      const key = p.trim();
      const v = key === 'id' ? ex.id : lookup(data, key);
      return v === undefined ? '' : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    });
  };
}

/**
 * Compiles a definition to one RxJS operator. Everything that can be checked is checked here,
 * once, at deploy (expressions against the allow-list, endpoint URIs, JSON Schemas), so a bad
 * definition never starts; errors name the step's path.
 */
export class RouteCompiler {
  private readonly env: CompileEnv;
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  constructor(env: CompileEnv) {
    this.env = env;
  }

  private trace = false;

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

  private steps(list: StepDef[], path: string, scope: Scope): Step {
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

  private ctx(step: string, scope: Scope, errors: ErrorHandling = scope.errors): StepContext {
    const env = this.env;
    return {
      routeId: env.routeId,
      step,
      log: env.log,
      scheduler: env.scheduler,
      errors,
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

  private step(s: StepDef, path: string, scope: Scope): Step {
    const kind = Object.keys(s)[0]!;
    const p = `${path}.${kind}`;
    const ctx = this.ctx(path, scope);
    if ('to' in s) return to(this.producer(s.to, p), ctx);
    if ('filter' in s) return filter(this.pred(s.filter, p), ctx);
    if ('choice' in s) {
      const when = s.choice.when.map((w, i) => ({ predicate: this.pred(w.if, `${p}.when[${i}].if`), step: this.steps(w.steps, `${p}.when[${i}].steps`, scope) }));
      const otherwise = s.choice.otherwise ? this.steps(s.choice.otherwise, `${p}.otherwise`, scope) : undefined;
      return choice(when, otherwise, ctx);
    }
    if ('setBody' in s) return setBody(this.expr(s.setBody, p), ctx);
    if ('setHeader' in s) return setHeader(s.setHeader.name, this.expr(s.setHeader.value, `${p}.value`), ctx);
    if ('setProperty' in s) return setProperty(s.setProperty.name, this.expr(s.setProperty.value, `${p}.value`), ctx);
    if ('removeHeader' in s) return removeHeader(s.removeHeader, ctx);
    if ('removeProperty' in s) return removeProperty(s.removeProperty, ctx);
    if ('split' in s) return split(this.expr(s.split.by, `${p}.by`), s.split.steps ? this.steps(s.split.steps, `${p}.steps`, scope) : undefined, ctx, s.split.maxParts);
    if ('aggregate' in s) {
      const a = s.aggregate;
      const size = a.completionSize;
      return aggregate(
        {
          correlation: this.expr(a.correlation, `${p}.correlation`),
          ...(size !== undefined ? { completionSize: typeof size === 'number' ? () => size : this.expr<number>(size, `${p}.completionSize`) } : {}),
          ...(a.completionTimeout !== undefined ? { completionTimeout: a.completionTimeout } : {}),
          ...(a.completionPredicate !== undefined ? { completionPredicate: this.pred(a.completionPredicate, `${p}.completionPredicate`) } : {}),
          strategy: a.strategy ?? 'collect',
          ...(a.separator !== undefined ? { separator: a.separator } : {}),
        },
        ctx,
      );
    }
    if ('recipientList' in s) return recipientList(this.expr(s.recipientList, p), ctx);
    if ('multicast' in s) {
      const branches = s.multicast.map((b, i) => (typeof b === 'string' ? to(this.producer(b, `${p}[${i}]`), this.ctx(`${p}[${i}]`, scope)) : this.steps(b, `${p}[${i}]`, scope)));
      return multicast(branches, ctx);
    }
    if ('wireTap' in s) return wireTap(this.producer(s.wireTap, p), ctx);
    if ('enrich' in s) {
      const { uri, ...opts } = s.enrich;
      const producer = this.producer(uri, `${p}.uri`); // checks the URI
      // Only broker addresses have request-reply here (a reply queue and correlation id); another
      // endpoint would fail every message at run time.
      if (!uri.startsWith('queue:') && !uri.startsWith('topic:')) throw new RouteDefinitionError(`${p}.uri`, `${uri}: enrich needs request-reply, which only queue: and topic: endpoints on this broker have`);
      return enrich(producer, opts, ctx);
    }
    if ('throttle' in s) return throttle(s.throttle.rate, s.throttle.period ?? 1000, ctx);
    if ('delay' in s) return delay(this.expr<number>(s.delay, p), ctx);
    if ('resequence' in s) {
      const { by, ...rest } = s.resequence;
      return resequence({ by: this.expr(by, `${p}.by`), ...rest }, ctx);
    }
    if ('idempotent' in s) {
      const { key, window = 10_000, persisted = false } = s.idempotent;
      const repo = persisted ? this.env.repository(path, window, true) : memoryRepository(window);
      return idempotent(this.expr(key, `${p}.key`), repo, ctx);
    }
    if ('circuitBreaker' in s) {
      const cb = s.circuitBreaker;
      const fallback = cb.fallback ? this.steps(cb.fallback, `${p}.fallback`, scope) : undefined;
      // The breaker builds its steps at once (so a bad inner step fails the deploy) with its own error handling.
      const inner = (errors: ErrorHandling) => this.steps(cb.steps, `${p}.steps`, { handler: scope.handler, errors });
      return circuitBreaker(inner, fallback, { ...(cb.failureThreshold !== undefined ? { failureThreshold: cb.failureThreshold } : {}), ...(cb.resetTimeout !== undefined ? { resetTimeout: cb.resetTimeout } : {}) }, ctx);
    }
    if ('loadBalance' in s) return loadBalance(s.loadBalance.to.map((u, i) => this.producer(u, `${p}.to[${i}]`)), s.loadBalance.strategy ?? 'roundRobin', ctx);
    if ('validate' in s) {
      let check;
      try {
        check = this.ajv.compile(s.validate.schema);
      } catch (err) {
        throw new RouteDefinitionError(`${p}.schema`, `invalid JSON Schema: ${(err as Error).message}`);
      }
      return validate((ex) => (check(ex.body()) ? undefined : this.ajv.errorsText(check.errors, { dataVar: 'body' })), ctx);
    }
    if ('log' in s) {
      const l = typeof s.log === 'string' ? { message: s.log } : s.log;
      return log(template(l.message), l.level ?? 'info', ctx);
    }
    if ('errorHandler' in s) {
      const { steps, ...h } = s.errorHandler;
      const handler: ErrorHandlerDef = { ...scope.handler, ...h };
      return this.steps(steps, `${p}.steps`, { handler, errors: this.handling(handler, `${p}.deadLetter`) });
    }
    if ('doTry' in s) {
      const dt = s.doTry;
      const inner = (errors: ErrorHandling) => this.steps(dt.steps, `${p}.steps`, { handler: scope.handler, errors });
      const catches = (dt.catch ?? []).map((c, i) => ({
        ...(c.when !== undefined ? { when: this.pred(c.when, `${p}.catch[${i}].when`) } : {}),
        step: this.steps(c.steps, `${p}.catch[${i}].steps`, scope),
      }));
      const tried = doTry(inner, catches, ctx);
      if (!dt.finally) return tried;
      const fin = this.steps(dt.finally, `${p}.finally`, scope);
      return (source) => fin(tried(source));
    }
    if ('process' in s) return processStep(s.process, ctx);
    if ('operator' in s) return s.operator(ctx);
    throw new RouteDefinitionError(path, `unknown step '${kind}'`);
  }
}

interface Scope {
  handler: ErrorHandlerDef;
  errors: ErrorHandling;
}

