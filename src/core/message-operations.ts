import { JunctionError } from '../errors.ts';
import type { Addresses } from './addresses.ts';
import { FIRST, scanQueue, type Found, type PagePosition, type ScanBounds } from './browse-pages.ts';
import type { CoreContext } from './core-context.ts';
import type { Entry } from './entry-list.ts';
import type { MessageFilter, MessageOperation } from './handles.ts';
import type { Target } from './memory-limits.ts';
import { messageSize, type Destination, type Message, type Mutable } from './message.ts';
import type { PagedAt } from './paged-list.ts';
import type { StoreOp } from './ports/store.ts';
import { ORIGINAL_QUEUE, originalQueueProperty, type PostOffice } from './post-office.ts';
import type { Queue } from './queue.ts';
import { BROKER_ORIGIN, type Origin } from './reserved.ts';
import { selectorResolver } from './selector-resolver.ts';

/** The most messages one step takes (the management plane's slice: one store batch, a few ms). */
export const MAX_STEP = 2000;
/** An operation left without a step this long ends: the paged messages it holds back are read back again. */
const IDLE_MS = 60_000;

type Action = MessageOperation['action'];

/**
 * Per queue, the keys of paged messages an operation is taking out (their removal being stored):
 * another operation on the queue (a second job, a purge) that found them too passes them over, as
 * it passes over an entry another detached. Without it both stored a copy: the message twice.
 */
const taking = new WeakMap<Queue, Set<string>>();

/** What an operation needs from the core. */
export interface OperationDeps {
  ctx: CoreContext;
  postOffice: PostOffice;
  addresses: Addresses;
}

/** One message of a step that is sent somewhere: its copy, store key and admitted targets. */
interface Send {
  key: string;
  copy: Message;
  targets: Target[];
}

/**
 * A bulk operation on a queue's messages (`Core.messageOperation`, see {@link MessageOperation}):
 * Artemis's QueueControl removeMessages / moveMessages / copyMessage / retryMessages, run a step
 * at a time by the management plane's job. Each step scans on from where the last stopped (the
 * keyset scan of browse-pages.ts, bounded to what the queue held at creation: ready entries below
 * the queue's next seq then, paged positions below its pager's end then, the entries scheduled
 * then), takes the messages out, and stores their removal and their copies in one batch. Paged
 * messages are held in the store (the pager is held) while the operation runs, so none moves from
 * the pager into memory behind the scan and is missed; it ends at the end, on cancel, on error, or
 * after IDLE_MS without a step.
 */
export class QueueOperation implements MessageOperation {
  readonly action: Action;
  readonly total: number;
  done = false;
  processed = 0;
  skipped = 0;
  private readonly deps: OperationDeps;
  private readonly q: Queue;
  private readonly target: Destination | undefined;
  private readonly origin: Origin | undefined;
  private readonly accept: ((m: Message) => boolean) | undefined;
  private readonly ids: ReadonlySet<string> | undefined;
  private readonly bounds: ScanBounds;
  private pos: PagePosition | undefined = FIRST;
  private holding = false;
  private idle: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(deps: OperationDeps, q: Queue, action: Action, filter: MessageFilter, target: Destination | undefined, origin: Origin | undefined) {
    this.deps = deps;
    this.q = q;
    this.action = action;
    this.target = target;
    this.origin = origin;
    const sel = filter.selector !== undefined && filter.selector.trim() !== '' ? deps.ctx.compile(filter.selector) : undefined;
    const ids = filter.ids !== undefined ? new Set(filter.ids) : undefined;
    this.ids = ids;
    if (ids !== undefined || sel !== undefined) this.accept = (m) => (ids === undefined || ids.has(m.id)) && (sel === undefined || sel.matches(selectorResolver(m)));
    const { nextSeq, pager, schedule } = q.parts;
    const scheduled = schedule !== null ? schedule.live() : [];
    this.bounds = { seqLimit: nextSeq, pagedEnd: pager !== null ? pager.end : 0, scheduled, scheduledSeqs: new Set(scheduled.map((e) => e.seq)) };
    this.total = ids !== undefined ? ids.size : q.messageCount;
    if (pager !== null && pager.length > 0) {
      pager.hold();
      this.holding = true;
    }
    this.touch();
  }

