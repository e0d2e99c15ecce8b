import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { BrokerProcess } from '../helpers/broker-process.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { parsePublish, RawMqtt, subscribePacket } from '../helpers/raw-mqtt.ts';

// Issue 11 item 7 (MQTT's part): a subscriber that never reads its socket holds the broker to what
// its credit allows, at QoS 0 (qos0Window, credit taken back while the stream is congested) and at
// QoS 1 (maxInflight unacknowledged), however much a producer sends: the rest waits in its queue
// (paged past the memory limit). The transport's slow-consumer close is turned off here, so what
// bounds memory is MQTT's own pacing; the subscriber gets its messages once it reads again.
// (Passed before any change in this work: the pacing from b4e250d/5079044 holds; this proves it.)

/** 234 MiB: an unbounded broker would grow by more than that; measured +83-90 MiB at QoS 0 (from 30k to 90k messages: it does not grow with them), +15 MiB at QoS 1. */
const MESSAGES = 60_000;
const BODY = Buffer.alloc(4096, 0x71);

// The broker runs in a child process so that its RSS is its own (the producer here allocates the
// 120 MiB it sends).
let broker: BrokerProcess;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'junction-slow-mqtt-'));
  const config = path.join(dataDir, 'junction.json');
  await writeFile(config, JSON.stringify({
    // Queues keep 16 MiB in memory, the rest is paged to the journal: 120 MiB sent stays out of RSS
    // unless the subscriber's connection holds it.
    globalMaxSizeBytes: 16 * 1024 * 1024,
    connections: { slowConsumerTimeout: 0, maxOutboundBytes: 1024 * 1024 * 1024 },
  }));
  broker = await BrokerProcess.start({ dataDir: path.join(dataDir, 'data'), args: ['--config', config] });
});
after(async () => {
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a subscriber that never reads', () => {
  for (const qos of [0, 1] as const) {
    test(`QoS ${qos}: ${MESSAGES} x 4 KiB published, the broker's RSS stays bounded, the bystander is served, nothing is lost at QoS 1`, async (t) => {
      const w = await watchAttack({ stompPort: broker.ports.stomp, inProcess: false, pid: broker.child.pid! });
      const topic = `slow${qos}/data`;
      const sub = await RawMqtt.session(broker.ports.mqtt, { clientId: `slow-sub-${qos}`, clean: qos === 0 });
      sub.send(subscribePacket(1, topic, qos));
      assert.equal((await sub.next()).type, 9, 'SUBACK');
      sub.socket.pause();

      const pub = await TestMqttClient.connect({ ports: { mqtt: broker.ports.mqtt } }, { clientId: `slow-pub-${qos}` });
      for (let i = 0; i < MESSAGES; i += 200) {
        const batch = [];
        for (let j = i; j < i + 200; j++) batch.push(pub.client.publishAsync(topic, BODY, { qos }));
        await Promise.all(batch);
      }
      await pub.end();
      const report = await w.stop();
      t.diagnostic(`bystander: ${report.roundTrips} round trips, slowest ${report.maxRoundTripMs} ms; lag ${Math.round(report.maxLagMs)} ms; RSS +${Math.round((report.rssMax - report.rssStart) / 1048576)} MiB (sent ${(MESSAGES * BODY.length) / 1048576} MiB)`);
      assertServed(report, { maxRssGrowthMiB: 160 });
      assert.equal(sub.closed, false, 'MQTT paces the subscriber; it does not drop it');

      // Reading again, it gets what it was owed: at QoS 1 every message, acknowledged as it goes.
      sub.socket.resume();
      if (qos === 0) {
        await sub.next(30_000);
      } else {
        let got = 0;
        while (got < MESSAGES) {
          const p = await sub.next(30_000);
          if (p.type !== 3) continue;
          const m = parsePublish(p);
          assert.equal(m.payload.length, BODY.length);
          sub.send(Buffer.from([0x40, 0x02, m.id! >> 8, m.id! & 0xff]));
          got++;
        }
      }
      sub.close();
    });
  }
});

// Issue 11 item 7 at QoS 1 with large messages: maxInflight counts messages, not bytes, so without
// pacing by the connection's congestion each subscriber that never reads took 1,000 x 64 KiB into its
// outgoing buffer (the attacker: 20 subscribers, RSS 126 -> 2,557 MB before the slow-consumer close).
// Credit is now held while the stream is congested, as at QoS 0, and given back on 'drain'.
const SLOW_SUBS = 10;
const BIG_MESSAGES = 1000;
const BIG_BODY_BYTES = 64 * 1024;

describe('QoS 1 subscribers that never read, large messages', () => {
  test(`${SLOW_SUBS} subscribers x ${BIG_MESSAGES} x 64 KiB: the broker's RSS stays bounded, the bystander is served, a reader that resumes gets every message in order`, async (t) => {
    const w = await watchAttack({ stompPort: broker.ports.stomp, inProcess: false, pid: broker.child.pid! });
    const topic = 'slowbig/data';
    const subs: RawMqtt[] = [];
    for (let i = 0; i < SLOW_SUBS; i++) {
      const sub = await RawMqtt.session(broker.ports.mqtt, { clientId: `slow-big-${i}`, clean: false });
      sub.send(subscribePacket(1, topic, 1));
      assert.equal((await sub.next()).type, 9, 'SUBACK');
      sub.socket.pause();
      subs.push(sub);
    }

    const pub = await TestMqttClient.connect({ ports: { mqtt: broker.ports.mqtt } }, { clientId: 'slow-big-pub' });
    for (let i = 0; i < BIG_MESSAGES; i += 50) {
      const batch = [];
      for (let j = i; j < i + 50; j++) {
        const body = Buffer.alloc(BIG_BODY_BYTES, 0x62);
        body.writeUInt32BE(j, 0);
        batch.push(pub.client.publishAsync(topic, body, { qos: 1 }));
      }
      await Promise.all(batch);
    }
    await pub.end();
    // Deliveries go on after the last PUBACK to the producer: the watch runs on a while (2 s or so).
    await w.roundTrips(30);
    const report = await w.stop();
    const growth = Math.round((report.rssMax - report.rssStart) / 1048576);
    t.diagnostic(`bystander: ${report.roundTrips} round trips, slowest ${report.maxRoundTripMs} ms; lag ${Math.round(report.maxLagMs)} ms; RSS +${growth} MiB (in flight unpaced: ${(SLOW_SUBS * BIG_MESSAGES * BIG_BODY_BYTES) / 1048576} MiB)`);
    assertServed(report, { maxRssGrowthMiB: 400 });
    for (const sub of subs) assert.equal(sub.closed, false, 'MQTT paces the subscriber; it does not drop it');

    // One reads again: every message, in publish order, acknowledged as it goes.
    const reader = subs[0]!;
    reader.socket.resume();
    let next = 0;
    while (next < BIG_MESSAGES) {
      const p = await reader.next(30_000);
      if (p.type !== 3) continue;
      const m = parsePublish(p);
      assert.equal(m.payload.length, BIG_BODY_BYTES);
      assert.equal(m.payload.readUInt32BE(0), next, 'in publish order');
      reader.send(Buffer.from([0x40, 0x02, m.id! >> 8, m.id! & 0xff]));
      next++;
    }
    for (const sub of subs) sub.close();
  });
});
