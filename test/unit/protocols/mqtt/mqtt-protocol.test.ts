import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import { MqttProtocol } from '../../../../src/protocols/mqtt/mqtt-protocol.ts';
import { TcpServer } from '../../../../src/transport/tcp-server.ts';
import { DISCONNECT, publishPacket, pubrel, RawMqtt } from '../../../helpers/raw-mqtt.ts';
import { closeCores, openCore } from '../../core/core-fixture.ts';

// MqttProtocol's own tables: what a connection leaves behind once it is gone.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await closeCores();
});

async function start(): Promise<{ mqtt: MqttProtocol; port: number }> {
  const core = await openCore();
  const mqtt = await MqttProtocol.create(core, { maxPacketSize: 1 << 20, maxInflight: 10, qos0Window: 10, connectTimeout: 5000, keepaliveLimit: 0 }, pino({ level: 'silent' }));
  const tcp = new TcpServer(mqtt);
  const port = await tcp.listen(0, '127.0.0.1');
  cleanups.push(() => mqtt.close(), () => tcp.close());
  return { mqtt, port };
}

test('the inbound QoS 2 table keeps no entry for a persistent client whose packet ids were all released', async () => {
  const { mqtt, port } = await start();
  for (const clientId of ['pers-a', 'pers-b', 'pers-c']) {
    const c = await RawMqtt.session(port, { clientId, clean: false });
    c.send(publishPacket('q2/t', 'x', { qos: 2, id: 9 }));
    assert.equal((await c.next()).type, 5); // PUBREC
    assert.equal(mqtt.inboundQos2Clients > 0, true);
    c.send(pubrel(9));
    assert.equal((await c.next()).type, 7); // PUBCOMP
    c.send(DISCONNECT);
    await c.waitClosed();
  }
  assert.equal(mqtt.inboundQos2Clients, 0);
});

test('a persistent client that left a QoS 2 PUBLISH without PUBREL keeps that id (its session), and a retransmission is still a duplicate', async () => {
  const { mqtt, port } = await start();
  const c = await RawMqtt.session(port, { clientId: 'pers-open', clean: false });
  c.send(publishPacket('q2/t', 'x', { qos: 2, id: 4 }));
  assert.equal((await c.next()).type, 5);
  c.close();
  await c.waitClosed();
  assert.equal(mqtt.inboundQos2Clients, 1);
  const again = await RawMqtt.session(port, { clientId: 'pers-open', clean: false });
  again.send(pubrel(4));
  assert.equal((await again.next()).type, 7);
  again.send(DISCONNECT);
  await again.waitClosed();
  assert.equal(mqtt.inboundQos2Clients, 0);
});
