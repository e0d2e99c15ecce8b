import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/core/ports/store.ts';
import { eventually } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { flush, TestMqttClient, TRANSPORTS } from '../helpers/mqtt-client.ts';
import { parsePublish, puback, publishPacket, pubrel, RawMqtt, subscribePacket } from '../helpers/raw-mqtt.ts';

// MQTT 3.1.1 delivery through the core: QoS 0/1/2, wildcards, `$` topics, QoS downgrade,
// exactly-once for inbound QoS 2, the receive window as core credit, and PUBACK only once stored.

let broker: TestBroker;
let n = 0;
const uid = (p: string): string => `${p}${++n}${Math.random().toString(36).slice(2, 6)}`;

before(async () => {
  broker = await startBroker({ store: { type: 'memory' }, mqtt: { maxInflight: 3 } });
});
after(() => broker.stop());

for (const transport of TRANSPORTS) {
  describe(`over ${transport}`, () => {
    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos} round trip: topic, payload bytes and QoS (min of publish and subscription) arrive once`, async () => {
        const t = `rt/${uid('t')}/q${qos}`;
        const sub = await TestMqttClient.connect(broker, { transport, clientId: uid('sub') });
        const pub = await TestMqttClient.connect(broker, { transport, clientId: uid('pub') });
        try {
          assert.deepEqual(await sub.subscribe(t, 2), [2]);
          const payload = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0xc3, 0xa9]);
          await pub.publish(t, payload, { qos });
          const [m] = await sub.count(1);
          assert.equal(m!.topic, t);
          assert.deepEqual(m!.payload, payload);
          assert.equal(m!.qos, qos);
          assert.equal(m!.retain, false);
          await flush(pub, sub, t);
          assert.equal(sub.received.length, 1);
        } finally {
          await sub.end();
          await pub.end();
        }
      });
    }

    test('a QoS 2 publish to a QoS 1 subscription arrives at QoS 1, to a QoS 0 one at QoS 0', async () => {
      const t = `down/${uid('t')}`;
      const s1 = await TestMqttClient.connect(broker, { transport, clientId: uid('s1') });
      const s0 = await TestMqttClient.connect(broker, { transport, clientId: uid('s0') });
      const pub = await TestMqttClient.connect(broker, { transport, clientId: uid('p') });
      try {
        await s1.subscribe(t, 1);
        await s0.subscribe(t, 0);
        await pub.publish(t, 'x', { qos: 2 });
        assert.equal((await s1.count(1))[0]!.qos, 1);
        assert.equal((await s0.count(1))[0]!.qos, 0);
      } finally {
        await Promise.all([s1.end(), s0.end(), pub.end()]);
      }
    });
  });
}

describe('filters', () => {
  test('+ matches one level, # the rest and the parent itself; a . inside a level round-trips', async () => {
    const base = uid('f');
    const sub = await TestMqttClient.connect(broker, { clientId: uid('sub') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('pub') });
    try {
      await sub.subscribe([`${base}/+/temp`, `${base}/all/#`], 1);
      for (const t of [`${base}/1/temp`, `${base}/1/2/temp`, `${base}/all`, `${base}/all/x/y`, `${base}/v1.2/temp`, `${base}/x/hum`]) await pub.publish(t, t, { qos: 1 });
      await flush(pub, sub, `${base}/all/flush`);
      assert.deepEqual(sub.received.map((m) => m.topic).sort(), [`${base}/1/temp`, `${base}/all`, `${base}/all/x/y`, `${base}/v1.2/temp`].sort());
      // The core saw the `.` inside a level as `/` inside a segment.
      assert.ok(broker.core.queueStats().some((q) => q.topic === `${base}.*.temp`));
    } finally {
      await Promise.all([sub.end(), pub.end()]);
    }
  });

  test('# and + do not match topics starting with $ [MQTT-4.7.2-1]; an explicit $ filter does', async () => {
    const base = uid('d');
    const wild = await TestMqttClient.connect(broker, { clientId: uid('w') });
    const plus = await TestMqttClient.connect(broker, { clientId: uid('w') });
    const explicit = await TestMqttClient.connect(broker, { clientId: uid('e') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      await wild.subscribe('#', 1);
      await plus.subscribe(`+/${base}`, 1);
      await explicit.subscribe(`$app/${base}`, 1);
      await pub.publish(`$app/${base}`, 'dollar', { qos: 1 });
      await pub.publish(`x/${base}`, 'plain', { qos: 1 });
      assert.deepEqual((await explicit.count(1)).map((m) => m.payload.toString()), ['dollar']);
      await flush(pub, wild, `x/${base}/flush`);
      assert.deepEqual(wild.texts.filter((t) => t === 'dollar' || t === 'plain'), ['plain']);
      await flush(pub, plus, `x/${base}`);
      assert.deepEqual(plus.texts, ['plain']);
    } finally {
      await Promise.all([wild.end(), plus.end(), explicit.end(), pub.end()]);
    }
  });
});