  step(max: number): Promise<number> {
    const run = this.chain.then(() => this.run(max));
    this.chain = run.catch(() => undefined);
    return run;
  }

  cancel(): void {
    this.finish();
  }

  private async run(max: number): Promise<number> {
    const { q } = this;
    if (this.done) return 0;
    if (q.deleted || this.deps.ctx.queues.get(q.name) !== q || this.pos === undefined) {
      this.finish();
      return 0;
    }
    this.touch();
    const n = Math.max(1, Math.min(MAX_STEP, Math.trunc(max) || 1));
    const { ctx } = this.deps;
    const r = await scanQueue(q, this.pos, { max: n, read: (keys) => ctx.store.read(keys), now: ctx.now(), bounds: this.bounds, ...(this.accept !== undefined ? { accept: this.accept } : {}) });
    if (q.deleted) {
      this.finish();
      return 0;
    }
    let count = 0;
    try {
      count = await this.apply(r.found);
    } catch (err) {
      this.finish();
      throw err;
    }
    this.pos = r.next;
    if (r.next === undefined || q.deleted || (this.ids !== undefined && this.processed + this.skipped >= this.ids.size)) this.finish();
    return count;
  }

  /** Acts on what a scan found: one store batch for the removals and the copies. */
  private async apply(found: Found[]): Promise<number> {
    const { q, action } = this;
    const { ctx, postOffice } = this.deps;
    const removes = action !== 'copy';
    const entries: Entry[] = [];
    const paged: PagedAt[] = [];
    const sends: Send[] = [];
    let failure: JunctionError | undefined;
    let claims = removes ? taking.get(q) : undefined;
    if (removes && claims === undefined) taking.set(q, (claims = new Set()));
    for (const f of found) {
      // Taken out meanwhile by another operation (stored, or being stored).
      if (claims !== undefined && f.paged !== undefined && (claims.has(f.paged.key) || q.parts.pager?.has(f.paged) !== true)) continue;
      if (f.entry !== undefined && f.entry.state !== 'ready' && f.entry.state !== 'scheduled') {
        // In delivery to a consumer (Artemis skips those too); 'done' ones left meanwhile.
        if (f.entry.state === 'delivering') this.skipped++;
        continue;
      }
      if (action !== 'remove') {
        const to = action === 'retry' ? f.message.originalDestination : this.target!;
        if (to === undefined) {
          this.skipped++;
          continue;
        }
        const prepared = this.prepare(f.message, to);
        if (prepared === 'unrouted') {
          if (action === 'retry') {
            this.skipped++;
            continue;
          }
          failure = new JunctionError('ERR_ADDRESS_NOT_FOUND', `No queue receives messages sent to ${to.type} ${to.name}: ${action} stopped`);
          break;
        }
        if (prepared instanceof JunctionError) {
          failure = prepared;
          break;
        }
        sends.push(prepared);
      }
      if (f.entry !== undefined) {
        if (removes) q.detach(f.entry);
        entries.push(f.entry);
      } else {
        paged.push(f.paged);
        claims?.add(f.paged.key);
      }
    }
    const ops: StoreOp[] = removes ? q.removalOps(entries) : [];
    if (removes) for (const ref of paged) ops.push({ op: 'removeRef', queue: q.name, key: ref.key });
    for (const s of sends) ops.push(...postOffice.addOps(s.key, s.copy, s.targets));
    try {
      if (ops.length > 0) await ctx.persist(ops);
    } catch (err) {
      if (removes) for (const e of entries) q.restore(e);
      for (const s of sends) ctx.limits.release(messageSize(s.copy), s.targets);
      throw err;
    } finally {
      if (claims !== undefined) for (const ref of paged) claims.delete(ref.key);
    }
    // Deleted while the batch was stored: its discard already gave back the memory of what was detached.
    if (removes && !q.deleted) {
      q.removed(entries);
      for (const ref of paged) q.removePaged(ref);
    }
    for (const s of sends) postOffice.enqueueAll(s.key, s.copy, s.targets);
    const count = entries.length + paged.length;
    this.processed += count;
    if (failure !== undefined) throw failure;
    return count;
  }

