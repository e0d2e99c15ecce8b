import { z } from 'zod';
import { JunctionError } from '../errors.ts';
import { isReservedProperty } from '../core/reserved.ts';
import { MAX_SEND_TIMEOUT } from './endpoints/endpoint-uri.ts';
import type { Exchange, StepContext, Step } from './types.ts';

/**
 * The one route definition model. JSON routes parse to it; the TypeScript builder produces it.
 * Expressions are json-logic rules or (TypeScript only) functions of the exchange.
 */
export type Expression = unknown;
export type Fn<T> = (ex: Exchange) => T;

export interface ErrorHandlerDef {
  /** Endpoint URI of the dead-letter channel; without it a failed exchange is nacked to the broker. */
  deadLetter?: string;
  maxRedeliveries?: number;
  redeliveryDelay?: number;
  backoffMultiplier?: number;
  maxRedeliveryDelay?: number;
}

export interface WhenDef {
  if: Expression;
  steps: StepDef[];
}

export type StepDef =
  | { to: string }
  | { filter: Expression }
  | { choice: { when: WhenDef[]; otherwise?: StepDef[] } }
  | { setBody: Expression }
  | { setHeader: { name: string; value: Expression } }
  | { setProperty: { name: string; value: Expression } }
  | { removeHeader: string }
  | { removeProperty: string }
  | { split: { by: Expression; steps?: StepDef[]; maxParts?: number } }
  | { aggregate: AggregateDef }
  | { recipientList: Expression }
  | { multicast: Array<string | StepDef[]> }
  | { wireTap: string }
  | { enrich: { uri: string; timeout?: number; strategy?: 'replace' | 'merge'; property?: string } }
  | { throttle: { rate: number; period?: number } }
  | { delay: Expression }
  | { resequence: { by: Expression; size?: number; timeout?: number; reverse?: boolean } }
  | { idempotent: { key: Expression; window?: number; persisted?: boolean } }
  | { circuitBreaker: { steps: StepDef[]; failureThreshold?: number; resetTimeout?: number; fallback?: StepDef[] } }
  | { loadBalance: { strategy?: 'roundRobin' | 'failover'; to: string[] } }
  | { validate: { schema: object } }
  | { log: string | { message: string; level?: 'debug' | 'info' | 'warn' | 'error' } }
  | { errorHandler: ErrorHandlerDef & { steps: StepDef[] } }
  | { doTry: { steps: StepDef[]; catch?: Array<{ when?: Expression; steps: StepDef[] }>; finally?: StepDef[] } }
  | { process: (ex: Exchange) => void | Promise<void> }
  | { operator: (ctx: StepContext) => Step };

export interface AggregateDef {
  correlation: Expression;
  completionSize?: number | Expression;
  completionTimeout?: number;
  completionPredicate?: Expression;
  strategy?: 'collect' | 'merge' | 'concat';
  /** `concat`: put between bodies. */
  separator?: string;
}

export interface RouteDefinition {
  id: string;
  description?: string;
  from: string;
  steps: StepDef[];
  errorHandler?: ErrorHandlerDef;
  /** Exchanges in flight at once: the credit the source grants. */
  maxInflight: number;
  /** How long stop and suspend wait for in-flight exchanges, ms. */
  drainTimeout: number;
  /**
   * How long a send to a remote endpoint (amqp://, mqtt://) may wait for the connection and the
   * remote's outcome, ms, unless the URI gives its own (`?sendTimeout=`). Past it the send fails.
   */
  sendTimeout: number;
  /** Start suspended (as recorded by the registry). */
  autoStart: boolean;
  /** Record the steps each exchange goes through (`Exchange.history`, logged on failure). */
  trace: boolean;
}

export type RouteDefinitionInput = Omit<RouteDefinition, 'maxInflight' | 'drainTimeout' | 'sendTimeout' | 'autoStart' | 'trace'> &
  Partial<Pick<RouteDefinition, 'maxInflight' | 'drainTimeout' | 'sendTimeout' | 'autoStart' | 'trace'>>;

export const DEFAULT_MAX_INFLIGHT = 256;
export const DEFAULT_DRAIN_TIMEOUT = 10_000;
/**
 * 5 s: long enough for a remote broker's round trip under load and a quick reconnect (rhea's
 * first retries are 100-800 ms), short enough that a remote that is down sends the exchange to
 * its redelivery and dead-letter channel in seconds instead of holding it (and its credit) for ever.
 */
export const DEFAULT_SEND_TIMEOUT = 5000;

