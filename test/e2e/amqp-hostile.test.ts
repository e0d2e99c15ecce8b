import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { AMQP_HEADER, perf, RawAmqp, SASL_HEADER, terminus, until } from '../helpers/raw-amqp.ts';

// Hostile AMQP peers over real sockets (issue 11, items 2, 7 and 10), each with a STOMP bystander
// that must keep being served: a poison stored message, a consumer that never reads its socket,
// connections that never open, and a peer asking for a 1 ms idle timeout.

const { logger, lines } = captureLog();

let broker: TestBroker;
before(async () => {
  broker = await startBroker({ store: { type: 'memory' }, amqp: { connectTimeout: 500 }, globalMaxSizeBytes: -1 }, { logger });
});
after(async () => {
  await broker.stop();
});

/** The bytes: an application-properties section holding an array32 of 0xFFFFFFFF nulls. */
const POISON = Buffer.from([0x00, 0x53, 0x74, 0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40]).toString('base64');
/** A truncated map32 header. */
const TRUNCATED = Buffer.from([0x00, 0x53, 0x74, 0xd1, 0, 0, 0, 0]).toString('base64');

describe('a stored message an AMQP consumer cannot receive (item 2)', () => {
  for (const settle of ['unsettled', 'pre-settled'] as const) {
    test(`is dead-lettered with the reason and the ${settle} consumer gets the next message`, async () => {
      const queue = `poison.${settle}`;
      const watch = await watchAttack({ stompPort: broker.ports.stomp! });
      // Written past every ingress, as a message stored before ingress stripped x-amqp-* would be.
      await broker.core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from('bad'), durable: true, properties: { 'x-amqp-properties': POISON } });
      await broker.core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from('bad too'), durable: true, properties: { 'x-amqp-properties': TRUNCATED } });
      await broker.core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from('good'), durable: true, properties: {} });

      const c = await AmqpTestClient.connect(broker.ports.amqp!);
      const r = await c.receiver(queue, 10, settle === 'pre-settled' ? { snd_settle_mode: 1 } : {});
      const got = await r.next(10_000);
      assert.equal(Buffer.from((got.message.body as { content: Buffer }).content).toString(), 'good');
      if (settle === 'unsettled') got.delivery.accept();
      assert.equal(r.closed, false, 'the link stays attached');

      const dlq = broker.core.getQueue('ActiveMQ.DLQ')!.browse().filter((m) => m.originalDestination?.name === queue);
      assert.deepEqual(dlq.map((m) => m.body.toString()).sort(), ['bad', 'bad too']);
      for (const m of dlq) assert.match(String(m.properties.dlqDeliveryFailureCause), /cannot be sent over AMQP: x-amqp-properties/);
      assert.equal(lines.filter((l) => l.msg === 'amqp delivery cannot be mapped; message dead-lettered' && String(l.queue) === queue).length, 2, 'logged once each');

      await c.close();
      await watch.roundTrips(2);
      assertServed(await watch.stop());
    });
  }

  test('a queue browser skips it and the message stays queued', async () => {
    const queue = 'poison.browsed';
    await broker.core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from('bad'), durable: true, properties: { 'x-amqp-properties': POISON } });
    await broker.core.send({ destination: { type: 'queue', name: queue }, body: Buffer.from('good'), durable: true, properties: {} });
    const c = await AmqpTestClient.connect(broker.ports.amqp!);
    const r = await c.receiver({ address: queue, distribution_mode: 'copy' }, 10);
    const got = await r.next(10_000);
    assert.equal(Buffer.from((got.message.body as { content: Buffer }).content).toString(), 'good');
    assert.equal(broker.core.getQueue(queue)!.messageCount, 2, 'browsing consumes nothing');
    assert.ok(lines.some((l) => l.msg === 'amqp browse skipped a message that cannot be mapped'));
    await c.close();
  });

  test('an AMQP consumer of the dead-letter queue leaves the poison there for other protocols', async () => {
    const before = broker.core.getQueue('ActiveMQ.DLQ')!.messageCount;
    assert.ok(before >= 2);
    const c = await AmqpTestClient.connect(broker.ports.amqp!);
    const r = await c.receiver('ActiveMQ.DLQ', 10);
    await until(() => lines.filter((l) => l.msg === 'amqp delivery cannot be mapped; message dead-lettered' && l.queue === 'ActiveMQ.DLQ').length >= 2, 'the DLQ consumer refusing them');
    assert.equal(r.pending, 0);
    assert.equal(broker.core.getQueue('ActiveMQ.DLQ')!.messageCount, before);
    await c.close();
  });
});

