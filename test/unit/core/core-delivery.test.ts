import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { closeCores, consume, msg, openCore, queue, sendAll } from './core-fixture.ts';

// Queue dispatch in the core: order, credit, round-robin, groups, exclusive and selector consumers.

afterEach(closeCores);

describe('queue order', () => {
  test('messages of one priority are delivered first in, first out', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3', '4']);
    const { sink } = await consume(core, { destination: queue('q') });
    assert.deepEqual(sink.bodies, ['1', '2', '3', '4']);
  });

  test('higher priority is delivered first, FIFO within a priority', async () => {
    const core = await openCore();
    await core.send(msg(queue('q'), 'low-a', { priority: 1 }));
    await core.send(msg(queue('q'), 'high-a', { priority: 9 }));
    await core.send(msg(queue('q'), 'default'));
    await core.send(msg(queue('q'), 'low-b', { priority: 1 }));
    await core.send(msg(queue('q'), 'high-b', { priority: 9 }));
    const { sink } = await consume(core, { destination: queue('q') });
    assert.deepEqual(sink.bodies, ['high-a', 'high-b', 'default', 'low-a', 'low-b']);
  });

  test('a message without priority gets the default priority 4', async () => {
    const core = await openCore();
    const m = await core.send(msg(queue('q'), 'x'));
    assert.equal(m.priority, 4);
  });

  test('out-of-range priorities are clamped to 0-9', async () => {
    const core = await openCore();
    assert.equal((await core.send(msg(queue('q'), 'x', { priority: 42 }))).priority, 9);
    assert.equal((await core.send(msg(queue('q'), 'y', { priority: -3 }))).priority, 0);
  });

  test('message ids have the ActiveMQ form ID:<broker>-...', async () => {
    const core = await openCore({ brokerName: 'b1' });
    const a = await core.send(msg(queue('q'), 'a'));
    const b = await core.send(msg(queue('q'), 'b'));
    assert.match(a.id, /^ID:b1-/);
    assert.notEqual(a.id, b.id);
  });
});

describe('credit', () => {
  test('a consumer starts with zero credit and gets nothing', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1']);
    const { sink } = await consume(core, { destination: queue('q') }, 0);
    assert.equal(sink.deliveries.length, 0);
  });

  test('deliveries stop when credit runs out and resume when credit is granted', async () => {
    const core = await openCore();
    await sendAll(core, queue('q'), ['1', '2', '3', '4', '5']);
    const { consumer, sink } = await consume(core, { destination: queue('q') }, 2);
    assert.deepEqual(sink.bodies, ['1', '2']);
    await consumer.ack(sink.deliveries[0]!.id);
    assert.equal(sink.deliveries.length, 2, 'an ack does not grant credit');
    consumer.grant(2);
    assert.deepEqual(sink.bodies, ['1', '2', '3', '4']);
  });
});

describe('round-robin', () => {
  test('a queue hands messages to its consumers in turn', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: queue('q') });
    const b = await consume(core, { destination: queue('q') });
    await sendAll(core, queue('q'), ['1', '2', '3', '4']);
    assert.deepEqual(a.sink.bodies, ['1', '3']);
    assert.deepEqual(b.sink.bodies, ['2', '4']);
  });

  test('a consumer without credit is skipped', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: queue('q') }, 1);
    const b = await consume(core, { destination: queue('q') });
    await sendAll(core, queue('q'), ['1', '2', '3']);
    assert.deepEqual(a.sink.bodies, ['1']);
    assert.deepEqual(b.sink.bodies, ['2', '3']);
  });
});