const uri = z.string().min(1);
const ms = z.number().int().min(0);
const steps = z.array(z.unknown());
const name = z.string().min(1);
const fn = z.custom<(...a: unknown[]) => unknown>((v) => typeof v === 'function', 'expected a function');
const policy = {
  deadLetter: uri.optional(),
  maxRedeliveries: z.number().int().min(0).max(1000).optional(),
  redeliveryDelay: ms.optional(),
  backoffMultiplier: z.number().min(1).optional(),
  maxRedeliveryDelay: ms.optional(),
};
const errorHandlerSchema = z.strictObject(policy);

/** Each step kind's parameters; nested step lists are checked by {@link checkSteps} (for their paths). */
const STEP_SCHEMAS: Record<string, z.ZodType> = {
  to: uri,
  filter: z.unknown(),
  choice: z.strictObject({ when: z.array(z.strictObject({ if: z.unknown(), steps })).min(1), otherwise: steps.optional() }),
  setBody: z.unknown(),
  setHeader: z.strictObject({ name, value: z.unknown() }),
  setProperty: z.strictObject({ name, value: z.unknown() }),
  removeHeader: name,
  removeProperty: name,
  split: z.strictObject({
    by: z.unknown(),
    steps: steps.optional(),
    /** At most this many parts per message (default 10,000); a larger array fails the exchange (error handler, then dead-letter channel). */
    maxParts: z.number().int().min(1).max(1_000_000).optional(),
  }),
  aggregate: z.strictObject({
    correlation: z.unknown(),
    completionSize: z.union([z.number().int().min(1), z.unknown()]).optional(),
    completionTimeout: z.number().int().min(1).optional(),
    completionPredicate: z.unknown().optional(),
    strategy: z.enum(['collect', 'merge', 'concat']).optional(),
    separator: z.string().optional(),
  }),
  recipientList: z.unknown(),
  multicast: z.array(z.union([uri, steps])).min(1),
  wireTap: uri,
  enrich: z.strictObject({ uri, timeout: z.number().int().min(1).optional(), strategy: z.enum(['replace', 'merge']).optional(), property: name.optional() }),
  throttle: z.strictObject({ rate: z.number().int().min(1), period: z.number().int().min(1).optional() }),
  delay: z.unknown(),
  resequence: z.strictObject({ by: z.unknown(), size: z.number().int().min(1).optional(), timeout: z.number().int().min(1).optional(), reverse: z.boolean().optional() }),
  idempotent: z.strictObject({ key: z.unknown(), window: z.number().int().min(1).optional(), persisted: z.boolean().optional() }),
  circuitBreaker: z.strictObject({ steps, failureThreshold: z.number().int().min(1).optional(), resetTimeout: z.number().int().min(1).optional(), fallback: steps.optional() }),
  loadBalance: z.strictObject({ strategy: z.enum(['roundRobin', 'failover']).optional(), to: z.array(uri).min(1) }),
  validate: z.strictObject({ schema: z.record(z.string(), z.unknown()) }),
  log: z.union([z.string(), z.strictObject({ message: z.string(), level: z.enum(['debug', 'info', 'warn', 'error']).optional() })]),
  errorHandler: z.strictObject({ ...policy, steps }),
  doTry: z.strictObject({ steps, catch: z.array(z.strictObject({ when: z.unknown().optional(), steps })).optional(), finally: steps.optional() }),
  process: fn,
  operator: fn,
};

export const STEP_KINDS: readonly string[] = Object.keys(STEP_SCHEMAS);

const routeSchema = z.strictObject({
  /** An editor's schema reference; ignored. */
  $schema: z.string().optional(),
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'route ids are letters, digits, _ . -'),
  description: z.string().optional(),
  from: uri,
  steps,
  errorHandler: errorHandlerSchema.optional(),
  maxInflight: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_INFLIGHT),
  drainTimeout: ms.default(DEFAULT_DRAIN_TIMEOUT),
  sendTimeout: z.number().int().min(1).max(MAX_SEND_TIMEOUT).default(DEFAULT_SEND_TIMEOUT),
  autoStart: z.boolean().default(true),
  trace: z.boolean().default(false),
});

/** A definition that does not validate: `path` is the JSON path of the bad part (`steps[2].choice.when[0].if`). */
export class RouteDefinitionError extends JunctionError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('ERR_ROUTE_INVALID', path ? `${path}: ${message}` : message);
    this.path = path;
    this.name = 'RouteDefinitionError';
  }
}

function joinPath(base: string, p: ReadonlyArray<PropertyKey>): string {
  let out = base;
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

function check<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new RouteDefinitionError(joinPath(path, issue.path), issue.message);
}

function checkSteps(raw: unknown, path: string): StepDef[] {
  if (!Array.isArray(raw)) throw new RouteDefinitionError(path, 'expected an array of steps');
  return raw.map((s, i) => checkStep(s, `${path}[${i}]`));
}

