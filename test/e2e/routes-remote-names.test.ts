import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { connectFor, type Inbox } from '../helpers/stompjs.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

/*
 * The names a remote MQTT broker uses are its own: any valid MQTT topic (spaces, `*`, `>`, a
 * response topic with `+`) reaches an mqtt:// route source and can be an mqtt:// sink's topic,
 * although none of them is a core address name. The remote is Debian's mosquitto, as in
 * routes-remote.test.ts.
 */

let broker: TestBroker;
let mosquitto: Mosquitto | undefined;
let port = 0;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
  mosquitto = await startMosquitto();
  port = mosquitto.port;
});
after(async () => {
  await broker.stop();
  mosquitto?.stop();
});

/** Publishes `probe` on `topic` until the route delivers it to `inbox` (its subscription is made once it connects). */
async function whenSubscribed(client: mqtt.MqttClient, topic: string, inbox: Inbox): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await client.publishAsync(topic, 'probe', { qos: 1 });
    try {
      await inbox.take(1, 200);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
  while (inbox.size > 0) await inbox.take(inbox.size, 200);
}

for (const version of [4, 5] as const) {
  test(`an mqtt:// source (protocol ${version}) takes topics that are no core names`, async (t) => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: version, reconnectPeriod: 100 }, true);
    t.after(() => client.endAsync());
    const queue = `names.in.v${version}`;
    await broker.routes.deploy({ id: `names-from-v${version}`, from: `mqtt://127.0.0.1:${port}/v${version}/#?protocolVersion=${version}`, steps: [{ to: `queue:${queue}` }] });
    t.after(() => broker.routes.undeploy(`names-from-v${version}`));
    const stomp = await connectFor(t, broker);
    const inbox = await stomp.subscribe(`/queue/${queue}`);
    await whenSubscribed(client, `v${version}/probe`, inbox);

    const topics = [`v${version}/living room/temp`, `v${version}/*/x`, `v${version}/a/>`];
    for (const topic of topics) await client.publishAsync(topic, topic, { qos: 1 });
    if (version === 5) await client.publishAsync(`v${version}/asks`, 'asks', { qos: 1, properties: { responseTopic: 'replies/+/to me' } });
    const got = await inbox.take(topics.length + (version === 5 ? 1 : 0));
    assert.deepEqual(
      got.slice(0, topics.length).map((m) => [m.body, m.headers.mqttTopic]),
      topics.map((topic) => [topic, topic]),
    );
    if (version === 5) assert.equal(got[topics.length]!.body, 'asks');
  });
}

test('an mqtt:// sink publishes to a topic that is no core name', async (t) => {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 100 }, true);
  t.after(() => client.endAsync());
  const got = new Promise<[string, string]>((resolve) => client.on('message', (topic, payload) => resolve([topic, payload.toString()])));
  await client.subscribeAsync('out/#', { qos: 1 });
  for (const v of [4, 5]) {
    await broker.routes.deploy({ id: `names-to-v${v}`, from: `queue:names.out.v${v}`, steps: [{ to: `mqtt://127.0.0.1:${port}/out/living%20room/v${v}?protocolVersion=${v}` }] });
    t.after(() => broker.routes.undeploy(`names-to-v${v}`));
  }
  const stomp = await connectFor(t, broker);
  await stomp.send('/queue/names.out.v4', 'to the living room');
  assert.deepEqual(await got, ['out/living room/v4', 'to the living room']);
});
