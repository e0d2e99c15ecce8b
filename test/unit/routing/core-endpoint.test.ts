import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Core } from '../../../src/core/core.ts';
import type { MessageInput } from '../../../src/core/message.ts';
import { CoreProducer } from '../../../src/routing/endpoints/core-endpoint.ts';
import { createExchange, messageOf } from '../../../src/routing/exchange.ts';

type Sink = { deliver(d: { message: unknown }): void };

/** Just what request-reply uses of the core: a reply consumer and sends; `answer` replies to each send. */
function fakeCore(opts: { failFirstConsumer?: boolean; answer?: boolean }) {
  let fail = opts.failFirstConsumer ?? false;
  const consumers: Array<{ closed: boolean }> = [];
  let sink: Sink | undefined;
  const core = {
    createConsumer: async (spec: { sink: Sink }) => {
      if (fail) {
        fail = false;
        throw new Error('memory full');
      }
      sink = spec.sink;
      const c = { closed: false, grant() {}, close() { c.closed = true; } };
      consumers.push(c);
      return c;
    },
    send: async (m: MessageInput) => {
      if (!opts.answer) return;
      const reply = { id: 'r1', destination: { type: 'queue', name: 'replies' }, body: Buffer.from('"pong"'), bodyType: 'json', properties: {}, durable: false, priority: 4, timestamp: 0, correlationId: m.correlationId };
      setImmediate(() => sink!.deliver({ message: reply }));
    },
    deleteQueue: async () => {},
  };
  return { core: core as unknown as Core, consumers };
}

const ex = () => createExchange({ routeId: 'r', message: messageOf('ping'), onSettled: () => {} });

test('request-reply: a reply queue that failed to start is tried again by the next request', async () => {
  const { core } = fakeCore({ failFirstConsumer: true, answer: true });
  const p = new CoreProducer(core, 'queue:prices');
  await assert.rejects(p.request(ex(), 60_000), /memory full/);
  const reply = await p.request(ex(), 60_000);
  assert.equal(reply.body.toString(), '"pong"');
  await p.close();
});

test('request-reply: closing the producer (route stopped) fails the requests still waiting, and closes the reply consumer', { timeout: 10_000 }, async () => {
  const { core, consumers } = fakeCore({});
  const p = new CoreProducer(core, 'queue:prices');
  const waiting = p.request(ex(), 3_600_000);
  const rejected = assert.rejects(waiting, /stopped/);
  // The reply consumer is being created while the route stops.
  await p.close();
  await rejected;
  assert.equal(consumers.length, 1);
  assert.equal(consumers[0]!.closed, true);
});
