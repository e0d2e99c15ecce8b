import type { PropertyValue } from './message.ts';
import type { Subject } from './ports/security.ts';

/**
 * Names that belong to one part of the broker and that no client may set or reach through another
 * protocol (issue 11, item 2 and 11).
 *
 * Properties: a property whose name starts with one of these prefixes is an adapter's own marker
 * (the AMQP adapter keeps a message's AMQP encoding in `x-amqp-body`, `x-amqp-properties` and
 * `x-amqp-annotations`, decoded again when an AMQP consumer receives the message). A client that
 * could set one would forge what an AMQP consumer receives, or make the broker decode bytes it chose.
 * Every ingress (STOMP headers, AMQP application properties, MQTT, route steps) therefore drops them
 * from what the client sent; only the owning adapter sets them, after that.
 */
export const RESERVED_PROPERTY_PREFIXES: readonly string[] = ['x-amqp-'];

/**
 * Markers that describe the body itself (the AMQP adapter's `x-amqp-body`: the body holds encoded
 * AMQP body sections of that kind). They no longer hold once the body is replaced, so whoever
 * replaces a body (a route step) drops them.
 */
export const BODY_ENCODING_MARKERS: readonly string[] = ['x-amqp-body'];

/** True when `name` is an adapter's own marker property that no client may set. */
export function isReservedProperty(name: string): boolean {
  for (const p of RESERVED_PROPERTY_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

/**
 * `props` without reserved marker properties. Returns `props` itself when it holds none (the common
 * case costs one prefix test per property and no copy).
 */
export function withoutReservedProperties<T extends Record<string, PropertyValue>>(props: T): T {
  let clean: T | undefined;
  for (const k of Object.keys(props)) {
    if (!isReservedProperty(k)) continue;
    clean ??= { ...props };
    delete clean[k];
  }
  return clean ?? props;
}

/**
 * Who asks the core for something: a protocol connection, a route, or the broker itself (the
 * embedded API, management, tests), which may do anything. Adapters pass one constant object per
 * connection (or per component), so passing it costs nothing per message.
 */
export interface Origin {
  readonly component: 'stomp' | 'amqp' | 'mqtt' | 'route' | 'broker' | 'management';
  /** The connection asking: a temporary queue belongs to the connection that created it. */
  readonly connectionId?: string;
  /**
   * Who is logged in on it (issue 14). With an authorizer configured the core checks this subject's
   * permissions for every operation of a client or route origin; the broker origin needs none.
   */
  readonly subject?: Subject;
}

/** The broker itself: what the core assumes when a caller names no origin. */
export const BROKER_ORIGIN: Origin = Object.freeze({ component: 'broker' });

/** The part of the broker a reserved queue name belongs to (see {@link reservedOwner}). */
export type ReservedOwner = 'core' | 'mqtt' | 'route';

/**
 * Queue names (anycast queues and subscription queues share one name space) that belong to one part
 * of the broker (issue 11, item 11). A client of another protocol may neither create, consume,
 * browse, purge nor delete them, nor create a subscription under such a name (a STOMP client id
 * `mqtt.<victim>` would otherwise reach an MQTT session's durable subscription `mqtt.<victim>.<filter>`):
 *
 * | prefix | owner | what |
 * |---|---|---|
 * | `$` | core | `$tmp.` temporary queues (only the connection that made one consumes it; anyone may send to a live one, as a reply-to), `$sub.` temporary subscriptions, `$retained` |
 * | `mqtt.`, `mqtt-share.` | mqtt | an MQTT session's durable subscriptions (client id `mqtt.<id>`) and `$share` groups |
 * | `route.` | route | a route's topic subscription `route.<id>` and request-reply queues `route.<id>.replies.*` |
 *
 * A send never auto-creates a reserved name (each is created by its owner's own call), so a
 * persistent SEND to a `$tmp.` name that is not a live temporary queue is refused rather than
 * confirmed and dropped at the next start. Topic names are not reserved.
 */
export const RESERVED_NAME_PREFIXES: ReadonlyArray<readonly [string, ReservedOwner]> = [
  ['$', 'core'],
  ['mqtt.', 'mqtt'],
  ['mqtt-share.', 'mqtt'],
  ['route.', 'route'],
];

/** The owner of a reserved queue name, or undefined. One character test for most names. */
export function reservedOwner(name: string): ReservedOwner | undefined {
  switch (name.charCodeAt(0)) {
    case 0x24: // $
      return 'core';
    case 0x6d: // m
      return name.startsWith('mqtt.') || name.startsWith('mqtt-share.') ? 'mqtt' : undefined;
    case 0x72: // r
      return name.startsWith('route.') ? 'route' : undefined;
    default:
      return undefined;
  }
}
