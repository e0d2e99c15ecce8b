import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { AmqpTestClient, eventually, type LinkFailure } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawMqtt, subscribeManyPacket } from '../helpers/raw-mqtt.ts';
import { RawStomp, type RawFrame } from '../helpers/raw-stomp.ts';

// Issue 11 item 6: every resource a client can make the broker hold has a cap. Each protocol caps
// subscriptions per connection (10,000), not the connections: 21 STOMP connections of 9,999 topic
// subscriptions each exhausted a 1 GiB heap. The core caps consumers and queues broker-wide
// (config `core.maxConsumers`, `core.maxQueues`); one over is refused in each protocol's own way.

const logLines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
    cb();
  },
});

/** Sends `n` topic SUBSCRIBEs and a receipt at once; resolves with the RECEIPT or the ERROR that came instead. */
async function subscribeMany(c: RawStomp, prefix: string, n: number): Promise<RawFrame> {
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) frames.push(RawStomp.frame('SUBSCRIBE', { id: `s${i}`, destination: `/topic/${prefix}.${i}`, ack: 'auto' }));
  frames.push(RawStomp.frame('SUBSCRIBE', { id: 'last', destination: `/topic/${prefix}.last`, receipt: 'done' }));
  c.write(Buffer.concat(frames));
  for (;;) {
    const f = await c.nextFrame();
    if (f.command === 'RECEIPT' || f.command === 'ERROR') return f;
  }
}

const refusals = (from: number): number => logLines.slice(from).filter((l) => l.code === 'ERR_RESOURCE_LIMIT' && l.level === 40).length;

describe('core.maxConsumers', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' }, core: { maxConsumers: 300 } }, { logger: pino({ level: 'warn' }, sink) });
  });
  after(async () => broker.stop());

  test('STOMP subscriptions, an AMQP attach and an MQTT SUBSCRIBE past the broker-wide cap are refused, a bystander is served, and freed consumers can be used again', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! }); // one consumer
    const from = logLines.length;
    const held: RawStomp[] = [];
    let report;
    try {
      // 1 + 2 x 100 consumers: under the cap.
      for (let k = 0; k < 2; k++) {
        const c = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 10_000 });
        held.push(c);
        assert.equal((await subscribeMany(c, `cap.${k}`, 99)).command, 'RECEIPT', `connection ${k} within the cap`);
      }
      // The third connection reaches the cap: ERROR, and its connection (with its subscriptions) goes.
      const over = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 10_000 });
      const refused = await subscribeMany(over, 'cap.over', 199);
      assert.equal(refused.command, 'ERROR', 'a subscription past core.maxConsumers is refused');
      assert.equal(refused.header('message'), 'Resource limit reached');
      assert.match(refused.text, /core\.maxConsumers/);
      await over.closed();
      // Fill up to the cap exactly: 201 + 99.
      const fill = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 10_000 });
      held.push(fill);
      assert.equal((await subscribeMany(fill, 'cap.fill', 98)).command, 'RECEIPT');
      assert.equal(broker.core.consumerCount, 300);

      // AMQP: the attach is refused with amqp:resource-limit-exceeded; the connection stays.
      const amqp = await AmqpTestClient.connect(broker.ports.amqp!);
      const failure = await amqp.receiver('cap.amqp').then(
        () => undefined,
        (err: LinkFailure) => err,
      );
      assert.equal(failure?.condition, 'amqp:resource-limit-exceeded');

      // MQTT: SUBACK 0x80 for the filter; the connection stays.
      const mqtt = await RawMqtt.session(broker.ports.mqtt!, { clientId: 'cap-mqtt', clean: true });
      mqtt.send(subscribeManyPacket(1, ['cap/mqtt'], 1));
      const suback = await mqtt.next();
      assert.equal(suback.type, 9);
      assert.deepEqual([...suback.body.subarray(2)], [0x80]);

      await w.roundTrips(2);
      // Logged at warn once (at most once a minute), not once per refusal.
      assert.equal(refusals(from), 1, 'one warn for several refusals');

      // The attackers go: their consumers and subscription queues are released.
      for (const c of held) c.socket.destroy();
      await eventually(() => broker.core.consumerCount === 1, 'the attackers’ consumers released');
      const again = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 10_000 });
      assert.equal((await subscribeMany(again, 'cap.again', 99)).command, 'RECEIPT', 'freed consumers can be used again');
      const r = await amqp.receiver('cap.amqp');
      assert.equal(r.closed, false);
      mqtt.send(subscribeManyPacket(2, ['cap/mqtt'], 1));
      assert.deepEqual([...(await mqtt.next()).body.subarray(2)], [1]);
      again.socket.destroy();
      mqtt.socket.destroy();
      await amqp.close();
    } finally {
      for (const c of held) c.socket.destroy();
      report = await w.stop();
    }
    assertServed(report);
  });
});

