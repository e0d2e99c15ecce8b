/** The protocol-neutral message model every adapter maps to and from. */

export type BodyType = 'bytes' | 'text' | 'json';
export type DestinationType = 'queue' | 'topic';
export type PropertyValue = string | number | boolean | null;

/** A queue (anycast) or topic (multicast) name in the one address name space. */
export interface Destination {
  type: DestinationType;
  /** Dot-separated segments, e.g. `sensors.1.temp`. Subscriptions may use `*` and `>`. */
  name: string;
}

/**
 * A message as the core stores and routes it. Immutable once sent: a topic message routed to
 * several subscription queues is one object referenced by each queue.
 */
export interface Message {
  /** `ID:<broker>-<n>`; kept across redelivery and dead-lettering. */
  readonly id: string;
  readonly destination: Destination;
  readonly body: Buffer;
  readonly bodyType: BodyType;
  readonly durable: boolean;
  /** 0-9, higher first. */
  readonly priority: number;
  /** Absolute expiry time in epoch ms; 0 = never. */
  readonly expiration: number;
  /** Send time in epoch ms. */
  readonly timestamp: number;
  readonly correlationId?: string;
  readonly replyTo?: Destination;
  readonly type?: string;
  readonly contentType?: string;
  readonly groupId?: string;
  readonly groupSeq?: number;
  readonly userId?: string;
  /** Scheduled delivery: not delivered before this epoch ms. */
  readonly deliveryTime?: number;
  /** Set on dead-lettered and expired copies: where the message was first sent. */
  readonly originalDestination?: Destination;
  readonly properties: Readonly<Record<string, PropertyValue>>;
}

/** What a producer hands to the core; the core fills in id, timestamp and defaults. */
export type MessageInput = Mutable<Omit<Message, 'id' | 'timestamp' | 'priority' | 'expiration' | 'durable' | 'bodyType' | 'properties'> & {
  id?: string;
  timestamp?: number;
  priority?: number;
  expiration?: number;
  durable?: boolean;
  bodyType?: BodyType;
  properties?: Record<string, PropertyValue>;
}>;

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Approximate bytes a message holds in memory: body, properties and headers. Used for stats and limits. */
export function messageSize(m: Message): number {
  let n = m.body.length + 64 + m.destination.name.length;
  for (const k in m.properties) {
    const v = m.properties[k];
    n += k.length + (typeof v === 'string' ? v.length : 8);
  }
  return n;
}

/** `queue:orders` / `topic:a.b`, the route-form spelling used in logs, errors and properties. */
export function formatDestination(d: Destination): string {
  return `${d.type}:${d.name}`;
}
