import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { assertServed, watchAttack, type AttackWatch } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient, withMqttBystander } from '../helpers/mqtt-client.ts';
import { connectPacket, puback, pubcomp, publishPacket, pubrec, pubrel, RawMqtt, subscribeManyPacket, unsubscribePacket } from '../helpers/raw-mqtt.ts';

// Issue 11 item 12 (MQTT): packets the codec would take leniently are protocol violations that
// close the connection ([MQTT-4.8.0-1]: a Server that finds a protocol violation closes the Network
// Connection): a will with QoS 3, packet id 0, a SUBSCRIBE asking for QoS 3. Each is logged once,
// nothing of it is routed, and other clients are served.

const logLines: Array<Record<string, unknown>> = [];
let broker: TestBroker;
let watch: AttackWatch;

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  broker = await startBroker({ store: { type: 'memory' } }, { logger: pino({ level: 'debug' }, sink) });
  watch = await watchAttack({ stompPort: broker.ports.stomp! });
});

after(async () => {
  assertServed(await watch.stop());
  await broker.stop();
});

/** An MQTT subscriber (with a publisher) that must keep receiving while a bad client is thrown out. */
const withBystander = (fn: () => Promise<void>): Promise<void> => withMqttBystander(broker, fn);

/**
 * Sends `bytes` (after a CONNECT unless `connect` is false), expects the connection closed with
 * nothing but CONNACK before, one warn log with `code`, and that nothing reached `watchTopic`.
 */
async function expectClosed(bytes: Buffer[], code: string, opts: { connect?: boolean; watchTopic?: string } = {}): Promise<void> {
  const from = logLines.length;
  const watcher = opts.watchTopic ? await TestMqttClient.connect(broker, { clientId: `w-${Math.random().toString(36).slice(2)}` }) : undefined;
  if (watcher) await watcher.subscribe(opts.watchTopic!, 1);
  await withBystander(async () => {
    const raw = opts.connect === false ? await RawMqtt.connect(broker.ports.mqtt!) : await RawMqtt.session(broker.ports.mqtt!, { clientId: `bad-${Math.random().toString(36).slice(2)}` });
    for (const b of bytes) raw.send(b);
    await raw.waitClosed();
    assert.deepEqual(raw.packets.map((p) => p.type), [], 'nothing answered before the close');
  });
  const logs = logLines.slice(from).filter((l) => l.msg === 'mqtt connection closed on error');
  assert.equal(logs.length, 1, `logged once: ${JSON.stringify(logs)}`);
  assert.equal(logs[0]!.code, code, JSON.stringify(logs[0]));
  if (watcher) {
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(watcher.texts, [], 'nothing routed');
    await watcher.end();
  }
}

describe('lax parsing closed', () => {
  test('a CONNECT whose will has QoS 3: closed without CONNACK [MQTT-3.1.2-14], the will never published', async () => {
    const connect = connectPacket({ clientId: 'will-qos3', will: { topic: 'lax/will', payload: 'bye', qos: 2 } });
    // Will QoS bits (4-3) from 2 to 3.
    const flagsAt = connect.indexOf(Buffer.from('MQTT')) + 5;
    connect[flagsAt] = connect[flagsAt]! | 0x18;
    await expectClosed([connect], 'ERR_MQTT_PROTOCOL', { connect: false, watchTopic: 'lax/will' });
  });

  test('a QoS 1 PUBLISH with packet id 0: closed [MQTT-2.3.1-1], not routed', async () => {
    await expectClosed([publishPacket('lax/q1', 'zero', { qos: 1, id: 0 })], 'ERR_MQTT_PROTOCOL', { watchTopic: 'lax/q1' });
  });

  test('a QoS 2 PUBLISH with packet id 0: closed, not routed', async () => {
    await expectClosed([publishPacket('lax/q2', 'zero', { qos: 2, id: 0 })], 'ERR_MQTT_PROTOCOL', { watchTopic: 'lax/q2' });
  });

  test('a SUBSCRIBE with packet id 0: closed [MQTT-2.3.1-1], no SUBACK', async () => {
    await expectClosed([subscribeManyPacket(0, ['lax/s'], 1)], 'ERR_MQTT_PROTOCOL');
  });

  test('an UNSUBSCRIBE with packet id 0: closed, no UNSUBACK', async () => {
    await expectClosed([unsubscribePacket(0, ['lax/s'])], 'ERR_MQTT_PROTOCOL');
  });

  for (const [name, bytes] of [['PUBACK', puback(0)], ['PUBREC', pubrec(0)], ['PUBREL', pubrel(0)], ['PUBCOMP', pubcomp(0)]] as const) {
    test(`a ${name} with packet id 0: closed (no PUBLISH or PUBREC ever has id 0)`, async () => {
      await expectClosed([bytes], 'ERR_MQTT_PROTOCOL');
    });
  }

  test('a SUBSCRIBE asking for QoS 3: closed [MQTT-3.8.3-4], no SUBACK', async () => {
    await expectClosed([subscribeManyPacket(5, ['lax/ok', 'lax/bad'], 3)], 'ERR_MQTT_PROTOCOL');
  });
});