describe('message groups', () => {
  test('messages of a group stick to the consumer that got the first', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: queue('q') });
    const b = await consume(core, { destination: queue('q') });
    for (const [body, groupId] of [['A1', 'A'], ['B1', 'B'], ['A2', 'A'], ['A3', 'A'], ['B2', 'B']] as const) {
      await core.send(msg(queue('q'), body, { groupId }));
    }
    assert.deepEqual(a.sink.bodies, ['A1', 'A2', 'A3']);
    assert.deepEqual(b.sink.bodies, ['B1', 'B2']);
  });

  test('a group waits for its owner rather than go to another consumer', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: queue('q') }, 1);
    const b = await consume(core, { destination: queue('q') });
    await core.send(msg(queue('q'), 'A1', { groupId: 'A' }));
    await core.send(msg(queue('q'), 'A2', { groupId: 'A' }));
    await core.send(msg(queue('q'), 'other'));
    assert.deepEqual(a.sink.bodies, ['A1']);
    assert.deepEqual(b.sink.bodies, ['other'], 'A2 is not given to b, and does not block other messages');
    a.consumer.grant(1);
    assert.deepEqual(a.sink.bodies, ['A1', 'A2']);
  });

  test('a group moves to another consumer when its owner closes', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: queue('q') });
    const b = await consume(core, { destination: queue('q') });
    await core.send(msg(queue('q'), 'A1', { groupId: 'A' }));
    await core.send(msg(queue('q'), 'B1', { groupId: 'B' }));
    a.consumer.close();
    await core.send(msg(queue('q'), 'A2', { groupId: 'A' }));
    assert.deepEqual(b.sink.bodies, ['B1', 'A1', 'A2'], 'the unacked A1 comes back to b, and A2 follows it');
  });
});

describe('exclusive consumers', () => {
  test('an exclusive consumer gets every message while it is attached', async () => {
    const core = await openCore();
    const normal = await consume(core, { destination: queue('q') });
    const exclusive = await consume(core, { destination: queue('q'), exclusive: true });
    await sendAll(core, queue('q'), ['1', '2', '3']);
    assert.deepEqual(exclusive.sink.bodies, ['1', '2', '3']);
    assert.deepEqual(normal.sink.bodies, []);
  });

  test('the other consumers take over when the exclusive consumer closes', async () => {
    const core = await openCore();
    const normal = await consume(core, { destination: queue('q') });
    const exclusive = await consume(core, { destination: queue('q'), exclusive: true });
    await sendAll(core, queue('q'), ['1']);
    await exclusive.consumer.ack(exclusive.sink.deliveries[0]!.id);
    exclusive.consumer.close();
    await sendAll(core, queue('q'), ['2']);
    assert.deepEqual(normal.sink.bodies, ['2']);
  });
});

describe('selector consumers', () => {
  test('a consumer gets only the messages its selector matches', async () => {
    const core = await openCore();
    const red = await consume(core, { destination: queue('q'), selector: "color = 'red'" });
    await core.send(msg(queue('q'), 'blue-1', { properties: { color: 'blue' } }));
    await core.send(msg(queue('q'), 'red-1', { properties: { color: 'red' } }));
    assert.deepEqual(red.sink.bodies, ['red-1']);
  });

  test('a message no consumer selects stays queued without blocking the ones behind it', async () => {
    const core = await openCore();
    await core.send(msg(queue('q'), 'blue-1', { properties: { color: 'blue' } }));
    await core.send(msg(queue('q'), 'red-1', { properties: { color: 'red' } }));
    const red = await consume(core, { destination: queue('q'), selector: "color = 'red'" });
    assert.deepEqual(red.sink.bodies, ['red-1']);
    assert.equal(core.getQueue('q')!.statistics().messages - core.getQueue('q')!.statistics().inDelivery, 1);
    const blue = await consume(core, { destination: queue('q'), selector: "color = 'blue'" });
    assert.deepEqual(blue.sink.bodies, ['blue-1']);
  });

  test('selectors see JMS headers: JMSPriority', async () => {
    const core = await openCore();
    const urgent = await consume(core, { destination: queue('q'), selector: 'JMSPriority > 6' });
    await core.send(msg(queue('q'), 'normal'));
    await core.send(msg(queue('q'), 'urgent', { priority: 8 }));
    assert.deepEqual(urgent.sink.bodies, ['urgent']);
  });

  test('a bad selector is refused with ERR_SELECTOR_SYNTAX', async () => {
    const core = await openCore();
    await assert.rejects(core.createConsumer({ destination: queue('q'), selector: 'color = ', sink: { deliver() {} } }), { code: 'ERR_SELECTOR_SYNTAX' });
  });
});
