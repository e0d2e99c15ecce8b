/**
 * The routing engine's public types: the exchange envelope, the step context every pattern
 * receives, endpoints. Patterns in `patterns/` import only this file (types only), never the core.
 */
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { BodyType, MessageInput, PropertyValue } from '../core/message.ts';
import type { Log } from '../core/ports/log.ts';
import type { ZodType } from 'zod';

export type HeaderValue = PropertyValue;
export type BodyKind = BodyType;

/** The core message fields an exchange message carries under their core names and meanings. */
type CoreFields = Omit<MessageInput, 'id' | 'destination' | 'replyTo' | 'originalDestination' | 'properties' | 'body' | 'bodyType' | 'durable'>;

/**
 * The message an exchange carries: the core's message (`MessageInput`, src/core/message.ts) as a
 * mutable working copy, so every field a message has survives a route (TTL, user id, priority,
 * group, delivery time...). Only four things are spelled differently, for patterns and expressions:
 *
 * - `headers` are the core `properties` (STOMP user headers, AMQP application properties, MQTT
 *   user properties): this exchange's own object, which steps change in place.
 * - `messageId` is the core `id`, the id the source gave the message. A producer sends a new message:
 *   the target gives it its own id and timestamp (split parts and multicast copies must not share one).
 * - `destination`, `replyTo` and `originalDestination` are endpoint URIs, not core destinations. A
 *   broker address is `queue:<name>` / `topic:<name>` (what a route's `to` takes); `destination` of
 *   a message from a remote source is that endpoint's URI (`mqtt://h:1883/a/b`), and a `replyTo`
 *   from a remote source is the address as that broker gave it (meaningful there). A broker producer
 *   makes `queue:`/`topic:` URIs core destinations and keeps any other reply-to as the
 *   `JMS_AMQP_REPLY_TO` property, as the AMQP adapter keeps a reply-to it cannot resolve.
 *
 * `expiration` is absolute (epoch ms, as in the core), so a TTL keeps counting across a route.
 */
export interface ExchangeMessage extends CoreFields {
  body: Buffer;
  bodyType: BodyKind;
  headers: Record<string, HeaderValue>;
  durable: boolean;
  messageId?: string;
  destination?: string;
  replyTo?: string;
  originalDestination?: string;
}

/** One step an exchange went through, for tracing (`route history`). */
export interface HistoryEntry {
  step: string;
  at: number;
}

/** How an exchange ended: accepted downstream, failed, or handed back untouched (route stopping). */
export type Outcome = { kind: 'ack' } | { kind: 'nack'; error: Error } | { kind: 'release' };

/**
 * An exchange: one message in a route plus its settlement. Settle it exactly once with `ack`
 * (done), `nack` (failed) or `release` (not processed, give it back). An exchange derived from
 * another (split part, multicast copy) holds its parent open until it is settled itself, so the
 * source message is acknowledged only when everything derived from it is settled.
 */
export interface Exchange {
  readonly id: string;
  readonly routeId: string;
  message: ExchangeMessage;
  /** Exchange properties: route-local values, never sent (Camel's exchange properties). */
  properties: Record<string, unknown>;
  /** The message as it entered the route (or was created by a split or aggregate): what a dead-letter channel sends. */
  readonly original: ExchangeMessage;
  /** The steps it went through, when the route traces (`"trace": true`). */
  readonly history: HistoryEntry[];
  readonly createdAt: number;
  /** 1 on the first delivery from the source, raised by the broker on redelivery. */
  readonly deliveryCount: number;
  readonly settled: boolean;
  /** The body parsed as JSON (once, lazily); a body that is not JSON is its text. */
  body(): unknown;
  /** Replaces the body: a Buffer as is, a string as text, anything else as JSON. */
  setBody(value: unknown): void;
  ack(): void;
  nack(error: Error): void;
  release(): void;
  /**
   * A new exchange that holds this one open until it is settled: a copy of the message and
   * properties, with `body` as its body when given (a split part). Its `original` is that message.
   */
  derive(body?: unknown): Exchange;
  /** Runs `fn` with the outcome once this exchange and everything derived from it are settled. */
  onSettled(fn: (outcome: Outcome, ex: Exchange) => void): void;
}

/** A compiled expression or predicate: a json-logic rule or a TypeScript function. */
export type Evaluate<T = unknown> = (ex: Exchange) => T;

/** Where an exchange is sent (queue, topic, remote broker, log). Resolves once the target has it durably. */
export interface Producer {
  readonly uri: string;
  send(ex: Exchange): Promise<unknown>;
  /** Request-reply: sends and resolves with the reply (enrich). */
  request?(ex: Exchange, timeoutMs: number): Promise<ExchangeMessage>;
}

/** Redelivery policy of a step (Camel's RedeliveryPolicy). */
export interface RedeliveryPolicy {
  maxRedeliveries: number;
  redeliveryDelay: number;
  backoffMultiplier: number;
  maxRedeliveryDelay: number;
}

/** What happens when a step fails for good: the route's error handler (dead-letter channel, or nack). */
export interface ErrorHandling {
  readonly policy: RedeliveryPolicy;
  /** Settles a failed exchange: dead-letters it (then acks) or nacks it to the broker. */
  fail(ex: Exchange, step: string, error: Error, attempts: number): void;
  /** Counts one redelivery (statistics). */
  redelivered?(ex: Exchange, step: string): void;
}