function checkStep(raw: unknown, path: string): StepDef {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RouteDefinitionError(path, 'a step is an object with one key, e.g. {"to": "queue:out"}');
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw new RouteDefinitionError(path, `a step has exactly one key, got ${keys.length} (${keys.join(', ')})`);
  const kind = keys[0]!;
  const schema = STEP_SCHEMAS[kind];
  if (!schema) throw new RouteDefinitionError(path, `unknown step '${kind}'; steps: ${STEP_KINDS.join(', ')}`);
  const p = `${path}.${kind}`;
  const v = check(schema, (raw as Record<string, unknown>)[kind], p) as any;
  if (kind === 'setHeader' || kind === 'setProperty') refuseReserved(v.name, `${p}.name`);
  if (kind === 'removeHeader' || kind === 'removeProperty') refuseReserved(v, p);
  switch (kind) {
    case 'choice':
      return {
        choice: {
          when: v.when.map((w: { if: unknown; steps: unknown }, i: number) => ({ if: w.if, steps: checkSteps(w.steps, `${p}.when[${i}].steps`) })),
          ...(v.otherwise !== undefined ? { otherwise: checkSteps(v.otherwise, `${p}.otherwise`) } : {}),
        },
      };
    case 'split':
      return { split: { by: v.by, ...(v.steps !== undefined ? { steps: checkSteps(v.steps, `${p}.steps`) } : {}), ...(v.maxParts !== undefined ? { maxParts: v.maxParts } : {}) } };
    case 'multicast':
      return { multicast: v.map((b: unknown, i: number) => (typeof b === 'string' ? b : checkSteps(b, `${p}[${i}]`))) };
    case 'circuitBreaker':
      return { circuitBreaker: { ...v, steps: checkSteps(v.steps, `${p}.steps`), ...(v.fallback !== undefined ? { fallback: checkSteps(v.fallback, `${p}.fallback`) } : {}) } };
    case 'errorHandler':
      return { errorHandler: { ...v, steps: checkSteps(v.steps, `${p}.steps`) } };
    case 'doTry':
      return {
        doTry: {
          steps: checkSteps(v.steps, `${p}.steps`),
          ...(v.catch !== undefined ? { catch: v.catch.map((c: { when?: unknown; steps: unknown }, i: number) => ({ ...(c.when !== undefined ? { when: c.when } : {}), steps: checkSteps(c.steps, `${p}.catch[${i}].steps`) })) } : {}),
          ...(v.finally !== undefined ? { finally: checkSteps(v.finally, `${p}.finally`) } : {}),
        },
      };
    default:
      return { [kind]: v } as StepDef;
  }
}

/**
 * Adapter marker properties (core/reserved.ts: `x-amqp-*`) hold a protocol's own encoding of the
 * message (issue 11, item 2): a route that set one would forge what an AMQP consumer receives, one
 * that removed one would leave the rest mislabelled. Refused by name; a TypeScript step that sets
 * one anyway has it dropped at the broker endpoint.
 */
function refuseReserved(name: string, path: string): void {
  if (isReservedProperty(name)) {
    throw new RouteDefinitionError(path, `'${name.slice(0, 80)}' is reserved: x-amqp-* properties belong to the AMQP adapter, which keeps a message's AMQP encoding in them; a route forwards them as they came but may not set or remove them`);
  }
}

/** Validates a definition (JSON or from the builder); throws {@link RouteDefinitionError} naming the path. */
export function validateDefinition(raw: unknown): RouteDefinition {
  const base = check(routeSchema, raw, '');
  const { $schema: _schema, ...fields } = base;
  const def: RouteDefinition = { ...fields, steps: checkSteps(fields.steps, 'steps') } as RouteDefinition;
  if (base.errorHandler === undefined) delete def.errorHandler;
  if (base.description === undefined) delete def.description;
  // MQTT.js hands a source one message at a time (the next after the PUBACK of the last).
  const mqtt = def.from.startsWith('mqtt://');
  checkAggregates(def.steps, 'steps', mqtt ? 1 : def.maxInflight, mqtt ? 'an mqtt:// source has one message in flight at a time' : `exceeds maxInflight ${def.maxInflight}`);
  return def;
}

/**
 * An aggregate whose inputs outnumber the route's credit would wait forever without a timeout.
 * After a split the inputs are parts of one source message, which take no credit of their own.
 */
