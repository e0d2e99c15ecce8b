import type { StoreOp } from './ports/store.ts';
import type { Addresses } from './addresses.ts';
import { TEMPORARY_PREFIX, type CoreContext } from './core-context.ts';
import type { ProtocolState } from './protocol-state.ts';
import type { Queue } from './queue.ts';
import { RETAINED_QUEUE } from './retained.ts';
import type { Subscriptions } from './subscriptions.ts';

/** Recovered messages indexed per event-loop turn at start. */
const RECOVER_SLICE = 50_000;

/** Whether a queue named in a recovered message reference is an anycast queue to make again. */
function looksAnycast(name: string): boolean {
  return !name.startsWith('$sub.') && !name.startsWith(TEMPORARY_PREFIX) && name !== RETAINED_QUEUE;
}

/**
 * Opens the store and rebuilds the broker from it (Artemis's PostOffice reload): protocol state,
 * queues and durable subscriptions, their messages (paged, read back as they are delivered), and
 * retained messages. References nobody can own any more are removed from the store.
 */
export async function recover(ctx: CoreContext, addresses: Addresses, subscriptions: Subscriptions, protocolState: ProtocolState): Promise<void> {
  const state = await ctx.store.open();
  for (const s of state.states) protocolState.apply(s.key, s.value);
  for (const sq of state.queues) {
    let q: Queue | undefined;
    if (sq.kind === 'subscription' && sq.topic !== undefined) {
      const filter = sq.selector ? ctx.compile(sq.selector, true) : null;
      q = subscriptions.createSubscriptionQueue(sq.name, sq.topic, filter, sq, true);
    } else if (sq.kind === 'anycast') q = addresses.createQueue(sq.name, false);
    // Paused by management with `persist` (Core.pauseQueue): still paused, before any consumer attaches.
    if (q !== undefined && sq.paused === true) q.paused = q.pauseStored = true;
  }
  let count = 0;
  const orphans: StoreOp[] = [];
  const retainedKeys: string[] = [];
  // Recovered messages start paged: each queue reads back only what it is about to deliver. The
  // loop yields every RECOVER_SLICE messages, so an embedding application's timers keep running.
  let seen = 0;
  for (const { key, size, refs } of state.messages) {
    if (++seen % RECOVER_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const ref of refs) {
      if (ref.queue === RETAINED_QUEUE) {
        retainedKeys.push(key);
        continue;
      }
      const q = ctx.queues.get(ref.queue) ?? (looksAnycast(ref.queue) ? addresses.createQueue(ref.queue, true) : undefined);
      if (!q) {
        // A temporary subscription's reference (written while paging) does not outlive the broker.
        if (!ref.queue.startsWith('$sub.')) ctx.log.warn({ queue: ref.queue, key }, 'recovered message references an unknown subscription; dropped');
        orphans.push({ op: 'removeRef', queue: ref.queue, key });
        continue;
      }
      q.page(key, size, ref.deliveryCount);
      count++;
    }
  }
  // Retained messages are held in memory (they are few and every new subscriber may need them).
  const retained = retainedKeys.length > 0 ? await ctx.store.read(retainedKeys) : [];
  retained.forEach((m, i) => {
    if (!m) return;
    const replaced = ctx.retainedMessages.recover(retainedKeys[i]!, m);
    if (replaced !== undefined) orphans.push({ op: 'removeRef', queue: RETAINED_QUEUE, key: replaced });
  });
  if (orphans.length > 0) await ctx.persist(orphans);
  if (count > 0 || state.queues.length > 0) ctx.log.info({ messages: count, queues: state.queues.length }, 'recovered from store');
}
