/**
 * The shapes of the management REST API and its Server-Sent Events as the console uses them
 * (docs/management.md). The console is browser code that imports nothing of the broker (lint rule
 * `console-is-browser-only`), so the shapes are restated here rather than imported: only the fields
 * the console reads, each optional where the server may leave it out.
 */

/** `{ error: { code, message, issues? } }`: every API error. */
export interface Issue {
  /** Dotted JSON path into what was sent (`steps.2.to`). */
  readonly path: string;
  readonly message: string;
}

export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly Issue[] };
}

/** A page of a list: `?limit=&cursor=`. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
  readonly total?: number;
}

export interface Session {
  readonly security: boolean;
  readonly user?: string;
  readonly roles?: readonly string[];
  readonly csrfToken?: string;
}

export interface BrokerTotals {
  readonly messages: number;
  readonly bytes: number;
  readonly paged: number;
  readonly inDelivery: number;
  readonly enqueued: number;
  readonly acked: number;
  readonly expired: number;
  readonly deadLettered: number;
  readonly sent: number;
  readonly unrouted: number;
  readonly queues: number;
  readonly topics: number;
  readonly consumers: number;
}

export interface Alarm {
  readonly code: string;
  readonly message: string;
}

/** One second of the broker (`stats` event, history). */
export interface Sample {
  readonly at: number;
  readonly totals: BrokerTotals;
  readonly rates: { readonly sent: number; readonly enqueued: number; readonly acked: number; readonly expired: number; readonly deadLettered: number };
  readonly connections: Readonly<Record<string, number>>;
  readonly memory: { readonly limitBytes: number; readonly usedBytes: number; readonly blockedSends: number };
  readonly alarms: readonly Alarm[];
}

export interface Overview {
  readonly version: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly totals: BrokerTotals;
  readonly rates?: Sample['rates'];
  readonly connections?: Readonly<Record<string, number>>;
  readonly memory?: Sample['memory'];
  readonly alarms: readonly Alarm[];
  readonly ports?: Readonly<Record<string, number | null | undefined>>;
}

export interface QueueStats {
  readonly name: string;
  readonly kind: 'anycast' | 'subscription';
  readonly topic?: string;
  readonly durable: boolean;
  readonly messages: number;
  readonly paged: number;
  readonly inDelivery: number;
  readonly scheduled?: number;
  readonly consumers: number;
  readonly producers?: number;
  readonly enqueued: number;
  readonly acked: number;
  readonly expired: number;
  readonly deadLettered: number;
  readonly bytes: number;
  readonly paused: boolean;
}

/** `GET /queues/:name`: the statistics and more. */
export interface QueueDetail extends QueueStats {
  readonly address: string;
  readonly shared: boolean;
  readonly consumerList: ReadonlyArray<{ readonly id: number; readonly credit: number; readonly unacked: number; readonly autoAck: boolean }>;
  readonly producers: number;
}

export interface Destination {
  readonly type: 'queue' | 'topic';
  readonly name: string;
}

export type PropertyValue = string | number | boolean | null;

/** A body preview: text when the bytes shown are UTF-8, else base64. */
export interface BodyPreview {
  readonly encoding: 'utf8' | 'base64';
  readonly data: string;
  readonly truncated: boolean;
}

interface MessageHeaders {
  readonly id: string;
  readonly destination: Destination;
  readonly priority: number;
  readonly timestamp: number;
  readonly expiration: number;
  readonly durable: boolean;
  readonly bodyType: string;
  readonly correlationId?: string;
  readonly type?: string;
  readonly contentType?: string;
  readonly groupId?: string;
  readonly deliveryTime?: number;
  /** Where a dead-lettered or expired message was first sent (what `retry` sends it back to). */
  readonly originalDestination?: Destination;
  readonly properties: Readonly<Record<string, PropertyValue>>;
}

/** One row of a browse page: headers, the first properties and a 64-byte body preview. */
export interface MessageSummary extends MessageHeaders {
  readonly size: number;
  readonly propertyCount: number;
  readonly preview: BodyPreview;
}

/** One message: every header and property, a 4 KiB body preview. */
export interface MessageDetail extends MessageHeaders {
  readonly bodySize: number;
  readonly replyTo?: Destination;
  readonly groupSeq?: number;
  readonly userId?: string;
  readonly body: BodyPreview;
}

