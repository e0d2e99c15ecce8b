import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import rhea, { type EventContext, type Sender } from 'rhea';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { retryUntil as until } from '../helpers/retry.ts';
import { bodies, connectFor, eventually } from '../helpers/stompjs.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

/*
 * Remote endpoints of routes: mqtt:// against Debian's mosquitto (started here on a free loopback
 * port) with MQTT.js, amqp:// against a small rhea server in this process; then the issue's
 * sensor example through the broker's own MQTT and AMQP ports with real clients.
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

/** An AMQP body as text: a string, or a data section (binary). */
function text(body: unknown): string {
  if (typeof body === 'string') return body;
  const content = (body as { content?: unknown } | null)?.content;
  if (Buffer.isBuffer(content)) return content.toString('utf8');
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return String(body);
}

/** An MQTT.js client, retrying until the server listens. */
async function mqttClient(port: number) {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 100, connectTimeout: 5000 }, true);
}

test('mqtt:// source and sink against mosquitto (QoS 1)', async (t) => {
  const client = await mqttClient(mosquittoPort);
  t.after(() => client.endAsync());
  await broker.routes.deploy({
    id: 'from-mosquitto',
    from: `mqtt://127.0.0.1:${mosquittoPort}/plant/+/temp`,
    steps: [
      { validate: { schema: { type: 'object', required: ['c'] } } },
      { setHeader: { name: 'topic', value: { var: 'headers.mqttTopic' } } },
      { choice: { when: [{ if: { '>': [{ var: 'body.c' }, 30] }, steps: [{ to: 'queue:m.alerts' }] }], otherwise: [{ to: 'queue:m.readings' }] } },
    ],
  });
  await broker.routes.deploy({ id: 'to-mosquitto', from: 'queue:m.out', steps: [{ to: `mqtt://127.0.0.1:${mosquittoPort}/plant/commands` }] });
  const stomp = await connectFor(t, broker);
  const alerts = await stomp.subscribe('/queue/m.alerts');
  const readings = await stomp.subscribe('/queue/m.readings');
  // The route's subscription is made once its client connects: publish until the first one arrives.
  await until(async () => {
    await client.publishAsync('plant/1/temp', JSON.stringify({ c: 0, probe: true }), { qos: 1 });
    await readings.take(1, 200);
  });
  if (readings.size > 0) await readings.take(readings.size);
  await client.publishAsync('plant/7/temp', JSON.stringify({ c: 35 }), { qos: 1 });
  await client.publishAsync('plant/8/temp', JSON.stringify({ c: 21 }), { qos: 1 });
  const hot = await alerts.one();
  assert.equal(hot.body, JSON.stringify({ c: 35 }));
  assert.equal(hot.headers.topic, 'plant/7/temp');
  // A second probe may still have been on its way: skip probes.
  let next = await readings.one();
  while (next.body.includes('probe')) next = await readings.one();
  assert.equal(next.body, JSON.stringify({ c: 21 }));
  // A poison message (no error handler) is logged and acknowledged: it does not stall the route.
  await client.publishAsync('plant/9/temp', 'poison', { qos: 1 });
  await client.publishAsync('plant/9/temp', JSON.stringify({ c: 22 }), { qos: 1 });
  let after = await readings.one();
  while (after.body.includes('probe')) after = await readings.one();
  assert.equal(after.body, JSON.stringify({ c: 22 }));
  await eventually(() => assert.ok(broker.routes.stats('from-mosquitto').failed >= 1));

  const got = new Promise<string>((resolve) => client.on('message', (topic, payload) => topic === 'plant/commands' && resolve(payload.toString())));
  await client.subscribeAsync('plant/commands', { qos: 1 });
  await stomp.send('/queue/m.out', 'open valve 3');
  assert.equal(await got, 'open valve 3');
  await broker.routes.undeploy('from-mosquitto');
  await broker.routes.undeploy('to-mosquitto');
});