describe('a consumer that never reads its socket (item 7)', () => {
  // 20,000 x 4 KiB (the session's window of 4096 deliveries bounded these before), and 3,000 x 64 KiB
  // (within that window: all of them went into the socket's buffer, 192 MB of encoded copies).
  const cases = [
    { count: 20_000, size: 4096, most: 5000 },
    { count: 3000, size: 64 * 1024, most: 500 },
  ];
  for (const settle of ['pre-settled', 'unsettled'] as const) for (const { count: COUNT, size, most } of cases) {
    test(`${settle}, with 1,000,000 credit, ${COUNT} x ${size / 1024} KiB: deliveries stop at the high-water mark; RSS stays bounded`, async () => {
      const BODY = Buffer.alloc(size, 0x61); // one buffer: the queue holds references, not copies
      const queue = `slow.${settle}.${size}`;
      const watch = await watchAttack({ stompPort: broker.ports.stomp! });
      const slow = await RawAmqp.connect(broker.ports.amqp!);
      slow.write(
        AMQP_HEADER,
        perf('open', { container_id: 'slow' }),
        perf('begin', { next_outgoing_id: 0, incoming_window: 2_000_000, outgoing_window: 100 }),
        perf('attach', { name: 'slow', handle: 0, role: true, snd_settle_mode: settle === 'pre-settled' ? 1 : 0, rcv_settle_mode: 0, source: terminus.source({ address: queue }), target: terminus.target({}) }),
        perf('flow', { next_incoming_id: 0, incoming_window: 2_000_000, next_outgoing_id: 0, outgoing_window: 100, handle: 0, delivery_count: 0, link_credit: 1_000_000 }),
      );
      await until(() => slow.received.some((r) => r.name === 'attach'), 'the attach');
      slow.socket.pause(); // never reads again (until the end of the test)

      for (let i = 0; i < COUNT; i++) {
        await broker.core.send({ destination: { type: 'queue', name: queue }, body: BODY, properties: {} });
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
      const q = broker.core.getQueue(queue)!;
      // Handed to the consumer: pre-settled ones leave the queue, unsettled ones wait in delivery.
      const delivered = () => (settle === 'pre-settled' ? COUNT - q.messageCount : (q.consumers[0]?.unacked.size ?? 0));
      // The broker stops delivering once the socket is congested: the count stays put while the
      // bystander goes on.
      await watch.roundTrips(5);
      const stopped = delivered();
      await watch.roundTrips(5);
      assert.equal(delivered(), stopped, 'no more deliveries into the congested socket');
      // About TURN_BYTES (1 MiB) plus the transport's buffer and the kernel's socket buffers; not 80 MB.
      assert.ok(stopped > 0 && stopped < most, `${stopped} of ${COUNT} ${size / 1024} KiB messages went to a consumer that reads nothing`);
      const report = await watch.stop();
      if (process.env.AMQP_HOSTILE_REPORT) console.log(`${settle} ${size / 1024} KiB: ${stopped} delivered before congestion stopped them; RSS +${Math.round((report.rssMax - report.rssStart) / 1048576)} MiB; lag ${Math.round(report.maxLagMs)} ms`);
      assertServed(report, { maxRssGrowthMiB: 64 });

      if (settle === 'pre-settled') {
        // Reading again: the drain resumes the deliveries, and every message arrives.
        slow.socket.resume();
        await until(() => slow.received.filter((r) => r.name === 'transfer').length === COUNT, 'every message', 60_000);
        assert.equal(q.messageCount, 0);
      }
      slow.socket.destroy();
    });
  }
});

describe('connections that never open (item 10)', () => {
  test('silence, a bare header, or SASL without the open: closed after amqp.connectTimeout, logged once each', async () => {
    const watch = await watchAttack({ stompPort: broker.ports.stomp! });
    const count = () => lines.filter((l) => l.msg === 'amqp connection closed: no open within the connect timeout').length;
    const before = count();
    const silent = await RawAmqp.connect(broker.ports.amqp!);
    const header = await RawAmqp.connect(broker.ports.amqp!);
    header.write(AMQP_HEADER);
    const sasl = await RawAmqp.connect(broker.ports.amqp!);
    sasl.write(SASL_HEADER); // the broker offers its mechanisms; no sasl-init follows
    await Promise.all([silent.closedWithin(5000), header.closedWithin(5000), sasl.closedWithin(5000)]);
    await until(() => count() === before + 3, 'three log lines');
    await watch.roundTrips(2);
    assertServed(await watch.stop());
  });

  test('a client that opens in time stays open past the connect timeout', async () => {
    const c = await AmqpTestClient.connect(broker.ports.amqp!);
    const r = await c.receiver('open.in.time', 1);
    await new Promise((resolve) => setTimeout(resolve, 800)); // longer than connectTimeout (500 ms): nothing to await for an event that must not happen
    assert.equal(r.closed, false);
    await c.close();
  });

  test('a 1 ms idle-time-out is refused with amqp:invalid-field (§2.4.5), not served with a frame every 0.5 ms', async () => {
    const watch = await watchAttack({ stompPort: broker.ports.stomp! });
    const a = await RawAmqp.connect(broker.ports.amqp!);
    a.write(AMQP_HEADER, perf('open', { container_id: 'tiny', idle_time_out: 1 }));
    await a.closedWithin(5000);
    assert.equal(a.closeError()?.condition, 'amqp:invalid-field');
    assert.match(a.closeError()?.description ?? '', /idle-time-out 1 ms is below the broker's minimum of 1000 ms/);
    assert.ok(a.frameCount <= 3, `the broker sent ${a.frameCount} frames`);
    await watch.roundTrips(2);
    assertServed(await watch.stop());
  });
});
