import { z } from 'zod';
import { JunctionError } from '../errors.ts';
import { isReservedProperty } from '../core/reserved.ts';
import { errorPolicy, stepRegistry, type StepRegistry } from '../../patterns/index.ts';
import { MAX_SEND_TIMEOUT } from './endpoints/endpoint-uri.ts';
import { forEachStepList } from './step-lists.ts';
import type { ErrorHandlerDef, StepDef } from './types.ts';

/**
 * The one route definition model. JSON routes parse to it; the TypeScript builder produces it.
 * Its steps are the kinds of a step registry (`patterns/index.ts`): each kind's schema checks its
 * parameters, and its nested step lists are checked here step by step, so errors name the path.
 */
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
  /**
   * The user the route runs as when security is on (issue 14): its sends and its consumer are
   * checked against this user's permissions, like a client's. Omitted: `security.routes.defaultUser`.
   */
  runAs?: string;
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
/** A route's own fields; its steps are checked by {@link checkSteps}. */
export const routeSchema = z.strictObject({
  /** An editor's schema reference; ignored. */
  $schema: z.string().optional(),
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'route ids are letters, digits, _ . -'),
  description: z.string().optional(),
  from: uri,
  steps: z.array(z.unknown()),
  errorHandler: z.strictObject(errorPolicy).optional(),
  maxInflight: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_INFLIGHT),
  drainTimeout: ms.default(DEFAULT_DRAIN_TIMEOUT),
  sendTimeout: z.number().int().min(1).max(MAX_SEND_TIMEOUT).default(DEFAULT_SEND_TIMEOUT),
  autoStart: z.boolean().default(true),
  trace: z.boolean().default(false),
  runAs: z.string().min(1).max(256).optional(),
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

/**
 * Levels of JSON nesting a definition may have (objects and arrays; the samples use 10). Validation,
 * compilation and the graph recurse over the definition: a few thousand levels (35 KB of nested
 * `choice`, well under the API's body limit) overflowed the stack, a 500 and an unlocated error.
 * Same default as `selectors.maxDepth`.
 */
export const MAX_DEFINITION_DEPTH = 64;

/** Refuses a definition nested deeper than {@link MAX_DEFINITION_DEPTH}, walking it without recursion (plain objects and arrays only). */
function checkDepth(raw: unknown): void {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: raw, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) continue; // a TypeScript route's values (RegExp, class instances) are not walked
    if (depth >= MAX_DEFINITION_DEPTH) throw new RouteDefinitionError(path, `nested more than ${MAX_DEFINITION_DEPTH} levels deep`);
    for (const [k, child] of Object.entries(v)) stack.push({ v: child, depth: depth + 1, path: Array.isArray(v) ? `${path}[${k}]` : path === '' ? k : `${path}.${k}` });
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

/**
 * Steps a definition may have, nested ones included. Compiling a step takes ~50-80 µs on the event
 * loop (expressions, endpoints): 10,000 steps (370 KB, under the API's body limit) held it ~0.8 s
 * per dry run, which a `view` caller may ask for in a loop. Camel routes have tens of steps.
 */
export const MAX_DEFINITION_STEPS = 1000;

function checkSteps(raw: unknown, path: string, registry: StepRegistry, count: { steps: number }): StepDef[] {
  if (!Array.isArray(raw)) throw new RouteDefinitionError(path, 'expected an array of steps');
  count.steps += raw.length;
  if (count.steps > MAX_DEFINITION_STEPS) throw new RouteDefinitionError(path, `more than ${MAX_DEFINITION_STEPS} steps in the route (nested ones included)`);
  return raw.map((s, i) => checkStep(s, `${path}[${i}]`, registry, count));
}

function checkStep(raw: unknown, path: string, registry: StepRegistry, count: { steps: number }): StepDef {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RouteDefinitionError(path, 'a step is an object with one key, e.g. {"to": "queue:out"}');
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw new RouteDefinitionError(path, `a step has exactly one key, got ${keys.length} (${keys.join(', ')})`);
  const kind = keys[0]!;
  const descriptor = registry.get(kind);
  if (!descriptor) throw new RouteDefinitionError(path, `unknown step '${kind}'; steps: ${registry.kinds().join(', ')}`);
  const p = `${path}.${kind}`;
  // The parsed value is zod's copy (objects and arrays made anew), so its step lists are replaced in place.
  const v = check(descriptor.schema, (raw as Record<string, unknown>)[kind], p) as unknown;
  for (const field of descriptor.names ?? []) {
    const name = field === '' ? v : (v as Record<string, unknown>)[field];
    if (typeof name === 'string') refuseReserved(name, field === '' ? p : `${p}.${field}`);
  }
  forEachStepList(v, descriptor.nested, p, (list, at, holder, key) => {
    holder[key] = checkSteps(list, at, registry, count);
  });
  return { [kind]: v } as StepDef;
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
export function validateDefinition(raw: unknown, registry: StepRegistry = stepRegistry): RouteDefinition {
  checkDepth(raw);
  const base = check(routeSchema, raw, '');
  const { $schema: _schema, ...fields } = base;
  const def: RouteDefinition = { ...fields, steps: checkSteps(fields.steps, 'steps', registry, { steps: 0 }) } as RouteDefinition;
  if (base.errorHandler === undefined) delete def.errorHandler;
  if (base.description === undefined) delete def.description;
  // MQTT.js hands a source one message at a time (the next after the PUBACK of the last).
  const mqtt = def.from.startsWith('mqtt://');
  checkAggregates(registry, def.steps, 'steps', mqtt ? 1 : def.maxInflight, mqtt ? 'an mqtt:// source has one message in flight at a time' : `exceeds maxInflight ${def.maxInflight}`);
  return def;
}

/**
 * An aggregate whose inputs outnumber the route's credit would wait forever without a timeout.
 * After a split the inputs are parts of one source message, which take no credit of their own.
 */
function checkAggregates(registry: StepRegistry, list: StepDef[], path: string, maxInflight: number, limit: string, parts = false): void {
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
    const kind = Object.keys(s)[0]!;
    forEachStepList((s as Record<string, unknown>)[kind], registry.get(kind)?.nested, kind, (nested, key) => {
      checkAggregates(registry, nested as StepDef[], `${p}.${key}`, maxInflight, limit, perPart || key === 'split.steps');
    });
    if ('split' in s && !s.split.steps) perPart = true; // the parts continue in place of the exchange
  });
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

