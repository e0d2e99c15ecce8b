import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';

// The receivers of one session share its window of unsettled deliveries (4096 on the broker's
// side): credit granted to all of them together can exceed it, and a burst must still arrive whole.

let broker: TestBroker;
let c: AmqpTestClient;

before(async () => {
  broker = await startBroker();
  c = await AmqpTestClient.connect(broker.ports.amqp!);
});
after(async () => {
  await c.close().catch(() => undefined);
  await broker.stop();
});

describe('a session window smaller than the credit of its receivers', () => {
  test('pre-settled receivers get every message of a burst (none is dropped for want of room)', async () => {
    const total = 8000;
    const receivers = [
      await c.receiver('window.presettled', 4000, { snd_settle_mode: 1 }),
      await c.receiver('window.presettled', 4000, { snd_settle_mode: 1 }),
    ];
    // The client's own session window frees only as it settles what it got.
    for (const r of receivers) r.link.on('message', (ctx) => ctx.delivery!.update(true));
    const q = () => broker.core.getQueue('window.presettled')!;
    await eventually(() => q().consumers.length === 2 && q().consumers.every((x) => x.credit === 4000), 'both credits granted');
    // Sent together, so every delivery reaches the session before rhea writes any transfer.
    await Promise.all(Array.from({ length: total }, (_, i) => broker.core.send({ destination: { type: 'queue', name: 'window.presettled' }, body: Buffer.from(String(i)) })));
    await eventually(() => receivers[0]!.pending + receivers[1]!.pending === total, `all ${total} messages`, 20_000);
    const bodies = new Set<string>();
    for (const r of receivers) for (const x of await r.drainFor(0)) bodies.add(String((x.message.body as { content: Buffer }).content));
    assert.equal(bodies.size, total, 'each message once');
    assert.equal(q().messageCount, 0);
  });
});
