import { JunctionError } from '../../errors.ts';
import type { SubscriptionSpec } from '../../core/core.ts';
import type { Destination } from '../../core/message.ts';
import { header, type StompFrame, type StompVersion } from './frame.ts';
import { parseDestination } from './mapping.ts';

/** How a subscription's deliveries are acknowledged (STOMP `ack` header). */
export type AckMode = 'auto' | 'client' | 'client-individual';

/** A SUBSCRIBE frame's request, read and checked: what the session needs to make the subscription. */
export interface SubscribeRequest {
  id: string;
  /** The `destination` header as sent (`/queue/a`), for browse-end frames. */
  destination: string;
  dest: Destination;
  ackMode: AckMode;
  /** Messages in flight at once: `activemq.prefetchSize` (or the default), capped at the maximum. */
  prefetch: number;
  selector: string | undefined;
  exclusive: boolean;
  /** ActiveMQ queue browsing (`browser:true`): the queue's messages are shown, not consumed. */
  browser: boolean;
  /** A durable or shared topic subscription, when the headers name one. */
  subscription: SubscriptionSpec | undefined;
}

/** What reading a SUBSCRIBE depends on beyond the frame. */
export interface SubscribeContext {
  version: StompVersion;
  /** The connection's `client-id` (needed by a durable subscription). */
  clientId: string | undefined;
  defaultPrefetch: number;
  maxPrefetch: number;
  /** Checks the subscription id is free and within the connection's limit (throws if not): called as soon as the id is known. */
  admit(id: string): void;
}

/**
 * Reads a SUBSCRIBE frame into a {@link SubscribeRequest}, or throws the JunctionError its ERROR
 * reports (checks in the order a client meets them: destination, id, admission, ack, prefetch,
 * durable name). STOMP 1.0 lets the destination stand for a missing id; `activemq.subscriptionName`
 * (or `durable-subscription-name`) on a topic asks for a durable subscription,
 * `shared-subscription-name` for a shared one.
 */
export function parseSubscribe(frame: StompFrame, ctx: SubscribeContext): SubscribeRequest {
  const destination = header(frame, 'destination');
  const dest = parseDestination(destination);
  let id = header(frame, 'id');
  if (id === undefined) {
    if (ctx.version !== '1.0') throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'SUBSCRIBE requires an id header');
    id = destination!;
  }
  ctx.admit(id);
  const ackRaw = header(frame, 'ack') ?? 'auto';
  if (ackRaw !== 'auto' && ackRaw !== 'client' && ackRaw !== 'client-individual') {
    throw new JunctionError('ERR_STOMP_BAD_HEADER', `Invalid ack mode '${ackRaw.slice(0, 40)}'`);
  }
  const prefetchRaw = header(frame, 'activemq.prefetchSize');
  const requested = prefetchRaw !== undefined ? Number(prefetchRaw) : ctx.defaultPrefetch;
  if (!Number.isInteger(requested) || requested < 0) throw new JunctionError('ERR_STOMP_BAD_HEADER', `Invalid activemq.prefetchSize '${prefetchRaw?.slice(0, 40)}'`);
  const subName = header(frame, 'activemq.subscriptionName') ?? header(frame, 'durable-subscription-name');
  const sharedName = header(frame, 'shared-subscription-name');
  if (subName !== undefined && dest.type === 'topic' && !ctx.clientId) {
    throw new JunctionError('ERR_STOMP_MISSING_HEADER', 'A durable subscription needs a client-id header on CONNECT');
  }
  const subscription: SubscriptionSpec | undefined =
    dest.type === 'topic' && subName !== undefined
      ? { name: subName, clientId: ctx.clientId!, durable: true, shared: sharedName !== undefined }
      : dest.type === 'topic' && sharedName !== undefined
        ? { name: sharedName, durable: false, shared: true }
        : undefined;
  return {
    id,
    destination: destination!,
    dest,
    ackMode: ackRaw,
    // Capped as ActiveMQ's prefetch policy caps it (reset to the maximum, not refused).
    prefetch: Math.min(requested, ctx.maxPrefetch),
    selector: header(frame, 'selector'),
    exclusive: header(frame, 'activemq.exclusive') === 'true',
    browser: header(frame, 'browser') === 'true',
    subscription,
  };
}
