import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';

/*
 * The connection of a subscription aedes adds is found through the SUBSCRIBE authorised for that
 * filter (no scan of every connection): many connections subscribing one filter at once each get
 * their own subscription; a SUBSCRIBE aedes already had at that QoS (which adds nothing) does not
 * confuse the next connection's; a restored persistent session binds again; a clean CONNECT and
 * UNSUBSCRIBE find a client's durable subscriptions through the core's per-client index.
 */

test('concurrent SUBSCRIBEs to one filter, a repeated SUBSCRIBE, a restored session and UNSUBSCRIBE each bind the right connection', async () => {
  const broker = await startBroker();
  try {
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => TestMqttClient.connect(broker, { clientId: `ix-${i}`, clean: i % 2 === 0 })));
    // All in the same tick: aedes handles them concurrently.
    await Promise.all(clients.map((c, i) => c.subscribe('ix/+', (i % 3) as 0 | 1 | 2)));
    // The same filter at the same QoS again: aedes adds nothing.
    await clients[0]!.subscribe('ix/+', 0);
    const late = await TestMqttClient.connect(broker, { clientId: 'ix-late' });
    await late.subscribe('ix/+', 1);

    const pub = await TestMqttClient.connect(broker, { clientId: 'ix-pub' });
    await pub.publish('ix/a', 'one', { qos: 1 });
    for (const c of [...clients, late]) assert.deepEqual((await c.count(1)).map((m) => m.payload.toString()), ['one']);
    assert.equal(late.received[0]!.qos, 1);
    assert.equal(clients[2]!.received[0]!.qos, 1, 'granted QoS 2, published at 1');
    assert.equal(clients[3]!.received[0]!.qos, 0, 'granted QoS 0');

    // A persistent session (odd ids) restored on reconnect is bound again, and gets what was queued.
    await clients[1]!.end();
    await pub.publish('ix/b', 'queued', { qos: 1 });
    const back = await TestMqttClient.connect(broker, { clientId: 'ix-1', clean: false });
    assert.deepEqual((await back.count(1)).map((m) => m.payload.toString()), ['queued']);
    const queues = () => broker.core.queueStats().filter((q) => q.name.startsWith('mqtt.ix-')).map((q) => q.name).sort();
    assert.equal(queues().length, 10, 'one durable subscription per persistent session');

    // UNSUBSCRIBE and a clean CONNECT delete exactly that client's durable subscriptions.
    await back.client.unsubscribeAsync('ix/+');
    assert.equal(queues().includes('mqtt.ix-1.ix%2F%2B'), false);
    await clients[3]!.end();
    const clean = await TestMqttClient.connect(broker, { clientId: 'ix-3', clean: true });
    await clean.end();
    assert.equal(queues().length, 8);
    assert.equal(queues().includes('mqtt.ix-5.ix%2F%2B'), true);

    await pub.publish('ix/c', 'after', { qos: 1 });
    assert.deepEqual((await late.count(3)).map((m) => m.payload.toString()), ['one', 'queued', 'after']);
    assert.equal(back.received.length, 1, 'the unsubscribed session gets nothing more');
    for (const c of [back, late, pub, ...clients.filter((_, i) => i !== 1 && i !== 3)]) await c.end();
  } finally {
    await broker.stop();
  }
});
