import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import WebSocket from 'ws';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { flush, TestMqttClient, withMqttBystander } from '../helpers/mqtt-client.ts';
import { connectPacket, publishPacket, RawMqtt } from '../helpers/raw-mqtt.ts';

// Bad input: each case gets the right CONNACK or a closed connection, is logged once, and leaves
// other clients and stored messages alone.

let broker: TestBroker;
const logLines: Array<Record<string, unknown>> = [];
let n = 0;
const uid = (p: string): string => `${p}${++n}${Math.random().toString(36).slice(2, 6)}`;
/** A persistent session holding a message that every case must leave in place. */
const KEEPER = 'bad-input-keeper';

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  broker = await startBroker({ store: { type: 'memory' }, mqtt: { maxPacketSize: 4096 } }, { logger: pino({ level: 'debug' }, sink) });
  const keeper = await TestMqttClient.connect(broker, { clientId: KEEPER, clean: false });
  await keeper.subscribe('keep/#', 1);
  await keeper.end();
  const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
  await pub.publish('keep/it', 'stored', { qos: 1 });
  await pub.end();
});

after(async () => {
  // Nothing stored was lost: the persistent session still gets its message.
  const keeper = await TestMqttClient.connect(broker, { clientId: KEEPER, clean: false });
  const [m] = await keeper.count(1);
  assert.equal(m!.payload.toString(), 'stored');
  await keeper.end();
  await broker.stop();
});

/** A bystander connection that must keep working while a bad client is thrown out. */
const withBystander = (fn: () => Promise<void>): Promise<void> => withMqttBystander(broker, fn);

/** Log lines about closed connections since `from`. */
function closedLogs(from: number): Array<Record<string, unknown>> {
  return logLines.slice(from).filter((l) => l.msg === 'mqtt connection closed on error');
}

async function expectClosed(bytes: Buffer[], code: string | RegExp): Promise<void> {
  const from = logLines.length;
  await withBystander(async () => {
    const raw = await RawMqtt.connect(broker.ports.mqtt!);
    for (const b of bytes) raw.send(b);
    await raw.waitClosed();
  });
  const logs = closedLogs(from);
  assert.equal(logs.length, 1, `logged once: ${JSON.stringify(logs)}`);
  if (typeof code === 'string') assert.equal(logs[0]!.code, code, JSON.stringify(logs[0]));
  else assert.match(String(logs[0]!.reason), code);
}