  /** The copy of `m` for `to`, routed and admitted (room reserved); 'unrouted' when no queue takes it, the error when one is full or not permitted. */
  private prepare(m: Message, to: Destination): Send | 'unrouted' | JunctionError {
    const { ctx, postOffice } = this.deps;
    const copy: Mutable<Message> = { ...m, destination: to };
    if (this.action === 'copy') copy.id = postOffice.newId();
    else if (this.action === 'move') {
      copy.properties = originalQueueProperty(this.q, m);
      copy.originalDestination = m.originalDestination ?? m.destination;
    } else {
      delete copy.originalDestination;
      if (ORIGINAL_QUEUE in m.properties) {
        const { [ORIGINAL_QUEUE]: _origin, ...rest } = m.properties;
        copy.properties = rest;
      }
    }
    let queues: Queue[];
    try {
      // A retry's target differs per message: its `send` is checked here (a move's or copy's at creation).
      if (this.action === 'retry') ctx.access.check(this.origin, to.name, 'send');
      queues = postOffice.route(copy, this.origin ?? BROKER_ORIGIN);
      // Back to the subscription it left (Artemis retryMessages' HDR_ORIGINAL_QUEUE), if it still
      // takes it; else, as Artemis, to the address.
      const from = this.action === 'retry' && to.type === 'topic' ? m.properties[ORIGINAL_QUEUE] : undefined;
      const original = from !== undefined ? queues.find((q) => q.name === from) : undefined;
      if (original !== undefined) queues = [original];
    } catch (err) {
      if (err instanceof JunctionError) return err;
      throw err;
    }
    if (queues.length === 0) return 'unrouted';
    const admitted = ctx.limits.admitOrRefuse(messageSize(copy), queues);
    if (!Array.isArray(admitted)) {
      return new JunctionError('ERR_ADDRESS_FULL', `Queue ${admitted.name} is full (policy ${admitted.settings.addressFullPolicy}): ${this.action} stopped after ${this.processed} messages`);
    }
    return { key: ctx.nextKey(), copy, targets: admitted };
  }

  /** Restarts the idle timer. */
  private touch(): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.finish(), IDLE_MS);
    this.idle.unref();
  }

  private finish(): void {
    this.done = true;
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    if (this.holding) {
      this.holding = false;
      this.q.parts.pager?.resume();
    }
  }
}

/**
 * Makes an operation after the checks `Core.messageOperation` documents: `manage` on the queue, a
 * move's or copy's target named, not the queue itself, `send` on it and, if it does not exist, the
 * permissions its first send would need (as a client's send, `Core.assertAddress`).
 */
export function createOperation(deps: OperationDeps, q: Queue, action: Action, filter: MessageFilter, target: string | undefined, origin: Origin | undefined): QueueOperation {
  const { ctx, addresses } = deps;
  ctx.assertOpen();
  let dest: Destination | undefined;
  if (action === 'move' || action === 'copy') {
    if (target === undefined || target === '') throw new JunctionError('ERR_ADDRESS_INVALID', `A ${action} needs a target queue or topic`);
    if (target === q.name) throw new JunctionError('ERR_ADDRESS_INVALID', `A ${action} to the queue it takes from is refused`);
    const existing = ctx.queues.get(target);
    if (existing !== undefined && existing.kind !== 'anycast') throw new JunctionError('ERR_ADDRESS_INVALID', `${target} is a subscription, not a queue: ${action} to its topic instead`);
    dest = existing === undefined && ctx.topics.has(target) ? { type: 'topic', name: target } : { type: 'queue', name: target };
    ctx.access.check(origin, target, 'send');
    addresses.assertAddress(dest, origin);
  }
  return new QueueOperation(deps, q, action, filter, dest, origin);
}
