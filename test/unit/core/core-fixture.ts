import pino from 'pino';
import type { ConsumerHandle, ConsumerSink, Delivery } from '../../../src/core/handles.ts';
import { Core, type ConsumerSpec, type CoreOptions } from '../../../src/core/core.ts';
import type { Destination, MessageInput } from '../../../src/core/message.ts';
import type { QueueHost } from '../../../src/core/queue-host.ts';
import { MemoryStore } from '../../../src/store/memory-store.ts';

/** Shared set-up for the core unit tests: a core over a MemoryStore, and consumers that record deliveries. */

const silent = pino({ level: 'silent' });
const opened: Core[] = [];

/** Opens a core over a fresh MemoryStore (or `opts.store`) with a silent logger. Close it with {@link closeCores}. */
export async function openCore(opts: Partial<CoreOptions> = {}): Promise<Core> {
  const core = await Core.open({ store: new MemoryStore(), log: silent, ...opts });
  opened.push(core);
  return core;
}

/** Closes every core opened by {@link openCore}; call it in `afterEach`. */
export async function closeCores(): Promise<void> {
  for (const core of opened.splice(0)) await core.close();
}

/** A sink that records deliveries and lets a test await the n-th. */
export class Collector implements ConsumerSink {
  readonly deliveries: Delivery[] = [];
  closedReason: string | undefined;
  private waiters: Array<() => void> = [];

  deliver(d: Delivery): void {
    this.deliveries.push(d);
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  closed(reason: string): void {
    this.closedReason = reason;
  }

  /** Bodies received so far, as text. */
  get bodies(): string[] {
    return this.deliveries.map((d) => d.message.body.toString());
  }

  /** Resolves once `n` deliveries have arrived in all; fails after `timeout` ms rather than hang. */
  async count(n: number, timeout = 5000): Promise<Delivery[]> {
    const deadline = Date.now() + timeout;
    while (this.deliveries.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} deliveries, got ${this.deliveries.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.deliveries.slice(0, n);
  }
}

/** Attaches a consumer with a collecting sink and grants it `credit`. */
export async function consume(core: Core, spec: Omit<ConsumerSpec, 'sink'>, credit = 100): Promise<{ consumer: ConsumerHandle; sink: Collector }> {
  const sink = new Collector();
  const consumer = await core.createConsumer({ ...spec, sink });
  consumer.grant(credit);
  return { consumer, sink };
}

export function queue(name: string): Destination {
  return { type: 'queue', name };
}

export function topic(name: string): Destination {
  return { type: 'topic', name };
}

/** A message with a text body. */
export function msg(destination: Destination, body: string, extra: Partial<MessageInput> = {}): MessageInput {
  return { destination, body: Buffer.from(body), ...extra };
}

/** Sends each body in turn to `destination`. */
export async function sendAll(core: Core, destination: Destination, bodies: string[], extra: Partial<MessageInput> = {}): Promise<void> {
  for (const b of bodies) await core.send(msg(destination, b, extra));
}

/** The error a promise rejects with (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** A host for a Queue tested on its own, without a core: nothing stored, no memory limit, delivery ids from 1; a background error fails the test. */
export function queueHost(): QueueHost {
  let ids = 0;
  return {
    now: () => Date.now(),
    nextDeliveryId: () => ++ids,
    persist: async () => undefined,
    deadLetter: async () => undefined,
    expire: () => undefined,
    consumerRemoved: () => undefined,
    read: async () => [],
    memoryChanged: () => undefined,
    memoryFull: () => false,
    backgroundError: (err) => {
      throw err;
    },
  };
}
