import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../src/store/memory-store.ts';
import { closeCores, consume, msg, openCore, topic } from './core-fixture.ts';

/**
 * Selector limits are configuration (`selectors`): lowering one, or an upgrade that adds one (as
 * issue 11 added `maxLikeSegment`), must not stop a broker from starting with a durable
 * subscription whose stored selector was accepted under the old limits.
 */
describe('stored selectors and changed limits', () => {
  afterEach(closeCores);

  test('a durable subscription whose selector is over the new limits is recovered with it', async () => {
    const store = new MemoryStore();
    const selector = `k LIKE '%${'a'.repeat(300)}_b%' AND region = 'eu'`;
    const first = await openCore({ store, selectorLimits: { maxLikeSegment: 4096 } });
    const durable = { name: 'wide', clientId: 'c1', durable: true };
    const sub = await consume(first, { destination: topic('events'), subscription: durable, selector });
    sub.consumer.close();
    await first.close();

    const second = await openCore({ store, selectorLimits: { maxLength: 64 } });
    await second.send(msg(topic('events'), 'no', { properties: { k: 'a'.repeat(400), region: 'eu' } }));
    await second.send(msg(topic('events'), 'yes', { properties: { k: `${'a'.repeat(300)}xb`, region: 'eu' } }));
    assert.equal(second.queueStats().find((s) => s.name === 'c1.wide')?.messages, 1, 'the stored selector still filters');
    // A new subscriber is held to today's limits.
    await assert.rejects(consume(second, { destination: topic('events'), subscription: { name: 'other', clientId: 'c2', durable: true }, selector }), { code: 'ERR_SELECTOR_TOO_COMPLEX' });
  });
});
