import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { connectFor } from '../helpers/stompjs.ts';

/*
 * One STOMP frame to a queue a route splits must not freeze or exhaust the broker: every part is an
 * exchange made in one turn, so a JSON array of a million small elements (2 MB, within the 4 MiB a
 * client may send) was a million exchanges at once (200,000 parts measured 1.8 s of blocked event
 * loop and +576 MB). A message of more than maxParts (default 10,000) parts fails the exchange: the
 * dead-letter channel gets it, and the route goes on with the next message.
 */

let broker: TestBroker;
before(async () => {
  broker = await startBroker({ store: { type: 'memory' }, globalMaxSizeBytes: -1 });
});
after(() => broker.stop());

test('a split of a million parts goes to the dead-letter channel; the next message is split as usual', async (t) => {
  await broker.routes.deploy({
    id: 'split-bomb',
    from: 'queue:bomb.in',
    errorHandler: { deadLetter: 'queue:bomb.DLQ', maxRedeliveries: 0 },
    steps: [{ split: { by: { var: 'body' } } }, { to: 'queue:bomb.out' }],
  });
  t.after(() => broker.routes.undeploy('split-bomb'));
  const stomp = await connectFor(t, broker);
  const dlq = await stomp.subscribe('/queue/bomb.DLQ');
  const out = await stomp.subscribe('/queue/bomb.out');
  await stomp.send('/queue/bomb.in', JSON.stringify(new Array(1_000_000).fill(0)), { 'content-type': 'application/json' });
  await stomp.send('/queue/bomb.in', JSON.stringify(['a', 'b']), { 'content-type': 'application/json' });
  const dead = await dlq.one();
  assert.equal(dead.body.length, 2_000_001, 'the whole message, unchanged');
  assert.match(JSON.stringify(dead.headers), /more than maxParts 10000/);
  const parts = [await out.one(), await out.one()].map((m) => m.body);
  assert.deepEqual(parts, ['a', 'b']);
});
