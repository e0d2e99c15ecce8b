import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { closeCores, consume, msg, openCore, queue } from './core-fixture.ts';

// A queue remembers at most 1,024 message groups (queue.ts MAX_MESSAGE_GROUPS). Past the cap the
// group used longest ago is forgotten, as ActiveMQ's CachedMessageGroupMap (an LRU) does: a group
// that keeps receiving messages keeps its consumer however many other groups come and go.

describe('message group cap', () => {
  afterEach(closeCores);

  test('a group in steady use keeps its consumer while thousands of one-message groups pass', async () => {
    const core = await openCore();
    const a = await consume(core, { destination: queue('grp') }, 100_000);
    const b = await consume(core, { destination: queue('grp') }, 100_000);
    for (let i = 0; i < 5000; i++) {
      if (i % 50 === 0) await core.send(msg(queue('grp'), `hot-${i}`, { groupId: 'hot' }));
      await core.send(msg(queue('grp'), `g-${i}`, { groupId: `g-${i}` }));
    }
    const hotA = a.sink.bodies.filter((x) => x.startsWith('hot-')).length;
    const hotB = b.sink.bodies.filter((x) => x.startsWith('hot-')).length;
    assert.ok(hotA === 0 || hotB === 0, `the hot group went to both consumers (${hotA} and ${hotB})`);
    assert.equal(hotA + hotB, 100);
    assert.ok(core.getQueue('grp')!.groupCount <= 1024);
  });
});