describe('acknowledgements', () => {
  test('inbound QoS 2 is exactly once: a PUBLISH retransmitted with the same packet id reaches subscribers once', async () => {
    const t = `eo/${uid('t')}`;
    const sub = await TestMqttClient.connect(broker, { clientId: uid('sub') });
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('raw') });
    try {
      await sub.subscribe(t, 2);
      raw.send(publishPacket(t, 'once', { qos: 2, id: 7 }));
      raw.send(publishPacket(t, 'once', { qos: 2, id: 7, dup: true }));
      assert.equal((await raw.next()).type, 5); // PUBREC
      assert.equal((await raw.next()).type, 5);
      raw.send(publishPacket(t, 'once', { qos: 2, id: 7, dup: true }));
      assert.equal((await raw.next()).type, 5);
      raw.send(pubrel(7));
      assert.equal((await raw.next()).type, 7); // PUBCOMP
      // The same id after PUBCOMP is a new message.
      raw.send(publishPacket(t, 'twice', { qos: 2, id: 7 }));
      assert.equal((await raw.next()).type, 5);
      raw.send(pubrel(7));
      assert.equal((await raw.next()).type, 7);
      await sub.count(2);
      const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
      await flush(pub, sub, t);
      await pub.end();
      assert.deepEqual(sub.texts, ['once', 'twice']);
    } finally {
      raw.close();
      await sub.end();
    }
  });

  test('a burst of QoS 2 publishes (more than 1000 awaiting PUBREL at once) is taken, each once, on one connection', async () => {
    // aedes's maxInflightInbound (1000) closed such a connection after this broker had stored the message.
    const t = `burst2/${uid('t')}`;
    const sub = await TestMqttClient.connect(broker, { clientId: uid('sub') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      await sub.subscribe(t, 0);
      const sent = [];
      for (let i = 0; i < 3000; i++) sent.push(pub.publish(t, `m${i}`, { qos: 2 }));
      const closed = new Promise<never>((_, reject) => pub.client.once('close', () => reject(new Error('the broker closed the publisher'))));
      await Promise.race([Promise.all(sent), closed]);
      await sub.count(3000, 30_000);
      await flush(pub, sub, t);
      assert.equal(new Set(sub.texts).size, 3000);
      assert.equal(sub.received.length, 3000);
    } finally {
      await Promise.all([sub.end(), pub.drop()]);
    }
  });

  test('the receive window: a subscriber that does not PUBACK gets maxInflight messages, one more per PUBACK', async () => {
    const t = `win/${uid('t')}`;
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('slow') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      raw.send(subscribePacket(1, t, 1));
      assert.equal((await raw.next()).type, 9); // SUBACK
      for (let i = 0; i < 6; i++) await pub.publish(t, `m${i}`, { qos: 1 });
      const first = [];
      for (let i = 0; i < 3; i++) first.push(parsePublish(await raw.next()));
      assert.deepEqual(first.map((p) => p.payload.toString()), ['m0', 'm1', 'm2']);
      const sub = broker.core.queueStats().find((q) => q.topic === t.replaceAll('/', '.'))!;
      assert.equal(sub.inDelivery, 3);
      assert.equal(sub.messages, 6);
      assert.equal(raw.packets.length, 0);
      raw.send(puback(first[0]!.id!));
      assert.equal(parsePublish(await raw.next()).payload.toString(), 'm3');
    } finally {
      raw.close();
      await pub.end();
    }
  });

  test('SUBSCRIBE again with another QoS (clean session) replaces the subscription without losing what it held [MQTT-3.8.4-3]', async () => {
    const t = `resub/${uid('t')}`;
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('resub') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      raw.send(subscribePacket(1, t, 1));
      assert.equal((await raw.next()).type, 9);
      for (const x of ['a', 'b', 'c', 'd', 'e']) await pub.publish(t, x, { qos: 1 });
      const inFlight = [];
      for (let i = 0; i < 3; i++) inFlight.push(parsePublish(await raw.next()));
      raw.send(subscribePacket(2, t, 2));
      assert.equal((await raw.next()).type, 9);
      const rest = [];
      for (const p of inFlight) {
        raw.send(puback(p.id!));
        rest.push(parsePublish(await raw.next()));
        if (rest.length === 2) break;
      }
      assert.deepEqual([...inFlight, ...rest].map((p) => p.payload.toString()), ['a', 'b', 'c', 'd', 'e']);
    } finally {
      raw.close();
      await pub.end();
    }
  });

  test('QoS 0 messages sent to a QoS 1 subscription are settled in the core as they are written (none left in delivery)', async () => {
    const t = `q0q1/${uid('t')}`;
    const sub = await TestMqttClient.connect(broker, { clientId: uid('sub') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('pub') });
    try {
      await sub.subscribe(t, 1);
      for (let i = 0; i < 5; i++) await pub.publish(t, `m${i}`, { qos: 0 });
      const got = await sub.count(5);
      assert.deepEqual(got.map((m) => m.qos), [0, 0, 0, 0, 0]);
      await flush(pub, sub, t);
      const stats = () => broker.core.queueStats().filter((s) => s.kind === 'subscription' && s.topic?.includes(t.split('/')[1]!));
      assert.equal(stats().length, 1);
      // The flush marker (QoS 1) is settled by its PUBACK, which may still be on its way.
      await eventually(() => stats()[0]!.inDelivery === 0, 'no delivery left unsettled');
      assert.equal(stats()[0]!.messages, 0);
      assert.equal(stats()[0]!.acked, 6);
    } finally {
      await sub.end();
      await pub.end();
    }
  });

  test('distinct packet ids for messages in flight; PUBACK of one settles that delivery in the core', async () => {
    const t = `ids/${uid('t')}`;
    const raw = await RawMqtt.session(broker.ports.mqtt!, { clientId: uid('ids') });
    const pub = await TestMqttClient.connect(broker, { clientId: uid('p') });
    try {
      raw.send(subscribePacket(1, t, 1));
      await raw.next();
      await pub.publish(t, 'a', { qos: 1 });
      await pub.publish(t, 'b', { qos: 1 });
      const a = parsePublish(await raw.next());
      const b = parsePublish(await raw.next());
      assert.notEqual(a.id, b.id);
      raw.send(puback(b.id!));
      const name = t.replaceAll('/', '.');
      const deadline = Date.now() + 5000;
      while (broker.core.queueStats().find((q) => q.topic === name)!.acked < 1) {
        if (Date.now() > deadline) throw new Error('PUBACK did not settle the delivery');
        await new Promise((r) => setImmediate(r));
      }
      const q = broker.core.queueStats().find((s) => s.topic === name)!;
      assert.equal(q.inDelivery, 1);
    } finally {
      raw.close();
      await pub.end();
    }
  });
});