export interface Job {
  readonly id: string;
  readonly action: 'remove' | 'move' | 'copy' | 'retry';
  readonly queue: string;
  readonly state: 'running' | 'done' | 'failed' | 'cancelled';
  readonly processed: number;
  readonly skipped: number;
  readonly total: number;
  readonly target?: string;
  readonly error?: string;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

export interface Subscription {
  readonly name: string;
  readonly topic: string;
  readonly durable?: boolean;
  readonly shared?: boolean;
  readonly clientId?: string;
  readonly subscriptionName?: string;
  readonly selector?: string;
  readonly consumers: number;
  readonly messages?: number;
}

export interface ConnectionSubscription {
  readonly id: string;
  readonly destination: string;
  readonly queue?: string;
  readonly selector?: string;
  readonly durable?: boolean;
  readonly unacked?: number;
}

export interface Connection {
  readonly id: number;
  readonly protocol: string;
  readonly transport: string;
  readonly tls: boolean;
  readonly remoteAddress: string;
  readonly user?: string;
  readonly clientId?: string;
  readonly version?: string;
  readonly connectedAt: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly subscriptionCount: number;
  readonly producerCount: number;
}

/** `GET /connections/:id`: the summary with its subscriptions and producers. */
export interface ConnectionDetail extends Connection {
  readonly subscriptions: readonly ConnectionSubscription[];
  readonly producers: readonly string[];
}

export type RouteState = 'stopped' | 'starting' | 'started' | 'suspending' | 'suspended' | 'stopping' | 'failed';

export interface RouteStats {
  readonly completed: number;
  readonly failed: number;
  readonly released?: number;
  readonly inFlight: number;
  readonly deadLettered: number;
  readonly redeliveries?: number;
  readonly meanMs?: number;
  readonly maxMs?: number;
}

export interface RouteInfo {
  readonly id: string;
  readonly version?: number;
  readonly state: RouteState;
  readonly from: string;
  readonly origin?: string;
  readonly error?: string;
  readonly stats: RouteStats;
  /** `GET /routes/:id` only: the definition (passwords masked) and its Mermaid graph. */
  readonly definition?: unknown;
  readonly mermaid?: string;
}

/** A file of the routes directory that did not deploy (`GET /routes` `problems`). */
export interface RouteFileProblem {
  readonly file: string;
  readonly error: string;
  readonly at: string;
}

export interface RouteGraphNode {
  readonly id: string;
  readonly path: string;
  readonly kind: string;
  readonly label: string;
  readonly shape: 'source' | 'step' | 'endpoint' | 'decision';
}

export interface RouteGraphEdge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
}

export interface RouteGraphModel {
  readonly routeId: string;
  readonly nodes: readonly RouteGraphNode[];
  readonly edges: readonly RouteGraphEdge[];
}

export interface StepStats {
  readonly id: string;
  readonly entered: number;
  readonly completed: number;
  readonly failed: number;
  readonly inFlight: number;
}

export interface RouteGraph {
  readonly model: RouteGraphModel;
  readonly steps: readonly StepStats[];
  readonly mermaid?: string;
}

/** `POST /routes/validate`: the dry run's answer (issues empty when valid). */
export interface ValidateResult {
  readonly valid: boolean;
  readonly id?: string;
  readonly issues: readonly Issue[];
}

/** `routes` SSE event. */
export interface RoutesEvent {
  readonly routes: ReadonlyArray<{ readonly id: string; readonly state: RouteState; readonly stats: RouteStats; readonly steps: readonly StepStats[] }>;
}

/** `queues` SSE event. */
export interface QueuesEvent {
  /** The first event of a stream: every queue the caller may view; later ones: those that changed. */
  readonly changed: readonly QueueStats[];
  readonly removed?: readonly string[];
  readonly truncated?: boolean;
}

/** `connection` SSE event. */
export interface ConnectionEvent {
  readonly type?: string;
  readonly id?: number;
  readonly protocol?: string;
}

export interface User {
  readonly name: string;
  readonly roles: readonly string[];
  /** Client certificates (subject DN or subjectAltName entry) that are this user. */
  readonly certificates?: readonly string[];
  /** Whether the user has a password (false: certificate only). */
  readonly password?: boolean;
}
