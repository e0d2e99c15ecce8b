// The registry's types: importing them also brings every pattern's definition type (StepDefs).
import type { AggregateDef, StepDef, StepDefs } from '../../patterns/index.ts';
import type { RouteDefinitionInput } from './definition.ts';
import type { ErrorHandlerDef, Exchange, Step, StepContext } from './types.ts';

type Branch = (b: StepsBuilder) => unknown;

/** A json-logic rule (or a constant). */
export type JsonLogic = string | number | boolean | null | readonly unknown[] | { readonly [op: string]: unknown };
/** An expression: json-logic, or a function of the exchange (TypeScript routes). */
export type Expr<T = unknown> = JsonLogic | ((ex: Exchange) => T);

/**
 * Builds a list of steps. `step(kind, def)` adds any registered step kind; the named methods are
 * typed sugar for the built-in ones (the JSON step of the same name).
 */
export class StepsBuilder {
  readonly steps: StepDef[] = [];

  /** Where the next step goes (a fluent choice sends it to its current branch). */
  protected sink(): StepDef[] {
    return this.steps;
  }

  /** Adds a step of any registered kind, with its definition as in a JSON route. */
  step<K extends keyof StepDefs>(kind: K, def: StepDefs[K]): this {
    this.sink().push({ [kind]: def } as StepDef);
    return this;
  }

  private static of(fn: Branch): StepDef[] {
    const b = new StepsBuilder();
    fn(b);
    return b.steps;
  }

  to(uri: string): this {
    return this.step('to', uri);
  }
  filter(predicate: Expr<boolean>): this {
    return this.step('filter', predicate);
  }
  /**
   * Content-based router, Camel style: `.choice().when(pred).to(...).when(pred2).to(...)
   * .otherwise().to(...).end()`, or with a callback:
   * `.choice((c) => c.when(pred, (b) => b.to(...)).otherwise((b) => b.to(...)))`.
   */
  choice(): FluentChoice<this>;
  choice(fn: (c: ChoiceBuilder) => unknown): this;
  choice(fn?: (c: ChoiceBuilder) => unknown): this | FluentChoice<this> {
    if (fn) {
      const c = new ChoiceBuilder();
      fn(c);
      return this.step('choice', c.build());
    }
    const def: { when: Array<{ if: Expr<boolean>; steps: StepDef[] }>; otherwise?: StepDef[] } = { when: [] };
    this.step('choice', def);
    return new FluentChoice(this, def);
  }
  setBody(value: Expr<unknown>): this {
    return this.step('setBody', value);
  }
  setHeader(name: string, value: Expr<unknown>): this {
    return this.step('setHeader', { name, value });
  }
  setProperty(name: string, value: Expr<unknown>): this {
    return this.step('setProperty', { name, value });
  }
  removeHeader(name: string): this {
    return this.step('removeHeader', name);
  }
  removeProperty(name: string): this {
    return this.step('removeProperty', name);
  }
  /** Without `steps`, the parts continue in place of the exchange. */
  split(by: Expr<unknown[]>, steps?: Branch, opts: { maxParts?: number } = {}): this {
    return this.step('split', { by, ...(steps ? { steps: StepsBuilder.of(steps) } : {}), ...(opts.maxParts !== undefined ? { maxParts: opts.maxParts } : {}) });
  }
  aggregate(opts: AggregateDef): this {
    return this.step('aggregate', opts);
  }
  recipientList(expr: Expr<string | string[]>): this {
    return this.step('recipientList', expr);
  }
  /** Each branch an endpoint URI or a function adding steps. */
  multicast(...branches: Array<string | Branch>): this {
    return this.step('multicast', branches.map((b) => (typeof b === 'string' ? b : StepsBuilder.of(b))));
  }
  wireTap(uri: string): this {
    return this.step('wireTap', uri);
  }
  enrich(uri: string, opts: { timeout?: number; strategy?: 'replace' | 'merge'; property?: string } = {}): this {
    return this.step('enrich', { uri, ...opts });
  }
  throttle(rate: number, period = 1000): this {
    return this.step('throttle', { rate, period });
  }
  delay(ms: Expr<number>): this {
    return this.step('delay', ms);
  }
  resequence(by: Expr<unknown>, opts: { size?: number; timeout?: number; reverse?: boolean } = {}): this {
    return this.step('resequence', { by, ...opts });
  }
  idempotent(key: Expr<unknown>, opts: { window?: number; persisted?: boolean } = {}): this {
    return this.step('idempotent', { key, ...opts });
  }
  circuitBreaker(steps: Branch, opts: { failureThreshold?: number; resetTimeout?: number; fallback?: Branch } = {}): this {
    const { fallback, ...rest } = opts;
    return this.step('circuitBreaker', { steps: StepsBuilder.of(steps), ...rest, ...(fallback ? { fallback: StepsBuilder.of(fallback) } : {}) });
  }
  loadBalance(strategy: 'roundRobin' | 'failover', ...uris: string[]): this {
    return this.step('loadBalance', { strategy, to: uris });
  }
  validate(schema: object): this {
    return this.step('validate', { schema });
  }
  log(message: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info'): this {
    return this.step('log', { message, level });
  }
  /** Steps with their own redelivery policy and dead-letter channel. */
  onError(handler: ErrorHandlerDef, steps: Branch): this {
    return this.step('errorHandler', { ...handler, steps: StepsBuilder.of(steps) });
  }
  /** Try/catch: `doTry(b => b.to(...), [{ when: pred, steps: b => b.to(...) }], b => finallySteps)`. */
  doTry(steps: Branch, catches: Array<{ when?: Expr<boolean>; steps: Branch }> = [], fin?: Branch): this {
    return this.step('doTry', {
      steps: StepsBuilder.of(steps),
      catch: catches.map((c) => ({ ...(c.when !== undefined ? { when: c.when } : {}), steps: StepsBuilder.of(c.steps) })),
      ...(fin ? { finally: StepsBuilder.of(fin) } : {}),
    });
  }
  /** A function step, sync or async; a throw follows the error handler. */
  process(fn: (ex: Exchange) => void | Promise<void>): this {
    return this.step('process', fn);
  }
  /** Any RxJS operator over exchanges (e.g. a pattern from `patterns/` composed by hand). */
  pipe(operator: (ctx: StepContext) => Step): this {
    return this.step('operator', operator);
  }
}

