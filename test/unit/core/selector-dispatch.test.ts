import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, type Delivery } from '../../../src/core/consumer.ts';
import type { Message } from '../../../src/core/message.ts';
import { Queue } from '../../../src/core/queue.ts';
import { DEFAULT_ADDRESS_SETTINGS } from '../../../src/core/settings.ts';
import type { Selector } from '../../../src/core/selector/types.ts';
import { queueHost } from './core-fixture.ts';

/**
 * Issue 11, item 4: a queue evaluates a message against a consumer's selector once, not again on
 * every later dispatch, and a dispatch over many entries nobody takes yields to the event loop.
 * Selectors here count their evaluations; nothing is timed.
 */

function newQueue(): Queue {
  return new Queue({ name: 'q', kind: 'anycast', persistent: false, settings: DEFAULT_ADDRESS_SETTINGS, host: queueHost() });
}

/** A selector matching messages whose `k` property is `want`, counting evaluations per message id. */
class CountingSelector implements Selector {
  readonly text: string;
  readonly evaluations = new Map<string, number>();
  total = 0;
  private readonly want: string;
  constructor(want: string) {
    this.want = want;
    this.text = `k = '${want}'`;
  }
  matches(resolve: (id: string) => unknown): boolean {
    const id = resolve('JMSMessageID') as string;
    this.evaluations.set(id, (this.evaluations.get(id) ?? 0) + 1);
    this.total++;
    return resolve('k') === this.want;
  }
  maxPerMessage(): number {
    return Math.max(0, ...this.evaluations.values());
  }
}

let seq = 0;
function message(k: string, extra: Partial<Message> = {}): Message {
  return {
    id: `m${++seq}`,
    destination: { type: 'queue', name: 'q' },
    body: Buffer.from(k),
    bodyType: 'text',
    durable: false,
    priority: 4,
    expiration: 0,
    timestamp: Date.now(),
    properties: { k },
    ...extra,
  };
}

let consumerIds = 0;
function consumer(queue: Queue, selector: Selector | null, credit: number, opts: { exclusive?: boolean } = {}): { c: Consumer; got: Delivery[] } {
  const got: Delivery[] = [];
  const c = new Consumer({ id: ++consumerIds, queue, sink: { deliver: (d) => void got.push(d) }, selector, exclusive: opts.exclusive ?? false, autoAck: false, credit });
  queue.addConsumer(c);
  return { c, got };
}

function send(queue: Queue, m: Message): void {
  queue.enqueue(m.id, m, 100);
}