test('amqp:// source and sink against a rhea server: accepted only after the route is done', async (t) => {
  const container = rhea.create_container({ id: 'test-server' });
  const received: string[] = [];
  const accepted: string[] = [];
  let feed: Sender | undefined;
  container.on('sender_open', (ctx: EventContext) => (feed = ctx.sender));
  container.on('receiver_open', (ctx: EventContext) => ctx.receiver!.add_credit(100));
  container.on('message', (ctx: EventContext) => {
    received.push(text(ctx.message!.body));
    ctx.delivery!.accept();
  });
  container.on('accepted', (ctx: EventContext) => accepted.push(String((ctx.delivery as unknown as { tag: Buffer }).tag)));
  const modified: unknown[] = [];
  container.on('modified', (ctx: EventContext) => modified.push((ctx.delivery as unknown as { remote_state: unknown }).remote_state));
  const server = container.listen({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;

  await broker.routes.deploy({
    id: 'from-amqp',
    from: `amqp://127.0.0.1:${port}/orders`,
    steps: [{ validate: { schema: { type: 'string', not: { const: 'poison' } } } }, { setHeader: { name: 'via', value: 'amqp' } }, { to: 'queue:a.in' }],
  });
  await broker.routes.deploy({ id: 'to-amqp', from: 'queue:a.back', steps: [{ to: `amqp://127.0.0.1:${port}/confirmations` }] });
  await eventually(() => assert.ok(feed?.sendable(), 'the route attached with credit'));
  feed!.send({ body: 'order-1', application_properties: { k: 'v' } });
  const stomp = await connectFor(t, broker);
  const inbox = await stomp.subscribe('/queue/a.in');
  const m = await inbox.one();
  assert.equal(m.body, 'order-1');
  assert.equal(m.headers.via, 'amqp');
  assert.equal(m.headers.k, 'v');
  await eventually(() => assert.equal(accepted.length, 1, 'accepted once stored on the broker'));
  // A failing message without an error handler goes back to the remote broker as modified (delivery-failed).
  feed!.send({ body: 'poison' });
  await eventually(() => assert.equal(modified.length, 1));
  assert.equal(accepted.length, 1);
  await stomp.send('/queue/a.back', 'confirmed-1');
  await eventually(() => assert.deepEqual(received, ['confirmed-1']));
  await broker.routes.undeploy('from-amqp');
  await broker.routes.undeploy('to-amqp');
});

test("the sensor example through the broker's own ports: MQTT devices in, AMQP alert consumer, readings queue", async (t) => {
  await broker.routes.deploy({
    id: 'sensor-alerts',
    from: 'topic:sensors.*.temp',
    errorHandler: { deadLetter: 'queue:sensor-alerts.DLQ', maxRedeliveries: 3, redeliveryDelay: 10, backoffMultiplier: 2 },
    steps: [
      { filter: { '!=': [{ var: 'body.celsius' }, null] } },
      { setProperty: { name: 'unit', value: 'C' } },
      { setHeader: { name: 'unit', value: { var: 'properties.unit' } } },
      { choice: { when: [{ if: { '>': [{ var: 'body.celsius' }, 30] }, steps: [{ to: 'queue:alerts' }] }], otherwise: [{ to: 'queue:readings' }] } },
    ],
  });
  // The AMQP consumer of alerts (rhea client on the broker's AMQP port).
  const container = rhea.create_container({ id: 'alert-consumer' });
  const alerts: Array<{ body: string; unit: unknown }> = [];
  const conn = container.connect({ host: '127.0.0.1', port: broker.ports.amqp!, reconnect: false });
  const receiver = conn.open_receiver({ source: { address: 'alerts' }, credit_window: 10 });
  receiver.on('message', (ctx: EventContext) => alerts.push({ body: text(ctx.message!.body), unit: ctx.message!.application_properties?.unit }));
  await new Promise<void>((resolve) => receiver.once('receiver_open', () => resolve()));
  t.after(() => conn.close());
  // Devices publish over MQTT to the broker itself.
  const device = await mqttClient(broker.ports.mqtt!);
  t.after(() => device.endAsync());
  for (const [id, c] of [[1, 22.5], [2, 31.2], [3, null], [4, 40]] as const) {
    await device.publishAsync(`sensors/${id}/temp`, JSON.stringify({ celsius: c }), { qos: 1 });
  }
  await eventually(() => assert.equal(alerts.length, 2));
  assert.deepEqual(alerts.map((a) => JSON.parse(a.body).celsius), [31.2, 40]);
  assert.equal(alerts[0]!.unit, 'C');
  const stomp = await connectFor(t, broker);
  const readings = await stomp.subscribe('/queue/readings');
  assert.deepEqual(bodies(await readings.take(1)), [JSON.stringify({ celsius: 22.5 })]);
  await eventually(() => assert.equal(broker.routes.stats('sensor-alerts').completed, 4));
  await broker.routes.undeploy('sensor-alerts');
});

test('mqtt:// and amqp:// endpoints against the broker itself', async (t) => {
  const mqttPort = broker.ports.mqtt!;
  const amqpPort = broker.ports.amqp!;
  await broker.routes.deploy({ id: 'bridge', from: `mqtt://127.0.0.1:${mqttPort}/bridge/in`, steps: [{ to: `amqp://127.0.0.1:${amqpPort}/bridge.out` }] });
  const stomp = await connectFor(t, broker);
  const out = await stomp.subscribe('/queue/bridge.out');
  const device = await mqttClient(mqttPort);
  t.after(() => device.endAsync());
  await until(async () => {
    await device.publishAsync('bridge/in', 'ping', { qos: 1 });
    await out.take(1, 200);
  });
  await broker.routes.undeploy('bridge');
});