function checkAggregates(list: StepDef[], path: string, maxInflight: number, limit: string, parts = false): void {
  let perPart = parts;
  list.forEach((s, i) => {
    const p = `${path}[${i}]`;
    if ('aggregate' in s) {
      const a = s.aggregate;
      // Camel: "at least one of the completion options must be set"; without one the group waits forever.
      if (a.completionSize === undefined && a.completionTimeout === undefined && a.completionPredicate === undefined) {
        throw new RouteDefinitionError(`${p}.aggregate`, 'give completionSize, completionTimeout or completionPredicate: without one a group never completes');
      }
      const size = a.completionSize;
      if ((typeof size === 'number' && !(Number.isInteger(size) && size >= 1)) || (size !== undefined && typeof size !== 'number' && typeof size !== 'function' && (size === null || typeof size !== 'object'))) {
        throw new RouteDefinitionError(`${p}.aggregate.completionSize`, 'a whole number of at least 1, or an expression');
      }
      if (!perPart && typeof a.completionSize === 'number' && a.completionSize > maxInflight && a.completionTimeout === undefined) {
        throw new RouteDefinitionError(`${p}.aggregate.completionSize`, `${a.completionSize}: ${limit}, and inputs stay unacknowledged until the aggregate is sent, so raise maxInflight or set completionTimeout`);
      }
    }
    for (const [key, nested] of nestedSteps(s)) checkAggregates(nested, `${p}.${key}`, maxInflight, limit, perPart || key === 'split.steps');
    if ('split' in s && !s.split.steps) perPart = true; // the parts continue in place of the exchange
  });
}

/** Nested step lists of a step, with their path below it. */
export function nestedSteps(s: StepDef): Array<[string, StepDef[]]> {
  if ('choice' in s) {
    const out: Array<[string, StepDef[]]> = s.choice.when.map((w, i) => [`choice.when[${i}].steps`, w.steps]);
    if (s.choice.otherwise) out.push(['choice.otherwise', s.choice.otherwise]);
    return out;
  }
  if ('split' in s) return s.split.steps ? [['split.steps', s.split.steps]] : [];
  if ('multicast' in s) return s.multicast.flatMap((b, i): Array<[string, StepDef[]]> => (typeof b === 'string' ? [] : [[`multicast[${i}]`, b]]));
  if ('circuitBreaker' in s) return [['circuitBreaker.steps', s.circuitBreaker.steps], ...(s.circuitBreaker.fallback ? [['circuitBreaker.fallback', s.circuitBreaker.fallback] as [string, StepDef[]]] : [])];
  if ('errorHandler' in s) return [['errorHandler.steps', s.errorHandler.steps]];
  if ('doTry' in s) {
    const out: Array<[string, StepDef[]]> = [['doTry.steps', s.doTry.steps]];
    (s.doTry.catch ?? []).forEach((c, i) => out.push([`doTry.catch[${i}].steps`, c.steps]));
    if (s.doTry.finally) out.push(['doTry.finally', s.doTry.finally]);
    return out;
  }
  return [];
}

/** Whether a definition is plain data (no functions), so it can be recorded and shown. */
export function isSerializable(def: RouteDefinition): boolean {
  const seen = (v: unknown): boolean => {
    if (typeof v === 'function') return false;
    if (Array.isArray(v)) return v.every(seen);
    if (v !== null && typeof v === 'object') return Object.values(v).every(seen);
    return true;
  };
  return seen(def);
}


/** Step parameters that are step lists, by step kind (for the JSON Schema). */
const NESTED: Record<string, string[]> = {
  choice: ['otherwise'],
  split: ['steps'],
  circuitBreaker: ['steps', 'fallback'],
  errorHandler: ['steps'],
  doTry: ['steps', 'finally'],
};

/**
 * The JSON Schema of `*.route.json` files (draft 2020-12), for editors: `"$schema":
 * "./route.schema.json"` in a route file. Expressions are free-form (json-logic); the deploy-time
 * validation remains the reference (it also checks expressions and endpoints).
 */
export function routeJsonSchema(): Record<string, unknown> {
  const ref = { $ref: '#/$defs/steps' };
  const stepDefs: Record<string, unknown>[] = [];
  for (const [kind, schema] of Object.entries(STEP_SCHEMAS)) {
    if (kind === 'process' || kind === 'operator') continue; // TypeScript only
    const params = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<string, any>;
    delete params.$schema;
    for (const key of NESTED[kind] ?? []) if (params.properties?.[key]) params.properties[key] = ref;
    if (kind === 'choice') params.properties.when.items.properties.steps = ref;
    if (kind === 'doTry') params.properties.catch.items.properties.steps = ref;
    if (kind === 'multicast') params.items = { anyOf: [{ type: 'string', minLength: 1 }, ref] };
    stepDefs.push({ type: 'object', properties: { [kind]: params }, required: [kind], additionalProperties: false });
  }
  const route = z.toJSONSchema(routeSchema, { unrepresentable: 'any', io: 'input' }) as Record<string, any>;
  route.properties.steps = ref;
  return {
    ...route,
    title: 'Junction route',
    $defs: { steps: { type: 'array', items: { $ref: '#/$defs/step' } }, step: { oneOf: stepDefs } },
  };
}
