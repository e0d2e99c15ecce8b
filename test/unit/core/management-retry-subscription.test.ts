import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { Core } from '../../../src/core/core.ts';
import { ORIGINAL_QUEUE } from '../../../src/core/post-office.ts';
import { closeCores, consume, msg, openCore, topic } from './core-fixture.ts';

// A retry of a message that left one subscription of a topic goes back to that subscription only
// (Artemis's retryMessages routes to HDR_ORIGINAL_QUEUE), not to every subscriber of the topic:
// before the fix the subscriber that had acknowledged it got it a second time.

afterEach(closeCores);

async function retryAll(core: Core, name: string): Promise<number> {
  const op = core.messageOperation(name, 'retry', {});
  while (!op.done) await op.step(100);
  return op.processed;
}

async function twoSubscribers(core: Core) {
  const a = await consume(core, { destination: topic('news'), subscription: { name: 'a', clientId: 'ca', durable: true } }, 10);
  const b = await consume(core, { destination: topic('news'), subscription: { name: 'b', clientId: 'cb', durable: true } }, 10);
  await core.send(msg(topic('news'), 'n1', { durable: true }));
  const [da] = await a.sink.count(1);
  const [db] = await b.sink.count(1);
  await b.consumer.ack(db!.id);
  return { a, b, da: da! };
}

test('retry of a dead letter from a durable subscription reaches that subscription only', async () => {
  const core = await openCore({ addressSettings: { '#': { deadLetterAddress: 'DLQ', maxDeliveryAttempts: 1 } } });
  const { a, da } = await twoSubscribers(core);
  await a.consumer.nack(da.id);
  const [dead] = core.getQueue('DLQ')!.browse();
  assert.equal(dead!.properties[ORIGINAL_QUEUE], 'ca.a');
  assert.equal(await retryAll(core, 'DLQ'), 1);
  assert.equal(core.getQueue('cb.b')!.messageCount, 0, 'b, which acknowledged it, does not get it again');
  assert.equal(core.getQueue('ca.a')!.messageCount, 1);
  const [back] = await a.sink.count(2);
  assert.equal(back!.message.body.toString(), 'n1');
  assert.equal(back!.message.properties[ORIGINAL_QUEUE], undefined, 'cleared by the retry, as originalDestination');
});

test('a message moved out of a subscription retries to it; to the topic once the subscription is gone (as Artemis)', async () => {
  const core = await openCore();
  const { a } = await twoSubscribers(core);
  a.consumer.close();
  await core.send(msg(topic('news'), 'n2', { durable: true }));
  const move = core.messageOperation('ca.a', 'move', {}, { target: 'parked' });
  while (!move.done) await move.step(100);
  assert.equal(core.getQueue('parked')!.messageCount, 2);
  assert.equal(core.getQueue('cb.b')!.messageCount, 1, 'n2, not consumed by b yet');
  assert.equal(await retryAll(core, 'parked'), 2);
  assert.equal(core.getQueue('ca.a')!.messageCount, 2);
  assert.equal(core.getQueue('cb.b')!.messageCount, 1, 'b gets neither again');
  // Parked again, then the subscription is removed: the retry falls back to the topic's subscribers.
  const again = core.messageOperation('ca.a', 'move', {}, { target: 'parked' });
  while (!again.done) await again.step(100);
  await core.deleteQueue('ca.a');
  assert.equal(await retryAll(core, 'parked'), 2);
  assert.equal(core.getQueue('cb.b')!.messageCount, 3);
});
