import { JunctionError } from '../errors.ts';
import type { Destination } from '../core/message.ts';

/** A terminus address resolved to a core destination. */
export interface ResolvedAddress {
  destination: Destination;
}

/**
 * AMQP addressing (ActiveMQ conventions): `queue://NAME`, `topic://NAME`, or a plain `NAME`, which
 * is a queue unless the terminus capabilities say `topic` (as Qpid JMS sends them).
 */
export function parseAmqpAddress(address: string, capabilities: readonly string[]): ResolvedAddress {
  if (typeof address !== 'string' || address === '') throw new JunctionError('ERR_ADDRESS_INVALID', 'Empty address');
  let type: Destination['type'];
  let name: string;
  if (address.startsWith('queue://')) {
    type = 'queue';
    name = address.slice(8);
  } else if (address.startsWith('topic://')) {
    type = 'topic';
    name = address.slice(8);
  } else {
    name = address;
    type = capabilities.includes('topic') || capabilities.includes('temporary-topic') ? 'topic' : 'queue';
  }
  return { destination: { type, name } };
}

/** The address a client uses to reach a destination again: plain for queues, `topic://` for topics. */
export function formatAmqpAddress(d: Destination): string {
  return d.type === 'topic' ? `topic://${d.name}` : d.name;
}

/** Capabilities as a list (rhea gives one symbol as a string, several as an array). */
export function capabilityList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  return [String(v)];
}
