import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { publishPacket, pubrel, RawMqtt, type RawPacket } from '../helpers/raw-mqtt.ts';

/*
 * Exactly-once inbound QoS 2 across kill -9: the (client id, packet id) of a persistent session's
 * QoS 2 PUBLISH is stored in the message's own journal batch and deleted at PUBREL, so a client that
 * never saw its PUBREC and retransmits (DUP) after the broker was killed has the message delivered
 * once; and once PUBCOMPed, the packet id is free again, across a kill too.
 */

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const idOf = (p: RawPacket) => p.body.readUInt16BE(0);

async function expectAck(c: RawMqtt, type: number, id: number, what: string): Promise<void> {
  const p = await c.next(10_000);
  assert.equal(p.type, type, `${what}: packet type`);
  assert.equal(idOf(p), id, `${what}: packet id`);
}

/** A full QoS 2 publish from a raw client: PUBLISH, PUBREC, PUBREL, PUBCOMP. */
async function publishQos2(c: RawMqtt, topic: string, body: string, id: number, dup = false): Promise<void> {
  c.send(publishPacket(topic, body, { qos: 2, id, dup }));
  await expectAck(c, 5, id, `PUBREC for ${body}`);
  c.send(pubrel(id));
  await expectAck(c, 7, id, `PUBCOMP for ${body}`);
}

test('a QoS 2 PUBLISH retransmitted after kill -9 (PUBREC never seen) is delivered once; a PUBCOMPed packet id is free after a kill', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-mqtt-state-crash-'));
  dirs.push(dataDir);
  let broker = await BrokerProcess.start({ dataDir });
  try {
    const port = () => ({ ports: { mqtt: broker.ports.mqtt } });
    const sub = await TestMqttClient.connect(port(), { clientId: 'qc-sub', clean: false });
    await sub.subscribe('qc/#', 2);
    await sub.end();

    // 1. PUBLISH, PUBREC (the client's copy of it is "lost"), then kill -9.
    let pub = await RawMqtt.session(broker.ports.mqtt, { clientId: 'qc-pub', clean: false });
    pub.send(publishPacket('qc/a', 'once', { qos: 2, id: 7 }));
    await expectAck(pub, 5, 7, 'PUBREC before the kill');
    assert.equal((await broker.kill()).signal, 'SIGKILL');
    pub.close();

    // 2. Restart; the client retransmits with DUP, then completes the flow.
    broker = await broker.restart();
    pub = await RawMqtt.session(broker.ports.mqtt, { clientId: 'qc-pub', clean: false });
    await publishQos2(pub, 'qc/a', 'once', 7, true);

    // 3. The packet id is free again: a new message with id 7 is a new message (also after a kill).
    await publishQos2(pub, 'qc/a', 'second-use', 7);
    assert.equal((await broker.kill()).signal, 'SIGKILL');
    pub.close();
    broker = await broker.restart();
    pub = await RawMqtt.session(broker.ports.mqtt, { clientId: 'qc-pub', clean: false });
    await publishQos2(pub, 'qc/a', 'third-use', 7);
    await publishQos2(pub, 'qc/a', 'last', 8);
    pub.close();

    const back = await TestMqttClient.connect(port(), { clientId: 'qc-sub', clean: false });
    const deadline = Date.now() + 20_000;
    while (!back.texts.includes('last') && Date.now() < deadline) await back.count(back.received.length + 1, 10_000);
    assert.deepEqual(back.texts, ['once', 'second-use', 'third-use', 'last']);
    await back.end();
  } finally {
    await broker.stop();
  }
});
