import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import mqtt, { type IConnackPacket } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { connectPacket, parsePublish, RawMqtt, subscribePacket, type RawPacket } from '../helpers/raw-mqtt.ts';

/*
 * Session state beyond subscriptions: CONNACK session-present for a persistent session without
 * subscriptions (Mosquitto's answers are the reference), and the PUBREL the broker owes a persistent
 * session for a QoS 2 delivery PUBRECed but not PUBCOMPed, resent after a reconnect and after a
 * broker restart ([MQTT-4.4.0-1]).
 */

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** CONNACK session-present for an MQTT.js 3.1.1 CONNECT, then a clean DISCONNECT. */
async function sessionPresent(broker: TestBroker, clientId: string, clean: boolean): Promise<boolean> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${broker.ports.mqtt}`, { protocolVersion: 4, reconnectPeriod: 0, clientId, clean });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  await client.endAsync();
  return connack.sessionPresent === true;
}

test('session-present is 1 for a stored persistent session without subscriptions, as Mosquitto answers', async () => {
  const broker = await startBroker();
  try {
    // Mosquitto 2: false, true, false, false for this sequence.
    assert.equal(await sessionPresent(broker, 'sp-1', false), false, 'first persistent CONNECT');
    assert.equal(await sessionPresent(broker, 'sp-1', false), true, 'the session was stored, though it has no subscription');
    assert.equal(await sessionPresent(broker, 'sp-1', true), false, 'a clean CONNECT');
    assert.equal(await sessionPresent(broker, 'sp-1', false), false, 'the clean CONNECT ended the session');
    // A clean session leaves nothing behind either.
    assert.equal(await sessionPresent(broker, 'sp-2', true), false);
    assert.equal(await sessionPresent(broker, 'sp-2', false), false);
  } finally {
    await broker.stop();
  }
});

test('a persistent session without subscriptions is still present after a restart', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-state-'));
  dirs.push(dataDir);
  const first = await startBroker({ dataDir });
  assert.equal(await sessionPresent(first, 'sp-r', false), false);
  await first.stop();
  const second = await startBroker({ dataDir });
  try {
    assert.equal(await sessionPresent(second, 'sp-r', false), true);
  } finally {
    await second.stop();
  }
});

/** Connects a raw persistent client; returns it with its CONNACK's session-present flag. */
async function raw(broker: TestBroker, clientId: string): Promise<{ c: RawMqtt; present: boolean }> {
  const c = await RawMqtt.connect(broker.ports.mqtt!);
  c.send(connectPacket({ clientId, clean: false }));
  const ack = await c.next();
  assert.equal(ack.type, 2);
  assert.equal(ack.body[1], 0, 'CONNACK accepted');
  return { c, present: ((ack.body[0] ?? 0) & 1) === 1 };
}

const idPacket = (type: number, id: number): Buffer => Buffer.from([type, 2, id >> 8, id & 0xff]);
const pubrec = (id: number) => idPacket(0x50, id);
const pubcomp = (id: number) => idPacket(0x70, id);
const idOf = (p: RawPacket) => p.body.readUInt16BE(0);

/** Publishes `body` at QoS 2 on `topic` from MQTT.js. */
async function publish(broker: TestBroker, topic: string, body: string): Promise<void> {
  const pub = await TestMqttClient.connect(broker, { clientId: `pub-${topic}` });
  await pub.publish(topic, body, { qos: 2 });
  await pub.end();
}

/** Subscribes a raw persistent client to `topic` at QoS 2, receives one message and PUBRECs it; returns the PUBREL's packet id. */
async function receiveUntilPubrel(broker: TestBroker, clientId: string, topic: string, body: string): Promise<{ c: RawMqtt; id: number }> {
  const { c } = await raw(broker, clientId);
  c.send(subscribePacket(1, topic, 2));
  const suback = await c.next();
  assert.equal(suback.type, 9);
  await publish(broker, topic, body);
  const p = await c.next();
  assert.equal(p.type, 3);
  const m = parsePublish(p);
  assert.equal(m.payload.toString(), body);
  assert.equal(m.qos, 2);
  c.send(pubrec(m.id!));
  const rel = await c.next();
  assert.equal(rel.type, 6, 'PUBREL');
  assert.equal(idOf(rel), m.id);
  return { c, id: m.id! };
}

/** After CONNACK: the next packet, or undefined when none arrives while a PINGREQ is answered. */
async function nextBeforePing(c: RawMqtt): Promise<RawPacket | undefined> {
  c.send(Buffer.from([0xc0, 0x00]));
  const p = await c.next();
  return p.type === 13 ? undefined : p;
}

test('a PUBREL not PUBCOMPed is resent after a reconnect, the message is not; PUBCOMP ends it', async () => {
  const broker = await startBroker();
  try {
    const { c, id } = await receiveUntilPubrel(broker, 'rel-1', 'rel/a', 'one');
    c.close();
    await c.waitClosed();

    const again = await raw(broker, 'rel-1');
    assert.equal(again.present, true);
    const rel = await again.c.next();
    assert.equal(rel.type, 6, `PUBREL resent after CONNACK (got type ${rel.type})`);
    assert.equal(idOf(rel), id);
    assert.equal(await nextBeforePing(again.c), undefined, 'the message itself is not sent again');
    // A new message while the id is still taken gets another packet id.
    await publish(broker, 'rel/a', 'two');
    const p = parsePublish(await again.c.next());
    assert.equal(p.payload.toString(), 'two');
    assert.notEqual(p.id, id, 'the packet id awaiting PUBCOMP is not reused');
    again.c.send(pubcomp(id));
    again.c.send(pubrec(p.id!));
    const rel2 = await again.c.next();
    assert.equal(rel2.type, 6);
    again.c.send(pubcomp(p.id!));
    assert.equal(await nextBeforePing(again.c), undefined);
    again.c.close();
    await again.c.waitClosed();

    const third = await raw(broker, 'rel-1');
    assert.equal(await nextBeforePing(third.c), undefined, 'nothing is owed after PUBCOMP');
    third.c.close();
  } finally {
    await broker.stop();
  }
});

test('a PUBREL not PUBCOMPed is resent after a broker restart; a clean CONNECT drops it', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-state-'));
  dirs.push(dataDir);
  const first = await startBroker({ dataDir });
  const { c, id } = await receiveUntilPubrel(first, 'rel-2', 'rel/b', 'one');
  c.close();
  await first.stop();

  const second = await startBroker({ dataDir });
  try {
    const again = await raw(second, 'rel-2');
    assert.equal(again.present, true);
    const rel = await again.c.next();
    assert.equal(rel.type, 6, `PUBREL resent after the restart (got type ${rel.type})`);
    assert.equal(idOf(rel), id);
    assert.equal(await nextBeforePing(again.c), undefined, 'the message is not sent again');
    again.c.close();
    await again.c.waitClosed();

    const clean = await TestMqttClient.connect(second, { clientId: 'rel-2', clean: true });
    await clean.end();
    const last = await raw(second, 'rel-2');
    assert.equal(last.present, false);
    assert.equal(await nextBeforePing(last.c), undefined, 'the clean session dropped the owed PUBREL');
    last.c.close();
  } finally {
    await second.stop();
  }
});
