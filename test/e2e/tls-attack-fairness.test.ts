import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startBroker } from '../helpers/broker.ts';
import { makeCerts, tlsConfig, type TestCerts } from '../helpers/tls-certs.ts';

/*
 * Attack on the TLS listeners (issue 14 part 4): a TLS client that floods small records must not
 * hold the event loop. A TLSSocket emits one 'data' per TLS record, and a TLS write completes (a
 * congested socket drains) only in the next event-loop turn: four MQTT-over-TLS publishers flooding
 * QoS 0 made each turn last ~0.5 s, and a subscriber over TLS got 16 KiB per turn (the bench's
 * QoS 0 fan-in over TLS: ~300 msg/s against ~40,000 plain).
 */

let certs: TestCerts;
before(async () => {
  certs = await makeCerts();
});
after(() => certs.remove());

/**
 * Four raw TLS connections in a child process (so they can outrun the broker) that each CONNECT
 * and then write QoS 0 PUBLISHes of 256 bytes to `fair/<i>`, one write (one TLS record) each, as
 * fast as the socket drains, until the child is killed.
 */
const FLOOD = `
import tls from 'node:tls';
const [port, ca] = [Number(process.argv[1]), process.argv[2]];
const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
for (let i = 0; i < 4; i++) {
  const id = str('flood' + i);
  const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 0]), id]);
  const connect = Buffer.concat([Buffer.from([0x10, vh.length]), vh]);
  const body = Buffer.concat([str('fair/' + i), Buffer.alloc(256, 97)]);
  const publish = Buffer.concat([Buffer.from([0x30, 0x80 | (body.length & 127), body.length >> 7]), body]);
  const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
    s.write(connect);
    const pump = () => { while (s.write(publish)) {} };
    s.on('drain', pump);
    pump();
  });
  s.on('error', () => process.exit(0));
}
`;

test('four TLS publishers flooding QoS 0: a subscriber over TLS keeps up with one over plain TCP (the TLS listener yields between records)', async (t) => {
  const broker = await startBroker({ tls: tlsConfig(certs) });
  t.after(() => broker.stop());
  const ports = broker.ports as Record<string, number>;
  const opts = { protocolVersion: 4 as const, reconnectPeriod: 0, ca: certs.caPem, servername: 'localhost' };
  const overTls = await mqtt.connectAsync(`mqtts://127.0.0.1:${ports.mqttSsl}`, opts);
  const plain = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, opts);
  t.after(() => Promise.all([overTls.endAsync(true), plain.endAsync(true)]));
  const got = { tls: 0, plain: 0 };
  overTls.on('message', () => got.tls++);
  plain.on('message', () => got.plain++);
  await overTls.subscribeAsync('fair/#', { qos: 0 });
  await plain.subscribeAsync('fair/#', { qos: 0 });

  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOD, String(ports.mqttSsl), certs.caPem.toString()], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  // Both see the same messages, in the same order; what differs is how far behind each is.
  while (got.plain < 20_000) await new Promise((r) => setTimeout(r, 50));
  const snapshot = { ...got };
  child.kill('SIGKILL');
  // Before the fix the TLS subscriber had ~1% of the plain one's count at this point.
  assert.ok(snapshot.tls >= snapshot.plain / 2, `while the flood ran, the TLS subscriber got ${snapshot.tls} messages, the plain one ${snapshot.plain}`);
});