describe('PUBACK waits for the store', () => {
  test('a QoS 1 PUBLISH to a durable subscriber is acknowledged only after the store commit resolves', async () => {
    let release: (() => void) | undefined;
    let committing: (() => void) | undefined;
    const committed = new Promise<void>((r) => (committing = r));
    class GatedStore extends MemoryStore {
      gate = false;
      override async commit(batch: StoreOp[]): Promise<void> {
        if (this.gate && batch.some((o) => o.op === 'addMessage')) {
          committing!();
          await new Promise<void>((r) => (release = r));
        }
        return super.commit(batch);
      }
    }
    const store = new GatedStore();
    const b = await startBroker({}, { store });
    try {
      const durable = await TestMqttClient.connect(b, { clientId: 'durable-sub', clean: false });
      await durable.subscribe('gate/t', 1);
      await durable.end();
      const raw = await RawMqtt.session(b.ports.mqtt!, { clientId: 'gated-pub' });
      store.gate = true;
      raw.send(publishPacket('gate/t', 'held', { qos: 1, id: 42 }));
      await committed;
      // The batch is with the store and not yet durable: no PUBACK may have been written.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(raw.packets.length, 0, 'PUBACK before the store had the message');
      release!();
      const ack = await raw.next();
      assert.equal(ack.type, 4);
      assert.equal(ack.body.readUInt16BE(0), 42);
      assert.equal(store.size, 1);
      raw.close();
    } finally {
      await b.stop();
    }
  });
});
