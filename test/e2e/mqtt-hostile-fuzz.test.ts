import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { fuzzCases, fuzzSeed, Rng } from '../helpers/fuzz.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { connectPacket, DISCONNECT, puback, pubcomp, publishPacket, pubrec, pubrel, subscribeManyPacket, unsubscribePacket } from '../helpers/raw-mqtt.ts';

// The end-to-end half of the MQTT fuzz pass (issue 11): a few hundred connections, each sending a
// mutated stream of valid packets (fixed seed), then closing its side. The broker answers or closes
// each; meanwhile a STOMP bystander is served, and afterwards an MQTT client still publishes and
// receives at QoS 0 and 1. `npm run fuzz` runs FUZZ_CASES / 10 connections.

const CONNECTS: Buffer[] = [
  connectPacket({ clientId: 'fz-a' }),
  connectPacket({ clientId: 'fz-b', clean: false, keepalive: 5, will: { topic: 'fz/will', payload: 'bye', qos: 1, retain: true } }),
  connectPacket({ clientId: '', protocolLevel: 3 }),
];
const OTHERS: Buffer[] = [
  publishPacket('fz/a', 'x', { qos: 0 }),
  publishPacket('fz/b', Buffer.alloc(100, 1), { qos: 1, id: 3 }),
  publishPacket('fz/c', 'y', { qos: 2, id: 4, retain: true }),
  subscribeManyPacket(5, ['fz/#', 'fz/+/z', '$share/g/fz/a'], 1),
  unsubscribePacket(6, ['fz/#']),
  puback(1),
  pubrec(2),
  pubrel(4),
  pubcomp(2),
  Buffer.from([0xc0, 0x00]),
];

let broker: TestBroker;
before(async () => {
  broker = await startBroker({ store: { type: 'memory' }, mqtt: { maxPacketSize: 4096, connectTimeout: 1000 } });
});
after(async () => broker.stop());

/** Sends `bytes`, ends its side, and resolves once the connection is closed (the broker's answer read and dropped). */
function oneConnection(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(bytes));
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => resolve());
  });
}

describe('MQTT end-to-end fuzz', () => {
  test('mutated packet streams over TCP: every connection ends, the broker keeps serving', async (t) => {
    const seed = fuzzSeed(0x6d717474);
    const rng = new Rng(seed);
    const connections = Math.max(300, Math.floor(fuzzCases(3000) / 10));
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    for (let i = 0; i < connections; i += 10) {
      // Ten at a time.
      const batch: Array<Promise<void>> = [];
      for (let k = 0; k < 10; k++) {
        const parts = [rng.pick(CONNECTS)];
        for (let j = rng.int(5); j > 0; j--) parts.push(rng.pick(OTHERS));
        if (rng.int(3) === 0) parts.push(DISCONNECT);
        const whole = Buffer.concat(parts);
        batch.push(oneConnection(broker.ports.mqtt!, rng.int(8) === 0 ? whole : rng.mutate(whole)));
      }
      await Promise.all(batch);
    }
    const report = await w.stop();
    t.diagnostic(`seed ${seed}: ${connections} connections; bystander ${report.roundTrips} round trips, slowest ${report.maxRoundTripMs} ms; RSS +${Math.round((report.rssMax - report.rssStart) / 1048576)} MiB`);
    assertServed(report);

    // A well-behaved MQTT client is served after it all.
    const sub = await TestMqttClient.connect(broker, { clientId: 'after-fuzz-sub' });
    await sub.subscribe('after/fuzz', 1);
    const pub = await TestMqttClient.connect(broker, { clientId: 'after-fuzz-pub' });
    await pub.publish('after/fuzz', 'q0', { qos: 0 });
    await pub.publish('after/fuzz', 'q1', { qos: 1 });
    assert.deepEqual((await sub.count(2)).map((m) => m.payload.toString()), ['q0', 'q1']);
    await Promise.all([sub.end(), pub.end()]);
  });
});
