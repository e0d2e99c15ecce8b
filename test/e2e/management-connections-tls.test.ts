import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

// Connections over TLS (mqtts:// and wss://) as the management API lists them: `tls` set, and byte
// counts taken after decryption (the TLS handshake alone is several hundred bytes; an MQTT CONNECT
// and SUBSCRIBE are a few dozen).

let broker: TestBroker;
let certs: TestCerts;

interface Conn {
  id: number;
  protocol: string;
  transport: string;
  tls: boolean;
  clientId?: string;
  bytesIn: number;
  bytesOut: number;
}

async function byClientId(clientId: string): Promise<Conn> {
  const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1/connections?clientId=${clientId}`);
  const body = (await res.json()) as { items: Conn[] };
  assert.equal(body.items.length, 1, clientId);
  return body.items[0]!;
}

before(async () => {
  certs = await makeCerts('device1');
  broker = await startBroker({ store: { type: 'memory' }, tls: tlsConfig(certs) });
});
after(async () => {
  await broker?.stop();
  await certs?.remove();
});

test('MQTT over mqtts:// and wss:// is listed with tls and cleartext byte counts', async (t) => {
  const clients: MqttClient[] = [];
  t.after(() => Promise.all(clients.map((c) => c.endAsync(true))));
  for (const [clientId, url, transport] of [
    ['tls-tcp', `mqtts://localhost:${broker.ports.mqttSsl}`, 'tcp'],
    ['tls-ws', `wss://localhost:${broker.ports.wss}`, 'ws'],
  ] as const) {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ca: certs.caPem, clientId, keepalive: 0 });
    clients.push(c);
    await c.subscribeAsync('tls/x', { qos: 1 });
    const first = await byClientId(clientId);
    assert.deepEqual([first.protocol, first.transport, first.tls], ['mqtt', transport, true]);
    if (transport === 'tcp') assert.ok(first.bytesIn > 0 && first.bytesIn < 150, `CONNECT + SUBSCRIBE in cleartext, no handshake: ${first.bytesIn}`);
    // Subscribed to its own topic: the publish comes in, and back out as a delivery.
    const delivered = new Promise<void>((resolve) => c.once('message', () => resolve()));
    await c.publishAsync('tls/x', Buffer.alloc(5000, 7), { qos: 1 });
    await delivered;
    const then = await byClientId(clientId);
    assert.ok(then.bytesIn >= first.bytesIn + 5000, `the publish counted in (${first.bytesIn} -> ${then.bytesIn})`);
    assert.ok(then.bytesOut >= first.bytesOut + 5000, `its delivery counted out (${first.bytesOut} -> ${then.bytesOut})`);
  }
  const plain = await fetch(`http://127.0.0.1:${broker.ports.http}/api/v1/connections?protocol=mqtt`);
  assert.equal(((await plain.json()) as { total: number }).total, 2);
});
