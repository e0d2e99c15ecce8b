import assert from 'node:assert/strict';
import path from 'node:path';
import rhea from 'rhea';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { protonMissing, runProtonScenario } from '../helpers/python-proton.ts';
import { AMQP_HEADER, perf, RawAmqp, terminus, until } from '../helpers/raw-amqp.ts';

// Issue 12, item 9: no transfer on a link before the broker's attach answer. A client may send its
// flow in the same write as its attach (proton's queue_browser.py does); a transfer on a handle the
// client has not seen answered is a session error to it (proton closes with "no such handle").
// Every kind of consumer link is checked: queue, browser (distribution-mode copy, with and without
// a selector), durable topic subscription, and the source-less re-attach of one.

const CLIENT = path.resolve(import.meta.dirname, 'python/amqp_proton_links.py');

const missing = await protonMissing();

let broker: TestBroker;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
});
after(async () => {
  await broker.stop();
});

async function fill(queue: string, bodies: string[], properties: Record<string, string> = {}): Promise<void> {
  for (const b of bodies) await broker.core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from(b), properties });
}

const COPY_MODE = 'copy';

/**
 * Opens a connection and, in one write, its begin, a receiver attach with `source` and a flow of
 * 10 credits on it; waits for `count` transfers and returns the frame names in the order received.
 */
async function attachWithFlow(containerId: string, name: string, source: Record<string, unknown> | null, count: number): Promise<string[]> {
  const a = await RawAmqp.connect(broker.ports.amqp!);
  try {
    a.write(
      AMQP_HEADER,
      perf('open', { container_id: containerId }),
      perf('begin', { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
      perf('attach', { name, handle: 0, role: true, snd_settle_mode: 0, rcv_settle_mode: 0, source: source === null ? null : terminus.source(source), target: terminus.target({}) }),
      perf('flow', { next_incoming_id: 0, incoming_window: 100, next_outgoing_id: 0, outgoing_window: 100, handle: 0, delivery_count: 0, link_credit: 10 }),
    );
    await until(() => a.received.filter((r) => r.name === 'transfer').length >= count || a.received.some((r) => r.name === 'close' || r.name === 'detach'), `${count} transfers`);
    assert.equal(a.closeError(), undefined, `no close: ${JSON.stringify(a.closeError())}`);
    return a.received.map((r) => r.name);
  } finally {
    a.socket.destroy();
  }
}

function assertAttachFirst(names: string[], count: number): void {
  const attach = names.indexOf('attach');
  const transfer = names.indexOf('transfer');
  assert.equal(names.filter((n) => n === 'transfer').length, count, names.join(','));
  assert.ok(attach >= 0 && attach < transfer, `the attach answer before any transfer: ${names.join(',')}`);
}

describe('raw frames: attach and flow in one write', () => {
  test('a queue browser (distribution-mode copy) answers the attach before its first transfer', async () => {
    await fill('order.browse', ['b1', 'b2', 'b3']);
    assertAttachFirst(await attachWithFlow('order-browse', 'browse', { address: 'order.browse', distribution_mode: COPY_MODE }, 3), 3);
    assert.equal(broker.core.getQueue('order.browse')!.messageCount, 3, 'browsing consumed nothing');
  });

  test('a queue browser with a selector answers the attach before its first transfer', async () => {
    await fill('order.browse-sel', ['x'], { colour: 'red' });
    await fill('order.browse-sel', ['y', 'z'], { colour: 'green' });
    const names = await attachWithFlow('order-browse-sel', 'browse-sel', { address: 'order.browse-sel', distribution_mode: COPY_MODE, filter: rhea.filter.selector("colour = 'green'") }, 2);
    assertAttachFirst(names, 2);
  });

  test('a queue consumer answers the attach before its first transfer', async () => {
    await fill('order.queue', ['q1', 'q2']);
    assertAttachFirst(await attachWithFlow('order-queue', 'consume', { address: 'order.queue' }, 2), 2);
  });

  test('a durable subscription, re-attached by source and without one, answers the attach before its first transfer', async () => {
    const client = await AmqpTestClient.connect(broker.ports.amqp!, { containerId: 'order-durable' });
    try {
      const r = await client.receiver({ address: 'topic://order.news', durable: 2, expiry_policy: 'never' }, 0, { name: 'order-sub' });
      await client.detachLink(r.link);
      await until(() => broker.core.getQueue('order-durable.order-sub')?.consumers.length === 0, 'the subscription detached');
    } finally {
      await client.close();
    }
    for (const t of ['n1', 'n2']) await broker.core.send({ destination: { type: 'topic', name: 'order.news' }, body: Buffer.from(t) });
    await until(() => broker.core.getQueue('order-durable.order-sub')?.messageCount === 2, 'the subscription holds both');
    // Receivers here settle nothing: the messages stay on the subscription for the next attach.
    assertAttachFirst(await attachWithFlow('order-durable', 'order-sub', { address: 'topic://order.news', durable: 2, expiry_policy: 'never' }, 2), 2);
    await until(() => broker.core.getQueue('order-durable.order-sub')?.consumers.length === 0, 'the raw consumer gone');
    assertAttachFirst(await attachWithFlow('order-durable', 'order-sub', null, 2), 2);
  });
});

describe('python-qpid-proton queue browser', { skip: missing ?? false }, () => {
  test("queue_browser.py's receiver (Copy, credit with the attach) sees the messages and leaves them queued", async () => {
    await fill('order.pybrowse', ['p1', 'p2', 'p3']);
    const out = await runProtonScenario<{ bodies?: string[]; error?: string }>(CLIENT, broker.ports.amqp!, 'browse', { address: 'order.pybrowse', count: 3 });
    assert.deepEqual(out.bodies?.map(String), ['p1', 'p2', 'p3']);
    assert.equal(broker.core.getQueue('order.pybrowse')!.messageCount, 3, 'browsing consumed nothing');
  });
});

