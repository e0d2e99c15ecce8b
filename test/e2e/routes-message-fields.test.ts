import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import type { Message } from 'rhea';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { connectFor } from '../helpers/stompjs.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

/*
 * Issue 13 part 5: one message model. An AMQP client sends one message with every field a route
 * must carry (TTL, priority, typed properties, correlation id, reply-to, subject, content type,
 * group, user id) through a route to each endpoint kind, and the client at the end checks every
 * field: queue: and amqp:// (the broker's own AMQP port) with rhea, topic: with STOMP, mqtt:// with
 * MQTT.js 5 against mosquitto (MQTT 5 properties).
 */

let broker: TestBroker;
let mosquitto: Mosquitto | undefined;
let mosquittoPort = 0;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
  mosquitto = await startMosquitto();
  mosquittoPort = mosquitto.port;
});
after(async () => {
  await broker.stop();
  mosquitto?.stop();
});

const TTL = 600_000;

/** The message every route gets: every field set. */
function original(): Record<string, unknown> {
  return {
    durable: true,
    priority: 7,
    ttl: TTL,
    user_id: Buffer.from('alice'),
    subject: 'order.created',
    reply_to: 'replies',
    correlation_id: 'corr-1',
    content_type: 'text/plain',
    group_id: 'g-1',
    group_sequence: 3,
    application_properties: { s: 'text', n: 42, f: 1.5, b: true },
    body: 'hello',
  };
}

/** Every field of `original()` as an AMQP client receives it (`sentAt`..`now` bounds the expiry). */
function checkAmqp(m: Message, sentAt: number, where: string): void {
  const now = Date.now();
  assert.equal(m.body, 'hello', where);
  assert.equal(m.durable, true, `${where}: durable`);
  assert.equal(m.priority, 7, `${where}: priority`);
  assert.ok(typeof m.ttl === 'number' && m.ttl > TTL - (now - sentAt) - 1000 && m.ttl <= TTL, `${where}: ttl ${m.ttl}`);
  const expiry = m.absolute_expiry_time instanceof Date ? m.absolute_expiry_time.getTime() : Number(m.absolute_expiry_time);
  assert.ok(expiry >= sentAt + TTL && expiry <= now + TTL, `${where}: absolute-expiry-time ${expiry}`);
  assert.equal(Buffer.from(m.user_id as unknown as Buffer).toString(), 'alice', `${where}: user-id`);
  assert.equal(m.subject, 'order.created', `${where}: subject`);
  assert.equal(m.reply_to, 'replies', `${where}: reply-to`);
  assert.equal(m.correlation_id, 'corr-1', `${where}: correlation-id`);
  assert.equal(m.content_type, 'text/plain', `${where}: content-type`);
  assert.equal(m.group_id, 'g-1', `${where}: group-id`);
  assert.equal(m.group_sequence, 3, `${where}: group-sequence`);
  assert.deepEqual(m.application_properties, { s: 'text', n: 42, f: 1.5, b: true }, `${where}: application-properties`);
}

test('every message field survives a route to queue:, topic:, amqp:// and mqtt://', async (t) => {
  const amqpPort = broker.ports.amqp!;
  const routes = [
    { id: 'fields-queue', from: 'queue:fields.q', steps: [{ to: 'queue:fields.q.out' }] },
    { id: 'fields-topic', from: 'queue:fields.t', steps: [{ to: 'topic:fields.t.out' }] },
    { id: 'fields-amqp', from: 'queue:fields.a', steps: [{ to: `amqp://127.0.0.1:${amqpPort}/fields.a.out` }] },
    { id: 'fields-mqtt', from: 'queue:fields.m', steps: [{ to: `mqtt://127.0.0.1:${mosquittoPort}/fields/m/out?protocolVersion=5` }] },
  ];
  for (const r of routes) await broker.routes.deploy(r);
  t.after(async () => {
    for (const r of routes) await broker.routes.undeploy(r.id);
  });

  const amqp = await AmqpTestClient.connect(amqpPort);
  t.after(() => amqp.connection.close());
  const queueOut = await amqp.receiver('fields.q.out');
  const amqpOut = await amqp.receiver('fields.a.out');
  const stomp = await connectFor(t, broker);
  const topicOut = await stomp.subscribe('/topic/fields.t.out');
  const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquittoPort}`, { protocolVersion: 5, connectTimeout: 5000 });
  t.after(() => device.endAsync());
  const mqttOut: Array<{ payload: Buffer; packet: mqtt.IPublishPacket }> = [];
  device.on('message', (_topic, payload, packet) => mqttOut.push({ payload, packet }));
  await device.subscribeAsync('fields/m/out', { qos: 1 });

  const sender = await amqp.sender(null);
  const sentAt = Date.now();
  for (const address of ['fields.q', 'fields.t', 'fields.a', 'fields.m']) {
    const outcome = await amqp.send(sender, { ...original(), to: address });
    assert.equal(outcome.state, 'accepted', address);
  }

  checkAmqp((await queueOut.next()).message, sentAt, 'queue:');
  checkAmqp((await amqpOut.next()).message, sentAt, 'amqp://');

  const frame = await topicOut.one();
  const h = frame.headers;
  assert.equal(frame.body, 'hello');
  assert.equal(h['priority'], '7', 'topic: priority');
  const expires = Number(h['expires']);
  assert.ok(expires >= sentAt + TTL && expires <= Date.now() + TTL, `topic: expires ${h['expires']}`);
  assert.equal(h['persistent'], 'true', 'topic: persistent');
  assert.equal(h['correlation-id'], 'corr-1', 'topic: correlation-id');
  assert.equal(h['reply-to'], '/queue/replies', 'topic: reply-to');
  assert.equal(h['type'], 'order.created', 'topic: type');
  assert.equal(h['content-type'], 'text/plain', 'topic: content-type');
  assert.equal(h['JMSXGroupID'], 'g-1', 'topic: JMSXGroupID');
  assert.equal(h['JMSXGroupSeq'], '3', 'topic: JMSXGroupSeq');
  assert.deepEqual([h['s'], h['n'], h['f'], h['b']], ['text', '42', '1.5', 'true'], 'topic: properties');

  const deadline = Date.now() + 10_000;
  while (mqttOut.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const got = mqttOut[0];
  assert.ok(got, 'mqtt://: nothing arrived');
  const p = got.packet.properties ?? {};
  assert.equal(got.payload.toString(), 'hello');
  assert.equal(got.packet.qos, 1, 'mqtt://: qos');
  assert.ok(typeof p.messageExpiryInterval === 'number' && p.messageExpiryInterval > TTL / 1000 - 10 && p.messageExpiryInterval <= TTL / 1000, `mqtt://: message expiry ${p.messageExpiryInterval}`);
  assert.equal(p.contentType, 'text/plain', 'mqtt://: content type');
  assert.equal(p.responseTopic, 'replies', 'mqtt://: response topic');
  assert.equal(Buffer.from(p.correlationData ?? []).toString(), 'corr-1', 'mqtt://: correlation data');
  assert.equal(p.payloadFormatIndicator, true, 'mqtt://: payload format');
  assert.deepEqual({ ...p.userProperties }, { s: 'text', n: '42', f: '1.5', b: 'true' }, 'mqtt://: user properties');
});
