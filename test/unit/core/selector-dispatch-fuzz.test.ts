import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, type Delivery } from '../../../src/core/consumer.ts';
import type { Message } from '../../../src/core/message.ts';
import { Queue } from '../../../src/core/queue.ts';
import { DEFAULT_ADDRESS_SETTINGS } from '../../../src/core/settings.ts';
import type { Selector, SelectorResolver } from '../../../src/core/selector/types.ts';
import { fuzzCases, fuzzSeed, Rng } from '../../helpers/fuzz.ts';
import { queueHost } from './core-fixture.ts';

/**
 * Model-based check of the queue's selector cursors and sliced dispatch (issue 11, item 4): random
 * sends (priorities, groups), credit, acks, returns, consumers with and without selectors coming
 * and going (some exclusive), and a tiny scan limit so nearly every dispatch continues over later
 * turns. After each step settles, no ready message may be left that a consumer with credit would
 * take (a cursor that skipped too much would leave one), every delivery must match its consumer's
 * selector, and no message is evaluated for a consumer more often than it came back to the queue
 * (or the queue's group and exclusive holders changed) since the consumer arrived.
 */

const KEYS: readonly string[] = ['a', 'b', 'c', 'd'];

interface ModelConsumer {
  c: Consumer;
  accepts: ReadonlySet<string> | null;
  evaluations: Map<string, number>;
  /** Returns and resets in the queue since this consumer arrived: the most a message may be re-evaluated. */
  allowance: number;
  /** Deliveries not yet settled, by delivery id. */
  held: Map<number, Message>;
}

class Model {
  readonly queue: Queue;
  readonly consumers: ModelConsumer[] = [];
  readonly ready = new Map<string, Message>();
  readonly groups = new Map<string, ModelConsumer>();
  readonly failures: string[] = [];
  private seq = 0;
  private consumerIds = 0;

  constructor(scanLimit: number) {
    this.queue = new Queue({ name: 'q', kind: 'anycast', persistent: false, settings: DEFAULT_ADDRESS_SETTINGS, host: queueHost(), dispatchScanLimit: scanLimit });
  }

  send(rng: Rng): void {
    const id = `m${++this.seq}`;
    const m: Message = {
      id,
      destination: { type: 'queue', name: 'q' },
      body: Buffer.from(id),
      bodyType: 'text',
      durable: false,
      priority: rng.pick([0, 4, 4, 4, 9]),
      expiration: 0,
      timestamp: 0,
      properties: { k: rng.pick(KEYS) },
      ...(rng.next() < 0.2 ? { groupId: rng.pick(['G1', 'G2']) } : {}),
    };
    this.ready.set(id, m);
    this.queue.enqueue(id, m, 10);
  }

  addConsumer(rng: Rng): void {
    const accepts = rng.next() < 0.25 ? null : new Set(KEYS.filter(() => rng.next() < 0.4));
    const mc: ModelConsumer = { c: undefined as unknown as Consumer, accepts, evaluations: new Map(), allowance: 0, held: new Map() };
    const selector: Selector | null =
      accepts === null
        ? null
        : {
            text: `k IN (${[...accepts].join(',')})`,
            matches: (resolve: SelectorResolver) => {
              const id = resolve('JMSMessageID') as string;
              mc.evaluations.set(id, (mc.evaluations.get(id) ?? 0) + 1);
              return accepts.has(resolve('k') as string);
            },
          };
    mc.c = new Consumer({
      id: ++this.consumerIds,
      queue: this.queue,
      selector,
      exclusive: rng.next() < 0.1,
      autoAck: false,
      credit: rng.int(4),
      sink: { deliver: (d) => this.delivered(mc, d) },
    });
    this.consumers.push(mc);
    this.queue.addConsumer(mc.c);
  }

  private delivered(mc: ModelConsumer, d: Delivery): void {
    const m = d.message;
    if (!this.ready.delete(m.id)) this.failures.push(`${m.id} delivered but not ready`);
    if (mc.accepts !== null && !mc.accepts.has(m.properties['k'] as string)) this.failures.push(`${m.id} (k=${String(m.properties['k'])}) delivered against the selector`);
    if (m.groupId !== undefined) this.groups.set(m.groupId, mc);
    mc.held.set(d.id, m);
  }

