import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/**
 * Issue 11, item 11: internal names are not addressable by other clients. The core reserves `$`
 * (temporary queues and subscriptions), `mqtt.`/`mqtt-share.` (MQTT sessions) and `route.` (routes)
 * queue names to their owner and refuses them to everyone else with ERR_ADDRESS_RESERVED (STOMP
 * ERROR "Destination is reserved", AMQP amqp:unauthorized-access).
 */

let seq = 0;
const uid = (p: string): string => `${p}${process.pid}x${++seq}`;

/** Sends a frame that must fail; returns the ERROR's message header (the connection then closes). */
async function refused(port: number, connect: Record<string, string>, command: string, headers: Record<string, string>, body = ''): Promise<string> {
  const c = await RawStomp.connect(port, { 'accept-version': '1.2', host: 'localhost', ...connect });
  try {
    c.send(command, { ...headers, receipt: 'r' }, body);
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR', `${command} ${JSON.stringify(headers)} was answered ${f.command}`);
    assert.equal(f.header('receipt-id'), 'r');
    // The short reason; the detail follows a colon.
    return (f.header('message') ?? '').split(':')[0]!;
  } finally {
    c.destroy();
  }
}

describe('reserved internal names (hostile)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  test("a STOMP client with client-id mqtt.<victim> cannot read, browse or delete an MQTT session's durable subscription", async () => {
    const port = broker.ports.stomp!;
    const w = await watchAttack({ stompPort: port });
    const victimId = uid('victim');
    const victim = await TestMqttClient.connect(broker, { clientId: victimId, clean: false });
    await victim.subscribe('names/secret', 1);
    await victim.end();
    const publisher = await TestMqttClient.connect(broker, { clientId: uid('pub') });
    await publisher.publish('names/secret', 'for the victim only', { qos: 1 });
    await publisher.end();
    const queue = `mqtt.${victimId}.names%2Fsecret`;
    assert.equal(broker.core.getQueue(queue)?.messageCount, 1, 'the message waits in the session');

    const attacker = { 'client-id': `mqtt.${victimId}` };
    const durable = { id: '1', destination: '/topic/names.secret', 'activemq.subscriptionName': 'names%2Fsecret', ack: 'client-individual' };
    assert.equal(await refused(port, attacker, 'SUBSCRIBE', durable), 'Destination is reserved');
    assert.equal(await refused(port, attacker, 'UNSUBSCRIBE', { id: '1', 'activemq.subscriptionName': 'names%2Fsecret' }), 'Destination is reserved');
    // The full name, without a client id, and as a shared subscription or a queue, is refused too.
    assert.equal(await refused(port, {}, 'UNSUBSCRIBE', { id: '1', 'activemq.subscriptionName': queue }), 'Destination is reserved');
    assert.equal(await refused(port, {}, 'SUBSCRIBE', { id: '1', destination: '/topic/names.secret', 'shared-subscription-name': queue }), 'Destination is reserved');
    assert.equal(await refused(port, {}, 'SUBSCRIBE', { id: '1', destination: `/queue/${queue}` }), 'Destination is reserved');
    assert.equal(await refused(port, {}, 'SUBSCRIBE', { id: '1', destination: `/queue/${queue}`, browser: 'true' }), 'Destination is reserved');
    // AMQP: a container id mqtt.<victim> attaching the durable subscription by link name.
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!, { containerId: `mqtt.${victimId}` });
    try {
      const failure = await amqp.refusedReceiver({ address: 'topic://names.secret', durable: 2, expiry_policy: 'never' }, { name: 'names%2Fsecret' });
      assert.equal(failure.condition, 'amqp:unauthorized-access');
    } finally {
      await amqp.close();
    }

    assertServed(await w.stop());
    // Nothing was taken: the victim's session still has its message and gets it at reconnect.
    assert.equal(broker.core.getQueue(queue)?.messageCount, 1);
    const back = await TestMqttClient.connect(broker, { clientId: victimId, clean: false });
    try {
      const [m] = await back.count(1);
      assert.equal(m!.payload.toString(), 'for the victim only');
    } finally {
      await back.end();
    }
  });

  test("another AMQP connection (or a STOMP client) cannot consume or browse a connection's temporary queue; it may reply to it", async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const owner = await AmqpTestClient.connect(broker.ports.amqp!);
    const other = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      const replies = await owner.receiver({ dynamic: true }, 10);
      const address = (replies.link as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address;
      assert.match(address, /^\$tmp\./);
      const stolen = await other.refusedReceiver(address);
      assert.equal(stolen.condition, 'amqp:unauthorized-access');
      const browsed = await other.refusedReceiver({ address, distribution_mode: 'copy' });
      assert.equal(browsed.condition, 'amqp:unauthorized-access');
      assert.equal(await refused(broker.ports.stomp!, {}, 'SUBSCRIBE', { id: '1', destination: `/queue/${address}` }), 'Destination is reserved');
      // Sending to it is what a temporary queue is for (reply-to): allowed, and only its owner gets it.
      const s = await other.sender(address);
      assert.equal((await other.send(s, { body: 'reply' })).state, 'accepted');
      const got = await replies.next();
      assert.equal(got.message.body, 'reply');
      got.delivery.accept();
    } finally {
      await other.close();
      await owner.close();
    }
    assertServed(await w.stop());
  });

  test("a connection's temporary topic reaches only its own subscribers: not another connection's, not a wildcard one", async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const owner = await AmqpTestClient.connect(broker.ports.amqp!);
    const other = await AmqpTestClient.connect(broker.ports.amqp!);
    const snoop = await RawStomp.connect(broker.ports.stomp!);
    try {
      const s = await owner.sender({ dynamic: true, capabilities: ['temporary-topic'] });
      const address = (s as unknown as { remote: { attach: { target: { address: string } } } }).remote.attach.target.address;
      assert.match(address, /\$tmp\./);
      const mine = await owner.receiver(address, 10);
      assert.equal((await other.refusedReceiver(address)).condition, 'amqp:unauthorized-access');
      // A STOMP subscriber to every topic does not see it.
      await snoop.request('SUBSCRIBE', { id: 'all', destination: '/topic/>' });
      assert.equal((await owner.send(s, { body: 'private' })).state, 'accepted');
      const got = await mine.next();
      assert.equal(got.message.body, 'private');
      got.delivery.accept();
      await snoop.request('SEND', { destination: '/topic/names.public' }, 'public');
      const seen = await snoop.nextFrame();
      assert.equal(seen.text, 'public', 'the wildcard subscriber got the public message first, not the temporary topic one');
      // Ended with its link: sends to it are refused.
      await owner.closeLink(s);
      const name = address.replace(/^topic:\/\//, '');
      assert.equal(await refused(broker.ports.stomp!, {}, 'SEND', { destination: `/topic/${name}` }, 'late'), 'Destination does not exist');
    } finally {
      snoop.destroy();
      await other.close();
      await owner.close();
    }
    assertServed(await w.stop());
  });

  test('a persistent SEND to a $tmp. name that is no live temporary queue is refused, not confirmed and dropped at restart', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const name = `$tmp.${uid('fake')}`;
    assert.equal(await refused(broker.ports.stomp!, {}, 'SEND', { destination: `/queue/${name}`, persistent: 'true' }, 'lost?'), 'Destination does not exist');
    assert.equal(broker.core.getQueue(name), undefined, 'no queue was made');
    // Other internal names are not created by a send either.
    assert.equal(await refused(broker.ports.stomp!, {}, 'SEND', { destination: `/queue/$sub.${uid('x')}`, persistent: 'true' }, 'x'), 'Destination is reserved');
    assert.equal(await refused(broker.ports.stomp!, {}, 'SEND', { destination: '/queue/$retained', persistent: 'true' }, 'x'), 'Destination is reserved');
    assert.equal(await refused(broker.ports.stomp!, {}, 'SEND', { destination: `/queue/mqtt.${uid('x')}.a`, persistent: 'true' }, 'x'), 'Destination is reserved');
    assert.equal(await refused(broker.ports.stomp!, {}, 'SEND', { destination: `/queue/route.${uid('x')}.replies.1`, persistent: 'true' }, 'x'), 'Destination is reserved');
    // An AMQP producer gets its own error for the same send.
    const c = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      const s = await c.sender(null);
      const o = await c.send(s, { to: `queue://${name}`, body: 'x', durable: true });
      assert.equal(o.state, 'rejected');
      assert.equal(o.error?.condition, 'amqp:not-found');
    } finally {
      await c.close();
    }
    assertServed(await w.stop());
  });
});
