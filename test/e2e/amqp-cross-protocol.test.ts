import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import rhea from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { connect as stompConnect, nextReceiptId, type TestClient as StompClient } from '../helpers/stompjs.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';

// AMQP <-> STOMP and AMQP <-> MQTT through one broker: bodies byte-identical, headers mapped.

let broker: TestBroker;
let amqp: AmqpTestClient;
let stomp: StompClient;
const mqttClients: TestMqttClient[] = [];

before(async () => {
  broker = await startBroker();
  amqp = await AmqpTestClient.connect(broker.ports.amqp!);
  stomp = await stompConnect(broker);
});
after(async () => {
  await amqp.close().catch(() => undefined);
  await stomp.close().catch(() => undefined);
  for (const m of mqttClients) await m.end().catch(() => undefined);
  await broker.stop();
});

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('AMQP <-> STOMP', () => {
  test('an AMQP data section reaches STOMP as the same bytes, with content-length and the properties as headers', async () => {
    const inbox = await stomp.subscribe('/queue/x.bytes');
    const s = await amqp.sender('queue://x.bytes');
    await amqp.send(s, { body: rhea.message.data_section(ALL_BYTES), durable: true, application_properties: { region: 'eu' }, correlation_id: 'corr-1', subject: 'kind-a' });
    const m = await inbox.one();
    assert.ok(Buffer.from(m.binaryBody).equals(ALL_BYTES), 'body bytes differ');
    assert.equal(m.headers['content-length'], '256');
    assert.equal(m.headers.region, 'eu');
    assert.equal(m.headers.persistent, 'true');
    assert.equal(m.headers['correlation-id'], 'corr-1');
    assert.equal(m.headers.type, 'kind-a');
  });

  test('an AMQP string amqp-value reaches STOMP as its UTF-8 text', async () => {
    const inbox = await stomp.subscribe('/queue/x.text');
    const s = await amqp.sender('x.text');
    const text = 'héllo wörld ✓';
    await amqp.send(s, { body: text });
    const m = await inbox.one();
    assert.ok(Buffer.from(m.binaryBody).equals(Buffer.from(text, 'utf8')));
    assert.equal(m.body, text);
  });

  test('a STOMP binary SEND reaches AMQP as a data section of the same bytes; headers become application-properties', async () => {
    const r = await amqp.receiver('queue://x.fromstomp');
    await stomp.send('/queue/x.fromstomp', new Uint8Array(ALL_BYTES), { persistent: 'true', region: 'us', priority: '8', 'reply-to': '/queue/x.replies' });
    const { message, delivery } = await r.next();
    const body = message.body as { typecode: number; content: Buffer };
    assert.equal(body.typecode, 0x75, 'a data section');
    assert.ok(body.content.equals(ALL_BYTES), 'body bytes differ');
    assert.equal(message.durable, true);
    assert.equal(message.priority, 8);
    assert.equal(message.reply_to, 'x.replies');
    assert.equal(message.application_properties?.region, 'us');
    delivery.accept();
  });

  test('a STOMP text SEND (no content-length) reaches AMQP as a string amqp-value', async () => {
    const r = await amqp.receiver('queue://x.stomptext');
    const id = nextReceiptId();
    const receipt = stomp.receipt(id);
    stomp.client.publish({ destination: '/queue/x.stomptext', body: 'plain text', skipContentLengthHeader: true, headers: { receipt: id } });
    await receipt;
    const { message, delivery } = await r.next();
    assert.equal(message.body, 'plain text');
    delivery.accept();
  });

  test('AMQP -> STOMP -> AMQP: a STOMP relay works, but its x-amqp-* headers are dropped: the AMQP consumer gets the relayed bytes as a data section', async () => {
    const inbox = await stomp.subscribe('/queue/x.relay.in');
    const s = await amqp.sender('x.relay.in');
    const sent = {
      body: { a: 1, nested: ['x', true] },
      message_id: 'relay-1',
      application_properties: { stamp: new Date(1_700_000_000_000), raw: Buffer.from([1, 2, 3]), n: 5 },
      message_annotations: { 'x-opt-custom': 'kept' },
    };
    await amqp.send(s, sent);
    const m = await inbox.one();
    assert.equal(m.headers['x-amqp-body'], 'value', 'STOMP gets the AMQP encoding of the value, marked');
    // A STOMP bridge forwards the message with its headers and bytes unchanged.
    const forward: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers)) if (!['destination', 'message-id', 'subscription', 'ack', 'content-length', 'redelivered', 'timestamp', 'expires', 'priority'].includes(k)) forward[k] = v;
    const r = await amqp.receiver('x.relay.out');
    await stomp.send('/queue/x.relay.out', new Uint8Array(m.binaryBody), forward);
    const { message, delivery } = await r.next();
    // Issue 11 item 2: x-amqp-* markers from a STOMP client are dropped (they would let any STOMP client
    // set an AMQP consumer's body, annotations and typed properties), so the relay arrives as the bytes it carried.
    const body = message.body as { typecode: number; content: Buffer };
    assert.equal(body.typecode, 0x75, 'a data section');
    assert.ok(body.content.equals(Buffer.from(m.binaryBody)), 'the relayed bytes');
    assert.equal(message.message_annotations, undefined);
    assert.equal(message.application_properties?.n, '5', 'plain properties come through as STOMP strings');
    assert.equal(typeof message.application_properties?.stamp, 'string', 'no longer a typed timestamp');
    delivery.accept();
  });
});

describe('AMQP <-> MQTT', () => {
  test('AMQP topic://sensors.1.temp reaches an MQTT subscriber of sensors/+/temp with the same bytes', async () => {
    const sub = await TestMqttClient.connect(broker);
    mqttClients.push(sub);
    await sub.subscribe('xsensors/+/temp', 1);
    const s = await amqp.sender('topic://xsensors.1.temp');
    await amqp.send(s, { body: rhea.message.data_section(ALL_BYTES) });
    const [got] = await sub.count(1);
    assert.equal(got!.topic, 'xsensors/1/temp');
    assert.ok(got!.payload.equals(ALL_BYTES), 'payload bytes differ');
  });

  test('an MQTT publish reaches an AMQP topic receiver as a data section of the same bytes', async () => {
    const pub = await TestMqttClient.connect(broker);
    mqttClients.push(pub);
    const r = await amqp.receiver('topic://xdevices.*.status');
    await pub.publish('xdevices/d7/status', ALL_BYTES, { qos: 1 });
    const { message, delivery } = await r.next();
    const body = message.body as { typecode: number; content: Buffer };
    assert.equal(body.typecode, 0x75);
    assert.ok(body.content.equals(ALL_BYTES), 'body bytes differ');
    assert.equal(message.to, 'topic://xdevices.d7.status');
    assert.equal(message.durable, true, 'QoS 1 is durable');
    delivery.accept();
  });

  test('an AMQP text body reaches MQTT as its UTF-8 bytes', async () => {
    const sub = await TestMqttClient.connect(broker);
    mqttClients.push(sub);
    await sub.subscribe('xtext/#', 0);
    const s = await amqp.sender('topic://xtext.a');
    await amqp.send(s, { body: 'grüße' });
    const [got] = await sub.count(1);
    assert.ok(got!.payload.equals(Buffer.from('grüße', 'utf8')));
  });
});
