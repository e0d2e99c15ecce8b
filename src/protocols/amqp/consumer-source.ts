import { JunctionError } from '../../errors.ts';
import type { SubscriptionSpec } from '../../core/core.ts';
import type { Destination } from '../../core/message.ts';
import type { QueueView } from '../../core/handles.ts';
import { validateAddress } from '../../core/address.ts';
import { capabilityList, formatAmqpAddress, parseAmqpAddress } from '../../interop/amqp-address.ts';
import type { ConsumerLinkHost } from './consumer-link.ts';
import { descriptorOf, isDescribed, type RheaSender, terminusFields, terminusOrNull } from './rhea-shapes.ts';

const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const SELECTOR_FILTER_CODE = 0x0000468c00000004;

/** What a consumer link consumes: the core consumer's destination, selector and subscription. */
export interface SourceSpec {
  destination: Destination;
  selector?: string;
  subscription?: SubscriptionSpec;
}

/**
 * What a consumer link's attach made while its source was resolved, kept by the link for its close:
 * set as soon as made, so a link refused by a later check still drops its dynamic queue, and a
 * durable subscription named by a refused attach is still deleted by the client's closing detach.
 */
export interface SourceState {
  /** The dynamic (temporary) queue made for this link, deleted with it. */
  temporary: QueueView | null;
  /** The durable subscription a closing detach deletes (Qpid JMS unsubscribe). */
  durableSubscription: { name: string; clientId?: string } | null;
}

/** A resolved source: what to consume (or browse), and the source the attach is answered with. */
export interface ResolvedSource {
  spec: SourceSpec;
  reply: Record<string, unknown>;
  /** A queue browser (distribution-mode copy on a queue): a snapshot of the queue, nothing consumed. */
  browse: boolean;
}

/** A terminus filter map's selector, if it has one (by descriptor, whatever key the client used). */
function selectorOf(filter: Record<string, unknown> | null | undefined): { key: string; value: unknown; selector: string } | undefined {
  if (!filter) return undefined;
  for (const [key, value] of Object.entries(filter)) {
    if (isDescribed(value)) {
      const d = descriptorOf(value);
      if (d === SELECTOR_FILTER || d === SELECTOR_FILTER_CODE) {
        const inner = value.value as { value?: unknown } | string;
        const text = typeof inner === 'string' ? inner : String((inner as { value?: unknown })?.value ?? '');
        return { key, value, selector: text };
      }
    }
  }
  return undefined;
}

/** The subscription name from a link name: Qpid JMS adds `|global` and `|volatileN` suffixes to shared ones. */
function subscriptionName(linkName: string): string {
  const bar = linkName.indexOf('|');
  return bar >= 0 ? linkName.slice(0, bar) : linkName;
}

/**
 * Resolves a consumer link's source terminus (AMQP 1.0 section 3.5.3) to what it consumes: an address
 * (queue, topic, with a selector filter, as a durable or shared subscription), a dynamic node (a
 * temporary queue of the connection's), or no address at all (an existing durable subscription,
 * by link name). Throws what refuses the attach.
 */
export function resolveSource(host: ConsumerLinkHost, link: RheaSender, state: SourceState): ResolvedSource {
  const remote = link.remote.attach!;
  const source = terminusOrNull(remote.source);
  if (!source || ((source.address === undefined || source.address === null) && !source.dynamic)) {
    // Qpid JMS looks a durable subscription up by link name with no source (unsubscribe).
    const found = existingSubscription(host, link, state);
    if (!found) throw new JunctionError('ERR_SUBSCRIPTION_NOT_FOUND', `No subscription for link ${remote.name}`);
    return { ...found, browse: false };
  }
  if (source.dynamic) {
    const name = host.newTemporaryName();
    const temporary = (state.temporary = host.core.createTemporaryQueue(name, host.origin));
    return {
      spec: { destination: { type: 'queue', name: temporary.name } },
      reply: { ...terminusFields(source), address: temporary.name, dynamic: true, filter: undefined },
      browse: false,
    };
  }
  const caps = capabilityList(source.capabilities);
  const { destination } = parseAmqpAddress(source.address!, caps);
  validateAddress(destination.name, destination.type === 'queue' ? 'queue' : 'subscribe');
  const sel = selectorOf(source.filter);
  const spec: SourceSpec = { destination };
  if (sel && sel.selector.trim() !== '') {
    host.core.checkSelector(sel.selector); // refused at attach when it does not parse (configured limits)
    spec.selector = sel.selector;
  }
  const durable = (source.durable ?? 0) > 0 || source.expiry_policy === 'never';
  const shared = caps.includes('shared');
  if (destination.type === 'topic' && (durable || shared)) {
    const sub = subscriptionName(remote.name);
    const clientId = host.containerId();
    const global = caps.includes('global') || clientId === undefined;
    spec.subscription = shared
      ? { name: global ? sub : `${clientId}.${sub}`, durable, shared: true }
      : { name: sub, clientId: clientId ?? 'anonymous', durable };
    if (durable) state.durableSubscription = shared ? { name: spec.subscription.name } : { name: sub, clientId: clientId ?? 'anonymous' };
  }
  host.core.assertAddress(destination);
  const reply = { ...terminusFields(source), filter: sel ? { [sel.key]: sel.value } : undefined };
  return { spec, reply, browse: source.distribution_mode === 'copy' && destination.type === 'queue' };
}

/** The durable subscription a source-less attach refers to (link name + container id). */
function existingSubscription(host: ConsumerLinkHost, link: RheaSender, state: SourceState): { spec: SourceSpec; reply: Record<string, unknown> } | undefined {
  const name = subscriptionName(link.name);
  const clientId = host.containerId();
  const candidates = [clientId !== undefined ? `${clientId}.${name}` : undefined, name].filter((x): x is string => x !== undefined);
  for (const qname of candidates) {
    const q = host.core.findSubscription(qname);
    if (!q) continue;
    const shared = q.shared;
    const subscription: SubscriptionSpec = shared ? { name: q.name, durable: q.durable, shared: true } : { name: q.subscriptionName ?? name, durable: q.durable, ...(q.clientId !== undefined ? { clientId: q.clientId } : {}) };
    if (q.durable) state.durableSubscription = shared ? { name: q.name } : { name: q.subscriptionName ?? name, ...(q.clientId !== undefined ? { clientId: q.clientId } : {}) };
    const spec: SourceSpec = { destination: { type: 'topic', name: q.topic }, subscription };
    if (q.selector !== undefined) spec.selector = q.selector;
    const reply: Record<string, unknown> = {
      address: formatAmqpAddress({ type: 'topic', name: q.topic }),
      durable: 2,
      expiry_policy: 'never',
      capabilities: shared ? ['topic', 'shared'] : ['topic'],
    };
    return { spec, reply };
  }
  return undefined;
}