describe('bad input', () => {
  // (Another protocol's first bytes, such as an HTTP request, are refused by the listener itself: transport-wrong-protocol.test.ts.)
  test('garbage bytes instead of CONNECT: closed', async () => {
    await expectClosed([Buffer.from('hello broker\r\n\r\n')], /./);
  });

  test('MQTT 5 CONNECT: a v5 CONNACK with reason 0x84 (unsupported protocol version), then closed', async () => {
    const from = logLines.length;
    await withBystander(async () => {
      const raw = await RawMqtt.connect(broker.ports.mqtt!);
      // MQTT 5 CONNECT: level 5, clean start, keep-alive 0, properties length 0, client id "v5".
      raw.send(Buffer.from([0x10, 0x0f, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x76, 0x35]));
      const ack = await raw.next();
      assert.equal(ack.type, 2);
      assert.deepEqual([...ack.body], [0x00, 0x84, 0x00]);
      await raw.waitClosed();
    });
    assert.equal(closedLogs(from)[0]?.code, 'ERR_MQTT_PROTOCOL_VERSION');
  });

  test('an unknown protocol level: CONNACK 0x01, then closed [MQTT-3.1.2-2]', async () => {
    const from = logLines.length;
    await withBystander(async () => {
      const raw = await RawMqtt.connect(broker.ports.mqtt!);
      raw.send(connectPacket({ clientId: 'lvl', protocolLevel: 7 }));
      const ack = await raw.next();
      assert.deepEqual([ack.type, ...ack.body], [2, 0x00, 0x01]);
      await raw.waitClosed();
    });
    const logs = closedLogs(from);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.code, 'ERR_MQTT_PROTOCOL_VERSION');
  });

  test('a zero-length client id with CleanSession=0: CONNACK 0x02, then closed [MQTT-3.1.3-8]', async () => {
    const from = logLines.length;
    await withBystander(async () => {
      const raw = await RawMqtt.connect(broker.ports.mqtt!);
      raw.send(connectPacket({ clientId: '', clean: false }));
      const ack = await raw.next();
      assert.deepEqual([ack.type, ...ack.body], [2, 0x00, 0x02]);
      await raw.waitClosed();
    });
    assert.equal(closedLogs(from)[0]?.code, 'ERR_MQTT_CLIENT_ID_REJECTED');
  });

  test('a packet over maxPacketSize: closed before its body arrives, nothing published', async () => {
    const t = `big/${uid('t')}`;
    const watcher = await TestMqttClient.connect(broker, { clientId: uid('w') });
    await watcher.subscribe(t, 1);
    const from = logLines.length;
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('big') });
    // Only the header of a 10 MB PUBLISH: the guard refuses it from the declared length.
    raw.send(publishPacket(t, Buffer.alloc(10 * 1024 * 1024), { qos: 1, id: 1 }).subarray(0, 64));
    await raw.waitClosed();
    assert.equal(closedLogs(from)[0]?.code, 'ERR_MQTT_PACKET_TOO_LARGE');
    // One just under the limit is fine.
    const ok = await TestMqttClient.connect(broker, { clientId: uid('ok') });
    await ok.publish(t, Buffer.alloc(3000, 1), { qos: 1 });
    await flush(ok, watcher, t);
    assert.equal(watcher.received.length, 1);
    assert.equal(watcher.received[0]!.payload.length, 3000);
    await Promise.all([ok.end(), watcher.end()]);
  });

  test('over WebSocket, a message over maxPacketSize: closed with 1009 before ws buffers it whole', async () => {
    await withBystander(async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${broker.ports.ws}`, 'mqtt');
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
      ws.send(Buffer.alloc(64 * 1024, 0x30));
      assert.equal(await code, 1009);
    });
  });

  test('a PUBLISH to a topic with wildcards: closed', async () => {
    const c = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('wild') });
    c.close();
    await expectClosed([connectPacket({ clientId: uid('wild') }), publishPacket('a/+/b', 'x', { qos: 1, id: 1 })], /not allowed|Wildcard/);
  });

  test('a PUBLISH whose topic is not valid UTF-8: closed', async () => {
    await expectClosed([connectPacket({ clientId: uid('utf') }), publishPacket(Buffer.from([0x61, 0x2f, 0xc3, 0x28]), 'x', { qos: 1, id: 1 })], 'ERR_MQTT_TOPIC_INVALID');
  });

  test('a PUBLISH with whitespace in its topic (no core name holds it): closed, nothing routed', async () => {
    await expectClosed([connectPacket({ clientId: uid('space') }), publishPacket('a b/c', 'x', { qos: 1, id: 1 })], 'ERR_MQTT_TOPIC_INVALID');
  });

  test('a PUBLISH (or will) to $SYS/: closed, nothing routed, and it never reaches aedes\'s own $SYS listeners', async () => {
    // aedes closes the connection whose client id is the payload of `$SYS/<other broker>/new/clients`.
    const victim = await TestMqttClient.connect(broker, { clientId: uid('victim') });
    const spy = await TestMqttClient.connect(broker, { clientId: uid('spy') });
    await spy.subscribe('$SYS/#', 1);
    const willer = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('willer'), will: { topic: '$SYS/other/new/clients', payload: victim.client.options.clientId!, qos: 1 } });
    willer.close();
    await expectClosed([connectPacket({ clientId: uid('sys') }), publishPacket('$SYS/other/new/clients', victim.client.options.clientId!, { qos: 1, id: 1 })], 'ERR_MQTT_TOPIC_INVALID');
    assert.equal(victim.client.connected, true);
    await victim.subscribe(`alive/${uid('t')}`, 1);
    assert.equal(victim.client.connected, true);
    // A marker from the core, after everything above: the spy gets it alone.
    await broker.core.send({ destination: { type: 'topic', name: '$SYS.marker' }, body: Buffer.from('marker'), bodyType: 'bytes', durable: false, properties: {} });
    await spy.count(1);
    assert.deepEqual(spy.received.map((m) => `${m.topic} ${m.payload.toString()}`), ['$SYS/marker marker']);
    await Promise.all([victim.end(), spy.end()]);
  });

  test('a SUBSCRIBE to a filter the core cannot hold: SUBACK 0x80 for it, the rest granted, the connection stays', async () => {
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('subbad') });
    const filters = ['ok/1', 'bad/fil ter'].map((f) => Buffer.concat([Buffer.from([0, f.length]), Buffer.from(f), Buffer.from([1])]));
    const body = Buffer.concat([Buffer.from([0, 9]), ...filters]);
    raw.send(Buffer.concat([Buffer.from([0x82, body.length]), body]));
    const suback = await raw.next();
    assert.equal(suback.type, 9);
    assert.deepEqual([...suback.body], [0, 9, 1, 0x80]);
    raw.send(publishPacket('ok/1', 'works', { qos: 0 }));
    const p = await raw.next();
    assert.equal(p.type, 3);
    assert.equal(raw.closed, false);
    raw.close();
  });

  test('PUBLISH before CONNECT: closed', async () => {
    await expectClosed([publishPacket('a/b', 'x')], /./);
  });
});
