import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Exchange } from '../../src/routing/types.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/**
 * Issue 11, item 2 (route side): a route may not set the AMQP adapter's marker properties (x-amqp-*),
 * which hold a message's AMQP encoding: a definition that names one in setHeader/setProperty/
 * removeHeader is refused, and one a TypeScript step sets anyway is dropped at the broker endpoint.
 * A message a route only forwards keeps its markers: its AMQP body and typed application properties
 * reach an AMQP consumer unchanged.
 */

describe('routes and reserved marker properties (hostile)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' } });
  });
  after(async () => {
    await broker.stop();
  });

  test('a route definition that sets or removes an x-amqp-* property is refused, naming the step', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const cases: Array<[unknown, RegExp]> = [
      [{ setProperty: { name: 'x-amqp-body', value: 'value' } }, /steps\[0\]\.setProperty\.name: 'x-amqp-body' is reserved/],
      [{ setHeader: { name: 'x-amqp-properties', value: 'AAAA' } }, /steps\[0\]\.setHeader\.name: 'x-amqp-properties' is reserved/],
      [{ removeHeader: 'x-amqp-annotations' }, /steps\[0\]\.removeHeader: 'x-amqp-annotations' is reserved/],
    ];
    for (const [step, message] of cases) {
      await assert.rejects(broker.routes.deploy({ id: 'forger', from: 'queue:rf.in', steps: [step, { to: 'queue:rf.out' }] } as never), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_ROUTE_INVALID');
        assert.match(err.message, message);
        return true;
      });
    }
    // Nested step lists are checked too.
    await assert.rejects(
      broker.routes.deploy({ id: 'forger', from: 'queue:rf.in', steps: [{ choice: { when: [{ if: true, steps: [{ setHeader: { name: 'x-amqp-body', value: 'x' } }] }] } }] } as never),
      /steps\[0\]\.choice\.when\[0\]\.steps\[0\]\.setHeader\.name: 'x-amqp-body' is reserved/,
    );
    assert.equal(broker.routes.list().some((r) => r.id === 'forger'), false);
    assertServed(await w.stop());
  });

  test("markers a TypeScript step sets are dropped at the endpoint: an AMQP consumer gets the route's body, not a forged one", async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    await broker.routes.deploy({
      id: 'ts-forger',
      from: 'queue:rt.in',
      steps: [
        {
          process: (ex: Exchange) => {
            ex.message = { ...ex.message, body: Buffer.from('plain text'), headers: { ...ex.message.headers, 'x-amqp-body': 'value', 'x-amqp-properties': 'AKgA', 'x-amqp-annotations': 'garbage' } };
          },
        },
        { to: 'queue:rt.out' },
      ],
    });
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      const r = await amqp.receiver('rt.out', 1);
      const stomp = await RawStomp.connect(broker.ports.stomp!);
      await stomp.request('SEND', { destination: '/queue/rt.in', keep: 'me' }, 'original');
      stomp.destroy();
      const got = await r.next();
      got.delivery.accept();
      assert.equal(got.message.body, 'plain text', 'the body the route set, as text (not decoded as AMQP sections)');
      assert.deepEqual(got.message.application_properties, { keep: 'me' }, 'no forged application properties');
      assert.equal(broker.core.queueStats().find((q) => q.name === 'ActiveMQ.DLQ')?.messages ?? 0, 0, 'nothing dead-lettered as unmappable');
    } finally {
      await amqp.close();
      await broker.routes.undeploy('ts-forger');
    }
    assertServed(await w.stop());
  });

  test('an AMQP message forwarded by a route reaches an AMQP consumer unchanged (list body, typed application properties, annotations)', async () => {
    await broker.routes.deploy({ id: 'forward', from: 'queue:ra.in', steps: [{ setHeader: { name: 'via', value: 'route' } }, { to: 'queue:ra.out' }] });
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      const r = await amqp.receiver('ra.out', 1);
      const s = await amqp.sender('ra.in');
      const outcome = await amqp.send(s, {
        body: [1, 'two', true],
        application_properties: { bin: Buffer.from([1, 2, 3]), n: 5, text: 'x' },
        message_annotations: { 'x-opt-custom': 'kept' },
      });
      assert.equal(outcome.state, 'accepted');
      const got = await r.next();
      got.delivery.accept();
      assert.deepEqual(got.message.body, [1, 'two', true]);
      const props = got.message.application_properties as Record<string, unknown>;
      assert.deepEqual(Buffer.from(props['bin'] as Buffer), Buffer.from([1, 2, 3]), 'a binary application property keeps its type');
      assert.equal(props['n'], 5);
      assert.equal(props['text'], 'x');
      assert.equal(props['via'], 'route', "the route's own header is there too");
      assert.equal((got.message.message_annotations as Record<string, unknown>)['x-opt-custom'], 'kept');
    } finally {
      await amqp.close();
      await broker.routes.undeploy('forward');
    }
  });
});
