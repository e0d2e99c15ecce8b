import type { PropertyValue } from './message.ts';

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
