import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertServed, watchAttack } from '../helpers/attack.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawStomp } from '../helpers/raw-stomp.ts';

/**
 * A producer that names a new message group (JMSXGroupID) in every message made the queue remember
 * a consumer for each, for as long as its consumers lived: a map keyed by client input without a
 * bound. A queue now remembers at most 1,024 groups (ActiveMQ's CachedMessageGroupMap default).
 */

const N = 5000;

describe('message groups (hostile)', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ store: { type: 'memory' } });
  });
  after(async () => {
    await broker.stop();
  });

  test('a group per message keeps at most 1,024 groups assigned; every message is delivered', async () => {
    const w = await watchAttack({ stompPort: broker.ports.stomp! });
    const consumer = await RawStomp.connect(broker.ports.stomp!);
    const producer = await RawStomp.connect(broker.ports.stomp!);
    try {
      await consumer.request('SUBSCRIBE', { id: 'c', destination: '/queue/groups.many', ack: 'auto' });
      for (let i = 0; i < N; i++) producer.send('SEND', { destination: '/queue/groups.many', JMSXGroupID: `g-${i}` }, String(i));
      await producer.request('SEND', { destination: '/queue/groups.many', JMSXGroupID: 'g-last' }, 'last');
      for (let i = 0; i <= N; i++) assert.equal((await consumer.nextFrame()).command, 'MESSAGE');
      const groups = broker.core.getQueue('groups.many')!.groupCount;
      assert.ok(groups <= 1024, `the queue remembers ${groups} groups`);
      // A group still assigned keeps going to its consumer.
      await producer.request('SEND', { destination: '/queue/groups.many', JMSXGroupID: 'g-last' }, 'again');
      assert.equal((await consumer.nextFrame()).text, 'again');
    } finally {
      producer.destroy();
      consumer.destroy();
    }
    assertServed(await w.stop());
  });
});
