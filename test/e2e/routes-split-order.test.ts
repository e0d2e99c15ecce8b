import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { connectFor } from '../helpers/stompjs.ts';
import { route } from '../../src/index.ts';

/*
 * The order of an aggregate (issue 12, item 14): `collect` after a split gives the parts in split
 * order whatever order they reach the aggregate in; unrelated inputs are kept in arrival order.
 * Messages go in and come out over STOMP.
 */

let broker: TestBroker;
before(async () => {
  broker = await startBroker({ store: { type: 'memory' } });
});
after(() => broker.stop());

test('collect after a split gives the parts in split order when the early parts complete last', async (t) => {
  await broker.routes.deploy({
    id: 'split-order',
    from: 'queue:so.in',
    steps: [
      { split: { by: { var: 'body.items' } } },
      // Part i waits (size - i) * 40 ms: the parts reach the aggregate last part first.
      { delay: { '*': [{ '-': [{ var: 'properties.splitSize' }, { var: 'properties.splitIndex' }] }, 40] } },
      { setBody: { cat: [{ var: 'body' }, '@', { var: 'properties.splitIndex' }] } },
      { aggregate: { correlation: { var: 'properties.splitOf' }, completionSize: { var: 'properties.splitSize' }, strategy: 'collect' } },
      { to: 'queue:so.out' },
    ],
  });
  t.after(() => broker.routes.undeploy('split-order'));
  const stomp = await connectFor(t, broker);
  const out = await stomp.subscribe('/queue/so.out');
  await stomp.send('/queue/so.in', JSON.stringify({ items: ['a', 'b', 'c', 'd'] }), { 'content-type': 'application/json' });
  const m = await out.one();
  assert.deepEqual(JSON.parse(m.body), ['a@0', 'b@1', 'c@2', 'd@3']);
});

test('collect of unrelated inputs keeps their arrival order', async (t) => {
  // Later inputs are quicker, so they usually reach the aggregate first; what the test holds to is
  // the order they did reach it in (recorded by a step just before it), whatever the timing was.
  const reached: string[] = [];
  await broker.routes.deploy(
    route('arrival-order')
      .from('queue:ao.in')
      .maxInflight(10)
      .delay({ '*': [{ var: 'body.wait' }, 1] })
      .setBody({ var: 'body.name' })
      .process((ex) => {
        reached.push(String(ex.body()));
      })
      .aggregate({ correlation: 'all', completionSize: 3, strategy: 'collect' })
      .to('queue:ao.out'),
  );
  t.after(() => broker.routes.undeploy('arrival-order'));
  const stomp = await connectFor(t, broker);
  const out = await stomp.subscribe('/queue/ao.out');
  for (const [name, wait] of [['x', 200], ['y', 100], ['z', 0]] as const) {
    await stomp.send('/queue/ao.in', JSON.stringify({ name, wait }), { 'content-type': 'application/json' });
  }
  const m = await out.one();
  assert.equal(reached.length, 3);
  assert.deepEqual(JSON.parse(m.body), reached);
});