  /** Something the queue's cursors must account for: bump every consumer's allowance. */
  private bump(): void {
    for (const mc of this.consumers) mc.allowance++;
  }

  closeConsumer(rng: Rng): void {
    if (this.consumers.length === 0) return;
    const mc = this.consumers.splice(rng.int(this.consumers.length), 1)[0]!;
    for (const m of mc.held.values()) this.ready.set(m.id, m);
    for (const [g, owner] of this.groups) if (owner === mc) this.groups.delete(g);
    // Its returned messages and any reset are new for everyone.
    for (let i = 0; i <= mc.held.size; i++) this.bump();
    mc.c.close();
  }

  grant(rng: Rng): void {
    if (this.consumers.length > 0) rng.pick(this.consumers).c.grant(1 + rng.int(3));
  }

  settle(rng: Rng, nack: boolean): void {
    const holders = this.consumers.filter((mc) => mc.held.size > 0);
    if (holders.length === 0) return;
    const mc = rng.pick(holders);
    const ids = [...mc.held.keys()];
    const id = rng.pick(ids);
    const m = mc.held.get(id)!;
    mc.held.delete(id);
    if (nack) {
      this.ready.set(m.id, m);
      this.bump();
      void mc.c.nack(id, { undelivered: true });
    } else void mc.c.ack(id);
  }

  /** Checks that nothing deliverable is left and that evaluations stay within their allowance. */
  check(where: string): void {
    const exclusive = this.consumers.find((mc) => mc.c.exclusive);
    for (const m of this.ready.values()) {
      const owner = m.groupId !== undefined ? this.groups.get(m.groupId) : undefined;
      const candidates = owner !== undefined ? [owner] : exclusive !== undefined ? [exclusive] : this.consumers;
      for (const mc of candidates) {
        if (mc.c.credit > 0 && (mc.accepts === null || mc.accepts.has(m.properties['k'] as string))) {
          this.failures.push(`${where}: ${m.id} (k=${String(m.properties['k'])}, p=${m.priority}, g=${String(m.groupId)}) left ready while consumer ${mc.c.id} has credit ${mc.c.credit} and takes it`);
        }
      }
    }
    for (const mc of this.consumers) {
      for (const [id, n] of mc.evaluations) {
        if (n > 1 + mc.allowance) this.failures.push(`${where}: ${id} evaluated ${n} times for consumer ${mc.c.id} (allowance ${mc.allowance})`);
      }
    }
  }
}

/** Lets the dispatch continuations run to the end. */
async function drain(model: Model, scanLimit: number): Promise<void> {
  const turns = Math.ceil((model.ready.size + 10) / scanLimit) * 3 + 5;
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

describe('selector cursors and sliced dispatch against a model (seeded)', () => {
  test('random operations leave nothing deliverable behind and evaluate each message once per consumer', async () => {
    const seed = fuzzSeed(0xd15c);
    const rng = new Rng(seed);
    const rounds = Math.max(5, Math.ceil(fuzzCases(3000) / 150));
    for (let round = 0; round < rounds; round++) {
      const scanLimit = 1 + rng.int(6);
      const model = new Model(scanLimit);
      for (let i = 0; i < 2; i++) model.addConsumer(rng);
      try {
        for (let step = 0; step < 150; step++) {
          const r = rng.next();
          if (r < 0.4) model.send(rng);
          else if (r < 0.55) model.grant(rng);
          else if (r < 0.7) model.settle(rng, false);
          else if (r < 0.8) model.settle(rng, true);
          else if (r < 0.87) model.addConsumer(rng);
          else if (r < 0.92) model.closeConsumer(rng);
          await drain(model, scanLimit);
          model.check(`seed ${seed} round ${round} step ${step}`);
          assert.deepEqual(model.failures, []);
        }
      } finally {
        model.queue.shutdown();
      }
    }
  });
});
