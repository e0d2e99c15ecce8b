import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AmqpTestClient } from '../helpers/amqp-client.ts';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/**
 * Issue 11, item 5: a scheduled delay longer than a Node timer can take (2^31-1 ms, about 24.8 days)
 * must be waited for in steps, not re-armed every millisecond with a TimeoutOverflowWarning each
 * time; a delay beyond `scheduler.maxScheduledDelay` is refused with the protocol's error.
 */

const DAY = 24 * 3600 * 1000;

describe('scheduled delivery far ahead (hostile)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' } });
  });
  after(async () => {
    await broker.stop();
  });

  test('AMQ_SCHEDULED_DELAY of 25 days waits: no timer storm, no warning, not delivered early; the broker keeps serving', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    // Counts timers armed for more than 2^30 ms: the scheduler's, whatever else runs here arms none.
    const realSetTimeout = globalThis.setTimeout;
    let longTimers = 0;
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      if (typeof ms === 'number' && ms > 2 ** 30) longTimers++;
      return realSetTimeout(fn, ms, ...args);
    }) as typeof setTimeout;
    const consumer = await RawStomp.connect(broker.ports.stomp!);
    try {
      const w = await watchAttack({ stompPort: broker.ports.stomp! });
      await consumer.request('SUBSCRIBE', { id: 's', destination: '/queue/sched.far', ack: 'auto' });
      await consumer.request('SEND', { destination: '/queue/sched.far', persistent: 'true', AMQ_SCHEDULED_DELAY: String(25 * DAY) }, 'later');
      await consumer.request('SEND', { destination: '/queue/sched.far' }, 'now');
      const first = await consumer.nextFrame();
      assert.equal(first.command, 'MESSAGE');
      assert.equal(first.text, 'now', 'the unscheduled message comes first');
      // A second of serving others: long enough for a re-arm-every-millisecond timer to show hundreds of times.
      await w.roundTrips(20);
      assertServed(await w.stop());
      assert.equal(consumer.pending, 0, 'the scheduled message is not delivered early');
      const stats = broker.core.queueStats().find((s) => s.name === 'sched.far')!;
      assert.equal(stats.scheduled, 1);
      assert.ok(longTimers <= 2, `the schedule timer was armed ${longTimers} times for a long wait`);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((x) => x.name === 'TimeoutOverflowWarning').map((x) => x.message),
        [],
        'no TimeoutOverflowWarning',
      );
    } finally {
      globalThis.setTimeout = realSetTimeout;
      process.off('warning', onWarning);
      consumer.destroy();
    }
  });

  test('a STOMP delay beyond scheduler.maxScheduledDelay (default one year) gets an ERROR and is not kept', async () => {
    const c = await RawStomp.connect(broker.ports.stomp!);
    c.send('SEND', { destination: '/queue/sched.cap', persistent: 'true', AMQ_SCHEDULED_DELAY: String(366 * DAY), receipt: 'r1' }, 'too far');
    const f = await c.nextFrame();
    assert.equal(f.command, 'ERROR');
    assert.match(f.header('message') ?? '', /^Scheduled delay too long/);
    assert.equal(f.header('receipt-id'), 'r1');
    await c.closed();
    assert.equal(broker.core.getQueue('sched.cap')?.messageCount ?? 0, 0);
    // _AMQ_SCHED_DELIVERY (an absolute time) is held to the same cap.
    const d = await RawStomp.connect(broker.ports.stomp!);
    d.send('SEND', { destination: '/queue/sched.cap', _AMQ_SCHED_DELIVERY: String(Date.now() + 400 * DAY) }, 'too far');
    assert.match((await d.nextFrame()).header('message') ?? '', /^Scheduled delay too long/);
    d.destroy();
  });

  test('AMQP x-opt-delivery-delay / -time beyond the cap is rejected with amqp:invalid-field; within it accepted', async () => {
    const c = await AmqpTestClient.connect(broker.ports.amqp!);
    try {
      const s = await c.sender('sched.amqp');
      const far = await c.send(s, { body: 'x', message_annotations: { 'x-opt-delivery-delay': 400 * DAY } });
      assert.equal(far.state, 'rejected');
      assert.equal(far.error?.condition, 'amqp:invalid-field');
      const farAt = await c.send(s, { body: 'x', message_annotations: { 'x-opt-delivery-time': Date.now() + 400 * DAY } });
      assert.equal(farAt.state, 'rejected');
      const ok = await c.send(s, { body: 'x', message_annotations: { 'x-opt-delivery-delay': 30 * DAY } });
      assert.equal(ok.state, 'accepted');
      assert.equal(broker.core.queueStats().find((q) => q.name === 'sched.amqp')!.scheduled, 1);
    } finally {
      await c.close();
    }
  });
});