/** Keys an idempotent consumer has seen, optionally persisted. */
export interface IdempotentRepository {
  has(key: string): boolean;
  add(key: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** A step's counters as a pattern updates them (failures are counted by the step's error handling). */
export interface StepCounters {
  hold(ex: Exchange): void;
  passed(ex: Exchange): void;
}

/** What a pattern gets from the route around it. */
export interface StepContext {
  readonly routeId: string;
  /** Where the step sits in the definition, e.g. `steps[2].choice.when[0].steps[1]`. */
  readonly step: string;
  readonly log: Log;
  /** Timers (delay, throttle, aggregate timeouts, redelivery); a TestScheduler in marble tests. */
  readonly scheduler: SchedulerLike;
  readonly errors: ErrorHandling;
  /** Record each step in the exchange's history (the route's `trace` option; off by default, as in Camel). */
  readonly trace?: boolean;
  /**
   * The step's counters (src/routing/step-probe.ts), for a pattern that counts its own exchanges
   * (asyncStep): `hold` when one reaches the step, `passed` when the step passes it on. A step
   * that does not use them is counted around its operator by the compiler.
   */
  readonly probe?: StepCounters;
  /** A producer for an endpoint URI (cached; for dynamic recipients). */
  producer(uri: string): Producer;
  /** A new exchange (aggregate) that settles `onSettled` instead of a parent. */
  newExchange(message: ExchangeMessage, onSettled: (outcome: Outcome) => void, properties?: Record<string, unknown>): Exchange;
  /** An idempotent repository for this step. */
  repository?(name: string, window: number, persisted: boolean): IdempotentRepository;
}

/** A pattern as compiled: an RxJS operator over exchanges. */
export type Step = OperatorFunction<Exchange, Exchange>;

/** A synchronous step's operator, with its function so a compiler can fuse consecutive ones. */
export type SyncStep = Step & { sync: (ex: Exchange) => Exchange | undefined };

/** An expression in a definition: a json-logic rule, or (TypeScript routes) a function of the exchange. */
export type Expression = unknown;

/** The redelivery policy and dead-letter channel of a route or of an `errorHandler` step. */
export interface ErrorHandlerDef {
  /** Endpoint URI of the dead-letter channel; without it a failed exchange is nacked to the broker. */
  deadLetter?: string;
  maxRedeliveries?: number;
  redeliveryDelay?: number;
  backoffMultiplier?: number;
  maxRedeliveryDelay?: number;
}

/**
 * Every step kind's definition, by kind. Each pattern file adds its own by declaration merging
 * (`declare module '../src/routing/types.ts' { interface StepDefs { filter: Expression } }`), so
 * {@link StepDef} and the builder's `.step(kind, def)` follow the registered patterns.
 */
export interface StepDefs {}

/** One step of a route definition: an object with exactly one key, its kind. */
export type StepDef = { [K in keyof StepDefs]: { [P in K]: StepDefs[K] } }[keyof StepDefs];

/**
 * What a step's `compile` gets from the route compiler (routing implements it): everything is
 * checked once, at deploy, and a problem names its path in the definition.
 */
export interface StepCompiler {
  /** The step's path with its kind, e.g. `steps[2].choice`: the prefix of its parameters' paths. */
  readonly path: string;
  /** The run-time context of the step's operator (its `step` is the path without the kind). */
  readonly context: StepContext;
  /** An expression (json-logic, checked against the allow-list; or a TypeScript function). */
  expression<T = unknown>(e: Expression, path: string): Evaluate<T>;
  /** A predicate (json-logic truthiness; a TypeScript function's result as a boolean). */
  predicate(e: Expression, path: string): Evaluate<boolean>;
  /** A producer for an endpoint URI; a bad URI fails the deploy naming `path`. */
  producer(uri: string, path: string): Producer;
  /** A nested step list in this step's scope, or with `errors` as its error handling (a breaker, a try). */
  steps(list: readonly StepDef[], path: string, errors?: ErrorHandling): Step;
  /** A nested step list under `handler` merged over the enclosing one (its dead letter named at `deadLetterPath`). */
  handled(handler: ErrorHandlerDef, list: readonly StepDef[], path: string, deadLetterPath: string): Step;
  /** The run-time context of another position in this step's scope (a multicast branch's endpoint). */
  contextAt(step: string): StepContext;
  /** The body's JSON Schema check, compiled now: what is wrong with an exchange's body, or undefined. */
  bodySchema(schema: object, path: string): (ex: Exchange) => string | undefined;
  /** A log template (`${body.id}`, `${headers.x}`, `${properties.y}`, `${id}`). */
  template(text: string): Evaluate<string>;
  /** The route's persisted idempotent repository for this step. */
  persistedRepository(window: number): IdempotentRepository;
  /** A definition error at `path`, for the step to throw. */
  invalid(path: string, message: string): Error;
}

/**
 * A step kind as `patterns/index.ts` registers it: the definition schema (nested step lists are
 * `z.array(z.unknown())`, checked step by step by the registry's user), where its step lists are,
 * and how it compiles.
 */
export interface StepDescriptor<K extends keyof StepDefs = keyof StepDefs> {
  readonly kind: K;
  /** The definition's zod schema; its messages are the validation errors a route author sees. */
  readonly schema: ZodType;
  /**
   * Where the definition holds step lists: dotted paths, `[]` for each element of an array
   * (`when[].steps`, `otherwise`, `[]` for a definition that is itself a list of branches). Only
   * arrays there are step lists (a multicast branch may be a URI).
   */
  readonly nested?: readonly string[];
  /** Fields naming a header or property (`''`: the definition itself); the adapters' reserved names are refused. */
  readonly names?: readonly string[];
  /** A step only TypeScript routes can have (a function): left out of the route JSON Schema. */
  readonly typescriptOnly?: boolean;
  compile(def: StepDefs[K], c: StepCompiler): Step;
}