/** The branches of a fluent `.choice()`: steps go to the current `when` (or `otherwise`) until `end()`. */
export class FluentChoice<P> extends StepsBuilder {
  private readonly parent: P;
  private readonly def: { when: Array<{ if: Expr<boolean>; steps: StepDef[] }>; otherwise?: StepDef[] };
  private current: StepDef[] | undefined;

  constructor(parent: P, def: { when: Array<{ if: Expr<boolean>; steps: StepDef[] }>; otherwise?: StepDef[] }) {
    super();
    this.parent = parent;
    this.def = def;
  }

  protected override sink(): StepDef[] {
    if (!this.current) throw new Error('choice(): call when(predicate) before adding steps');
    return this.current;
  }

  when(predicate: Expr<boolean>): this {
    this.current = [];
    this.def.when.push({ if: predicate, steps: this.current });
    return this;
  }

  otherwise(): this {
    this.current = [];
    this.def.otherwise = this.current;
    return this;
  }

  /** Back to the steps after the choice. */
  end(): P {
    return this.parent;
  }
}

export class ChoiceBuilder {
  private readonly whens: Array<{ if: Expr<boolean>; steps: StepDef[] }> = [];
  private other: StepDef[] | undefined;

  when(predicate: Expr<boolean>, steps: Branch): this {
    const b = new StepsBuilder();
    steps(b);
    this.whens.push({ if: predicate, steps: b.steps });
    return this;
  }

  otherwise(steps: Branch): this {
    const b = new StepsBuilder();
    steps(b);
    this.other = b.steps;
    return this;
  }

  build(): { when: Array<{ if: Expr<boolean>; steps: StepDef[] }>; otherwise?: StepDef[] } {
    return { when: this.whens, ...(this.other ? { otherwise: this.other } : {}) };
  }
}

/** A route under construction: `route('id').from('queue:in').filter(...).to('queue:out')`. */
export class RouteBuilder extends StepsBuilder {
  private readonly id: string;
  private source: string | undefined;
  private options: Partial<Pick<RouteDefinitionInput, 'maxInflight' | 'drainTimeout' | 'sendTimeout' | 'description' | 'autoStart' | 'trace' | 'runAs'>> = {};
  private handler: ErrorHandlerDef | undefined;

  constructor(id: string) {
    super();
    this.id = id;
  }

  from(uri: string): this {
    this.source = uri;
    return this;
  }
  /** The route's error handler (redelivery, dead-letter channel). */
  errorHandler(h: ErrorHandlerDef): this {
    this.handler = h;
    return this;
  }
  maxInflight(n: number): this {
    this.options.maxInflight = n;
    return this;
  }
  drainTimeout(ms: number): this {
    this.options.drainTimeout = ms;
    return this;
  }
  /** How long a send to a remote endpoint may wait for its outcome (default 5000 ms; a URI's `?sendTimeout=` wins). */
  sendTimeout(ms: number): this {
    this.options.sendTimeout = ms;
    return this;
  }
  /** Record each exchange's steps in `Exchange.history`. */
  trace(on = true): this {
    this.options.trace = on;
    return this;
  }
  /** The user the route runs as when security is on (default: `security.routes.defaultUser`). */
  runAs(user: string): this {
    this.options.runAs = user;
    return this;
  }
  description(text: string): this {
    this.options.description = text;
    return this;
  }

  /** The definition (validated when deployed). */
  build(): RouteDefinitionInput {
    return { id: this.id, from: this.source ?? '', steps: this.steps, ...(this.handler ? { errorHandler: this.handler } : {}), ...this.options };
  }
}

/** Starts a TypeScript route definition. */
export function route(id: string): RouteBuilder {
  return new RouteBuilder(id);
}