/** Lets continuations (setImmediate) run until `done` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(done(), what);
}

describe('selector evaluation once per (message, consumer)', () => {
  test('200 non-matching sends: each message evaluated once, not once per later send', () => {
    const q = newQueue();
    const sel = new CountingSelector('yes');
    const { got } = consumer(q, sel, 1000);
    for (let i = 0; i < 200; i++) send(q, message('no'));
    assert.equal(sel.total, 200, 'one evaluation per message (was 200·201/2 = 20,100)');
    send(q, message('yes'));
    assert.equal(got.length, 1);
    assert.equal(sel.total, 201);
    assert.equal(sel.maxPerMessage(), 1);
  });

  test('two selector consumers over a backlog that matches neither: at most one evaluation per pair', () => {
    const q = newQueue();
    const red = new CountingSelector('red');
    const blue = new CountingSelector('blue');
    const r = consumer(q, red, 1000);
    const b = consumer(q, blue, 1000);
    for (let i = 0; i < 300; i++) send(q, message(['red', 'blue', 'green'][i % 3]!));
    assert.equal(r.got.length, 100);
    assert.equal(b.got.length, 100);
    assert.ok(red.maxPerMessage() <= 1 && blue.maxPerMessage() <= 1, 'no message evaluated twice for one consumer');
    assert.ok(red.total <= 300 && blue.total <= 300);
  });

  test('a consumer without credit is not evaluated; once it has credit it evaluates each message once', () => {
    const q = newQueue();
    const sel = new CountingSelector('yes');
    const { c, got } = consumer(q, sel, 0);
    for (let i = 0; i < 50; i++) send(q, message(i === 40 ? 'yes' : 'no'));
    assert.equal(sel.total, 0);
    c.grant(10);
    assert.equal(got.length, 1);
    for (let i = 0; i < 50; i++) send(q, message('no'));
    assert.equal(sel.maxPerMessage(), 1);
    assert.equal(sel.total, 100);
  });

  test('a message that returns to the queue (nack) is new for every consumer again', () => {
    const q = newQueue();
    const taker = consumer(q, null, 1);
    const sel = new CountingSelector('never');
    consumer(q, sel, 1000);
    const first = message('no');
    send(q, first);
    assert.equal(taker.got.length, 1, 'the selector-less consumer took it');
    for (let i = 0; i < 20; i++) send(q, message('no'));
    assert.equal(sel.total, 20);
    assert.equal(sel.evaluations.get(first.id), undefined);
    // Returned with no credit left at the taker: the selector consumer must look at it (and only it is new).
    taker.c.nack(taker.got[0]!.id, { undelivered: true });
    assert.equal(sel.evaluations.get(first.id), 1, 'the returned message was evaluated');
    send(q, message('no'));
    assert.equal(sel.evaluations.get(first.id), 1, 'and not again');
    assert.ok(sel.maxPerMessage() <= 2, 'entries after it evaluated at most once more');
  });

  test('priority order is kept: the higher priority match first, FIFO within a priority', () => {
    const q = newQueue();
    const sel = new CountingSelector('yes');
    const { c, got } = consumer(q, sel, 0);
    send(q, message('yes', { priority: 1, body: Buffer.from('low-1') }));
    send(q, message('no', { priority: 9 }));
    send(q, message('yes', { priority: 9, body: Buffer.from('high-1') }));
    send(q, message('yes', { priority: 1, body: Buffer.from('low-2') }));
    send(q, message('yes', { priority: 9, body: Buffer.from('high-2') }));
    c.grant(2);
    for (let i = 0; i < 5; i++) send(q, message('no', { priority: i % 10 }));
    c.grant(10);
    assert.deepEqual(got.map((d) => d.message.body.toString()), ['high-1', 'high-2', 'low-1', 'low-2']);
    assert.equal(sel.maxPerMessage(), 1);
  });

  test('entries passed over while another consumer held their group go to the others once it leaves', () => {
    const q = newQueue();
    const owner = consumer(q, null, 1);
    send(q, message('yes', { groupId: 'G' }));
    assert.equal(owner.got.length, 1, 'the owner holds group G');
    const sel = new CountingSelector('yes');
    const other = consumer(q, sel, 100);
    for (let i = 0; i < 5; i++) send(q, message('yes', { groupId: 'G' }));
    for (let i = 0; i < 5; i++) send(q, message('no'));
    assert.equal(other.got.length, 0, 'group G stays with its owner');
    assert.equal(sel.total, 5, 'group entries are not evaluated for the others; the rest once');
    owner.c.close();
    assert.equal(other.got.length, 6, 'the group is free: its messages (and the returned one) go to the other consumer');
  });

  test('an exclusive consumer leaving opens the queue to the selector consumers again', () => {
    const q = newQueue();
    const excl = consumer(q, null, 0, { exclusive: true });
    const sel = new CountingSelector('yes');
    const other = consumer(q, sel, 100);
    for (let i = 0; i < 10; i++) send(q, message('yes'));
    assert.equal(other.got.length, 0);
    excl.c.close();
    assert.equal(other.got.length, 10);
  });
});

describe('a dispatch over many entries nobody takes yields', () => {
  test('a consumer that matches nothing of a 5,000-message queue: at most 1,000 looked at per call, the rest on later turns', async () => {
    const q = newQueue();
    for (let i = 0; i < 5000; i++) send(q, message('no'));
    send(q, message('yes'));
    const sel = new CountingSelector('yes');
    const { got } = consumer(q, sel, 10);
    assert.ok(sel.total <= 1000, `${sel.total} evaluations in one call`);
    assert.equal(got.length, 0);
    await until(() => got.length === 1, 'the matching message at the end is delivered');
    assert.equal(sel.total, 5001);
    assert.equal(sel.maxPerMessage(), 1);
  });

  test('entries held for a busy group owner do not starve the messages behind them', async () => {
    const q = newQueue();
    const owner = consumer(q, null, 1);
    send(q, message('g', { groupId: 'G' }));
    for (let i = 0; i < 3000; i++) send(q, message('g', { groupId: 'G' }));
    const other = consumer(q, null, 0);
    send(q, message('free'));
    other.c.grant(10);
    await until(() => other.got.length === 1, 'the free message behind 3,000 held ones is delivered');
    assert.equal(owner.got.length, 1);
  });

  test('a new high-priority message sent while a long scan waits is not lost', async () => {
    const q = newQueue();
    for (let i = 0; i < 3000; i++) send(q, message('no', { priority: 1 }));
    const sel = new CountingSelector('yes');
    const { got } = consumer(q, sel, 10);
    send(q, message('yes', { priority: 9 }));
    await until(() => got.length === 1, 'the high-priority match is delivered');
    await until(() => sel.total === 3001, 'the scan completes');
  });
});
