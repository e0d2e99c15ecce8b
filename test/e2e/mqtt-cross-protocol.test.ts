import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { AmqpTestClient, eventually } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient, TRANSPORTS } from '../helpers/mqtt-client.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

// MQTT <-> STOMP through the one core: names per docs/architecture.md, bodies byte for byte, MQTT's topic,
// QoS, retain flag and client id as properties, QoS > 0 = persistent.

let broker: TestBroker;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
});
after(() => broker.stop());

const BINARY = Buffer.from([0x00, 0x01, 0x74, 0x3d, 0x32, 0x31, 0xff, 0xfe, 0x0a, 0xc3, 0xa9, 0x00, 0x65, 0x6e, 0x64]);

describe('MQTT -> STOMP', () => {
  for (const transport of TRANSPORTS) {
    test(`over ${transport}: sensors/1/temp reaches /topic/sensors.1.temp with the body bytes unchanged and MQTT properties as headers`, async () => {
      const stomp = await RawStomp.connect(broker.ports.stomp!);
      await stomp.request('SUBSCRIBE', { destination: '/topic/sensors.1.temp', id: 's1' });
      const m = await TestMqttClient.connect(broker, { transport, clientId: `dev-${transport}` });
      try {
        await m.publish('sensors/1/temp', BINARY, { qos: 1 });
        const f = await stomp.nextFrame();
        assert.equal(f.command, 'MESSAGE');
        assert.deepEqual(f.body, BINARY);
        assert.equal(f.header('destination'), '/topic/sensors.1.temp');
        assert.equal(f.header('content-length'), String(BINARY.length));
        assert.equal(f.header('persistent'), 'true');
        assert.equal(f.header('mqttTopic'), 'sensors/1/temp');
        assert.equal(f.header('mqttQos'), '1');
        assert.equal(f.header('mqttRetain'), 'false');
        assert.equal(f.header('mqttClientId'), `dev-${transport}`);
      } finally {
        await m.end();
        stomp.destroy();
      }
    });
  }

  test('QoS 0 is non-persistent; a . inside a level is a / in the STOMP name; a + filter is a * subscription', async () => {
    const stomp = await RawStomp.connect(broker.ports.stomp!);
    await stomp.request('SUBSCRIBE', { destination: '/topic/plant.*.v1/2', id: 's1' });
    const m = await TestMqttClient.connect(broker, { clientId: 'dev-q0' });
    try {
      await m.publish('plant/7/v1.2', 'q0', { qos: 0 });
      const f = await stomp.nextFrame();
      assert.equal(f.header('destination'), '/topic/plant.7.v1/2');
      assert.notEqual(f.header('persistent'), 'true');
      assert.equal(f.text, 'q0');
    } finally {
      await m.end();
      stomp.destroy();
    }
  });
});

describe('STOMP -> MQTT', () => {
  test('a STOMP SEND to /topic/sensors.2.temp reaches MQTT sensors/+/temp at the granted QoS with the body unchanged', async () => {
    const q1 = await TestMqttClient.connect(broker, { clientId: 'app-q1' });
    const q0 = await TestMqttClient.connect(broker, { clientId: 'app-q0' });
    const stomp = await RawStomp.connect(broker.ports.stomp!);
    try {
      await q1.subscribe('sensors/+/temp', 1);
      await q0.subscribe('sensors/#', 0);
      await stomp.request('SEND', { destination: '/topic/sensors.2.temp', 'content-length': String(BINARY.length) }, BINARY);
      const [a] = await q1.count(1);
      const [b] = await q0.count(1);
      assert.equal(a!.topic, 'sensors/2/temp');
      assert.deepEqual(a!.payload, BINARY);
      assert.equal(a!.qos, 1);
      assert.equal(b!.qos, 0);
      assert.deepEqual(b!.payload, BINARY);
    } finally {
      stomp.destroy();
      await Promise.all([q1.end(), q0.end()]);
    }
  });

  test('a persistent STOMP message waits in an MQTT persistent session while it is offline', async () => {
    const dev = await TestMqttClient.connect(broker, { clientId: 'stomp-offline', clean: false });
    await dev.subscribe('orders/#', 1);
    await dev.end();
    const stomp = await RawStomp.connect(broker.ports.stomp!);
    await stomp.request('SEND', { destination: '/topic/orders.eu', persistent: 'true' }, 'order-1');
    stomp.destroy();
    const back = await TestMqttClient.connect(broker, { clientId: 'stomp-offline', clean: false });
    const [m] = await back.count(1);
    assert.equal(m!.topic, 'orders/eu');
    assert.equal(m!.payload.toString(), 'order-1');
    await back.end();
  });
});

describe('STOMP names no MQTT topic can be', () => {
  test('a STOMP SEND to a name with + or # inside a level is not sent to an MQTT wildcard subscriber (no invalid topic name); it is settled, later ones arrive', async () => {
    const stomp = await RawStomp.connect(broker.ports.stomp!);
    const m = await TestMqttClient.connect(broker, { clientId: 'wild-names' });
    try {
      await m.subscribe('wn/#', 1);
      await stomp.request('SEND', { destination: '/topic/wn.a+b', persistent: 'true' }, 'plus');
      await stomp.request('SEND', { destination: '/topic/wn.c#d' }, 'hash');
      await stomp.request('SEND', { destination: '/topic/wn.ok', persistent: 'true' }, 'fine');
      const [first] = await m.count(1);
      assert.equal(first!.topic, 'wn/ok');
      assert.equal(first!.payload.toString(), 'fine');
      assert.deepEqual(m.received.map((r) => r.topic), ['wn/ok']);
      const q = () => broker.core.queueStats().filter((s) => s.kind === 'subscription' && s.topic?.startsWith('wn.'));
      assert.equal(q().length, 1);
      await eventually(() => q()[0]!.acked === 3 && q()[0]!.inDelivery === 0, 'all three settled, the two it could not send too');
    } finally {
      await m.end();
      stomp.destroy();
    }
  });
});

describe('MQTT <-> AMQP 1.0', () => {
  test('an MQTT publish reaches an AMQP receiver on topic://sensors.3.temp as a data section of the same bytes, and back', async () => {
    const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
    const m = await TestMqttClient.connect(broker, { clientId: 'mqtt-amqp' });
    try {
      const r = await amqp.receiver('topic://sensors.3.temp', 10);
      await m.publish('sensors/3/temp', BINARY, { qos: 1 });
      const { message, delivery } = await r.next();
      delivery.accept();
      const body = message.body as { typecode?: number; content?: Buffer };
      assert.equal(body.typecode, 0x75, 'a data section');
      assert.deepEqual(Buffer.from(body.content!), BINARY);
      assert.equal(message.durable, true);
      assert.equal((message.application_properties as Record<string, unknown>).mqttClientId, 'mqtt-amqp');

      await m.subscribe('replies/#', 1);
      const s = await amqp.sender('topic://replies.eu');
      const outcome = await amqp.send(s, { body: rhea.message.data_section(BINARY), durable: true });
      assert.equal(outcome.state, 'accepted');
      const [back] = await m.count(1);
      assert.equal(back!.topic, 'replies/eu');
      assert.deepEqual(back!.payload, BINARY);
      assert.equal(back!.qos, 1);
    } finally {
      await m.end();
      await amqp.close();
    }
  });
});
