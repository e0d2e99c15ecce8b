import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { Message, MessageInput } from '../../../src/core/message.ts';
import { coreToMqtt5, deliveryQos, MQTT_PROPERTIES, publishToCore, remotePublishToCore, retainedQos, type PublishPacket } from '../../../src/interop/mqtt-message.ts';

const NOW = 1_700_000_000_000;

/** A PUBLISH written and parsed again by mqtt-packet (MQTT 5). */
function throughTheWire(packet: mqttPacket.IPublishPacket): PublishPacket {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  let parsed: mqttPacket.Packet | undefined;
  parser.on('packet', (p) => (parsed = p));
  parser.parse(mqttPacket.generate(packet, { protocolVersion: 5 }));
  assert.ok(parsed, 'mqtt-packet parsed nothing');
  return parsed as unknown as PublishPacket;
}

describe('interop MQTT message mapping', () => {
  test('MQTT 3.1.1: topic address, QoS -> durable, payload, the packet as properties', () => {
    const m = publishToCore({ topic: 'plant/1/temp', payload: 'hi', qos: 1, retain: true }, 'dev-1');
    assert.deepEqual(m, {
      destination: { type: 'topic', name: 'plant.1.temp' },
      body: Buffer.from('hi'),
      bodyType: 'bytes',
      durable: true,
      properties: { mqttTopic: 'plant/1/temp', mqttQos: 1, mqttRetain: true, mqttClientId: 'dev-1' },
    });
    assert.equal(publishToCore({ topic: 'a', payload: Buffer.alloc(0), qos: 0, retain: false }, null).durable, false);
  });

  test('MQTT 5: every property round-trips through mqtt-packet', () => {
    const core: MessageInput = {
      destination: { type: 'topic', name: 'a.b' },
      body: Buffer.from('hello'),
      bodyType: 'text',
      expiration: NOW + 60_000,
      contentType: 'text/plain',
      replyTo: { type: 'topic', name: 'replies.x' },
      correlationId: 'corr-1',
      properties: { s: 'text', n: 42, b: true, z: null, [MQTT_PROPERTIES.qos]: 1, 'x-amqp-body': 'value' },
    };
    const properties = coreToMqtt5(core, NOW);
    assert.deepEqual(properties, {
      messageExpiryInterval: 60,
      contentType: 'text/plain',
      responseTopic: 'replies/x',
      correlationData: Buffer.from('corr-1'),
      payloadFormatIndicator: true,
      userProperties: { s: 'text', n: '42', b: 'true', z: '' },
    });
    const packet = throughTheWire({ cmd: 'publish', topic: 'a/b', payload: core.body, qos: 1, retain: false, dup: false, messageId: 1, properties });
    const back = publishToCore(packet, null, NOW);
    assert.deepEqual(back, {
      destination: { type: 'topic', name: 'a.b' },
      body: Buffer.from('hello'),
      bodyType: 'text',
      durable: true,
      expiration: NOW + 60_000,
      contentType: 'text/plain',
      replyTo: { type: 'topic', name: 'replies.x' },
      correlationId: 'corr-1',
      properties: { mqttTopic: 'a/b', mqttQos: 1, mqttRetain: false, s: 'text', n: '42', b: 'true', z: '' },
    });
  });

  test('the expiry interval is what is left, at least 1 s and at most the four-byte maximum', () => {
    const m = (expiration: number): MessageInput => ({ destination: { type: 'topic', name: 't' }, body: Buffer.alloc(0), expiration });
    assert.equal(coreToMqtt5(m(NOW - 10), NOW).messageExpiryInterval, 1);
    assert.equal(coreToMqtt5(m(NOW + 1001), NOW).messageExpiryInterval, 2);
    assert.equal(coreToMqtt5(m(NOW + 2 ** 60), NOW).messageExpiryInterval, 0xffffffff);
    assert.deepEqual(coreToMqtt5(m(0), NOW), {});
  });

  test('hostile MQTT 5 properties: wrong types, out of range, reserved or packet names and __proto__ are left out', () => {
    const properties = JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    Object.assign(properties, {
      messageExpiryInterval: -1,
      contentType: 5,
      responseTopic: 7,
      correlationData: 'not a buffer',
      payloadFormatIndicator: 'yes',
    });
    const m = publishToCore({ topic: 't', payload: 'x', qos: 0, retain: false, properties }, null, NOW);
    assert.deepEqual(Object.keys(m).sort(), ['body', 'bodyType', 'destination', 'durable', 'properties']);
    assert.equal(m.bodyType, 'bytes');
    for (const bad of [{ messageExpiryInterval: 2 ** 40 }, { messageExpiryInterval: 'x' }, 'str', null, 5]) {
      assert.equal(publishToCore({ topic: 't', payload: 'x', qos: 0, retain: false, properties: bad }, null, NOW).expiration, undefined);
    }
    const user = JSON.parse('{"__proto__": "p", "x-amqp-body": "value", "mqttTopic": "forged", "multi": ["a", "b"]}') as Record<string, unknown>;
    const u = publishToCore({ topic: 't', payload: 'x', qos: 0, retain: false, properties: { userProperties: user } }, null, NOW);
    assert.equal(Object.getPrototypeOf(u.properties), Object.prototype);
    assert.deepEqual(Object.entries(u.properties!), [
      ['mqttTopic', 't'],
      ['mqttQos', 0],
      ['mqttRetain', false],
      ['__proto__', 'p'],
      ['multi', 'a,b'],
    ]);
  });

  test("a reply-to of another broker (kept as JMS_AMQP_REPLY_TO) goes out as the response topic, as given", () => {
    const properties = { JMS_AMQP_REPLY_TO: 'replies/of remote/1', a: 'x' };
    const out = coreToMqtt5({ destination: { type: 'topic', name: 't' }, body: Buffer.alloc(0), properties }, NOW);
    assert.equal(out.responseTopic, 'replies/of remote/1');
    assert.deepEqual(out.userProperties, { a: 'x' });
    // A reply-to of this broker wins.
    const own = coreToMqtt5({ destination: { type: 'topic', name: 't' }, body: Buffer.alloc(0), replyTo: { type: 'topic', name: 'r.1' }, properties }, NOW);
    assert.equal(own.responseTopic, 'r/1');
  });

  test('a property named __proto__ goes out as a user property, as it came in', () => {
    const properties = JSON.parse('{"__proto__": "p", "a": 1}') as Record<string, string | number>;
    const out = coreToMqtt5({ destination: { type: 'topic', name: 't' }, body: Buffer.alloc(0), properties }, NOW);
    assert.equal(Object.getPrototypeOf(out.userProperties), Object.prototype);
    assert.deepEqual(Object.entries(out.userProperties!), [
      ['__proto__', 'p'],
      ['a', '1'],
    ]);
  });

  test("a remote broker's PUBLISH: its topic and response topic are its own names, neither mapped nor refused", () => {
    const remote = { type: 'topic', name: '' } as const;
    for (const topic of ['living room/temp', 'a/*/b', 'a/>', 'tab\there']) {
      const packet = { topic, payload: 'x', qos: 1, retain: false, properties: { responseTopic: 'replies/+/to me', contentType: 'text/plain' } } as const;
      assert.throws(() => publishToCore(packet, null, NOW), { code: 'ERR_MQTT_TOPIC_INVALID' });
      const m = remotePublishToCore(packet, remote, NOW);
      assert.equal(m.destination, remote);
      assert.equal(m.replyTo, undefined);
      assert.equal(m.contentType, 'text/plain');
      assert.deepEqual(m.properties, { mqttTopic: topic, mqttQos: 1, mqttRetain: false });
    }
  });

  test('delivery QoS: an MQTT message at most its own, others at the granted; retained at its own', () => {
    const m = (properties: Message['properties'], durable = true) => ({ properties, durable }) as Message;
    assert.equal(deliveryQos(m({ mqttQos: 0 }), 1), 0);
    assert.equal(deliveryQos(m({}), 1), 1);
    assert.equal(deliveryQos(m({ mqttQos: 'x' }), 2), 2);
    assert.equal(retainedQos(m({ mqttQos: 2 })), 2);
    assert.equal(retainedQos(m({}, false)), 0);
  });
});
