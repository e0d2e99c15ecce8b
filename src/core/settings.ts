import { compareSpecificity, wildcardMatches } from './wildcard.ts';

export type AddressFullPolicy = 'PAGE' | 'BLOCK' | 'FAIL' | 'DROP';

/** Behaviour of an address and its queues, matched by wildcard (most specific wins), as Artemis. */
export interface AddressSettings {
  /** Deliveries in all before a message is dead-lettered (7 = one delivery and six redeliveries). */
  maxDeliveryAttempts: number;
  /** Delay in ms before a returned message is redelivered. */
  redeliveryDelay: number;
  redeliveryMultiplier: number;
  maxRedeliveryDelay: number;
  /** Queue that receives dead-lettered messages; empty string drops them. */
  deadLetterAddress: string;
  /** Queue that receives expired messages; undefined = the dead-letter address. Empty string drops them. */
  expiryAddress?: string;
  /** Bytes of messages an address may hold; -1 = unbounded. */
  maxSizeBytes: number;
  addressFullPolicy: AddressFullPolicy;
  autoCreate: boolean;
  /** Delete an auto-created queue when it has no consumers and no messages. */
  autoDelete: boolean;
  /** Last-value queue: a new message replaces the queued one with the same value of this property. */
  lastValueKey?: string;
  /** Priority of messages sent without one. */
  defaultPriority: number;
}

export const DEFAULT_ADDRESS_SETTINGS: AddressSettings = {
  maxDeliveryAttempts: 7,
  redeliveryDelay: 0,
  redeliveryMultiplier: 1,
  maxRedeliveryDelay: 0,
  deadLetterAddress: 'ActiveMQ.DLQ',
  maxSizeBytes: -1,
  addressFullPolicy: 'PAGE',
  autoCreate: true,
  autoDelete: false,
  defaultPriority: 4,
};

/** Resolves the effective settings of an address: defaults, overlaid by matching patterns from least to most specific. */
export class SettingsResolver {
  private readonly patterns: Array<[string, Partial<AddressSettings>]>;
  private readonly cache = new Map<string, AddressSettings>();
  private readonly defaults: AddressSettings;

  constructor(settings: Record<string, Partial<AddressSettings>> = {}, defaults: AddressSettings = DEFAULT_ADDRESS_SETTINGS) {
    this.defaults = defaults;
    this.patterns = Object.entries(settings).sort(([a], [b]) => compareSpecificity(a, b));
  }

  resolve(address: string): AddressSettings {
    let s = this.cache.get(address);
    if (!s) {
      s = { ...this.defaults };
      for (const [pattern, overlay] of this.patterns) {
        if (wildcardMatches(pattern, address)) Object.assign(s, stripUndefined(overlay));
      }
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(address, s);
    }
    return s;
  }

  /** Redelivery delay before delivery number `deliveryCount + 1`, with multiplier and cap. */
  static redeliveryDelay(s: AddressSettings, deliveryCount: number): number {
    if (s.redeliveryDelay <= 0) return 0;
    const d = s.redeliveryDelay * Math.pow(s.redeliveryMultiplier, Math.max(0, deliveryCount - 1));
    return s.maxRedeliveryDelay > 0 ? Math.min(d, s.maxRedeliveryDelay) : d;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
