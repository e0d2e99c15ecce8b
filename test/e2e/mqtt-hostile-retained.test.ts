import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { TestMqttClient } from '../helpers/mqtt-client.ts';
import { parsePublish, RawMqtt, subscribeManyPacket } from '../helpers/raw-mqtt.ts';

// Issue 11 item 6 (retained): retained messages are held in memory, so they are capped in count
// (`mqtt.maxRetainedMessages`) and bytes (`mqtt.maxRetainedBytes`) and counted in the memory limits.
// Beyond a cap a retained PUBLISH is delivered to live subscribers and acknowledged, but not retained
// (as EMQX's max_retained_messages); logged once.

const logLines: Array<Record<string, unknown>> = [];
let broker: TestBroker;

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  broker = await startBroker({ mqtt: { maxRetainedMessages: 5, maxRetainedBytes: 64 * 1024 } }, { logger: pino({ level: 'warn' }, sink) });
});
after(async () => broker.stop());

describe('retained message caps', () => {
  test('a producer retaining 500 topics: live subscribers get all, 5 are retained, logged once, memory counted', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const from = logLines.length;
    const live = await TestMqttClient.connect(broker, { clientId: 'ret-live' });
    await live.subscribe('ret/#', 1);
    const attacker = await TestMqttClient.connect(broker, { clientId: 'ret-attacker' });
    for (let i = 0; i < 500; i++) await attacker.publish(`ret/${i}`, `m${i}`, { qos: 1, retain: true });
    await live.count(500, 30_000);
    assert.equal(broker.core.retainedCount, 5);
    assert.ok(broker.core.brokerStats().memoryBytes >= broker.core.retainedBytes && broker.core.retainedBytes > 0);
    const late = await TestMqttClient.connect(broker, { clientId: 'ret-late' });
    await late.subscribe('ret/#', 1);
    const got = await late.count(5);
    assert.deepEqual(got.map((m) => m.payload.toString()), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.ok(got.every((m) => m.retain));
    // Replacing a retained topic and clearing one still work at the cap.
    await attacker.publish('ret/0', 'm0 again', { qos: 1, retain: true });
    await attacker.publish('ret/1', '', { qos: 1, retain: true });
    await attacker.publish('ret/new', 'fits now', { qos: 1, retain: true });
    const later = await TestMqttClient.connect(broker, { clientId: 'ret-later' });
    await later.subscribe('ret/#', 1);
    assert.deepEqual((await later.count(5)).map((m) => m.payload.toString()), ['m0 again', 'm2', 'm3', 'm4', 'fits now']);
    const warned = logLines.slice(from).filter((l) => l.code === 'ERR_RETAINED_LIMIT');
    assert.equal(warned.length, 1, `logged once: ${JSON.stringify(warned)}`);
    await Promise.all([live.end(), late.end(), later.end()]);

    // Bytes: one retained message over the byte cap is delivered but not retained.
    const live2 = await TestMqttClient.connect(broker, { clientId: 'ret-live2' });
    await live2.subscribe('big/#', 1);
    await attacker.publish('ret/0', '', { qos: 1, retain: true });
    await attacker.publish('big/one', Buffer.alloc(100 * 1024, 1), { qos: 1, retain: true });
    assert.equal((await live2.count(1))[0]!.payload.length, 100 * 1024);
    assert.equal(broker.core.retained('big.>').length, 0);
    assert.ok(broker.core.retainedBytes <= 64 * 1024);
    await Promise.all([live2.end(), attacker.end()]);
    assertServed(await w.stop());
  });
});

describe('a retained replacement over a cap', () => {
  test('clears the topic\'s retained message instead of leaving the one it replaces', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const pub = await TestMqttClient.connect(broker, { clientId: 'ret-replace-pub' });
    await pub.publish('stale/t', 'old value', { qos: 1, retain: true });
    // Over mqtt.maxRetainedBytes (64 KiB here): delivered, not retained; the old value is no longer the topic's.
    await pub.publish('stale/t', Buffer.alloc(100 * 1024, 2), { qos: 1, retain: true });
    assert.deepEqual(broker.core.retained('stale.t').map((m) => m.body.toString()), [], 'no stale retained message');
    // The next retained message that fits is kept as usual.
    await pub.publish('stale/t', 'new value', { qos: 1, retain: true });
    const sub = await TestMqttClient.connect(broker, { clientId: 'ret-replace-sub' });
    await sub.subscribe('stale/t', 1);
    assert.deepEqual((await sub.count(1)).map((m) => m.payload.toString()), ['new value']);
    await Promise.all([pub.end(), sub.end()]);
    assertServed(await w.stop());
  });
});

describe('retained messages and many subscriptions', () => {
  let big: TestBroker;
  before(async () => {
    big = await startBroker({ store: { type: 'memory' } });
  });
  after(async () => big.stop());

  test('20,000 retained topics: 5,000 wildcard filters, then "#" from a client holding them, while a bystander is served', async (t) => {
    const pub = await TestMqttClient.connect(big, { clientId: 'many-pub' });
    for (let i = 0; i < 20_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => pub.client.publishAsync(`dev/${i + k}/state`, 'x', { qos: 0, retain: true })));
    }
    await pub.publish('dev/end/state', 'x', { qos: 1, retain: true });
    assert.equal(big.core.retainedCount, 20_001);
    const w = await watchAttack({ stompPort: big.ports.stomp! });
    const c = await RawMqtt.session(big.ports.mqtt!, { clientId: 'many-subs' });
    // Each wildcard filter matches one retained topic: found through the topic index, not a scan of 20,000.
    for (let p = 0; p < 5; p++) c.send(subscribeManyPacket(1 + p, Array.from({ length: 1000 }, (_, k) => `dev/${p * 1000 + k}/+`), 0));
    let subacks = 0;
    let retained = 0;
    while (subacks < 5 || retained < 5000) {
      const pk = await c.next(60_000);
      if (pk.type === 9) subacks++;
      else if (pk.type === 3) retained++;
    }
    // One more filter matching all 20,001: each goes at that filter's QoS without matching it against the 5,000 others.
    c.send(subscribeManyPacket(9, ['#'], 0));
    let all = 0;
    while (all < 20_001) {
      const pk = await c.next(60_000);
      if (pk.type === 3 && parsePublish(pk).retain) all++;
    }
    const report = await w.stop();
    t.diagnostic(`bystander: ${report.roundTrips} round trips, slowest ${report.maxRoundTripMs} ms; lag ${Math.round(report.maxLagMs)} ms; RSS +${Math.round((report.rssMax - report.rssStart) / 1048576)} MiB`);
    assertServed(report, { maxLagMs: 1000 });
    c.close();
    await pub.end();
  });
});