describe('core.maxQueues', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' }, core: { maxQueues: 50 } }, { logger: pino({ level: 'warn' }, sink) });
  });
  after(async () => broker.stop());

  test('a send that would auto-create a queue past the cap gets an ERROR; sends to existing queues still work', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! }); // one queue
    let report;
    try {
      const c = await RawStomp.connect(broker.ports.stomp!, undefined, { timeout: 10_000 });
      const frames: Buffer[] = [];
      for (let i = 0; i < 60; i++) frames.push(RawStomp.frame('SEND', { destination: `/queue/capq.${i}`, receipt: `r${i}` }, 'x'));
      c.write(Buffer.concat(frames));
      let receipts = 0;
      let error: RawFrame | undefined;
      while (!error) {
        const f = await c.nextFrame();
        if (f.command === 'RECEIPT') receipts++;
        else if (f.command === 'ERROR') error = f;
      }
      assert.equal(receipts, 49, '49 new queues next to the bystander’s');
      assert.equal(error.header('message'), 'Resource limit reached');
      assert.match(error.text, /core\.maxQueues/);
      assert.equal(broker.core.queueCount, 50);
      // A queue that exists takes sends as before.
      const d = await RawStomp.connect(broker.ports.stomp!);
      const ok = await d.request('SEND', { destination: '/queue/capq.0', receipt: 'again' }, 'y');
      assert.equal(ok.command, 'RECEIPT');
      d.socket.destroy();
      await w.roundTrips(2);
    } finally {
      report = await w.stop();
    }
    assertServed(report);
  });
});

describe('caps below what the store holds', () => {
  test('durable subscriptions recovered past core.maxQueues are all kept and can be attached again; only new queues are refused', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dataDir = await mkdtemp(path.join(tmpdir(), 'junction-caps-'));
    const connectHeaders = { 'accept-version': '1.2', host: 'localhost', 'client-id': 'keeper' };
    try {
      const first = await startBroker({ dataDir });
      const c = await RawStomp.connect(first.ports.stomp!, connectHeaders);
      for (let i = 0; i < 5; i++) {
        const f = await c.request('SUBSCRIBE', { id: `d${i}`, destination: `/topic/kept.${i}`, 'activemq.subscriptionName': `kept${i}`, receipt: `r${i}` });
        assert.equal(f.command, 'RECEIPT');
      }
      c.socket.destroy();
      await eventually(() => first.core.consumerCount === 0, 'the subscriber gone');
      const p = await RawStomp.connect(first.ports.stomp!);
      assert.equal((await p.request('SEND', { destination: '/topic/kept.4', persistent: 'true', receipt: 'sent' }, 'stored')).command, 'RECEIPT');
      p.socket.destroy();
      await first.close();

      const second = await startBroker({ dataDir, core: { maxQueues: 3 } });
      try {
        assert.equal(second.core.durableSubscriptions('keeper').length, 5, 'every stored subscription recovered');
        const d = await RawStomp.connect(second.ports.stomp!, connectHeaders);
        // Attaching again needs no new queue: allowed above the cap, with the stored message.
        d.send('SUBSCRIBE', { id: 'again', destination: '/topic/kept.4', 'activemq.subscriptionName': 'kept4' });
        const m = await d.nextFrame();
        assert.equal(m.command, 'MESSAGE');
        assert.equal(m.text, 'stored');
        // A new queue is refused.
        await assert.rejects(d.request('SEND', { destination: '/queue/new.one', receipt: 'x' }, 'y'), /ERROR Resource limit reached: .*core\.maxQueues/);
        d.socket.destroy();
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
